//! The hub thread: the one place the protocol state and the documents live. Connections send
//! it decoded messages; it answers with frames for each connection. Everything received in one
//! round is written to the store in one durable write before any answer goes back to a
//! connection that sent something in that round; what only relays others' changes goes first.
//! A request for a document no store holds waits [`PATIENCE`] for it to arrive from a peer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fiche_core::directory::{self, directory_id, settings_id};
use fiche_core::protocol::{Action, ConnId, Hub, Message, Out, Wait};
use fiche_core::{schema, DocumentId};
use tokio::sync::oneshot;

use crate::access::{ConnAccess, Owners, Verdict};
use crate::accounts::{Access, Role, OPEN_ORG};
use crate::assign::Assignments;
use crate::docs::ServerDocs;
use crate::erase::{Erasure, Tombstones};
use crate::link::Outbox;

/// How long a request for a document no store holds waits for it to arrive from a peer before
/// `doc-unavailable`. A peer that creates a record and shares its link at once (the official
/// client's `create`, then `find` elsewhere) has its first changes here within a round trip or
/// two: milliseconds on a LAN, about a second on a slow mobile link. Three seconds covers that
/// and stays well inside the official client's own wait for an answer.
pub const PATIENCE: Duration = Duration::from_secs(3);

/// What a connection tells the hub.
#[derive(Debug)]
pub enum Event {
    Connect {
        conn: ConnId,
        out: Outbox,
        access: Access,
    },
    Frame {
        conn: ConnId,
        message: Message,
        /// The frame's length, counted in flight until the hub handles it.
        size: usize,
    },
    /// The connection sent something that is not a protocol message.
    Reject {
        conn: ConnId,
        reason: String,
    },
    Disconnect {
        conn: ConnId,
    },
    /// These devices lost their access (revoked, member removed or role changed): close
    /// their connections now.
    Revoke {
        devices: Vec<String>,
    },
    /// Erase a record (GDPR) and tell every peer syncing it; answers what was done.
    Erase {
        id: DocumentId,
        actor: String,
        reason: String,
        done: oneshot::Sender<Result<Erasure, String>>,
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
    /// The most documents kept in memory; the least recently used go first.
    pub most_loaded: usize,
    pub owners: Owners,
    pub assignments: Assignments,
    /// Documents written without their directory entry (adding it failed): the store holding
    /// them does not mean they are listed. Marked in the store too (`_unlisted`), read at start.
    pub unlisted: HashSet<DocumentId>,
    /// Erased records: nothing about them is taken or relayed again.
    pub tombstones: Tombstones,
    /// Crash tests only: the rounds that relay a change left before the process aborts
    /// between relaying and writing (`--die-before-write`).
    pub die_before_write: Option<u32>,
}

/// A directory entry: the id a document is listed under, and its kind.
type Entry = (DocumentId, String);

/// What the hub knows of each connection.
struct Conn {
    out: Outbox,
    access: ConnAccess,
}

impl HubThread {
    /// Runs until every sender is gone or a shutdown is asked for.
    pub fn run(mut self, events: Receiver<Event>) {
        let mut senders: HashMap<ConnId, Conn> = HashMap::new();
        // Documents known to be in their directory: learnt as they change, not read from the
        // directories (which would load them all at start).
        let mut listed = HashSet::new();
        let tick = (self.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        let mut last_evict = Instant::now();
        loop {
            let wake = self.hub.next_deadline().map_or(tick, |d| {
                d.saturating_duration_since(Instant::now()).min(tick)
            });
            let first = match events.recv_timeout(wake) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut outs = Vec::new();
            let mut shutdown = None;
            // The connections that sent something this round: what they are told waits for
            // the durable write, as it may acknowledge what they sent.
            let mut heard: HashSet<ConnId> = HashSet::new();
            for event in first.into_iter().chain(events.try_iter().take(ROUND)) {
                match event {
                    Event::Connect { conn, out, access } => {
                        self.hub.connect(conn);
                        if access.role == Role::Technician {
                            self.fill_member_directory(&access.org, &access.member);
                        }
                        let access = ConnAccess::new(access);
                        senders.insert(conn, Conn { out, access });
                    }
                    Event::Frame {
                        conn,
                        message,
                        size,
                    } => {
                        let Some(c) = senders.get(&conn) else {
                            continue;
                        };
                        c.out.handled(size);
                        // Rejected or revoked earlier in this round (it stays among the
                        // senders until it is told): what it still sent is dropped.
                        if self.hub.connection(conn).is_none() {
                            continue;
                        }
                        heard.insert(conn);
                        // Before anything else, so that no answer depends on what a spoofed
                        // message asks.
                        let spoofed = self.hub.connection(conn).and_then(|h| h.spoofed(&message));
                        if let Some(reason) = spoofed {
                            outs.extend(self.reject(conn, reason));
                            continue;
                        }
                        if let Some(&id) = message
                            .document_id()
                            .filter(|id| self.tombstones.contains(id))
                        {
                            // Asked about an erased record: it is gone for good.
                            if matches!(message, Message::Sync { .. } | Message::Request { .. }) {
                                outs.extend(self.unavailable(conn, id, true));
                            }
                            continue;
                        }
                        let asked = matches!(message, Message::Request { .. });
                        match c
                            .access
                            .inbound(&mut self.owners, &mut self.assignments, message)
                        {
                            Verdict::Pass(m) => {
                                let mut answers = self.hub.receive(conn, m);
                                if asked {
                                    self.defer_unavailable(conn, &c.access, &mut answers);
                                }
                                let dir = c.access.directory();
                                // A technician's device lists what it holds in its
                                // directory; the server keeps it to what is assigned.
                                let refill = c.access.access.role == Role::Technician
                                    && answers.iter().any(|o| o.action == Action::Changed(dir));
                                outs.extend(answers);
                                let a = &c.access.access;
                                if refill && self.fill_member_directory(&a.org, &a.member) {
                                    outs.extend(self.hub.changed(&dir, None));
                                }
                            }
                            // Asked for another organisation's document: answered as late as
                            // for a document that is absent.
                            Verdict::Unavailable(document_id) if asked => {
                                let until = Instant::now() + PATIENCE;
                                self.hub.wait(conn, document_id, Wait::Refusal, until);
                            }
                            Verdict::Unavailable(document_id) => {
                                outs.extend(self.unavailable(conn, document_id, false))
                            }
                            Verdict::Refuse(reason) => {
                                tracing::warn!(conn, member = %c.access.access.member, %reason, "refused");
                                outs.extend(self.reject(conn, reason));
                            }
                            Verdict::RefuseChanges {
                                document_id,
                                reason,
                            } => {
                                tracing::info!(conn, member = %c.access.access.member, %document_id, %reason, "changes refused");
                                outs.extend(self.refuse_changes(conn, document_id, reason));
                            }
                            Verdict::Drop => {}
                        }
                    }
                    Event::Revoke { devices } => {
                        for (&conn, c) in &senders {
                            if devices.contains(&c.access.access.device) {
                                self.hub.disconnect(conn);
                                outs.push(Out {
                                    conn,
                                    action: Action::Close(
                                        "this device's access was revoked".into(),
                                    ),
                                });
                            }
                        }
                    }
                    Event::Erase {
                        id,
                        actor,
                        reason,
                        done,
                    } => {
                        // Whatever was received before is written first, so the erasure
                        // is the last word on the record (and listed first, as what is
                        // written counts as listed).
                        let new = self.list_new(&outs, &mut listed);
                        outs.extend(new);
                        self.write();
                        let answer = match self.erase(id, &actor, &reason) {
                            Ok((erasure, o)) => {
                                // The record's changes earlier this round are over: nothing
                                // lists it, or follows its assignments, after this.
                                outs.retain(
                                    |o| !matches!(&o.action, Action::Changed(c) if *c == id),
                                );
                                outs.extend(o);
                                Ok(erasure)
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = done.send(answer);
                    }
                    Event::Reject { conn, reason } => outs.extend(self.reject(conn, reason)),
                    Event::Disconnect { conn } => {
                        self.hub.disconnect(conn);
                        senders.remove(&conn);
                    }
                    Event::Shutdown { done } => shutdown = Some(done),
                }
            }
            outs.extend(self.list_new(&outs, &mut listed));
            outs.extend(self.assign_moved(&outs));
            // A document that arrived while another organisation's peer waited for it is not
            // sent to that peer (`access`): it hears `doc-unavailable`, as for an absent one.
            let owners = &self.owners;
            let expired = self.hub.expire(Instant::now(), |conn, id| {
                senders.get(&conn).is_some_and(|c| {
                    owners
                        .owner(id)
                        .is_none_or(|org| org == c.access.access.org)
                })
            });
            outs.extend(expired);
            // Relays acknowledge nothing, so they leave before the write (the write's flush is
            // most of an edit's way to the other devices); if the server dies before the write,
            // the sender, never acknowledged, sends it again, and a device that got it offers
            // it back. Answers to the senders leave once it is durable.
            let (relays, answers): (Vec<Out>, Vec<Out>) =
                outs.into_iter().partition(|o| !heard.contains(&o.conn));
            let relayed = relays
                .iter()
                .any(|o| matches!(o.action, Action::Send(Message::Sync { .. })));
            self.dispatch(relays, &mut senders);
            if relayed {
                self.die_if_asked();
            }
            self.write();
            self.dispatch(answers, &mut senders);
            let crowded = self.hub.documents().loaded() > self.most_loaded;
            if crowded || last_evict.elapsed() >= tick {
                let dropped = self.hub.documents().evict(self.idle, self.most_loaded);
                if dropped > 0 {
                    tracing::debug!(dropped, "idle documents dropped from memory");
                }
                last_evict = Instant::now();
            }
            self.publish(senders.len());
            if let Some(done) = shutdown {
                for (conn, c) in senders.drain() {
                    c.out.close("the server is shutting down".into());
                    self.hub.disconnect(conn);
                }
                self.write();
                let _ = done.send(());
                break;
            }
        }
    }

    /// Updates the figures `/health` shows.
    pub fn publish(&mut self, connections: usize) {
        self.stats.connections.store(connections, Ordering::Relaxed);
        let docs = self.hub.documents();
        self.stats.loaded.store(docs.loaded(), Ordering::Relaxed);
        self.stats.stored.store(docs.stored(), Ordering::Relaxed);
    }

    /// Aborts the process, unwritten, in the round `--die-before-write` named (once the
    /// connections had a moment to send the relays).
    fn die_if_asked(&mut self) {
        let Some(left) = self.die_before_write.as_mut() else {
            return;
        };
        *left = left.saturating_sub(1);
        if *left == 0 {
            tracing::error!("dying before the write, as --die-before-write asked");
            std::thread::sleep(Duration::from_millis(300));
            std::process::abort();
        }
    }

    /// Writes what changed; on failure the changes stay in memory and are retried next round.
    pub fn write(&mut self) {
        let docs = self.hub.documents();
        if let Err(e) = docs.flush() {
            tracing::error!(error = %e, "cannot write documents; will retry");
        }
        for e in docs.take_errors() {
            tracing::error!(error = %e, "document answered as unavailable");
        }
    }

    /// An `error` to the peer of `conn`: about one document's changes, or (`None`) about
    /// the connection.
    fn error(&self, conn: ConnId, reason: String, document_id: Option<DocumentId>) -> Out {
        let target_id = self
            .hub
            .connection(conn)
            .and_then(|c| c.remote().map(str::to_string));
        let error = Message::Error {
            sender_id: self.local.clone(),
            message: reason,
            target_id,
            document_id,
        };
        Out {
            conn,
            action: Action::Send(error),
        }
    }

    /// Ends a connection: an `error`, then the close.
    fn reject(&mut self, conn: ConnId, reason: String) -> Vec<Out> {
        let error = self.error(conn, reason.clone(), None);
        self.hub.disconnect(conn);
        vec![
            error,
            Out {
                conn,
                action: Action::Close(reason),
            },
        ]
    }

    /// Turns the `doc-unavailable` that answers a peer's request for a document no store
    /// holds into a wait for it to arrive ([`PATIENCE`]), except for the directory and the
    /// settings, which no peer creates on the spot.
    fn defer_unavailable(&mut self, conn: ConnId, access: &ConnAccess, answers: &mut Vec<Out>) {
        let until = Instant::now() + PATIENCE;
        let settings = self.owners.scope(&access.access.org).id(settings_id());
        answers.retain(|o| match &o.action {
            Action::Send(Message::DocUnavailable {
                document_id,
                erased: false,
                ..
            }) if o.conn == conn
                && *document_id != access.directory()
                && *document_id != settings =>
            {
                self.hub.wait(conn, *document_id, Wait::Arrival, until);
                false
            }
            _ => true,
        });
    }

    /// Refuses the changes a peer sent to one document (named as the peer names it); the
    /// connection goes on.
    fn refuse_changes(&self, conn: ConnId, document_id: DocumentId, reason: String) -> Vec<Out> {
        vec![self.error(conn, reason, Some(document_id))]
    }

    /// `doc-unavailable` for a document the peer may not see, as if it did not exist, or
    /// for one that was `erased`.
    fn unavailable(&self, conn: ConnId, document_id: DocumentId, erased: bool) -> Vec<Out> {
        let message = self
            .hub
            .connection(conn)
            .and_then(|c| c.unavailable(document_id, erased));
        message
            .map(|m| Out {
                conn,
                action: Action::Send(m),
            })
            .into_iter()
            .collect()
    }

    /// Adds documents seen for the first time to their organisation's directory, and offers
    /// each new directory to everyone syncing it. A document the store already holds was
    /// listed in the round that first wrote it (the entry and the document are written
    /// together), so only one new to the store loads its directory.
    fn list_new(&mut self, outs: &[Out], listed: &mut HashSet<DocumentId>) -> Vec<Out> {
        // Per directory: each new document, with its entry (the id it is listed under, kind).
        let mut new: HashMap<DocumentId, Vec<(DocumentId, Entry)>> = HashMap::new();
        for out in outs {
            let Action::Changed(id) = &out.action else {
                continue;
            };
            if listed.contains(id) {
                continue;
            }
            // Stored means listed, unless listing it failed (then it is tried again).
            if !self.unlisted.contains(id) && self.hub.documents().is_stored(id) {
                listed.insert(*id);
                continue;
            }
            let org = self.owners.owner(id).unwrap_or_else(|| Arc::from(OPEN_ORG));
            let scope = self.owners.scope(&org);
            let dir = scope.id(directory_id());
            if *id == dir {
                continue;
            }
            if let Err(e) = self.owners.ensure(dir, &org) {
                tracing::error!(error = %e, "cannot record a directory's owner");
                self.not_listed(id);
                continue;
            }
            // Peers know the organisation's settings by the well-known id.
            let named = if *id == scope.id(settings_id()) {
                settings_id()
            } else {
                *id
            };
            let kind = self
                .hub
                .documents()
                .get_loaded(id)
                .and_then(schema::kind_of);
            if kind == Some(schema::Kind::Directory) {
                // A member's own directory: never listed in the organisation's.
                continue;
            }
            let kind = kind.map(|k| k.as_str().to_string()).unwrap_or_default();
            listed.insert(*id);
            new.entry(dir).or_default().push((*id, (named, kind)));
        }
        let mut outs = Vec::new();
        for (dir, docs) in new {
            let (ids, entries): (Vec<DocumentId>, Vec<_>) = docs.into_iter().unzip();
            let added = match self.hub.documents().directory(&dir, true) {
                Some(doc) => directory::add(doc, entries, "list"),
                None => Err(fiche_core::Error::Corrupt {
                    id: dir,
                    reason: "the directory cannot be loaded".into(),
                }),
            };
            match added {
                Ok(n) => {
                    for id in &ids {
                        if self.unlisted.remove(id) {
                            self.hub.documents().mark_unlisted(id, false);
                        }
                    }
                    if n > 0 {
                        outs.extend(self.hub.changed(&dir, None));
                    }
                }
                Err(e) => {
                    // Written all the same; listed when they next change.
                    tracing::error!(error = %e, "cannot add to the directory");
                    for id in ids {
                        listed.remove(&id);
                        self.not_listed(&id);
                    }
                }
            }
        }
        outs
    }

    /// Keeps a document that could not be listed to be listed when it next changes, marked
    /// in the store with the write that stores it (so a restart does not forget it).
    fn not_listed(&mut self, id: &DocumentId) {
        if self.unlisted.insert(*id) {
            self.hub.documents().mark_unlisted(id, true);
        }
    }

    /// Follows changed records' assignments (and the contacts they link) into their members'
    /// own directories (what technicians discover): a record assigned is added, live; one
    /// unassigned is removed.
    fn assign_moved(&mut self, outs: &[Out]) -> Vec<Out> {
        let mut affected: HashSet<(Arc<str>, String)> = HashSet::new();
        for out in outs {
            let Action::Changed(id) = &out.action else {
                continue;
            };
            let Some(org) = self.owners.owner(id).filter(|o| **o != *OPEN_ORG) else {
                continue;
            };
            let Some(doc) = self.hub.documents().get_loaded(id) else {
                continue;
            };
            match self.assignments.update(*id, doc) {
                Ok(members) => affected.extend(members.into_iter().map(|m| (org.clone(), m))),
                Err(e) => tracing::error!(error = %e, %id, "cannot record a record's assignees"),
            }
        }
        let mut outs = Vec::new();
        for (org, member) in affected {
            if self.fill_member_directory(&org, &member) {
                let dir = self.owners.scope(&org).member_directory(&member);
                outs.extend(self.hub.changed(&dir, None));
            }
        }
        outs
    }

    /// Makes a member's own directory list exactly the records assigned to them, the contacts
    /// those link, and the settings (what a technician's device discovers); whether it changed.
    fn fill_member_directory(&mut self, org: &Arc<str>, member: &str) -> bool {
        let dir = self.owners.scope(org).member_directory(member);
        if let Err(e) = self.owners.ensure(dir, org) {
            tracing::error!(error = %e, "cannot record a directory's owner");
            return false;
        }
        let assigned = self.assignments.of_member(member);
        let keep: HashSet<DocumentId> = assigned.iter().map(|(id, _)| *id).collect();
        let listed: Vec<DocumentId> = self
            .hub
            .documents()
            .directory(&dir, true)
            .map(|d| directory::entries(d).into_keys().collect())
            .unwrap_or_default();
        let stale = listed
            .into_iter()
            .filter(|id| *id != settings_id() && !keep.contains(id))
            .collect();
        self.edit_directory(dir, assigned, stale)
    }

    /// Adds and removes entries of a member's directory; whether it changed.
    fn edit_directory(
        &mut self,
        dir: DocumentId,
        add: Vec<(DocumentId, schema::Kind)>,
        remove: Vec<DocumentId>,
    ) -> bool {
        let Some(doc) = self.hub.documents().directory(&dir, true) else {
            return false;
        };
        let entries: Vec<(DocumentId, String)> =
            std::iter::once((settings_id(), schema::Kind::Settings))
                .chain(add)
                .map(|(id, kind)| (id, kind.as_str().to_string()))
                .collect();
        let added = directory::add(doc, entries, "assigned");
        let removed = directory::remove(doc, remove, "unassigned");
        match (added, removed) {
            (Ok(a), Ok(r)) => a + r > 0,
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot edit a member's directory");
                false
            }
        }
    }

    /// Adds its preview to each `sync` message that carries a whole document to a peer that
    /// had none of it, so that a Fiche device files it without loading it.
    fn attach_previews(&mut self, outs: &mut [Out]) {
        for out in outs {
            let Action::Send(Message::Sync {
                document_id,
                data,
                preview,
                ..
            }) = &mut out.action
            else {
                continue;
            };
            let has_none = self
                .hub
                .connection(out.conn)
                .is_some_and(|c| c.peer_has_none(document_id));
            if preview.is_some() || !has_none {
                continue;
            }
            match automerge::sync::Message::decode(data) {
                Ok(m) if !m.changes.is_empty() => {
                    *preview = self.hub.documents().preview(document_id, &m.heads);
                }
                _ => {}
            }
        }
    }

    fn dispatch(&mut self, mut outs: Vec<Out>, senders: &mut HashMap<ConnId, Conn>) {
        self.attach_previews(&mut outs);
        for Out { conn, action } in outs {
            let Some(c) = senders.get(&conn) else {
                continue;
            };
            let sender = &c.out;
            match action {
                Action::Send(message) => {
                    let Some(m) = c.access.outbound(&self.owners, &self.assignments, message)
                    else {
                        continue;
                    };
                    if sender.frame(m.encode()).is_err() {
                        tracing::warn!(
                            conn,
                            queued = sender.queued(),
                            "the peer does not read what it is sent: dropping the connection"
                        );
                        sender.cut();
                        self.hub.disconnect(conn);
                        senders.remove(&conn);
                    }
                }
                Action::Close(reason) => {
                    tracing::info!(conn, %reason, "closing connection");
                    sender.close(reason);
                    senders.remove(&conn);
                }
                Action::Ready { peer, metadata } => {
                    tracing::info!(conn, %peer, storage = ?metadata.storage_id, "peer joined");
                }
                Action::Changed(id) => tracing::debug!(conn, %id, "document changed"),
                Action::Unavailable(id) => tracing::debug!(conn, %id, "peer lacks document"),
                // A server is told of erasures by its admin, never by a peer.
                Action::Erased(id) => {
                    tracing::warn!(conn, %id, "a peer claims a document was erased; ignored")
                }
                Action::Refused { id, reason } => {
                    tracing::warn!(conn, %id, %reason, "a peer refused the server's changes; ignored")
                }
                Action::Relay(_) => {}
            }
        }
    }
}
