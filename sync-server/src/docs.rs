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
use fiche_core::store::{Key, Store, Write};
use fiche_core::{key, DocumentId};

use crate::error::ServerError;
use crate::fresh::{self, Answer, Kept};

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
    /// The preview of the last document answered from what the store keeps for fresh
    /// devices (asked for right after the answer).
    kept_preview: Option<(DocumentId, Vec<ChangeHash>, Preview)>,
    /// Small writes that go with the next flush, in the same durable write as the documents
    /// (a document stored but not listed is marked so in the write that stores it).
    marks: Vec<Write>,
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

/// How many documents the store holds, as written beside them (see
/// [`ServerDocs::stored_entry`]); counted once, and written, when a store has no such entry.
/// Counting reads every `_docs` key, and sled keeps what it read: about 17 MiB at 100,000.
fn stored_count(store: &dyn Store) -> Result<usize, ServerError> {
    let kept = store
        .get(&key!["_meta", "stored"])
        .map_err(ServerError::Store)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok());
    if let Some(bytes) = kept {
        return Ok(u64::from_le_bytes(bytes) as usize);
    }
    let counted = store.count(&key!["_docs"]).map_err(ServerError::Store)?;
    store
        .apply(vec![ServerDocs::stored_entry(counted)])
        .map_err(ServerError::Store)?;
    Ok(counted)
}

impl ServerDocs {
    /// The entry that records `stored` documents in the store, written in the same batch as
    /// what changes that number (a new document, an erasure).
    pub fn stored_entry(stored: usize) -> Write {
        Write::Put(
            key!["_meta", "stored"],
            (stored as u64).to_le_bytes().to_vec(),
        )
    }

    pub fn new(store: Arc<dyn Store>, actor: ActorId) -> Result<Self, ServerError> {
        let stored = stored_count(store.as_ref())?;
        Ok(Self {
            store,
            actor,
            loaded: HashMap::new(),
            touched: HashSet::new(),
            broken: HashSet::new(),
            errors: Vec::new(),
            stored,
            fresh_request: fresh_request(),
            kept_preview: None,
            marks: Vec::new(),
        })
    }

    /// The documents stored but not listed in their directory (adding them failed): they
    /// are listed when they next change, after a restart too.
    pub fn unlisted(&self) -> Result<HashSet<DocumentId>, ServerError> {
        let keys = self
            .store
            .keys(&key!["_unlisted"])
            .map_err(ServerError::Store)?;
        Ok(keys.iter().filter_map(|k| k.get(1)?.parse().ok()).collect())
    }

    /// The key that marks `id` as stored but not listed.
    pub fn unlisted_key(id: &DocumentId) -> Key {
        key!["_unlisted", id]
    }

    /// Marks a document as not listed in its directory, or no longer so, with the next flush.
    pub fn mark_unlisted(&mut self, id: &DocumentId, unlisted: bool) {
        let key = Self::unlisted_key(id);
        self.marks.push(if unlisted {
            Write::Put(key, Vec::new())
        } else {
            Write::Delete(key)
        });
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
            // Stored bytes that could not be read are not read again (until a restart): a
            // damaged directory can be tens of MiB, parsed in vain at every attempt.
            if self.broken.contains(id) {
                return None;
            }
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
        let mark = Self::unlisted_key(id);
        self.marks
            .retain(|w| !matches!(w, Write::Put(k, _) | Write::Delete(k) if *k == mark));
        self.stored = self.stored.saturating_sub(1);
    }

    /// A document already in memory (no load).
    pub fn get_loaded(&self, id: &DocumentId) -> Option<&Automerge> {
        self.loaded.get(id).map(|s| &s.doc)
    }

