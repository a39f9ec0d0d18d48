//! One connection's protocol state, without I/O: the handshake, the peer's identity, and an
//! Automerge `sync::State` per document. Fed decoded messages, it returns what to do.

use std::collections::HashMap;

use automerge::sync::{self, SyncDoc};
use automerge::Automerge;

use super::message::{Message, PeerId, PeerMetadata, PROTOCOL_V1};
use super::settled;
use crate::id::DocumentId;

/// Where a connection finds documents: the server's store, a device's book, or a map in tests.
pub trait Documents {
    /// The document, if this side has it.
    fn get(&mut self, id: &DocumentId) -> Option<&mut Automerge>;
    /// Whether this side has any of the document (a server answers that without loading it).
    fn holds(&mut self, id: &DocumentId) -> bool {
        self.get(id).is_some_and(|d| !d.get_heads().is_empty())
    }
    /// The document, created empty if this side does not have it yet.
    fn get_or_create(&mut self, id: &DocumentId) -> &mut Automerge;
    /// The change bytes of a sync message about to be applied to `id` (a device keeps those of
    /// a document new to it, to store them as they came instead of saving it again).
    fn receiving(&mut self, _id: &DocumentId, _chunks: &[&[u8]]) {}
    /// An answer prepared ahead to a peer's first sync message about `id` when it is exactly
    /// `data`: the answer's sync data and the sync state after it, as Automerge would make them
    /// (a server prepares the answer to a fresh device's request once per version).
    fn prepared_answer(
        &mut self,
        _id: &DocumentId,
        _data: &[u8],
    ) -> Option<(Vec<u8>, sync::State)> {
        None
    }
    /// The document's heads when this side can tell them without loading it and it is not
    /// loaded (a server, from its store); `None` to use the document.
    fn unloaded_heads(&mut self, _id: &DocumentId) -> Option<Vec<automerge::ChangeHash>> {
        None
    }
}

impl Documents for HashMap<DocumentId, Automerge> {
    fn get(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        HashMap::get_mut(self, id)
    }
    fn get_or_create(&mut self, id: &DocumentId) -> &mut Automerge {
        self.entry(*id).or_default()
    }
}

/// Which end of the WebSocket this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Waits for `join`, answers `peer`.
    Server,
    /// Sends `join`, waits for `peer`.
    Client,
}

/// What the transport should do after a message was handled.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this message to the peer.
    Send(Message),
    /// The handshake completed with this peer.
    Ready {
        peer: PeerId,
        metadata: PeerMetadata,
    },
    /// This document gained changes from the peer: other peers should hear of them.
    Changed(DocumentId),
    /// The peer does not have a document we asked for.
    Unavailable(DocumentId),
    /// The peer (a Fiche server) says the document was erased: delete every copy of it.
    Erased(DocumentId),
    /// The peer refused our changes to this document (a per-document `error`); the
    /// connection and the other documents go on.
    Refused { id: DocumentId, reason: String },
    /// An ephemeral message to relay to the other peers of its document.
    Relay(Message),
    /// Close the connection (after sending what precedes this action).
    Close(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Open,
    Closed,
}

/// One document a connection syncs with its peer.
#[derive(Debug, Default)]
struct Shared {
    /// Automerge's sync state with the peer.
    state: sync::State,
    /// Our heads when the whole document last went to the peer in answer to a message saying
    /// it holds none: another such message is not answered again until they change (each
    /// answer is a full copy; a peer repeating "none" would fill memory with them).
    whole_sent: Option<Vec<automerge::ChangeHash>>,
    /// Counted among the connection's documents not held here, until it holds some of it.
    unheld: bool,
}

impl Shared {
    fn of(state: sync::State) -> Self {
        Self {
            state,
            ..Self::default()
        }
    }
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Connection {
    side: Side,
    local: PeerId,
    metadata: PeerMetadata,
    remote: Option<PeerId>,
    phase: Phase,
    docs: HashMap<DocumentId, Shared>,
    /// Documents the peer asked for, or synced without sending changes, that are not held
    /// here (each keeps a sync state).
    unknown_asked: usize,
}

/// How many documents this side does not hold a peer may ask for (`request`) or sync
/// without sending any change (`sync`) on one connection: each interest is kept (the
/// document reaches the peer if it arrives), so a peer naming random ids would grow memory
/// without end. Past it, the connection is closed. (`ephemeral` and heads messages about a
/// document keep no state.)
pub const MAX_UNKNOWN_ASKED: usize = 10_000;

impl Connection {
    pub fn new(side: Side, local: PeerId, metadata: PeerMetadata) -> Self {
        Self {
            side,
            local,
            metadata,
            remote: None,
            phase: Phase::Handshake,
            docs: HashMap::new(),
            unknown_asked: 0,
        }
    }

