//! The hub thread: the one place the protocol state and the documents live. Connections send
//! it decoded messages; it answers with frames for each connection. Everything received in one
//! round is written to the store in one durable write before any answer goes out.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fiche_core::directory::{self, directory_id};
use fiche_core::protocol::{Action, ConnId, Hub, Message, Out};
use fiche_core::{schema, DocumentId};
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::docs::ServerDocs;

/// What a connection tells the hub.
#[derive(Debug)]
pub enum Event {
    Connect {
        conn: ConnId,
        out: UnboundedSender<Outgoing>,
    },
    Frame {
        conn: ConnId,
        message: Message,
    },
    /// The connection sent something that is not a protocol message.
    Reject {
        conn: ConnId,
        reason: String,
    },
    Disconnect {
        conn: ConnId,
    },
    /// Close every connection, write everything, then answer.
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// What the hub tells a connection.
#[derive(Debug)]
pub enum Outgoing {
    Frame(Vec<u8>),
    /// Close the socket with this reason (after the frames before it).
    Close(String),
}

/// Figures for `/health`, updated by the hub.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub loaded: AtomicUsize,
    pub stored: AtomicUsize,
}

/// The most events handled in one round before writing and answering.
const ROUND: usize = 4096;

#[derive(Debug)]
pub struct HubThread {
    pub hub: Hub<ServerDocs>,
    pub local: String,
    pub stats: Arc<Stats>,
    /// Documents unused this long are dropped from memory.
    pub idle: Duration,
}

impl HubThread {
    /// Runs until every sender is gone or a shutdown is asked for.
    pub fn run(mut self, events: Receiver<Event>) {
        let mut senders: HashMap<ConnId, UnboundedSender<Outgoing>> = HashMap::new();
        let mut listed: HashSet<DocumentId> = self
            .hub
            .documents()
            .get_directory()
            .map(|d| directory::entries(d).into_keys().collect())
            .unwrap_or_default();
        let tick = (self.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        let mut last_evict = Instant::now();
        loop {
            let first = match events.recv_timeout(tick) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut outs = Vec::new();
            let mut shutdown = None;
            for event in first.into_iter().chain(events.try_iter().take(ROUND)) {
                match event {
                    Event::Connect { conn, out } => {
                        self.hub.connect(conn);
                        senders.insert(conn, out);
                    }
                    Event::Frame { conn, message } => outs.extend(self.hub.receive(conn, message)),
                    Event::Reject { conn, reason } => outs.extend(self.reject(conn, reason)),
                    Event::Disconnect { conn } => {
                        self.hub.disconnect(conn);
                        senders.remove(&conn);
                    }
                    Event::Shutdown { done } => shutdown = Some(done),
                }
            }
            outs.extend(self.list_new(&outs, &mut listed));
            self.write();
            self.dispatch(outs, &mut senders);
            if last_evict.elapsed() >= tick {
                let dropped = self.hub.documents().evict(self.idle);
                if dropped > 0 {
                    tracing::debug!(dropped, "idle documents dropped from memory");
                }
                last_evict = Instant::now();
            }
            self.stats
                .connections
                .store(senders.len(), Ordering::Relaxed);
            let docs = self.hub.documents();
            self.stats.loaded.store(docs.loaded(), Ordering::Relaxed);
            self.stats.stored.store(docs.stored(), Ordering::Relaxed);
            if let Some(done) = shutdown {
                for (conn, sender) in senders.drain() {
                    let _ = sender.send(Outgoing::Close("the server is shutting down".into()));
                    self.hub.disconnect(conn);
                }
                self.write();
                let _ = done.send(());
                break;
            }
        }
    }

    /// Writes what changed; on failure the changes stay in memory and are retried next round.
    fn write(&mut self) {
        let docs = self.hub.documents();
        if let Err(e) = docs.flush() {
            tracing::error!(error = %e, "cannot write documents; will retry");
        }
        for e in docs.take_errors() {
            tracing::error!(error = %e, "document answered as unavailable");
        }
    }

    fn reject(&mut self, conn: ConnId, reason: String) -> Vec<Out> {
        let target_id = self
            .hub
            .connection(conn)
            .and_then(|c| c.remote().map(str::to_string));
        self.hub.disconnect(conn);
        let error = Message::Error {
            sender_id: self.local.clone(),
            message: reason.clone(),
            target_id,
        };
        vec![
            Out {
                conn,
                action: Action::Send(error),
            },
            Out {
                conn,
                action: Action::Close(reason),
            },
        ]
    }

    /// Adds documents seen for the first time to the directory, and offers the new directory
    /// to everyone syncing it.
    fn list_new(&mut self, outs: &[Out], listed: &mut HashSet<DocumentId>) -> Vec<Out> {
        let dir = directory_id();
        let docs = self.hub.documents();
        let mut new = Vec::new();
        for out in outs {
            let Action::Changed(id) = &out.action else {
                continue;
            };
            if *id == dir || listed.contains(id) {
                continue;
            }
            let kind = docs
                .get_loaded(id)
                .and_then(schema::kind_of)
                .map(|k| k.as_str().to_string())
                .unwrap_or_default();
            listed.insert(*id);
            new.push((*id, kind));
        }
        if new.is_empty() {
            return Vec::new();
        }
        let Some(doc) = docs.get_directory() else {
            return Vec::new();
        };
        match directory::add(doc, new, "list") {
            Ok(0) => Vec::new(),
            Ok(_) => self.hub.changed(&dir, None),
            Err(e) => {
                tracing::error!(error = %e, "cannot add to the directory");
                Vec::new()
            }
        }
    }

    fn dispatch(&self, outs: Vec<Out>, senders: &mut HashMap<ConnId, UnboundedSender<Outgoing>>) {
        for Out { conn, action } in outs {
            let Some(sender) = senders.get(&conn) else {
                continue;
            };
            match action {
                Action::Send(message) => {
                    let _ = sender.send(Outgoing::Frame(message.encode()));
                }
                Action::Close(reason) => {
                    tracing::info!(conn, %reason, "closing connection");
                    let _ = sender.send(Outgoing::Close(reason));
                    senders.remove(&conn);
                }
                Action::Ready { peer, metadata } => {
                    tracing::info!(conn, %peer, storage = ?metadata.storage_id, "peer joined");
                }
                Action::Changed(id) => tracing::debug!(conn, %id, "document changed"),
                Action::Unavailable(id) => tracing::debug!(conn, %id, "peer lacks document"),
                Action::Relay(_) => {}
            }
        }
    }
}
