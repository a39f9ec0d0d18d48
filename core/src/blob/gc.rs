//! Garbage collection of a device's blobs: a blob no record here refers to, not waiting for
//! upload, and stored more than a grace period ago, is removed (chunks and meta).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{meta, BlobError, BlobHash};
use crate::key;
use crate::record::now_seconds;
use crate::store::{Key, Store, Write};

/// What a collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    pub blobs: usize,
    pub bytes: u64,
}

/// Removes the blobs not in `referenced` (hex hashes), not queued for upload, and stored
/// more than `grace` ago; unreferenced partial downloads go too.
pub fn collect(
    store: &dyn Store,
    referenced: &BTreeSet<String>,
    grace: Duration,
) -> Result<Collected, BlobError> {
    let queued: BTreeSet<BlobHash> = super::queued(store)?.into_iter().collect();
    let mut keys: BTreeMap<BlobHash, Vec<Key>> = BTreeMap::new();
    for k in store.keys(&key!["_blob"])? {
        if let Some(hash) = k.get(1).and_then(|h| h.parse().ok()) {
            keys.entry(hash).or_default().push(k);
        }
    }
    let cutoff = now_seconds() - grace.as_secs() as i64;
    let mut done = Collected::default();
    for (hash, keys) in keys {
        if referenced.contains(&hash.to_string()) || queued.contains(&hash) {
            continue;
        }
        let size = match meta(store, &hash)? {
            Some(m) if m.added > cutoff => continue,
            Some(m) => m.size,
            None => 0,
        };
        store.apply(keys.into_iter().map(Write::Delete).collect())?;
        done.blobs += 1;
        done.bytes += size;
    }
    Ok(done)
}

/// Removes these blobs outright, whatever their age, with their place in the upload queue
/// (the files of an erased record that no other record here refers to).
pub fn remove(store: &dyn Store, hashes: &BTreeSet<BlobHash>) -> Result<Collected, BlobError> {
    let mut done = Collected::default();
    for hash in hashes {
        let mut writes: Vec<Write> = store
            .keys(&key!["_blob", hash])?
            .into_iter()
            .map(Write::Delete)
            .collect();
        if writes.is_empty() {
            continue;
        }
        done.bytes += meta(store, hash)?.map_or(0, |m| m.size);
        writes.push(Write::Delete(super::upload_key(hash)));
        store.apply(writes)?;
        done.blobs += 1;
    }
    Ok(done)
}