    /// The first message a client sends (`None` for a server, which waits).
    pub fn start(&self) -> Option<Message> {
        (self.side == Side::Client).then(|| Message::Join {
            sender_id: self.local.clone(),
            peer_metadata: self.metadata.clone(),
            supported_protocol_versions: vec![PROTOCOL_V1.to_string()],
        })
    }

    pub fn remote(&self) -> Option<&str> {
        self.remote.as_deref()
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Documents this connection syncs.
    pub fn documents(&self) -> impl Iterator<Item = &DocumentId> {
        self.docs.keys()
    }

    pub fn syncs(&self, id: &DocumentId) -> bool {
        self.docs.contains_key(id)
    }

    /// Restores a sync state saved from an earlier connection with the same peer, so only
    /// what is new is exchanged.
    pub fn restore(&mut self, id: DocumentId, saved: &[u8]) -> Result<(), sync::DecodeStateError> {
        self.docs
            .insert(id, Shared::of(sync::State::decode(saved)?));
        Ok(())
    }

    /// `doc-unavailable` for a document, to this connection's peer (`erased`: a Fiche
    /// server's word that it was erased); `None` before the handshake names the peer.
    pub fn unavailable(&self, document_id: DocumentId, erased: bool) -> Option<Message> {
        Some(Message::DocUnavailable {
            sender_id: self.local.clone(),
            target_id: self.remote.clone()?,
            document_id,
            erased,
        })
    }

    /// Whether the peer is known to hold exactly `heads` of a document (the shared heads of
    /// its sync state): if so, silence after a heads-only message means "nothing new".
    pub fn shares(&self, id: &DocumentId, heads: &[automerge::ChangeHash]) -> bool {
        self.docs
            .get(id)
            .is_some_and(|s| s.state.shared_heads == heads)
    }

    /// Whether the peer said it has none of a document (its last message had no heads): what
    /// we send it next carries the whole document.
    pub fn peer_has_none(&self, id: &DocumentId) -> bool {
        self.docs
            .get(id)
            .and_then(|s| s.state.their_heads.as_ref())
            .is_some_and(|h| h.is_empty())
    }

    /// A document the peer sent whole was filed without being applied here (see
    /// `crate::preview`): from now on this side holds exactly `heads` of it, as after a
    /// reconnection. No answer is sent; the peer learns our heads from our next message.
    pub fn filed_whole(&mut self, id: DocumentId, heads: Vec<automerge::ChangeHash>) {
        let mut state = sync::State::new();
        state.shared_heads = heads;
        self.docs.insert(id, Shared::of(state));
    }

    /// Forgets a document's sync state: the next message starts from scratch.
    pub fn forget(&mut self, id: &DocumentId) {
        self.docs.remove(id);
    }

    /// The sync state of a document, encoded for storage.
    pub fn saved_state(&self, id: &DocumentId) -> Option<Vec<u8>> {
        self.docs.get(id).map(|s| s.state.encode())
    }

    fn error(&mut self, reason: impl Into<String>) -> Vec<Action> {
        let reason = reason.into();
        self.phase = Phase::Closed;
        vec![
            Action::Send(Message::Error {
                sender_id: self.local.clone(),
                message: reason.clone(),
                target_id: self.remote.clone(),
                document_id: None,
            }),
            Action::Close(reason),
        ]
    }

    /// Starts (or continues) syncing a document with the peer: a `request` if we do not have
    /// it yet (empty), a `sync` otherwise. `None` when there is nothing to say.
    pub fn sync_document(&mut self, id: DocumentId, docs: &mut impl Documents) -> Option<Message> {
        let remote = self.remote.clone()?;
        let state = &mut self.docs.entry(id).or_default().state;
        let doc = docs.get_or_create(&id);
        let request = doc.get_heads().is_empty();
        let data = doc.generate_sync_message(state)?.encode();
        let (sender_id, target_id, document_id) = (self.local.clone(), remote, id);
        Some(if request {
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        } else {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
                preview: None,
            }
        })
    }

