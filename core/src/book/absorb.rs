//! Writing documents that arrived from other devices: many at once, in one durable write,
//! with their index entries and whatever must land with them (their sync states).

use automerge::{Automerge, ChangeHash};

use super::Book;
use crate::docstore;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::key;
use crate::preview::Whole;
use crate::record;
use crate::schema;
use crate::store::Write;

/// One document to write: the caller's copy, changed by sync.
#[derive(Debug)]
pub struct Absorb<'a> {
    pub id: DocumentId,
    /// The caller's copy. If the book gained changes since `before` (an edit made here while
    /// sync ran), they are merged into it, so the copy is the union once this returns.
    pub doc: &'a mut Automerge,
    /// The heads of the book's copy when the caller loaded it (empty if it had none).
    pub before: Vec<ChangeHash>,
    /// Writes that must land with this document, and only if it does (its sync state).
    pub with: Vec<Write>,
    /// For a document new to the book: bytes that hold all of it as received (stored as they
    /// are, which spares saving it again). Ignored if anything had to be added here.
    pub received: Option<Vec<u8>>,
}

/// What became of one [`Absorb`].
#[derive(Debug)]
pub enum Absorbed {
    /// Written; `created` when the document was new to this device.
    Written { kind: schema::Kind, created: bool },
    /// Nothing new.
    Unchanged,
    /// Not written, and why (not a Fiche document, a record of the wrong shape…). The others
    /// of the batch are written all the same.
    Refused(Error),
}

/// A document written by [`Book::absorb`]: its id, kind, whether it is new here, and its
/// index summary (clients).
type Written = (
    DocumentId,
    schema::Kind,
    bool,
    Option<crate::index::Summary>,
);

