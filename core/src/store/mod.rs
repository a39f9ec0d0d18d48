//! The storage trait: a durable, ordered key-value space that documents and indexes live in.
//!
//! Keys are lists of parts, as in automerge-repo's storage adapters:
//! `[doc_id, "snapshot", heads_hash]`, `[doc_id, "incremental", bytes_hash]`, plus Fiche's own
//! `["_meta", name]` and `["_index", doc_id]`. Every write is durable when the call returns.

mod sled_store;

pub use sled_store::SledStore;

/// A storage key: its parts, joined with `/` on disk (no part may contain `/`).
pub type Key = Vec<String>;

/// Builds a [`Key`] from string-like parts.
#[macro_export]
macro_rules! key {
    ($($part:expr),+ $(,)?) => {{
        #[allow(clippy::useless_vec)]
        let key: $crate::store::Key = vec![$($part.to_string()),+];
        key
    }};
}

/// One write of an atomic [`Store::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put(Key, Vec<u8>),
    Delete(Key),
}

/// Storage failed: the disk, the database, or a key that cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Backend(String),
    #[error("key part {0:?} may not be empty or contain '/'")]
    BadKey(String),
}

/// The narrow interface every store implements; all methods are durable and thread-safe.
pub trait Store: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &[String]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry whose key starts with `prefix` (every entry for an empty one), in key order.
    fn scan(&self, prefix: &[String]) -> Result<Vec<(Key, Vec<u8>)>, StoreError>;
    /// The keys [`Store::scan`] would return, without reading the values.
    fn keys(&self, prefix: &[String]) -> Result<Vec<Key>, StoreError> {
        Ok(self.scan(prefix)?.into_iter().map(|(k, _)| k).collect())
    }
    /// How many entries [`Store::scan`] would return, without collecting them.
    fn count(&self, prefix: &[String]) -> Result<usize, StoreError> {
        Ok(self.keys(prefix)?.len())
    }
    /// Applies all writes atomically and durably: after a crash, all or none are there.
    fn apply(&self, writes: Vec<Write>) -> Result<(), StoreError>;

    fn put(&self, key: Key, value: Vec<u8>) -> Result<(), StoreError> {
        self.apply(vec![Write::Put(key, value)])
    }
    fn delete(&self, key: Key) -> Result<(), StoreError> {
        self.apply(vec![Write::Delete(key)])
    }
}

pub(crate) fn encode_key(parts: &[String]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if p.is_empty() || p.contains('/') {
            return Err(StoreError::BadKey(p.clone()));
        }
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(p.as_bytes());
    }
    Ok(out)
}

pub(crate) fn decode_key(bytes: &[u8]) -> Key {
    String::from_utf8_lossy(bytes)
        .split('/')
        .map(str::to_string)
        .collect()
}