    /// A document changed locally (or through another peer): what to tell this peer, if it
    /// syncs that document.
    pub fn document_changed(
        &mut self,
        id: &DocumentId,
        docs: &mut impl Documents,
    ) -> Option<Message> {
        if !self.is_open() || !self.docs.contains_key(id) {
            return None;
        }
        self.sync_document(*id, docs)
    }

    /// Why `message` must be refused for speaking as another peer than the one that joined
    /// (`None` before the handshake, or when it is the peer's own).
    pub fn spoofed(&self, message: &Message) -> Option<String> {
        let remote = self.remote.as_deref()?;
        (message.sender_id() != remote).then(|| {
            format!(
                "senderId {:?} is not the peer of this connection",
                message.sender_id()
            )
        })
    }

    /// Handles one message from the peer.
    pub fn receive(&mut self, message: Message, docs: &mut impl Documents) -> Vec<Action> {
        match self.phase {
            Phase::Closed => Vec::new(),
            Phase::Handshake => self.handshake(message),
            Phase::Open => match self.spoofed(&message) {
                Some(reason) => self.error(reason),
                None => self.open(message, docs),
            },
        }
    }

    fn handshake(&mut self, message: Message) -> Vec<Action> {
        match (self.side, message) {
            (
                Side::Server,
                Message::Join {
                    sender_id,
                    peer_metadata,
                    supported_protocol_versions,
                },
            ) => {
                self.remote = Some(sender_id.clone());
                let v1 = supported_protocol_versions.is_empty()
                    || supported_protocol_versions.iter().any(|v| v == PROTOCOL_V1);
                if !v1 {
                    return self.error("unsupported protocol version");
                }
                self.phase = Phase::Open;
                vec![
                    Action::Send(Message::Peer {
                        sender_id: self.local.clone(),
                        peer_metadata: self.metadata.clone(),
                        selected_protocol_version: PROTOCOL_V1.to_string(),
                        target_id: sender_id.clone(),
                    }),
                    Action::Ready {
                        peer: sender_id,
                        metadata: peer_metadata,
                    },
                ]
            }
            (
                Side::Client,
                Message::Peer {
                    sender_id,
                    peer_metadata,
                    selected_protocol_version,
                    ..
                },
            ) => {
                self.remote = Some(sender_id.clone());
                if selected_protocol_version != PROTOCOL_V1 {
                    return self.error(format!(
                        "unsupported protocol version {selected_protocol_version:?}"
                    ));
                }
                self.phase = Phase::Open;
                vec![Action::Ready {
                    peer: sender_id,
                    metadata: peer_metadata,
                }]
            }
            (_, Message::Error { message, .. }) => {
                self.phase = Phase::Closed;
                vec![Action::Close(format!(
                    "the peer refused the connection: {message}"
                ))]
            }
            (Side::Server, other) => self.error(format!("expected join, got {}", other.kind())),
            (Side::Client, other) => self.error(format!("expected peer, got {}", other.kind())),
        }
    }

    fn open(&mut self, message: Message, docs: &mut impl Documents) -> Vec<Action> {
        match message {
            Message::Sync {
                document_id, data, ..
            } => self.apply(document_id, &data, docs, false),
            Message::Request {
                document_id, data, ..
            } => self.apply(document_id, &data, docs, true),
            Message::DocUnavailable {
                document_id,
                erased,
                ..
            } => {
                self.docs.remove(&document_id);
                if erased {
                    vec![Action::Erased(document_id)]
                } else {
                    vec![Action::Unavailable(document_id)]
                }
            }
            Message::Ephemeral { .. } => vec![Action::Relay(message)],
            Message::Leave { .. } => {
                self.phase = Phase::Closed;
                vec![Action::Close("the peer left".into())]
            }
            Message::Error {
                message,
                document_id: Some(id),
                ..
            } => vec![Action::Refused {
                id,
                reason: message,
            }],
            Message::Error { message, .. } => {
                self.phase = Phase::Closed;
                vec![Action::Close(format!(
                    "the peer reported an error: {message}"
                ))]
            }
            // Heads gossip between storage peers: not needed to converge; ignored for now.
            Message::RemoteSubscriptionChange { .. } | Message::RemoteHeadsChanged { .. } => {
                Vec::new()
            }
            Message::Join { .. } | Message::Peer { .. } => {
                self.error("handshake messages are only valid at the start")
            }
        }
    }

