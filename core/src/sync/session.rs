//! One sync session of a device with a server, without I/O: what to send on connect, what to
//! do with each message received, which documents to write, and how far along it is.
//!
//! A session syncs the directory, every document of the book, and every record the directory
//! lists that the book lacks — all requested at once (pipelined), not one after the other.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use automerge::sync;
use automerge::{Automerge, ChangeHash};

use crate::book::{Absorb, Absorbed, Book};
use crate::directory::{self, directory_id};
use crate::error::Result;
use crate::id::DocumentId;
use crate::protocol::{Action, Connection, Documents, Message, PeerMetadata, Side};
use crate::schema::Kind;

mod filing;

use filing::Filed;

/// Something a session reports, besides frames to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A document gained changes from the server (and is written to the book).
    Received {
        id: DocumentId,
        kind: Kind,
        created: bool,
    },
    /// A document new here, sent whole with a preview and filed as it came (see
    /// `crate::preview`).
    Filed { id: DocumentId, kind: Kind },
    /// A document from the server that the book did not take, and why.
    Skipped { id: DocumentId, reason: String },
    /// The server erased a record: its copy here is gone (`held`: there was one).
    Erased { id: DocumentId, held: bool },
    /// The server refused this device's changes to a document, for `reason`; they stay here,
    /// marked (see `Book::refused`), and the other documents go on.
    Refused { id: DocumentId, reason: String },
    /// The connection must close.
    Closed(String),
}

struct Slot {
    doc: Automerge,
    /// Heads of the book's copy (empty when the book has none).
    stored: Vec<ChangeHash>,
    /// For a document new to the book: every change byte received, in order (they hold the
    /// whole document as long as nothing was changed here), to store as they came.
    received: Option<Vec<u8>>,
}

impl Slot {
    /// A document the book does not have yet.
    fn empty(book: &Book) -> Self {
        Slot {
            doc: Automerge::new().with_actor(book.actor_id().clone()),
            stored: Vec::new(),
            received: Some(Vec::new()),
        }
    }
}

/// The book's documents as the protocol sees them, loaded on demand, held while in use.
struct DeviceDocs {
    book: Arc<Book>,
    slots: HashMap<DocumentId, Slot>,
    errors: Vec<(DocumentId, String)>,
}

impl DeviceDocs {
    fn load(&mut self, id: &DocumentId) -> Option<&mut Slot> {
        if !self.slots.contains_key(id) {
            match self.book.stored_document(id) {
                Ok(Some(doc)) => {
                    let stored = doc.get_heads();
                    let received = None;
                    self.slots.insert(
                        *id,
                        Slot {
                            doc,
                            stored,
                            received,
                        },
                    );
                }
                Ok(None) => return None,
                Err(e) => {
                    self.errors.push((*id, e.to_string()));
                    return None;
                }
            }
        }
        self.slots.get_mut(id)
    }
}

impl Documents for DeviceDocs {
    fn get(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        self.load(id).map(|s| &mut s.doc)
    }

    fn get_or_create(&mut self, id: &DocumentId) -> &mut Automerge {
        // Loads the book's copy into a slot if there is one; otherwise a new, empty document.
        self.load(id);
        let book = &self.book;
        &mut self
            .slots
            .entry(*id)
            .or_insert_with(|| Slot::empty(book))
            .doc
    }

    fn receiving(&mut self, id: &DocumentId, chunks: &[&[u8]]) {
        if self.load(id).is_none() {
            // A document asked for without a copy of its own (see `Blank`).
            self.slots.insert(*id, Slot::empty(&self.book));
        }
        if let Some(Some(bytes)) = self.slots.get_mut(id).map(|s| s.received.as_mut()) {
            for chunk in chunks {
                bytes.extend_from_slice(chunk);
            }
        }
    }
}

/// One empty document standing for every document asked for (a request from an empty
/// document is the same whatever the document), so that none is made per request: the copy
/// is made when the answer comes.
struct Blank(Automerge);

impl Documents for Blank {
    fn get(&mut self, _: &DocumentId) -> Option<&mut Automerge> {
        Some(&mut self.0)
    }

    fn get_or_create(&mut self, _: &DocumentId) -> &mut Automerge {
        &mut self.0
    }
}