impl Book {
    /// Writes documents changed by sync, all in one atomic, durable write; the index follows.
    /// Fails only if the store does; a document that cannot be taken is [`Absorbed::Refused`].
    /// The work of each document (reading it for the index, encoding it) is spread over the
    /// machine's cores.
    pub fn absorb(&self, batch: Vec<Absorb<'_>>) -> Result<Vec<Absorbed>> {
        let _guard = self.lock();
        let results = crate::par::map(batch, |item| self.absorb_one(item));
        let mut writes = Vec::new();
        let mut done = Vec::new();
        let mut outcomes = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Ok((w, Some((id, kind, created, summary)))) => {
                    writes.extend(w);
                    done.push((id, kind, summary));
                    outcomes.push(Absorbed::Written { kind, created });
                }
                Ok((w, None)) => {
                    writes.extend(w);
                    outcomes.push(Absorbed::Unchanged);
                }
                Err(e @ Error::Storage(_)) => return Err(e),
                Err(e) => outcomes.push(Absorbed::Refused(e)),
            }
        }
        if !writes.is_empty() {
            self.store.apply(writes)?;
        }
        for (id, kind, summary) in done {
            self.written(&id, kind, summary, true);
        }
        Ok(outcomes)
    }

    /// Files documents that came whole with a preview (see [`crate::preview`]), as they came,
    /// with their index entries and their sync states with `peer`, in one durable write,
    /// without loading them. A document the book already holds, or erased here, is not filed.
    pub fn file_whole(&self, batch: Vec<Whole>, peer: &str) -> Result<Vec<Absorbed>> {
        let _guard = self.lock();
        let mut writes = Vec::new();
        let mut done = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for whole in batch {
            let id = whole.id;
            if self.has_document(&id)? {
                outcomes.push(Absorbed::Unchanged);
                continue;
            }
            if self.is_erased(&id)? {
                outcomes.push(Absorbed::Refused(Error::Erased(id)));
                continue;
            }
            let mut state = automerge::sync::State::new();
            state.shared_heads.clone_from(&whole.heads);
            writes.extend(docstore::whole_document_writes(
                &id,
                &whole.heads,
                whole.bytes,
            ));
            let kind = whole.kind.as_str().as_bytes().to_vec();
            writes.push(Write::Put(crate::key!["_docs", id], kind));
            writes.push(Self::sync_state_write(&id, peer, state.encode()));
            let summary = whole.index.map(|(entry, summary)| {
                writes.push(Write::Put(crate::key!["_index", id], entry));
                summary
            });
            done.push((id, whole.kind, summary));
            outcomes.push(Absorbed::Written {
                kind: whole.kind,
                created: true,
            });
        }
        if !writes.is_empty() {
            self.store.apply(writes)?;
        }
        for (id, kind, summary) in done {
            self.written(&id, kind, summary, true);
        }
        Ok(outcomes)
    }

    /// The writes of one document (none but its `with` if it brings nothing new).
    fn absorb_one(&self, item: Absorb<'_>) -> Result<(Vec<Write>, Option<Written>)> {
        let Absorb {
            id,
            doc,
            mut before,
            with,
            mut received,
        } = item;
        // What the book holds now may be ahead of what the caller loaded (an edit made here
        // meanwhile): the stored heads tell without loading the document.
        let stored_heads = docstore::heads(self.store.as_ref(), &id)?;
        // An erased record has nothing stored: only a document the book lacks can be one.
        if stored_heads.is_none() && self.is_erased(&id)? {
            return Err(Error::Erased(id));
        }
        let new = before.is_empty() && stored_heads.is_none() && !self.has_document(&id)?;
        let unchanged = stored_heads.is_some_and(|h| h == before);
        if !new && !unchanged {
            if let Some(mut stored) = docstore::load(self.store.as_ref(), &id)? {
                let stored_heads = stored.get_heads();
                if stored_heads != before {
                    received = None;
                    doc.merge(&mut stored)?;
                    before = stored_heads;
                }
            }
        }
        if doc.get_heads() == before {
            return Ok((with, None));
        }
        let kind = schema::kind_of(&*doc).ok_or_else(|| {
            Error::Shape(format!(
                "document {id} is not a Fiche record (it has no known kind)"
            ))
        })?;
        if kind != schema::Kind::Directory && schema::needs_upgrade(&*doc) {
            record::upgrade(doc, &self.author("upgrade"))?;
            received = None;
        }
        let (mut writes, summary) =
            self.document_writes(&id, doc, &before, kind, None, received)?;
        writes.extend(with);
        Ok((writes, Some((id, kind, before.is_empty(), summary))))
    }

    /// The sync state saved for a document with a peer, if any.
    pub fn sync_state(&self, id: &DocumentId, peer: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.store.get(&key![id, "sync-state", peer_key(peer)])?)
    }

    /// The write that saves a document's sync state with a peer (to pass in [`Absorb::with`]).
    pub fn sync_state_write(id: &DocumentId, peer: &str, state: Vec<u8>) -> Write {
        Write::Put(key![id, "sync-state", peer_key(peer)], state)
    }

    /// Whether the book holds a document (of any kind).
    pub fn has_document(&self, id: &DocumentId) -> Result<bool> {
        Ok(self.store.get(&key!["_docs", id])?.is_some())
    }

    /// The kind of a document the book holds (`None` if it holds none).
    pub fn document_kind(&self, id: &DocumentId) -> Result<Option<String>> {
        let kind = self.store.get(&key!["_docs", id])?;
        Ok(kind.map(|k| String::from_utf8_lossy(&k).into_owned()))
    }

    /// The book's copy of a document, if it has one (any kind, the directory included).
    pub fn stored_document(&self, id: &DocumentId) -> Result<Option<Automerge>> {
        let Some(doc) = docstore::load(self.store.as_ref(), id)? else {
            return Ok(None);
        };
        Ok(Some(doc.with_actor(self.actor.clone())))
    }
}

/// A peer id as a key part (peer ids are free text; key parts cannot hold `/`).
fn peer_key(peer: &str) -> String {
    peer.replace('/', "_")
}