    fn apply(
        &mut self,
        id: DocumentId,
        data: &[u8],
        docs: &mut impl Documents,
        request: bool,
    ) -> Vec<Action> {
        let sync_message = match sync::Message::decode(data) {
            Ok(m) => m,
            Err(e) => return self.error(format!("bad sync message for {id}: {e}")),
        };
        let remote = self.remote.clone().unwrap_or_default();
        // A document new to this connection, that this side does not hold, and that the
        // message brings nothing of: an interest to keep, counted.
        let tracked = self.docs.contains_key(&id);
        let held = (request || !tracked) && docs.holds(&id);
        if !tracked && !held && (request || sync_message.changes.is_empty()) {
            if self.unknown_asked >= MAX_UNKNOWN_ASKED {
                return self.error(format!(
                    "named more than {MAX_UNKNOWN_ASKED} documents this side does not hold"
                ));
            }
            self.unknown_asked += 1;
            self.docs.entry(id).or_default().unheld = true;
        }
        if request && !held {
            // A peer asks for a document we do not have. Its interest is kept, so that the
            // document reaches it if it arrives here later.
            self.docs.entry(id).or_default();
            return self
                .unavailable(id, false)
                .map(Action::Send)
                .into_iter()
                .collect();
        }
        // The peer says it holds none of the document, again, and it has not changed since
        // it was sent whole: that answer is on its way already.
        let none = sync_message.heads.is_empty() && sync_message.changes.is_empty();
        if none {
            if let Some(sent) = self.docs.get(&id).and_then(|s| s.whole_sent.as_ref()) {
                let ours = docs
                    .unloaded_heads(&id)
                    .or_else(|| docs.get(&id).map(|d| d.get_heads()));
                if ours.as_ref() == Some(sent) {
                    return Vec::new();
                }
            }
        }
        if let std::collections::hash_map::Entry::Vacant(fresh) = self.docs.entry(id) {
            if let Some((answer, state)) = docs.prepared_answer(&id, data) {
                let whole_sent = docs
                    .unloaded_heads(&id)
                    .or_else(|| docs.get(&id).map(|d| d.get_heads()));
                fresh.insert(Shared {
                    state,
                    whole_sent: whole_sent.filter(|_| none),
                    unheld: false,
                });
                return vec![Action::Send(Message::Sync {
                    sender_id: self.local.clone(),
                    target_id: remote,
                    document_id: id,
                    data: answer,
                    preview: None,
                })];
            }
        }
        // A peer saying it holds exactly what we hold needs no answer, and no loaded document.
        if let Some(shared) = self.docs.get_mut(&id) {
            if let Some(ours) = docs.unloaded_heads(&id) {
                if settled::acknowledge(&mut shared.state, &sync_message, &ours) {
                    return Vec::new();
                }
            }
        }
        if !sync_message.changes.is_empty() {
            let chunks: Vec<&[u8]> = sync_message.changes.iter().collect();
            docs.receiving(&id, &chunks);
        }
        let shared = self.docs.entry(id).or_default();
        let doc = docs.get_or_create(&id);
        let before = doc.get_heads();
        if let Err(e) = doc.receive_sync_message(&mut shared.state, sync_message) {
            return self.error(format!("cannot apply sync message for {id}: {e}"));
        }
        let mut actions = Vec::new();
        let after = doc.get_heads();
        if after != before {
            actions.push(Action::Changed(id));
        }
        if shared.unheld && !after.is_empty() {
            shared.unheld = false;
            self.unknown_asked -= 1;
        }
        if let Some(reply) = doc.generate_sync_message(&mut shared.state) {
            if none && !reply.changes.is_empty() {
                shared.whole_sent = Some(after);
            }
            actions.push(Action::Send(Message::Sync {
                sender_id: self.local.clone(),
                target_id: remote,
                document_id: id,
                data: reply.encode(),
                preview: None,
            }));
        }
        actions
    }
}