/// Documents of the book in flight at once when a session starts (loaded, awaiting an answer).
const WINDOW: usize = 2048;

/// Messages about one document, with no change either way, after which the exchange is
/// given up for the session.
const MAX_ROUNDS: u32 = 200;

/// The kinds of documents a device fetches from the directory.
fn wanted(kind: &str) -> bool {
    matches!(
        Kind::parse(kind),
        Some(Kind::Client | Kind::Contact | Kind::Settings)
    )
}

/// One connection's worth of syncing.
pub struct Session {
    conn: Connection,
    docs: DeviceDocs,
    /// The server's peer id, once the handshake is done.
    peer: Option<String>,
    /// Documents this session syncs.
    known: HashSet<DocumentId>,
    /// Documents we sent something about and expect an answer for.
    pending: HashSet<DocumentId>,
    /// Documents we only told our heads: a peer with nothing new to say may stay silent
    /// (the JavaScript server does), so these settle after a quiet moment (see
    /// [`Session::quiet`]) if no answer comes.
    soft: HashSet<DocumentId>,
    /// Documents whose state or content changed since the last [`Session::persist`].
    dirty: HashSet<DocumentId>,
    /// Documents that were settled at least once this session.
    settled: HashSet<DocumentId>,
    directory_answered: bool,
    /// Messages received per document this session, to stop an exchange that never ends.
    rounds: HashMap<DocumentId, u32>,
    /// Documents of the book not started yet (see [`Session::top_up`]).
    queue: Vec<DocumentId>,
    /// Documents the directory lists that the book lacks, not asked for yet (a window at a
    /// time, as the book's own: a plain JavaScript server asked for 10,000 at once stalls
    /// for minutes).
    fetch: VecDeque<DocumentId>,
    /// Whether the directory was read once this session (to fetch what it lists).
    directory_read: bool,
    /// What requests are made from.
    blank: Blank,
    /// Documents of the book in flight at once (see [`WINDOW`]).
    window: usize,
    /// Documents whose local change the server refused this session.
    refused: HashSet<DocumentId>,
    /// Documents marked refused in the book (earlier sessions included): the mark goes once
    /// the server holds what this device holds of them.
    marked: HashSet<DocumentId>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("known", &self.known.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl Session {
    pub fn new(book: Arc<Book>) -> Self {
        let metadata = PeerMetadata {
            storage_id: Some(book.device_id().to_string()),
            is_ephemeral: false,
        };
        // A fresh peer id for every connection: a JavaScript server keeps per-peer sync state
        // in memory across reconnects (including what it believes it already sent), so
        // reusing an id after a drop can leave it never resending a lost change. The durable
        // identity is the storage id.
        let local = format!(
            "fiche-device-{}-{}",
            book.device_id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Self {
            conn: Connection::new(Side::Client, local, metadata),
            docs: DeviceDocs {
                book,
                slots: HashMap::new(),
                errors: Vec::new(),
            },
            peer: None,
            known: HashSet::new(),
            pending: HashSet::new(),
            soft: HashSet::new(),
            dirty: HashSet::new(),
            settled: HashSet::new(),
            directory_answered: false,
            rounds: HashMap::new(),
            queue: Vec::new(),
            fetch: VecDeque::new(),
            directory_read: false,
            blank: Blank(Automerge::new()),
            window: WINDOW,
            refused: HashSet::new(),
            marked: HashSet::new(),
        }
    }

    /// The `join` to send first.
    pub fn start(&self) -> Option<Message> {
        self.conn.start()
    }

    /// `(done, total)`: documents settled at least once out of those this session syncs.
    pub fn progress(&self) -> (usize, usize) {
        (self.settled.len(), self.known.len() + self.queue.len())
    }

    /// Whether everything known is in sync (the directory included).
    pub fn up_to_date(&self) -> bool {
        self.peer.is_some()
            && self.directory_answered
            && self.pending.is_empty()
            && self.soft.is_empty()
            && self.queue.is_empty()
            && self.fetch.is_empty()
    }

    /// Documents whose local change the server refused this session (they count as settled:
    /// the session finishes, but it is not "up to date").
    pub fn refused(&self) -> usize {
        self.refused.len()
    }

    /// Whether all that is left to wait for are answers a peer may not send.
    pub fn only_soft_pending(&self) -> bool {
        self.pending.is_empty() && !self.soft.is_empty()
    }

    /// Nothing arrived for a while: heads-only messages got no answer because the peer had
    /// nothing new; take them as settled. Returns what to send next (documents still queued).
    pub fn quiet(&mut self) -> Result<Vec<Message>> {
        for id in self.soft.drain() {
            if id == directory_id() {
                self.directory_answered = true;
            }
            self.settled.insert(id);
        }
        self.evict_settled();
        self.top_up()
    }

    /// Documents in memory right now.
    pub fn in_memory(&self) -> usize {
        self.docs.slots.len()
    }

    /// Starts (or continues) syncing one document; returns the message to send, if any.
    pub fn sync(&mut self, id: DocumentId) -> Result<Option<Message>> {
        self.begin(id, true)
    }

    /// [`Session::sync`], for a document the book may hold (`stored`) or is known to lack
    /// (nothing to look up for it then: no copy, no saved sync state).
    fn begin(&mut self, id: DocumentId, stored: bool) -> Result<Option<Message>> {
        let Some(peer) = self.peer.clone() else {
            return Ok(None);
        };

        if self.known.insert(id) && stored && !self.conn.syncs(&id) {
            if let Some(saved) = self.docs.book.sync_state(&id, &peer)? {
                // A state that does not decode is only a lost shortcut: start afresh.
                let _ = self.conn.restore(id, &saved);
            }
        }
        let mut message = if stored || self.docs.slots.contains_key(&id) {
            self.conn.sync_document(id, &mut self.docs)
        } else {
            self.conn.sync_document(id, &mut self.blank)
        };
        // Silence may stand for "nothing new" only when the server is known to hold what we
        // hold. A document it may lack (never synced with it, or changed here since) waits for
        // its answer: taking a slow server's silence as agreement would end the sync with
        // those changes never sent.
        let heads = self.docs.slots.get(&id).map(|s| s.doc.get_heads());
        let mut in_step = heads.is_some_and(|h| self.conn.shares(&id, &h));
        if message.is_none() {
            // Nothing new to say, but the server must learn we follow this document. (It may
            // not answer: it can know it is in step with us already.)
            self.conn.forget(&id);
            message = self.conn.sync_document(id, &mut self.docs);
            in_step = true;
        }
        match &message {
            Some(m) if expects_answer(m) || !in_step => {
                self.pending.insert(id);
            }
            Some(_) => {
                self.soft.insert(id);
            }
            None => {
                self.settled.insert(id);
            }
        }
        Ok(message)
    }

    /// Everything to send once the handshake is done: the directory and every document of the
    /// book, all at once.
    fn open(&mut self) -> Result<Vec<Message>> {
        self.marked = self
            .docs
            .book
            .refused()?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut out = Vec::new();
        out.extend(self.sync(directory_id())?);
        let slots = &self.docs.slots;
        self.queue = self
            .docs
            .book
            .documents()?
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| *id != directory_id() && !slots.contains_key(id))
            .collect();
        out.extend(self.top_up()?);
        Ok(out)
    }

    /// Starts queued documents while fewer than [`WINDOW`] await an answer, so that memory
    /// holds a window of documents, not the whole book. Loading them is the heavy part of a
    /// reconnect: it is spread over the cores.
    fn top_up(&mut self) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        let book = self.docs.book.clone();
        while !self.queue.is_empty() && self.pending.len() + self.soft.len() < self.window {
            let n = self.queue.len().min(self.window.div_ceil(4));
            let chunk: Vec<DocumentId> = self
                .queue
                .drain(..n)
                .filter(|id| !self.known.contains(id))
                .collect();
            let loaded = crate::par::map(chunk, |id| (id, book.stored_document(&id)));
            for (id, doc) in loaded {
                if let Some(doc) = doc? {
                    let stored = doc.get_heads();
                    let received = None;
                    self.docs.slots.insert(
                        id,
                        Slot {
                            doc,
                            stored,
                            received,
                        },
                    );
                }
                out.extend(self.sync(id)?);
            }
        }
        while self.pending.len() + self.soft.len() < self.window {
            let Some(id) = self.fetch.pop_front() else {
                break;
            };
            out.extend(self.begin(id, false)?);
        }
        Ok(out)
    }

    /// A document of the book changed here: what to send.
    pub fn local_change(&mut self, id: DocumentId) -> Result<Vec<Message>> {
        if self.peer.is_none() {
            return Ok(Vec::new());
        }
        // The copy held may be behind the book's: load it again.
        self.docs.slots.remove(&id);
        self.rounds.remove(&id);
        if !self.docs.book.has_document(&id)? {
            // Dropped here (see `Book::drop_local`): asked for afresh, as by a new device.
            self.conn.forget(&id);
            self.refused.remove(&id);
            self.marked.remove(&id);
            self.known.remove(&id);
            self.settled.remove(&id);
            return Ok(self.begin(id, false)?.into_iter().collect());
        }
        let mut out: Vec<Message> = self.sync(id)?.into_iter().collect();
        out.extend(self.list_in_directory([id])?);
        Ok(out)
    }

    /// Every document again (after missing local change announcements).
    pub fn resync_all(&mut self) -> Result<Vec<Message>> {
        self.docs.slots.clear();
        // Everything is started again (a window at a time), and counted again.
        self.known.clear();
        self.settled.clear();
        self.open()
    }

    /// Handles messages received together, once through [`prepare`] (which loads the new
    /// documents they bring, on another thread while this session writes the batch before):
    /// each message in order; call [`Session::persist`] after.
    pub fn receive_prepared(
        &mut self,
        incoming: Vec<Incoming>,
    ) -> Result<(Vec<Message>, Vec<Note>)> {
        let (mut out, mut notes) = (Vec::new(), Vec::new());
        for Incoming {
            message,
            loaded,
            filed,
        } in incoming
        {
            let message = match (loaded, filed) {
                (_, Some(filed)) => {
                    notes.extend(self.filed(filed));
                    continue;
                }
                (Some(loaded), None) => self.adopt(message, loaded)?,
                (None, None) => message,
            };
            let (o, n) = self.receive(message)?;
            out.extend(o);
            notes.extend(n);
        }
        Ok((out, notes))
    }

    /// Takes the document a message brought whole, loaded ahead, if this session still lacks
    /// it; the message then goes on without its changes (already in). Otherwise the message
    /// goes on as it came.
    fn adopt(&mut self, mut message: Message, loaded: Loaded) -> Result<Message> {
        let Message::Sync {
            document_id, data, ..
        } = &mut message
        else {
            return Ok(message);
        };
        let id = *document_id;
        let fresh = match self.docs.slots.get(&id) {
            Some(slot) => slot.doc.get_heads().is_empty(),
            None => !self.docs.book.has_document(&id)?,
        };
        if !fresh || !self.conn.syncs(&id) {
            return Ok(message);
        }
        *data = loaded.stripped;
        let slot = Slot {
            doc: loaded.doc.with_actor(self.docs.book.actor_id().clone()),
            stored: Vec::new(),
            received: Some(loaded.bytes),
        };
        self.docs.slots.insert(id, slot);
        self.dirty.insert(id);
        Ok(message)
    }

    /// Handles one message from the server.
    pub fn receive(&mut self, message: Message) -> Result<(Vec<Message>, Vec<Note>)> {
        let id = message.document_id().copied();
        let mut out = Vec::new();
        let mut notes = Vec::new();
        if let Some(id) = id {
            let rounds = self.rounds.entry(id).or_default();
            *rounds += 1;
            if *rounds > MAX_ROUNDS {
                // A peer that keeps answering without converging: stop for this session; the
                // next one starts from a fresh state.
                if *rounds == MAX_ROUNDS + 1 {
                    self.conn.forget(&id);
                    self.pending.remove(&id);
                    self.soft.remove(&id);
                    self.settled.insert(id);
                    let reason = format!("no agreement after {MAX_ROUNDS} messages");
                    notes.push(Note::Skipped { id, reason });
                }
                return Ok((out, notes));
            }
        }
        let mut answered = false;
        for action in self.conn.receive(message, &mut self.docs) {
            match action {
                Action::Send(m) => {
                    if !expects_answer(&m) {
                        answered = true;
                    }
                    out.push(m);
                }
                Action::Ready { peer, .. } => {
                    self.peer = Some(peer);
                    out.extend(self.open()?);
                }
                Action::Changed(doc) => {
                    self.dirty.insert(doc);
                    // Progress: the exchange is converging.
                    self.rounds.remove(&doc);
                }
                Action::Unavailable(doc) => {
                    // The server does not have it (yet): nothing to wait for.
                    self.pending.remove(&doc);
                    self.soft.remove(&doc);
                    self.known.remove(&doc);
                    if doc == directory_id() {
                        self.directory_answered = true;
                    }
                }
                Action::Erased(doc) => {
                    self.pending.remove(&doc);
                    self.soft.remove(&doc);
                    self.known.remove(&doc);
                    self.dirty.remove(&doc);
                    self.docs.slots.remove(&doc);
                    let erased = self.docs.book.erase(&doc)?;
                    notes.push(Note::Erased {
                        id: doc,
                        held: erased.held,
                    });
                }
                Action::Refused { id: doc, reason } => {
                    // Answered: nothing more comes about it this session.
                    self.pending.remove(&doc);
                    self.soft.remove(&doc);
                    self.settled.insert(doc);
                    if doc == directory_id() {
                        self.directory_answered = true;
                    }
                    self.mark_refused(doc, &reason)?;
                    notes.push(Note::Refused { id: doc, reason });
                }
                Action::Relay(_) => {}
                Action::Close(reason) => notes.push(Note::Closed(reason)),
            }
        }
        if let Some(id) = id {
            self.acknowledged(id)?;
            self.soft.remove(&id);
            if self.conn.syncs(&id) {
                self.dirty.insert(id);
            }
            if !out.is_empty() && !answered {
                // Our answer carries changes or asks for some: wait for the server's.
                self.pending.insert(id);
            } else {
                self.pending.remove(&id);
                self.settled.insert(id);
                if id == directory_id() {
                    self.directory_answered = true;
                }
            }
        }
        Ok((out, notes))
    }

    /// Marks a document's local change as refused in the book, measured from the heads the
    /// server was last known to hold.
    fn mark_refused(&mut self, id: DocumentId, reason: &str) -> Result<()> {
        self.refused.insert(id);
        self.marked.insert(id);
        let since = self
            .conn
            .saved_state(&id)
            .and_then(|s| sync::State::decode(&s).ok())
            .map(|s| s.shared_heads)
            .unwrap_or_default();
        let book = self.docs.book.clone();
        if let Some(slot) = self.docs.load(&id) {
            book.mark_refused(&id, reason, &slot.doc, &since)?;
        }
        Ok(())
    }

    /// Forgets a document's refusal once the server holds what this device holds of it.
    fn acknowledged(&mut self, id: DocumentId) -> Result<()> {
        if !self.marked.contains(&id) || self.refused.contains(&id) {
            return Ok(());
        }
        let heads = self.docs.load(&id).map(|s| s.doc.get_heads());
        if heads.is_some_and(|h| self.conn.shares(&id, &h)) {
            self.marked.remove(&id);
            self.docs.book.clear_refused(&id)?;
        }
        Ok(())
    }

    /// Writes every document changed since the last call (and their sync states) in one
    /// durable write; then looks at the directory for documents to fetch. Returns messages to
    /// send and notes about what was written.
    pub fn persist(&mut self) -> Result<(Vec<Message>, Vec<Note>)> {
        let Some(peer) = self.peer.clone() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let dirty: Vec<DocumentId> = self.dirty.drain().collect();
        let mut states: HashMap<DocumentId, Vec<u8>> = dirty
            .iter()
            .filter_map(|id| Some((*id, self.conn.saved_state(id)?)))
            .collect();
        let mut batch = Vec::new();
        let mut ids = Vec::new();
        let wanted: HashSet<DocumentId> = dirty.into_iter().collect();
        for (slot_id, slot) in self.docs.slots.iter_mut() {
            if !wanted.contains(slot_id) {
                continue;
            }
            let with = states
                .remove(slot_id)
                .map(|s| vec![Book::sync_state_write(slot_id, &peer, s)])
                .unwrap_or_default();
            ids.push(*slot_id);
            // The bytes as received are the whole document only if nothing was added here.
            let local = slot.doc.get_last_local_change().is_some();
            let received = slot.received.take().filter(|b| !local && !b.is_empty());
            batch.push(Absorb {
                id: *slot_id,
                doc: &mut slot.doc,
                before: slot.stored.clone(),
                with,
                received,
            });
        }
        let outcomes = self.docs.book.absorb(batch)?;
        let mut notes = Vec::new();
        let mut directory_changed = false;
        for (id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                Absorbed::Written { kind, created } => {
                    if let Some(slot) = self.docs.slots.get_mut(id) {
                        slot.stored = slot.doc.get_heads();
                    }
                    if kind == Kind::Directory {
                        directory_changed = true;
                    } else {
                        notes.push(Note::Received {
                            id: *id,
                            kind,
                            created,
                        });
                    }
                }
                Absorbed::Unchanged => {}
                Absorbed::Refused(e) => notes.push(Note::Skipped {
                    id: *id,
                    reason: e.to_string(),
                }),
            }
        }
        for (id, reason) in self.docs.errors.drain(..) {
            notes.push(Note::Skipped { id, reason });
        }
        let mut out = Vec::new();
        if directory_changed || (self.directory_answered && !self.directory_read) {
            out.extend(self.fetch_listed()?);
        }
        self.evict_settled();
        out.extend(self.top_up()?);
        Ok((out, notes))
    }

