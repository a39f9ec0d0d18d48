//! Taking connections in: the plain TCP listener (no Nagle delay: sync frames are small and
//! latency matters), the peer address both listeners report to the routes, and the
//! [`Gate`] that keeps the number of open connections below the descriptor limit.
//!
//! Past `limit` open connections, a small reserve is still let in, on [`Lane::Reserve`]: it
//! answers `/health` and 503 to everything else, then closes (see [`crate::http`]). Past the
//! reserve, a connection is closed as soon as it is accepted. The log says when the limit is
//! reached and when the server is back under it, once per burst.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::guard::Guarded;

/// The address a request came from.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// Descriptors kept for everything but connections: the store's files, the runtime, logs,
/// the admin socket.
const HEADROOM: u64 = 64;

/// Which service a connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Everything.
    Normal,
    /// Over the limit: `/health`, or 503 and close.
    Reserve,
}

/// Counts open connections against the limit and its reserve.
#[derive(Debug)]
pub struct Gate {
    limit: usize,
    reserve: usize,
    open: AtomicUsize,
    /// Set while over the limit (logged once when set, once when cleared).
    full: AtomicBool,
    /// Connections closed at once since the limit was reached.
    turned_away: AtomicU64,
}

/// One admitted connection's place; freed when dropped.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    pub lane: Lane,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let open = self.gate.open.fetch_sub(1, Ordering::AcqRel) - 1;
        // Back under 90% of the limit: the burst is over.
        if open * 10 < self.gate.limit * 9 && self.gate.full.swap(false, Ordering::AcqRel) {
            let turned_away = self.gate.turned_away.swap(0, Ordering::AcqRel);
            tracing::info!(
                open,
                limit = self.gate.limit,
                turned_away,
                "back under the connection limit"
            );
        }
    }
}

/// How many connections the descriptors allow, after raising the soft descriptor limit to the
/// hard one: half of what is left after [`HEADROOM`] (a blob transfer holds a file beside its
/// socket), less the reserve. `asked` (`--max-connections`) is taken when below that.
pub fn connection_limit(asked: Option<usize>) -> (usize, usize) {
    let descriptors = descriptor_limit();
    let budget = (descriptors.saturating_sub(HEADROOM) / 2).max(2) as usize;
    let reserve = (budget / 16).clamp(1, 64);
    let most = budget - reserve;
    let limit = match asked {
        Some(n) if n > most => {
            tracing::warn!(
                asked = n,
                descriptors,
                limit = most,
                "--max-connections is above what the descriptor limit allows: using the limit"
            );
            most
        }
        Some(n) => n.max(1),
        None => most,
    };
    (limit, reserve)
}

/// The soft limit on open descriptors, raised to the hard limit first.
#[cfg(unix)]
fn descriptor_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current != now.maximum {
        let raised = Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the descriptor limit");
        }
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

#[cfg(not(unix))]
fn descriptor_limit() -> u64 {
    // Windows sockets are not bounded by a descriptor table.
    u64::MAX
}

impl Gate {
    pub fn new(limit: usize, reserve: usize) -> Arc<Self> {
        Arc::new(Self {
            limit,
            reserve,
            open: AtomicUsize::new(0),
            full: AtomicBool::new(false),
            turned_away: AtomicU64::new(0),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A place for one more connection, or `None`: close it at once.
    pub fn admit(self: &Arc<Self>) -> Option<Ticket> {
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        if open < self.limit {
            return Some(Ticket {
                gate: self.clone(),
                lane: Lane::Normal,
            });
        }
        if !self.full.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                limit = self.limit,
                "connection limit reached (--max-connections): new connections get 503 until some close"
            );
        }
        if open < self.limit + self.reserve {
            return Some(Ticket {
                gate: self.clone(),
                lane: Lane::Reserve,
            });
        }
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.turned_away.fetch_add(1, Ordering::Relaxed);
        None
    }
}

/// Accepts the next TCP connection that the gate admits, `TCP_NODELAY` set. Accept errors
/// (out of descriptors included) are logged once per burst and waited out.
pub async fn accept(
    listener: &TcpListener,
    gate: &Arc<Gate>,
    idle: Duration,
) -> (Guarded<TcpStream>, SocketAddr) {
    let mut failing = false;
    loop {
        let (stream, addr) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                if !failing {
                    tracing::error!(error = %e, "cannot accept connections");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(ticket) = gate.admit() else {
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        return (Guarded::new(stream, ticket, idle), addr);
    }
}

/// Plain TCP through the [`Gate`].
#[derive(Debug)]
pub struct PlainListener {
    pub listener: TcpListener,
    pub gate: Arc<Gate>,
    pub idle: Duration,
}

impl axum::serve::Listener for PlainListener {
    type Io = Guarded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        accept(&self.listener, &self.gate, self.idle).await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_lets_in_the_limit_then_the_reserve_then_no_one() {
        let gate = Gate::new(3, 2);
        let tickets: Vec<_> = (0..6).map(|_| gate.admit()).collect();
        let lanes: Vec<_> = tickets.iter().map(|t| t.as_ref().map(|t| t.lane)).collect();
        use Lane::*;
        assert_eq!(
            lanes,
            [
                Some(Normal),
                Some(Normal),
                Some(Normal),
                Some(Reserve),
                Some(Reserve),
                None
            ]
        );
        drop(tickets);
        assert_eq!(gate.open.load(Ordering::Acquire), 0);
        assert!(!gate.full.load(Ordering::Acquire));
        assert_eq!(gate.admit().map(|t| t.lane), Some(Normal));
    }
}
