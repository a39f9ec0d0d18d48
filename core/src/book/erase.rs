//! Erasure (GDPR) on a device: when the server says a record was erased, every trace of it
//! goes — its chunks (its whole history), sync states, index entry, and the files no other
//! record here refers to — and a tombstone keeps it from ever being written or sent again.

use std::collections::BTreeSet;

use super::Book;
use crate::blob::{self, BlobHash};
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::key;
use crate::record::now_seconds;
use crate::schema::Kind;
use crate::store::Write;

/// What an erasure removed here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Whether this device held the record at all.
    pub held: bool,
    /// Files removed with it.
    pub blobs: usize,
}

impl Book {
    /// Whether the record was erased (this device then never takes it again).
    pub fn is_erased(&self, id: &DocumentId) -> Result<bool> {
        Ok(self.store.get(&key!["_erased", id])?.is_some())
    }

    /// Deletes every trace of a record erased on the server, and remembers that it was.
    /// Refuses the directory and the settings, which are not anybody's personal data.
    pub fn erase(&self, id: &DocumentId) -> Result<Erased> {
        let _guard = self.lock();
        let kind = self.document_kind(id)?;
        if matches!(kind.as_deref(), Some("directory" | "settings")) {
            return Err(Error::Shape(format!(
                "document {id} is the organisation's {}: it cannot be erased",
                kind.unwrap_or_default()
            )));
        }
        let held = kind.is_some();
        let files = match kind.as_deref() {
            Some(k) if k == Kind::Client.as_str() => self
                .load(id)
                .ok()
                .and_then(|doc| crate::record::read::<crate::model::Client>(&doc).ok())
                .map(|c| c.blob_hashes())
                .unwrap_or_default(),
            _ => BTreeSet::new(),
        };
        let mut writes: Vec<Write> = self
            .store
            .keys(&key![id])?
            .into_iter()
            .map(Write::Delete)
            .collect();
        writes.push(Write::Delete(key!["_docs", id]));
        writes.push(Write::Delete(key!["_index", id]));
        writes.push(Write::Put(
            key!["_erased", id],
            now_seconds().to_string().into_bytes(),
        ));
        self.store.apply(writes)?;
        self.index_write().remove(id);
        let blobs = if files.is_empty() {
            0
        } else {
            self.remove_unreferenced(files)?
        };
        Ok(Erased { held, blobs })
    }

    /// Removes those of `files` (hex hashes) that no record left here refers to.
    fn remove_unreferenced(&self, mut files: BTreeSet<String>) -> Result<usize> {
        for (other, kind) in self.documents()? {
            if kind != Kind::Client.as_str() || files.is_empty() {
                continue;
            }
            if let Ok(c) = self.client(&other) {
                for hash in c.blob_hashes() {
                    files.remove(&hash);
                }
            }
        }
        let hashes: BTreeSet<BlobHash> = files.iter().filter_map(|h| h.parse().ok()).collect();
        Ok(blob::gc::remove(self.store.as_ref(), &hashes)?.blobs)
    }
}