    /// Drops from memory the documents that are settled and written: memory holds what is
    /// in flight, not the book.
    fn evict_settled(&mut self) {
        let (pending, soft) = (&self.pending, &self.soft);
        let dir = directory_id();
        self.docs.slots.retain(|id, slot| {
            *id == dir
                || pending.contains(id)
                || soft.contains(id)
                || slot.doc.get_heads() != slot.stored
        });
    }

    /// Starts syncing every record the directory lists that this session does not sync yet;
    /// the first time, also lists the book's documents the directory lacks (a plain
    /// automerge-repo server does not keep the directory up to date by itself).
    fn fetch_listed(&mut self) -> Result<Vec<Message>> {
        let dir = directory_id();
        let listed = match self.docs.get(&dir) {
            Some(doc) => directory::entries(doc),
            None => Default::default(),
        };
        let mut out = Vec::new();
        self.known.reserve(listed.len());
        self.pending.reserve(listed.len());
        for (id, kind) in &listed {
            // The book's own documents are started by `top_up`, a window at a time.
            if wanted(kind)
                && !self.known.contains(id)
                && !self.docs.book.has_document(id)?
                && !self.docs.book.is_erased(id)?
            {
                // Known (counted in the progress) from now; asked for by `top_up`.
                self.known.insert(*id);
                self.fetch.push_back(*id);
            }
        }
        out.extend(self.top_up()?);
        if !self.directory_read {
            self.directory_read = true;
            // Only documents this server has never synced with us: one it knows and does not
            // list was taken out of our view on purpose (a Fiche server keeps a technician's
            // directory to what is assigned to them), not forgotten.
            // The queue counts too: a book larger than the window has documents not
            // started yet, and a plain server would never learn of them.
            let peer = self.peer.clone().unwrap_or_default();
            let mut missing = Vec::new();
            for id in self.known.iter().chain(&self.queue) {
                if *id != dir
                    && !listed.contains_key(id)
                    && self.docs.book.sync_state(id, &peer)?.is_none()
                {
                    missing.push(*id);
                }
            }
            out.extend(self.list_in_directory(missing)?);
        }
        Ok(out)
    }

