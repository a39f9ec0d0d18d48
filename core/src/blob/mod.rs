//! Blobs: photos, signatures and attached files, kept apart from the documents that refer to
//! them, addressed by the SHA-256 of their content, and so stored once however many records
//! refer to them.
//!
//! In a [`Store`], a blob is a run of chunks `["_blob", hash, "c", index]` of [`CHUNK`] bytes
//! and, written last, its meta `["_blob", hash, "meta"]`: a blob without meta is incomplete
//! (an interrupted add or download) and is never read as a blob; a download resumes after the
//! chunks already there. `["_upload", hash]` queues a blob added here for the server.

pub mod gc;
pub mod sniff;
pub mod thumbnail;
pub mod transfer;

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::key;
use crate::record::now_seconds;
use crate::store::{Store, StoreError, Write};

/// Bytes per stored chunk (and per read).
pub const CHUNK: usize = 256 * 1024;

/// Chunks written together: what an add holds in memory at once.
const CHUNKS_PER_WRITE: usize = 16;

/// The SHA-256 of a blob's content: its name everywhere (lower-case hex in text).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash(pub [u8; 32]);

impl BlobHash {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({self})")
    }
}

impl FromStr for BlobHash {
    type Err = BlobError;
    /// Exactly 64 hex digits (upper case accepted): nothing else can name a blob, so a path
    /// or a name can never pass for one.
    fn from_str(s: &str) -> Result<Self, BlobError> {
        let bad = || BlobError::BadHash(s.chars().take(80).collect());
        if s.len() != 64 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let text = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(text, 16).map_err(|_| bad())?;
        }
        Ok(Self(out))
    }
}

/// What is known of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobMeta {
    pub size: u64,
    /// Detected from the content (see [`sniff`]).
    pub media_type: String,
    /// When it was stored here (Unix seconds): garbage collection spares recent blobs.
    #[serde(default)]
    pub added: i64,
}

/// Why a blob was refused or could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{0:?} is not a blob hash (64 hexadecimal digits)")]
    BadHash(String),
    #[error("this kind of file is not accepted (photos, PDF, text and e-mails are)")]
    NotAllowed,
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the limit is {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("no blob {0} here")]
    NotFound(BlobHash),
    #[error("the content does not match its hash {expected} (it hashes to {actual})")]
    HashMismatch {
        expected: BlobHash,
        actual: BlobHash,
    },
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server said: {0}")]
    Server(String),
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

/// The limit the server applies by default, and the device before queueing.
pub const DEFAULT_MAX_BYTES: u64 = 25 << 20;

pub(crate) fn meta_key(hash: &BlobHash) -> Vec<String> {
    key!["_blob", hash, "meta"]
}

fn chunk_key(hash: &BlobHash, index: u64) -> Vec<String> {
    key!["_blob", hash, "c", format!("{index:08}")]
}

pub(crate) fn upload_key(hash: &BlobHash) -> Vec<String> {
    key!["_upload", hash]
}

