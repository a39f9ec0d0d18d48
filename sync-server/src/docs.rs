//! The server's documents: loaded from the store on demand, written back in batches, and
//! dropped from memory when idle, so memory follows the active set, not the stored set.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, Automerge, ChangeHash};
use fiche_core::directory;
use fiche_core::docstore;
use fiche_core::protocol::{Documents, Preview};
use fiche_core::store::{Store, Write};
use fiche_core::{key, DocumentId};

use crate::error::ServerError;

struct Slot {
    doc: Automerge,
    /// Heads of what the store holds (empty: nothing stored yet).
    saved: Vec<ChangeHash>,
    used: Instant,
    /// The document's preview, and the heads it was made at.
    preview: Option<(Vec<ChangeHash>, Preview)>,
    /// The answer to a fresh device's request, prepared when this version was written.
    answer: Option<Answer>,
}

/// An answer prepared for the first message of a device that has none of a document.
struct Answer {
    heads: Vec<ChangeHash>,
    data: Vec<u8>,
    state: sync::State,
}

impl Slot {
    fn new(doc: Automerge, saved: Vec<ChangeHash>) -> Self {
        Self {
            doc,
            saved,
            used: Instant::now(),
            preview: None,
            answer: None,
        }
    }
}

/// Every document the server holds: the store, and a cache of the ones in use.
pub struct ServerDocs {
    store: Arc<dyn Store>,
    actor: ActorId,
    loaded: HashMap<DocumentId, Slot>,
    /// Documents handed out since the last flush: the only ones that can have changed.
    touched: HashSet<DocumentId>,
    /// Documents whose stored bytes could not be loaded: never written over.
    broken: HashSet<DocumentId>,
    /// Documents that could not be loaded since the last [`ServerDocs::take_errors`].
    errors: Vec<ServerError>,
    stored: usize,
    /// What a device that has none of a document sends first about it (the same bytes from
    /// every Fiche device).
    fresh_request: Vec<u8>,
}

/// The sync data of a `request` from a peer with an empty document.
fn fresh_request() -> Vec<u8> {
    Automerge::new()
        .generate_sync_message(&mut sync::State::new())
        .map(|m| m.encode())
        .unwrap_or_default()
}

impl std::fmt::Debug for ServerDocs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerDocs")
            .field("loaded", &self.loaded.len())
            .finish()
    }
}

impl ServerDocs {
    pub fn new(store: Arc<dyn Store>, actor: ActorId) -> Result<Self, ServerError> {
        let stored = store
            .scan(&key!["_docs"])
            .map_err(ServerError::Store)?
            .len();
        Ok(Self {
            store,
            actor,
            loaded: HashMap::new(),
            touched: HashSet::new(),
            broken: HashSet::new(),
            errors: Vec::new(),
            stored,
            fresh_request: fresh_request(),
        })
    }

    /// How many documents the store holds.
    pub fn stored(&self) -> usize {
        self.stored
    }

    /// How many documents are in memory.
    pub fn loaded(&self) -> usize {
        self.loaded.len()
    }

    /// Load failures since the last call (the documents were answered as unavailable).
    pub fn take_errors(&mut self) -> Vec<ServerError> {
        std::mem::take(&mut self.errors)
    }

    fn slot(&mut self, id: &DocumentId) -> Option<&mut Slot> {
        if !self.loaded.contains_key(id) {
            match docstore::load(self.store.as_ref(), id) {
                Ok(Some(doc)) => {
                    let saved = doc.get_heads();
                    let doc = doc.with_actor(self.actor.clone());
                    self.loaded.insert(*id, Slot::new(doc, saved));
                }
                Ok(None) => return None,
                Err(e) => {
                    self.broken.insert(*id);
                    self.errors.push(ServerError::Document(*id, Box::new(e)));
                    return None;
                }
            }
        }
        let slot = self.loaded.get_mut(id)?;
        slot.used = Instant::now();
        self.touched.insert(*id);
        Some(slot)
    }

    /// The store the documents live in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A stored document is being erased: dropped from memory without being written, and
    /// counted out of the store.
    pub fn forget(&mut self, id: &DocumentId) {
        self.touched.remove(id);
        self.broken.remove(id);
        self.loaded.remove(id);
        self.stored = self.stored.saturating_sub(1);
    }

    /// A document already in memory (no load).
    pub fn get_loaded(&self, id: &DocumentId) -> Option<&Automerge> {
        self.loaded.get(id).map(|s| &s.doc)
    }

    /// The preview of a document in memory to send whole at `heads` (see
    /// [`fiche_core::preview`]), made once per version of the document.
    pub fn preview(&mut self, id: &DocumentId, heads: &[ChangeHash]) -> Option<Preview> {
        let slot = self.loaded.get_mut(id)?;
        if slot.doc.get_heads() != heads {
            return None;
        }
        if let Some((at, preview)) = &slot.preview {
            if at == heads {
                return Some(preview.clone());
            }
        }
        let preview = fiche_core::preview::of(id, &slot.doc)?;
        slot.preview = Some((heads.to_vec(), preview.clone()));
        Some(preview)
    }