    /// Adds documents of the book to the directory; returns the directory sync to send.
    fn list_in_directory(
        &mut self,
        ids: impl IntoIterator<Item = DocumentId>,
    ) -> Result<Vec<Message>> {
        let dir = directory_id();
        let mut entries = Vec::new();
        for id in ids {
            if self
                .docs
                .get(&dir)
                .is_some_and(|d| directory::lists(d, &id))
            {
                continue;
            }
            if let Some(kind) = self.docs.book.document_kind(&id)? {
                if wanted(&kind) {
                    entries.push((id, kind));
                }
            }
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let doc = self.docs.get_or_create(&dir);
        if directory::add(doc, entries, "list")? == 0 {
            return Ok(Vec::new());
        }
        self.dirty.insert(dir);
        Ok(self.sync(dir)?.into_iter().collect())
    }
}

/// A message from the server, with the document it brings whole when the book lacked it.
#[derive(Debug)]
pub struct Incoming {
    message: Message,
    loaded: Option<Loaded>,
    /// The document the message brought whole with a preview, filed as it came.
    filed: Option<Filed>,
}

/// A document loaded from the changes a sync message brought.
#[derive(Debug)]
struct Loaded {
    /// The message's sync data without the changes.
    stripped: Vec<u8>,
    /// The changes, as received: all of the document.
    bytes: Vec<u8>,
    doc: Automerge,
}

/// Loads, in parallel, the documents that `sync` messages bring to a book that lacks them:
/// the heavy part of receiving a batch, needing no session, so it can run on another thread.
/// Changes that do not make a document alone (missing dependencies) are left to the session.
pub fn prepare(book: &Book, messages: Vec<Message>) -> Result<Vec<Incoming>> {
    let mut jobs = Vec::new();
    let mut seen = HashSet::new();
    let mut wholes = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let Message::Sync {
            sender_id,
            document_id,
            data,
            preview,
            ..
        } = m
        else {
            continue;
        };
        if !seen.insert(*document_id) || book.has_document(document_id)? {
            continue;
        }
        if let Some(whole) = preview
            .as_ref()
            .and_then(|p| crate::preview::whole(*document_id, data, p))
        {
            wholes.push((i, sender_id.clone(), whole));
            continue;
        }
        if let Ok(decoded) = sync::Message::decode(data) {
            if !decoded.changes.is_empty() {
                jobs.push((i, decoded));
            }
        }
    }
    let mut filed = filing::file(book, wholes)?;
    let mut incoming: Vec<Incoming> = messages
        .into_iter()
        .enumerate()
        .map(|(i, message)| Incoming {
            message,
            loaded: None,
            filed: filed.remove(&i),
        })
        .collect();
    if jobs.is_empty() {
        return Ok(incoming);
    }
    let loaded = crate::par::map(jobs, |(i, mut decoded)| {
        let bytes: Vec<u8> = decoded.changes.iter().flatten().copied().collect();
        let doc = Automerge::load(&bytes).ok()?;
        decoded.changes = sync::ChunkList::empty();
        let stripped = decoded.encode();
        Some((
            i,
            Loaded {
                stripped,
                bytes,
                doc,
            },
        ))
    });
    for (i, l) in loaded.into_iter().flatten() {
        if let Some(slot) = incoming.get_mut(i) {
            slot.loaded = Some(l);
        }
    }
    Ok(incoming)
}

