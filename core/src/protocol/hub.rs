//! The server's protocol logic, without I/O: many connections around one set of documents.
//! A change that arrives from one peer is offered at once to every other peer syncing that
//! document; ephemeral messages are relayed the same way. A request the hub cannot answer
//! yet may wait, until a deadline the transport chooses, for its document to arrive (time is
//! passed in: [`Hub::wait`], [`Hub::next_deadline`], [`Hub::expire`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::connection::{Action, Connection, Documents, Side};
use super::message::{Message, PeerId, PeerMetadata};
use crate::id::DocumentId;

/// A connection's number, chosen by the transport.
pub type ConnId = u64;

/// What the transport must do for one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    pub conn: ConnId,
    pub action: Action,
}

/// What a request that was not answered at once waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Its document, from another peer: sent when it arrives (as to every peer syncing it),
    /// `doc-unavailable` at the deadline if it has not.
    Arrival,
    /// Only the deadline: a document the peer may not see is answered `doc-unavailable` as
    /// late as an absent one, so the answer's timing tells nothing.
    Refusal,
}

/// A request waiting for its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    until: Instant,
    conn: ConnId,
    id: DocumentId,
    wait: Wait,
}

/// All connections of a server and the documents they share.
#[derive(Debug)]
pub struct Hub<D> {
    local: PeerId,
    metadata: PeerMetadata,
    docs: D,
    conns: BTreeMap<ConnId, Connection>,
    /// Requests waiting, in deadline order (at most a connection's unknown documents each).
    waiting: VecDeque<Pending>,
}

impl<D: Documents> Hub<D> {
    pub fn new(local: PeerId, metadata: PeerMetadata, docs: D) -> Self {
        Self {
            local,
            metadata,
            docs,
            conns: BTreeMap::new(),
            waiting: VecDeque::new(),
        }
    }

    /// Answers a connection's request for `id` by `until` instead of now (see [`Wait`]).
    pub fn wait(&mut self, conn: ConnId, id: DocumentId, wait: Wait, until: Instant) {
        let at = self.waiting.partition_point(|p| p.until <= until);
        let pending = Pending {
            until,
            conn,
            id,
            wait,
        };
        self.waiting.insert(at, pending);
    }

    /// When the first waiting request is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.waiting.front().map(|p| p.until)
    }

    /// `doc-unavailable` for each waiting request due by `now` whose document did not arrive,
    /// or arrived but is not the connection's to see (`sees`, the transport's rule), or that
    /// waited for the deadline only.
    pub fn expire(
        &mut self,
        now: Instant,
        mut sees: impl FnMut(ConnId, &DocumentId) -> bool,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(p) = self.waiting.front().copied().filter(|p| p.until <= now) {
            self.waiting.pop_front();
            let Some(c) = self.conns.get(&p.conn) else {
                continue;
            };
            let answered = match p.wait {
                Wait::Arrival => !c.syncs(&p.id) || (self.docs.holds(&p.id) && sees(p.conn, &p.id)),
                Wait::Refusal => false,
            };
            if let Some(m) = c.unavailable(p.id, false).filter(|_| !answered) {
                out.push(Out {
                    conn: p.conn,
                    action: Action::Send(m),
                });
            }
        }
        out
    }

    pub fn documents(&mut self) -> &mut D {
        &mut self.docs
    }

    pub fn connection(&self, conn: ConnId) -> Option<&Connection> {
        self.conns.get(&conn)
    }

    /// A new socket was accepted.
    pub fn connect(&mut self, conn: ConnId) {
        let c = Connection::new(Side::Server, self.local.clone(), self.metadata.clone());
        self.conns.insert(conn, c);
    }

    /// A socket closed.
    pub fn disconnect(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// Handles one message from a connection; returns what every affected connection must do.
    pub fn receive(&mut self, conn: ConnId, message: Message) -> Vec<Out> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Vec::new();
        };
        let actions = c.receive(message, &mut self.docs);
        let mut out = Vec::new();
        for action in actions {
            match &action {
                Action::Changed(id) => out.extend(self.changed(id, Some(conn))),
                Action::Relay(message) => out.extend(self.relay(conn, message)),
                _ => {}
            }
            let close = matches!(action, Action::Close(_));
            out.push(Out { conn, action });
            if close {
                self.conns.remove(&conn);
            }
        }
        out
    }

    /// A document changed (from a peer, or locally when `from` is `None`): sync messages for
    /// every other connection syncing it.
    pub fn changed(&mut self, id: &crate::DocumentId, from: Option<ConnId>) -> Vec<Out> {
        let mut out = Vec::new();
        for (&other, c) in self.conns.iter_mut() {
            if Some(other) == from {
                continue;
            }
            if let Some(m) = c.document_changed(id, &mut self.docs) {
                out.push(Out {
                    conn: other,
                    action: Action::Send(m),
                });
            }
        }
        out
    }

    /// A document was erased: every connection syncing it forgets it, and its peer hears
    /// `doc-unavailable` marked erased (a Fiche device then deletes its copy).
    pub fn erased(&mut self, id: &crate::DocumentId) -> Vec<Out> {
        let mut out = Vec::new();
        for (&conn, c) in self.conns.iter_mut() {
            if !c.syncs(id) {
                continue;
            }
            c.forget(id);
            if let Some(message) = c.unavailable(*id, true) {
                out.push(Out {
                    conn,
                    action: Action::Send(message),
                });
            }
        }
        out
    }

    fn relay(&mut self, from: ConnId, message: &Message) -> Vec<Out> {
        let Message::Ephemeral {
            sender_id,
            count,
            session_id,
            document_id,
            data,
            ..
        } = message
        else {
            return Vec::new();
        };
        self.conns
            .iter()
            .filter(|(&other, c)| other != from && c.syncs(document_id))
            .filter_map(|(&other, c)| {
                let target_id = c.remote()?.to_string();
                let m = Message::Ephemeral {
                    sender_id: sender_id.clone(),
                    target_id,
                    count: *count,
                    session_id: session_id.clone(),
                    document_id: *document_id,
                    data: data.clone(),
                };
                Some(Out {
                    conn: other,
                    action: Action::Send(m),
                })
            })
            .collect()
    }
}