    /// A directory (the open one, or an organisation's), loaded, or created when `create`.
    pub fn directory(&mut self, id: &DocumentId, create: bool) -> Option<&mut Automerge> {
        if self.slot(id).is_none() {
            if !create {
                return None;
            }
            let doc = directory::create(self.actor.clone()).ok()?;
            self.loaded.insert(*id, Slot::new(doc, Vec::new()));
            self.touched.insert(*id);
        }
        self.loaded.get_mut(id).map(|s| &mut s.doc)
    }

    /// Keeps the directory in memory for good, creating it if the store has none.
    pub fn pin_directory(&mut self) -> Result<(), ServerError> {
        let id = directory::directory_id();
        if self.slot(&id).is_none() {
            if let Some(e) = self.errors.pop() {
                return Err(e);
            }
            let doc = directory::create(self.actor.clone())
                .map_err(|e| ServerError::Document(id, Box::new(e)))?;
            self.loaded.insert(id, Slot::new(doc, Vec::new()));
            self.touched.insert(id);
            self.flush()?;
        }
        Ok(())
    }

    /// Writes every document changed since it was last written, in one durable write.
    /// Returns the ids written.
    pub fn flush(&mut self) -> Result<Vec<DocumentId>, ServerError> {
        let touched: Vec<DocumentId> = self.touched.drain().collect();
        match self.flush_these(&touched) {
            Ok(written) => Ok(written),
            Err(e) => {
                // Not written: they are tried again next time.
                self.touched.extend(touched);
                Err(e)
            }
        }
    }

    fn flush_these(&mut self, ids: &[DocumentId]) -> Result<Vec<DocumentId>, ServerError> {
        let mut writes: Vec<Write> = Vec::new();
        let mut written = Vec::new();
        for id in ids {
            let Some(slot) = self.loaded.get(id) else {
                continue;
            };
            if slot.doc.get_heads() == slot.saved || self.broken.contains(id) {
                continue;
            }
            let w = docstore::save_writes(self.store.as_ref(), id, &slot.doc, &slot.saved)
                .map_err(|e| ServerError::Document(*id, Box::new(e)))?;
            writes.extend(w);
            if slot.saved.is_empty() {
                writes.push(Write::Put(key!["_docs", id], Vec::new()));
            }
            written.push(*id);
        }
        if writes.is_empty() {
            return Ok(written);
        }
        self.store.apply(writes).map_err(ServerError::Store)?;
        for id in &written {
            if let Some(slot) = self.loaded.get_mut(id) {
                if slot.saved.is_empty() {
                    self.stored += 1;
                }
                slot.saved = slot.doc.get_heads();
                slot.prepare_for_fresh_peers(id, &self.fresh_request);
            }
        }
        Ok(written)
    }

    /// Drops from memory the documents written back and unused for `idle` (never the
    /// directory). Returns how many were dropped.
    pub fn evict(&mut self, idle: Duration) -> usize {
        let now = Instant::now();
        let pinned = directory::directory_id();
        let before = self.loaded.len();
        self.loaded.retain(|id, slot| {
            *id == pinned
                || slot.doc.get_heads() != slot.saved
                || now.duration_since(slot.used) < idle
        });
        before - self.loaded.len()
    }
}

impl Slot {
    /// Prepares, for the version just written, what a device that has none of the document
    /// gets: its preview and the answer to its request (the directory, which changes with
    /// every record, gets neither).
    fn prepare_for_fresh_peers(&mut self, id: &DocumentId, request: &[u8]) {
        let Some(preview) = fiche_core::preview::of(id, &self.doc) else {
            return;
        };
        let heads = self.doc.get_heads();
        self.preview = Some((heads.clone(), preview));
        let mut state = sync::State::new();
        let Ok(message) = sync::Message::decode(request) else {
            return;
        };
        if self.doc.receive_sync_message(&mut state, message).is_err() {
            return;
        }
        self.answer = self.doc.generate_sync_message(&mut state).map(|m| Answer {
            heads,
            data: m.encode(),
            state,
        });
    }
}

impl Documents for ServerDocs {
    fn prepared_answer(&mut self, id: &DocumentId, data: &[u8]) -> Option<(Vec<u8>, sync::State)> {
        if data != self.fresh_request.as_slice() {
            return None;
        }
        let slot = self.slot(id)?;
        let answer = slot.answer.as_ref()?;
        (answer.heads == slot.doc.get_heads()).then(|| (answer.data.clone(), answer.state.clone()))
    }

    fn get(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        self.slot(id).map(|s| &mut s.doc)
    }

    fn get_or_create(&mut self, id: &DocumentId) -> &mut Automerge {
        // Loads the stored copy into memory if there is one; otherwise a new, empty document.
        self.slot(id);
        self.touched.insert(*id);
        let actor = &self.actor;
        let slot = self
            .loaded
            .entry(*id)
            .or_insert_with(|| Slot::new(Automerge::new().with_actor(actor.clone()), Vec::new()));
        &mut slot.doc
    }
}