/// Whether a sync message we send calls for an answer (it carries changes or asks for some).
fn expects_answer(message: &Message) -> bool {
    let data = match message {
        Message::Sync { data, .. } => data,
        Message::Request { .. } => return true,
        _ => return false,
    };
    match sync::Message::decode(data) {
        Ok(m) => !m.changes.is_empty() || !m.need.is_empty(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Client;
    use crate::Options;

    fn open_session(book: &Arc<Book>) -> (Session, Vec<Message>) {
        let mut s = Session::new(book.clone());
        let Some(Message::Join { sender_id, .. }) = s.start() else {
            panic!("a device starts with join");
        };
        let peer = Message::Peer {
            sender_id: "server".into(),
            peer_metadata: PeerMetadata::default(),
            selected_protocol_version: crate::protocol::PROTOCOL_V1.into(),
            target_id: sender_id,
        };
        let (out, _) = s.receive(peer).unwrap();
        (s, out)
    }

    #[test]
    fn a_plain_server_learns_every_document_of_a_book_larger_than_the_window() {
        // A JavaScript server keeps no directory: the device lists its documents in it.
        // Documents still queued behind the window must be listed too.
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(Book::open(dir.path(), Options::default()).unwrap());
        let drafts = (0..9)
            .map(|i| {
                let mut c = Client::default();
                c.name.display = format!("Client {i}");
                c
            })
            .collect();
        book.create_clients(drafts, "test").unwrap();
        let mut s = Session::new(book.clone());
        s.window = 2;
        let Some(Message::Join { sender_id, .. }) = s.start() else {
            panic!("a device starts with join");
        };
        let peer = Message::Peer {
            sender_id: "server".into(),
            peer_metadata: PeerMetadata::default(),
            selected_protocol_version: crate::protocol::PROTOCOL_V1.into(),
            target_id: sender_id.clone(),
        };
        s.receive(peer).unwrap();
        assert!(s.queue.len() > 5, "most documents wait behind the window");
        let unavailable = Message::DocUnavailable {
            sender_id: "server".into(),
            target_id: sender_id,
            document_id: directory_id(),
            erased: false,
        };
        s.receive(unavailable).unwrap();
        s.persist().unwrap();
        let listed = s
            .docs
            .get(&directory_id())
            .map(|d| directory::entries(d).len());
        assert_eq!(listed, Some(9));
    }

    #[test]
    fn a_fresh_device_asks_for_what_the_directory_lists_a_window_at_a_time() {
        use crate::protocol::{Action, Connection, Side};
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(Book::open(dir.path(), Options::default()).unwrap());
        // A plain server whose directory lists 9 clients it does not have.
        let mut listing = directory::create(automerge::ActorId::random()).unwrap();
        let listed: Vec<_> = (0..9)
            .map(|_| (DocumentId::random(), "client".into()))
            .collect();
        directory::add(&mut listing, listed, "list").unwrap();
        let mut held: HashMap<DocumentId, Automerge> = HashMap::new();
        held.insert(directory_id(), listing);
        let mut server = Connection::new(Side::Server, "server".into(), PeerMetadata::default());
        let mut s = Session::new(book.clone());
        s.window = 2;
        let mut to_server: Vec<Message> = s.start().into_iter().collect();
        let (mut asked, mut most_in_flight) = (HashSet::new(), 0);
        for _ in 0..100 {
            let mut to_device = Vec::new();
            for m in to_server.drain(..) {
                if let Message::Request { document_id, .. } = &m {
                    if *document_id != directory_id() {
                        asked.insert(*document_id);
                    }
                }
                for action in server.receive(m, &mut held) {
                    if let Action::Send(reply) = action {
                        to_device.push(reply);
                    }
                }
            }
            most_in_flight = most_in_flight.max(s.pending.len() + s.soft.len());
            if to_device.is_empty() {
                break;
            }
            for m in to_device {
                to_server.extend(s.receive(m).unwrap().0);
            }
            to_server.extend(s.persist().unwrap().0);
        }
        assert_eq!(asked.len(), 9, "every listed client is asked for");
        assert!(
            most_in_flight <= 3,
            "{most_in_flight} in flight (window 2 + the directory)"
        );
        assert!(s.fetch.is_empty());
    }

    #[test]
    fn a_refused_document_settles_and_the_session_finishes_without_being_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(Book::open(dir.path(), Options::default()).unwrap());
        let (mut s, first) = open_session(&book);
        assert_eq!(first.len(), 1, "the directory alone");
        assert!(!s.up_to_date());
        let refusal = Message::Error {
            sender_id: "server".into(),
            message: "member m is read-only: changes are refused".into(),
            target_id: None,
            document_id: Some(directory_id()),
        };
        let (out, notes) = s.receive(refusal).unwrap();
        assert!(out.is_empty());
        assert!(matches!(&notes[..], [Note::Refused { id, .. }] if *id == directory_id()));
        assert!(s.up_to_date(), "nothing left to wait for");
        assert_eq!(s.refused(), 1, "so the engine says held, not up to date");
    }

    #[test]
    fn a_resync_sends_every_document_again() {
        let dir = tempfile::tempdir().unwrap();
        let book = Arc::new(Book::open(dir.path(), Options::default()).unwrap());
        let drafts = (0..5)
            .map(|i| {
                let mut c = Client::default();
                c.name.display = format!("Client {i}");
                c
            })
            .collect();
        book.create_clients(drafts, "test").unwrap();
        let (mut s, first) = open_session(&book);
        // The directory and the five clients.
        assert_eq!(first.len(), 6);
        assert_eq!(s.progress(), (0, 6));
        let again = s.resync_all().unwrap();
        assert_eq!(again.len(), 6);
        assert_eq!(s.progress(), (0, 6));
    }
}
