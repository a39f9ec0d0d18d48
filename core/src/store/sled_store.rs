//! The sled implementation of [`Store`]: one tree, batches applied atomically, flushed to disk
//! before every call returns.

use std::path::Path;

use super::{decode_key, encode_key, Key, Store, StoreError, Write};

/// A [`Store`] in a sled directory.
#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SledStore {
    /// Opens (or creates) the store in `dir`. Fails if another process holds it.
    ///
    /// sled's background threads let go of a closed store's lock a moment after it is
    /// dropped, so a store that is locked is tried again for up to two seconds; after that it
    /// is in use by another process.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`SledStore::open`] with a page cache of `cache_bytes` (what sled keeps of the pages it
    /// read; a server serving a large store from little memory wants it small).
    pub fn open_with_cache(dir: impl AsRef<Path>, cache_bytes: u64) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let opened = sled::Config::new()
                .path(dir)
                .mode(sled::Mode::LowSpace)
                .cache_capacity(cache_bytes)
                .open();
            match opened {
                Ok(db) => return Ok(Self { db }),
                Err(e) if locked(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) if locked(&e) => {
                    return Err(StoreError::Backend(format!(
                        "the store at {} is in use by another program (close it first)",
                        dir.display()
                    )))
                }
                Err(e) => {
                    return Err(StoreError::Backend(format!(
                        "cannot open {}: {e}",
                        dir.display()
                    )))
                }
            }
        }
    }
}

/// sled's page cache unless told otherwise (its own default, 1 GiB, is far more than a phone
/// should give it).
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// Whether sled failed because another handle holds the store's lock.
fn locked(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.to_string().contains("could not acquire lock")
        }
        _ => false,
    }
}

/// The byte prefix of every key under `prefix` (all keys for an empty prefix).
fn scan_prefix(prefix: &[String]) -> Result<Vec<u8>, StoreError> {
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = encode_key(prefix)?;
    p.push(b'/');
    Ok(p)
}

impl Store for SledStore {
    fn get(&self, key: &[String]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db
            .get(encode_key(key)?)
            .map_err(backend)?
            .map(|v| v.to_vec()))
    }

    fn scan(&self, prefix: &[String]) -> Result<Vec<(Key, Vec<u8>)>, StoreError> {
        self.db
            .scan_prefix(scan_prefix(prefix)?)
            .map(|item| {
                let (k, v) = item.map_err(backend)?;
                Ok((decode_key(&k), v.to_vec()))
            })
            .collect()
    }

    fn keys(&self, prefix: &[String]) -> Result<Vec<Key>, StoreError> {
        self.db
            .scan_prefix(scan_prefix(prefix)?)
            .keys()
            .map(|k| Ok(decode_key(&k.map_err(backend)?)))
            .collect()
    }

    fn count(&self, prefix: &[String]) -> Result<usize, StoreError> {
        self.db
            .scan_prefix(scan_prefix(prefix)?)
            .keys()
            .try_fold(0, |n, k| k.map(|_| n + 1).map_err(backend))
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for w in writes {
            match w {
                Write::Put(k, v) => batch.insert(encode_key(&k)?, v),
                Write::Delete(k) => batch.remove(encode_key(&k)?),
            }
        }
        self.db.apply_batch(batch).map_err(backend)?;
        self.db.flush().map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key;

    #[test]
    fn writes_survive_reopen_and_scan_is_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            s.put(key!["a", "1"], b"one".to_vec()).unwrap();
            s.put(key!["a", "2"], b"two".to_vec()).unwrap();
            s.put(key!["ab", "3"], b"not a".to_vec()).unwrap();
            s.apply(vec![
                Write::Delete(key!["a", "1"]),
                Write::Put(key!["b", "x"], vec![]),
            ])
            .unwrap();
        }
        let s = SledStore::open(dir.path()).unwrap();
        let a = s.scan(&key!["a"]).unwrap();
        assert_eq!(a, vec![(key!["a", "2"], b"two".to_vec())]);
        assert_eq!(s.get(&key!["b", "x"]).unwrap(), Some(vec![]));
        assert!(s.put(key!["bad/part"], vec![]).is_err());
    }

    #[test]
    fn a_store_in_use_is_refused_clearly_and_a_closed_one_reopens_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = SledStore::open(dir.path()).unwrap();
        let err = SledStore::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("in use by another program"), "{err}");
        drop(first);
        SledStore::open(dir.path()).unwrap();
    }
}