/// The meta of a complete blob, `None` if the store has none (or only part of it).
pub fn meta(store: &dyn Store, hash: &BlobHash) -> Result<Option<BlobMeta>, BlobError> {
    match store.get(&meta_key(hash))? {
        Some(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        None => Ok(None),
    }
}

/// Chunk `index` of a blob (complete or not), if stored.
pub fn chunk(store: &dyn Store, hash: &BlobHash, index: u64) -> Result<Option<Vec<u8>>, BlobError> {
    Ok(store.get(&chunk_key(hash, index))?)
}

/// Adds the content of `reader` as a blob, reading it twice (once to hash it, once to store
/// it) so that it is never held whole in memory; returns its hash and meta. Content already
/// stored is not stored again. Refused: empty content, more than `limit` bytes, kinds that
/// [`sniff`] does not accept. Queued for upload when `upload` (and not already uploaded).
pub fn add<R: Read>(
    store: &dyn Store,
    mut open: impl FnMut() -> std::io::Result<R>,
    limit: u64,
    upload: bool,
) -> Result<(BlobHash, BlobMeta), BlobError> {
    // First pass: kind, size, hash.
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(sniff::SNIFF_BYTES);
    let mut size = 0u64;
    for_each_chunk(open()?, |piece| {
        if head.len() < sniff::SNIFF_BYTES {
            let take = (sniff::SNIFF_BYTES - head.len()).min(piece.len());
            head.extend_from_slice(&piece[..take]);
        }
        hasher.update(piece);
        size += piece.len() as u64;
        if size > limit {
            return Err(BlobError::TooLarge { size, limit });
        }
        Ok(())
    })?;
    if size == 0 {
        return Err(BlobError::Empty);
    }
    let media_type = sniff::media_type(&head).ok_or(BlobError::NotAllowed)?;
    let hash = BlobHash(hasher.finalize().into());
    let meta = BlobMeta {
        size,
        media_type: media_type.to_string(),
        added: now_seconds(),
    };
    if let Some(stored) = self::meta(store, &hash)? {
        return Ok((hash, stored));
    }
    // Second pass: the chunks, a few at a time, then the meta (and the queue entry).
    let mut check = Sha256::new();
    let mut index = 0u64;
    let mut writes = Vec::new();
    for_each_chunk(open()?, |piece| {
        check.update(piece);
        writes.push(Write::Put(chunk_key(&hash, index), piece.to_vec()));
        index += 1;
        if writes.len() == CHUNKS_PER_WRITE {
            store.apply(std::mem::take(&mut writes))?;
        }
        Ok::<_, BlobError>(())
    })?;
    let actual = BlobHash(check.finalize().into());
    if actual != hash {
        // The file changed between the two reads.
        return Err(BlobError::HashMismatch {
            expected: hash,
            actual,
        });
    }
    writes.push(meta_write(&hash, &meta));
    if upload {
        writes.push(Write::Put(upload_key(&hash), Vec::new()));
    }
    store.apply(writes)?;
    Ok((hash, meta))
}

fn meta_write(hash: &BlobHash, meta: &BlobMeta) -> Write {
    let json = serde_json::to_vec(meta).unwrap_or_default();
    Write::Put(meta_key(hash), json)
}

/// Reads `reader` to its end in pieces of [`CHUNK`] bytes (the last may be shorter), handing
/// each to `f`; stops at the first error of either.
pub fn for_each_chunk<E: From<std::io::Error>>(
    mut reader: impl Read,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut filled = 0;
        while filled < CHUNK {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        f(&buf[..filled])?;
    }
}

/// The hash of everything `reader` holds, read a chunk at a time.
pub fn hash_of(reader: impl Read) -> std::io::Result<BlobHash> {
    let mut hasher = Sha256::new();
    for_each_chunk(reader, |piece| {
        hasher.update(piece);
        Ok::<_, std::io::Error>(())
    })?;
    Ok(BlobHash(hasher.finalize().into()))
}

/// Writes a complete blob to `out`, chunk by chunk.
pub fn read_to(
    store: &dyn Store,
    hash: &BlobHash,
    out: &mut impl std::io::Write,
) -> Result<BlobMeta, BlobError> {
    let meta = meta(store, hash)?.ok_or(BlobError::NotFound(*hash))?;
    for index in 0..meta.size.div_ceil(CHUNK as u64) {
        let bytes = chunk(store, hash, index)?.ok_or(BlobError::NotFound(*hash))?;
        out.write_all(&bytes)?;
    }
    Ok(meta)
}

/// The blobs waiting to go to the server, oldest key first.
pub fn queued(store: &dyn Store) -> Result<Vec<BlobHash>, BlobError> {
    Ok(store
        .scan(&key!["_upload"])?
        .into_iter()
        .filter_map(|(k, _)| k.get(1).and_then(|h| h.parse().ok()))
        .collect())
}

/// Takes a blob off the upload queue (the server has all of it).
pub fn uploaded(store: &dyn Store, hash: &BlobHash) -> Result<(), BlobError> {
    Ok(store.delete(upload_key(hash))?)
}

/// How many bytes of a blob being downloaded are stored (whole chunks, in order): found from
/// the chunk keys, reading only the last chunk's value (it may be short).
pub fn partial_len(store: &dyn Store, hash: &BlobHash) -> Result<u64, BlobError> {
    let in_order = store
        .keys(&key!["_blob", hash, "c"])?
        .iter()
        .enumerate()
        .take_while(|(i, k)| k.get(3) == Some(&format!("{i:08}")))
        .count() as u64;
    let Some(last) = in_order.checked_sub(1) else {
        return Ok(0);
    };
    let last_whole = chunk(store, hash, last)?.is_some_and(|b| b.len() == CHUNK);
    let whole = if last_whole { in_order } else { last };
    Ok(whole * CHUNK as u64)
}

/// Stores downloaded bytes at `offset` (a multiple of [`CHUNK`]): whole chunks as they come;
/// returns how many bytes were taken (a partial last chunk waits for more unless `last`).
pub fn store_downloaded(
    store: &dyn Store,
    hash: &BlobHash,
    offset: u64,
    bytes: &[u8],
    last: bool,
) -> Result<usize, BlobError> {
    let mut writes = Vec::new();
    let mut taken = 0;
    for piece in bytes.chunks(CHUNK) {
        if piece.len() < CHUNK && !last {
            break;
        }
        let index = (offset + taken as u64) / CHUNK as u64;
        writes.push(Write::Put(chunk_key(hash, index), piece.to_vec()));
        taken += piece.len();
    }
    store.apply(writes)?;
    Ok(taken)
}

/// Checks a downloaded blob against its hash and, if it matches, writes its meta (it is then
/// complete); if not, drops its chunks.
pub fn finish_download(store: &dyn Store, hash: &BlobHash) -> Result<BlobMeta, BlobError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut head = Vec::new();
    let mut index = 0u64;
    while let Some(bytes) = chunk(store, hash, index)? {
        if head.is_empty() {
            head = bytes.iter().take(sniff::SNIFF_BYTES).copied().collect();
        }
        hasher.update(&bytes);
        size += bytes.len() as u64;
        index += 1;
    }
    let actual = BlobHash(hasher.finalize().into());
    if actual != *hash {
        let drops = (0..index)
            .map(|i| Write::Delete(chunk_key(hash, i)))
            .collect();
        store.apply(drops)?;
        return Err(BlobError::HashMismatch {
            expected: *hash,
            actual,
        });
    }
    let media_type = sniff::media_type(&head).ok_or(BlobError::NotAllowed)?;
    let meta = BlobMeta {
        size,
        media_type: media_type.to_string(),
        added: now_seconds(),
    };
    store.apply(vec![meta_write(hash, &meta)])?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    fn store() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn hashes_read_back_and_refuse_anything_else() {
        let h = BlobHash::of(b"abc");
        assert_eq!(
            h.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string().parse::<BlobHash>().unwrap(), h);
        for bad in ["", "../etc/passwd", &"g".repeat(64), &"a".repeat(63), "é"] {
            assert!(bad.parse::<BlobHash>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_blob_is_stored_once_in_chunks_and_reads_back() {
        let (_dir, store) = store();
        let mut photo = b"\xFF\xD8\xFF\xE0".to_vec();
        photo.extend((0..CHUNK * 2 + 1000).map(|i| (i % 251) as u8));
        let open = || Ok(std::io::Cursor::new(photo.clone()));
        let (hash, meta) = add(&store, open, DEFAULT_MAX_BYTES, true).unwrap();
        assert_eq!(hash, BlobHash::of(&photo));
        assert_eq!(meta.media_type, "image/jpeg");
        assert_eq!(meta.size, photo.len() as u64);
        let again = add(&store, open, DEFAULT_MAX_BYTES, true).unwrap();
        assert_eq!(again.0, hash);
        assert_eq!(
            store.scan(&key!["_blob"]).unwrap().len(),
            4,
            "3 chunks and a meta"
        );
        let mut back = Vec::new();
        read_to(&store, &hash, &mut back).unwrap();
        assert_eq!(back, photo);
        assert_eq!(queued(&store).unwrap(), vec![hash]);
        uploaded(&store, &hash).unwrap();
        assert!(queued(&store).unwrap().is_empty());
    }

    #[test]
    fn refused_blobs_leave_nothing() {
        let (_dir, store) = store();
        let exe = b"MZ\x90\x00 not a photo".to_vec();
        let err = add(
            &store,
            || Ok(std::io::Cursor::new(exe.clone())),
            1 << 20,
            true,
        );
        assert!(matches!(err, Err(BlobError::NotAllowed)), "{err:?}");
        let big = vec![b'a'; 2000];
        let err = add(&store, || Ok(std::io::Cursor::new(big.clone())), 1000, true);
        assert!(matches!(err, Err(BlobError::TooLarge { .. })), "{err:?}");
        let err = add(&store, || Ok(std::io::Cursor::new(Vec::new())), 1000, true);
        assert!(matches!(err, Err(BlobError::Empty)), "{err:?}");
        assert!(store.scan(&key!["_blob"]).unwrap().is_empty());
        assert!(queued(&store).unwrap().is_empty());
    }

    #[test]
    fn a_download_resumes_after_whole_chunks_and_is_checked() {
        let (_dir, store) = store();
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.extend((0..CHUNK + 10).map(|i| (i % 7) as u8));
        let hash = BlobHash::of(&pdf);
        // The first 100 bytes plus a chunk and a bit arrive, then the connection drops.
        let taken = store_downloaded(&store, &hash, 0, &pdf[..CHUNK + 5], false).unwrap();
        assert_eq!(taken, CHUNK);
        assert_eq!(partial_len(&store, &hash).unwrap(), CHUNK as u64);
        assert!(meta(&store, &hash).unwrap().is_none(), "not complete yet");
        store_downloaded(&store, &hash, CHUNK as u64, &pdf[CHUNK..], true).unwrap();
        let meta = finish_download(&store, &hash).unwrap();
        assert_eq!(meta.media_type, "application/pdf");
        // Wrong content under a hash is dropped.
        let other = BlobHash::of(b"something else");
        store_downloaded(&store, &other, 0, &pdf, true).unwrap();
        assert!(matches!(
            finish_download(&store, &other),
            Err(BlobError::HashMismatch { .. })
        ));
        assert!(chunk(&store, &other, 0).unwrap().is_none());
    }
}
