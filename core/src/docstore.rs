//! Automerge documents in a [`Store`]: saved as incremental change chunks, compacted into one
//! snapshot once enough chunks pile up.
//!
//! Layout (as automerge-repo's storage): `[id, "snapshot", <hash of its heads>]` holds a full
//! save, `[id, "incremental", <hash of its bytes>]` the changes made since. Loading concatenates them.
//! `[id, "heads"]` holds the heads of what is stored, written with every chunk, so that
//! whether a document changed can be told without loading it.

use automerge::{Automerge, ChangeHash};
use sha2::{Digest, Sha256};

use crate::blob::BlobHash;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::key;
use crate::store::{Key, Store, Write};

/// Incremental chunks kept beside a snapshot before they are folded into a new one.
pub const COMPACT_AFTER: usize = 32;

/// Whether a key under a document id holds one of its chunks (not, say, a sync state).
fn is_chunk(key: &[String]) -> bool {
    key.get(1)
        .is_some_and(|p| p == "snapshot" || p == "incremental")
}

/// Loads a document, or `None` if the store has none under `id`.
pub fn load(store: &dyn Store, id: &DocumentId) -> Result<Option<Automerge>> {
    let Some(chunks) = chunks(store, id)? else {
        return Ok(None);
    };
    let doc = Automerge::load(&chunks.concat()).map_err(|e| Error::Corrupt {
        id: *id,
        reason: e.to_string(),
    })?;
    Ok(Some(doc))
}

/// Whether the store holds chunks of `id` (reads their keys, not the chunks).
pub fn exists(store: &dyn Store, id: &DocumentId) -> Result<bool> {
    Ok(store.keys(&key![id])?.iter().any(|k| is_chunk(k)))
}

/// The stored chunks of a document, snapshots first (all of it, end to end, is what
/// [`load`] reads and what a peer's `load_incremental` takes), or `None` if there are none.
pub fn chunks(store: &dyn Store, id: &DocumentId) -> Result<Option<Vec<Vec<u8>>>> {
    let mut chunks: Vec<(Key, Vec<u8>)> = store
        .scan(&key![id])?
        .into_iter()
        .filter(|(k, _)| is_chunk(k))
        .collect();
    if chunks.is_empty() {
        return Ok(None);
    }
    // "incremental" sorts before "snapshot": put the snapshot first, so that the changes
    // after it find their dependencies in place.
    chunks.sort_by_key(|(k, _)| k.get(1).is_some_and(|p| p == "incremental"));
    Ok(Some(chunks.into_iter().map(|(_, v)| v).collect()))
}

/// The writes that persist what `doc` gained since `since` (empty when nothing changed),
/// compacting into a snapshot when the chunks pile up.
pub fn save_writes(
    store: &dyn Store,
    id: &DocumentId,
    doc: &Automerge,
    since: &[ChangeHash],
) -> Result<Vec<Write>> {
    if doc.get_heads() == since {
        return Ok(Vec::new());
    }
    let existing = store.scan(&key![id])?;
    let chunk_keys: Vec<_> = existing
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| is_chunk(k))
        .collect();
    if chunk_keys.len() >= COMPACT_AFTER || since.is_empty() {
        let mut writes: Vec<Write> = chunk_keys.into_iter().map(Write::Delete).collect();
        writes.push(Write::Put(
            key![id, "snapshot", heads_key(&doc.get_heads())],
            doc.save(),
        ));
        writes.push(heads_write(id, doc));
        return Ok(writes);
    }
    let chunk = doc.save_after(since);
    Ok(vec![
        Write::Put(key![id, "incremental", chunk_key(&chunk)], chunk),
        heads_write(id, doc),
    ])
}

fn heads_write(id: &DocumentId, doc: &Automerge) -> Write {
    heads_write_of(id, &doc.get_heads())
}

fn heads_write_of(id: &DocumentId, heads: &[ChangeHash]) -> Write {
    let bytes = heads.iter().flat_map(|h| h.0).collect();
    Write::Put(key![id, "heads"], bytes)
}

/// The heads of what the store holds of a document, without loading it; `None` if the store
/// has no record of them (no document, or one written before heads were kept).
pub fn heads(store: &dyn Store, id: &DocumentId) -> Result<Option<Vec<ChangeHash>>> {
    let Some(bytes) = store.get(&key![id, "heads"])? else {
        return Ok(None);
    };
    let heads = bytes
        .chunks(32)
        .map(ChangeHash::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Corrupt {
            id: *id,
            reason: format!("stored heads: {e}"),
        })?;
    Ok(Some(heads))
}

/// The writes that store a new document from bytes that hold it whole (a save, or change
/// chunks received from a peer), as they are, without saving it again.
pub fn new_document_writes(id: &DocumentId, doc: &Automerge, bytes: Vec<u8>) -> Vec<Write> {
    whole_document_writes(id, &doc.get_heads(), bytes)
}

/// [`new_document_writes`] for a document that is not loaded: its heads are known otherwise
/// (from the sync message that brought it whole).
pub fn whole_document_writes(id: &DocumentId, heads: &[ChangeHash], bytes: Vec<u8>) -> Vec<Write> {
    vec![
        Write::Put(key![id, "snapshot", heads_key(heads)], bytes),
        heads_write_of(id, heads),
    ]
}

/// The name of a snapshot: the SHA-256 of its heads, sorted (two saves share a name only
/// when they hold the same changes), in hex as blobs are named.
fn heads_key(heads: &[ChangeHash]) -> String {
    let mut sorted = heads.to_vec();
    sorted.sort();
    let mut hash = Sha256::new();
    for h in &sorted {
        hash.update(h.0);
    }
    BlobHash(hash.finalize().into()).to_string()
}

/// The name of an incremental chunk: the SHA-256 of its bytes, as automerge-repo names them,
/// so that no chunk ever takes the place of another that holds other changes.
fn chunk_key(chunk: &[u8]) -> String {
    BlobHash::of(chunk).to_string()
}
