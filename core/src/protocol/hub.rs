//! The server's protocol logic, without I/O: many connections around one set of documents.
//! A change that arrives from one peer is offered at once to every other peer syncing that
//! document; ephemeral messages are relayed the same way.

use std::collections::BTreeMap;

use super::connection::{Action, Connection, Documents, Side};
use super::message::{Message, PeerId, PeerMetadata};

/// A connection's number, chosen by the transport.
pub type ConnId = u64;

/// What the transport must do for one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    pub conn: ConnId,
    pub action: Action,
}

/// All connections of a server and the documents they share.
#[derive(Debug)]
pub struct Hub<D> {
    local: PeerId,
    metadata: PeerMetadata,
    docs: D,
    conns: BTreeMap<ConnId, Connection>,
}

impl<D: Documents> Hub<D> {
    pub fn new(local: PeerId, metadata: PeerMetadata, docs: D) -> Self {
        Self {
            local,
            metadata,
            docs,
            conns: BTreeMap::new(),
        }
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