    /// The preview of a document in memory to send whole at `heads` (see
    /// [`fiche_core::preview`]), made once per version of the document.
    pub fn preview(&mut self, id: &DocumentId, heads: &[ChangeHash]) -> Option<Preview> {
        let Some(slot) = self.loaded.get_mut(id) else {
            return match self.kept_preview.take() {
                Some((at, h, preview)) if at == *id && h == heads => Some(preview),
                _ => self
                    .kept(id)
                    .filter(|k| k.heads == heads)
                    .map(|k| k.preview),
            };
        };
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

    fn kept(&self, id: &DocumentId) -> Option<Kept> {
        fresh::read(self.store.as_ref(), id)
    }

    /// The answer to a fresh request for a document not in memory, from what the store keeps
    /// (no load).
    fn kept_answer(&mut self, id: &DocumentId) -> Option<Answer> {
        if self.broken.contains(id) {
            return None;
        }
        let kept = self.kept(id)?;
        let chunks = docstore::chunks(self.store.as_ref(), id).ok()??;
        let answer = kept.answer(chunks, &self.fresh_request)?;
        self.kept_preview = Some((*id, kept.heads, kept.preview));
        Some(answer)
    }

    /// A directory (the open one, or an organisation's), loaded, or created when `create`.
    pub fn directory(&mut self, id: &DocumentId, create: bool) -> Option<&mut Automerge> {
        let found = self.slot(id).is_some();
        // One whose stored bytes cannot be read is never written: never a new, empty one in
        // its place, and never added to (a device's own copy of it may have landed in memory;
        // the entries would be lost).
        if self.broken.contains(id) {
            return None;
        }
        if !found {
            if !create {
                return None;
            }
            let doc = directory::create(self.actor.clone()).ok()?;
            self.loaded.insert(*id, Slot::new(doc, Vec::new()));
            self.touched.insert(*id);
        }
        self.loaded.get_mut(id).map(|s| &mut s.doc)
    }

    /// Creates the open directory if the store has none, so that a device's first request
    /// finds one. It is not kept loaded: like any document, it is loaded when used and
    /// dropped when idle (with 100,000 entries it holds tens of MiB).
    pub fn ensure_directory(&mut self) -> Result<(), ServerError> {
        let id = directory::directory_id();
        let exists = docstore::exists(self.store.as_ref(), &id)
            .map_err(|e| ServerError::Document(id, Box::new(e)))?;
        if !exists {
            let doc = directory::create(self.actor.clone())
                .map_err(|e| ServerError::Document(id, Box::new(e)))?;
            self.loaded.insert(id, Slot::new(doc, Vec::new()));
            self.touched.insert(id);
            self.flush()?;
        }
        Ok(())
    }

    /// Whether the store holds `id` (written in an earlier round), without loading it.
    pub fn is_stored(&self, id: &DocumentId) -> bool {
        match self.loaded.get(id) {
            Some(slot) => !slot.saved.is_empty(),
            None => matches!(self.store.get(&key!["_docs", id]), Ok(Some(_))),
        }
    }

    /// Writes every document changed since it was last written, in one durable write.
    /// Returns the ids written.
    pub fn flush(&mut self) -> Result<Vec<DocumentId>, ServerError> {
        let touched: Vec<DocumentId> = self.touched.drain().collect();
        match self.flush_these(&touched) {
            Ok(written) => Ok(written),
            Err(e) => {
                // Not written: they are tried again next time (the marks stay queued).
                self.touched.extend(touched);
                Err(e)
            }
        }
    }

    fn flush_these(&mut self, ids: &[DocumentId]) -> Result<Vec<DocumentId>, ServerError> {
        let mut writes: Vec<Write> = self.marks.clone();
        let mut written = Vec::new();
        let store = self.store.as_ref();
        for id in ids {
            let Some(slot) = self.loaded.get_mut(id) else {
                continue;
            };
            if slot.doc.get_heads() == slot.saved || self.broken.contains(id) {
                continue;
            }
            let w = docstore::save_writes(store, id, &slot.doc, &slot.saved)
                .map_err(|e| ServerError::Document(*id, Box::new(e)))?;
            writes.extend(w);
            if slot.saved.is_empty() {
                writes.push(Write::Put(key!["_docs", id], Vec::new()));
            }
            writes.push(
                match slot.prepare_for_fresh_peers(id, &self.fresh_request) {
                    Some(kept) => Write::Put(key![id, "fresh"], kept.encode()),
                    None => Write::Delete(key![id, "fresh"]),
                },
            );
            written.push(*id);
        }
        if writes.is_empty() {
            return Ok(written);
        }
        let new = written
            .iter()
            .filter(|id| self.loaded.get(id).is_some_and(|s| s.saved.is_empty()))
            .count();
        if new > 0 {
            writes.push(Self::stored_entry(self.stored + new));
        }
        self.store.apply(writes).map_err(ServerError::Store)?;
        self.marks.clear();
        for id in &written {
            if let Some(slot) = self.loaded.get_mut(id) {
                if slot.saved.is_empty() {
                    self.stored += 1;
                }
                slot.saved = slot.doc.get_heads();
            }
        }
        Ok(written)
    }

    /// Drops from memory the documents written back and unused for `idle`, then, while more
    /// than `most` stay, the least recently used of those written back, down to nine tenths
    /// of `most` (so a burst of new documents, an import, does not hold them all). Returns
    /// how many were dropped.
    pub fn evict(&mut self, idle: Duration, most: usize) -> usize {
        let now = Instant::now();
        let before = self.loaded.len();
        let mut written = Vec::new();
        self.loaded.retain(|id, slot| {
            if slot.doc.get_heads() != slot.saved {
                return true;
            }
            let keep = now.duration_since(slot.used) < idle;
            if keep {
                written.push((slot.used, *id));
            }
            keep
        });
        if self.loaded.len() > most {
            let excess = (self.loaded.len() - most * 9 / 10).min(written.len());
            if excess < written.len() {
                written.select_nth_unstable(excess);
            }
            for (_, id) in &written[..excess] {
                self.loaded.remove(id);
            }
        }
        before - self.loaded.len()
    }
}

impl Slot {
    /// Prepares, for the version being written, what a device that has none of the document
    /// gets: its preview and the answer to its request (the directory, which changes with
    /// every record, gets neither). Returns what the store keeps of them.
    fn prepare_for_fresh_peers(&mut self, id: &DocumentId, request: &[u8]) -> Option<Kept> {
        self.answer = None;
        let preview = fiche_core::preview::of(id, &self.doc)?;
        self.preview = Some((self.doc.get_heads(), preview.clone()));
        self.answer = fresh::prepare(&mut self.doc, request);
        Kept::new(self.answer.as_ref()?, preview)
    }
}

impl Documents for ServerDocs {
    fn prepared_answer(&mut self, id: &DocumentId, data: &[u8]) -> Option<(Vec<u8>, sync::State)> {
        if data != self.fresh_request.as_slice() {
            return None;
        }
        let answer = match self.loaded.get_mut(id) {
            Some(slot) => {
                slot.used = Instant::now();
                let answer = slot.answer.as_ref()?;
                if answer.heads != slot.doc.get_heads() {
                    return None;
                }
                answer.clone()
            }
            None => self.kept_answer(id)?,
        };
        Some((answer.data, answer.state))
    }

    fn get(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        self.slot(id).map(|s| &mut s.doc)
    }

    fn unloaded_heads(&mut self, id: &DocumentId) -> Option<Vec<ChangeHash>> {
        if self.loaded.contains_key(id) || self.broken.contains(id) {
            return None;
        }
        docstore::heads(self.store.as_ref(), id).ok().flatten()
    }

    fn holds(&mut self, id: &DocumentId) -> bool {
        if let Some(slot) = self.loaded.get(id) {
            return !slot.doc.get_heads().is_empty();
        }
        if self.broken.contains(id) {
            return false;
        }
        match docstore::heads(self.store.as_ref(), id) {
            Ok(Some(heads)) => !heads.is_empty(),
            // Stored before heads were kept, or unreadable: loading tells (and reports).
            _ => self.get(id).is_some_and(|d| !d.get_heads().is_empty()),
        }
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
