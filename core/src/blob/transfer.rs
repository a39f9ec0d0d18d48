//! Moving blobs between a device's store and the server over HTTP: uploads that resume where
//! they stopped (the server says how much it has), downloads on demand that resume after the
//! chunks already stored. The HTTP side of `fiche-server`'s `/blobs/{hash}`:
//!
//! - `HEAD`/`GET /blobs/{hash}`: 200 when the server has all of it (`GET` honours `Range`);
//!   404 otherwise, with `Upload-Offset` when part of an upload is there;
//! - `PUT /blobs/{hash}` with `Content-Range: bytes START-END/TOTAL`: 202 and `Upload-Offset`
//!   while more is expected, 201 once complete and checked, 409 and `Upload-Offset` when
//!   START is not where the server is.

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use super::{BlobError, BlobHash, BlobMeta, CHUNK};
use crate::store::Store;

/// Bytes sent per request: a dropped connection loses at most this much.
pub const UPLOAD_PIECE: usize = 4 * CHUNK;

/// The header through which the server tells how much of an upload it holds.
pub const UPLOAD_OFFSET: &str = "upload-offset";

/// A client of one server's blob endpoints.
#[derive(Debug, Clone)]
pub struct Transfer {
    client: reqwest::Client,
    /// `http://host:port`, without a trailing slash.
    base: String,
}

/// What an upload pass did.
#[derive(Debug, Default)]
pub struct Uploaded {
    pub sent: usize,
    /// Blobs the server would not take, and why (they stay queued).
    pub refused: Vec<(BlobHash, BlobError)>,
}

/// Progress of one blob on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub hash: BlobHash,
    pub done: u64,
    pub total: u64,
}

impl Transfer {
    /// For the server at `url` (its sync URL, `ws://host:port/…`, or `http://host:port`);
    /// `ca`: the organisation's CA certificate (PEM), for a server whose certificate it signed;
    /// `token`: this device's token (see [`crate::sync::enrol`]).
    pub fn new(url: &str, ca: Option<&[u8]>, token: Option<&str>) -> Result<Self, BlobError> {
        let base = crate::tls::http_base(url)
            .ok_or_else(|| BlobError::Unreachable(format!("{url:?} is not a server URL")))?;
        let client = crate::tls::http_client(ca, token).map_err(BlobError::Tls)?;
        Ok(Self { client, base })
    }

    fn url(&self, hash: &BlobHash) -> String {
        format!("{}/blobs/{hash}", self.base)
    }

    /// Uploads every queued blob; each one that the server then has leaves the queue. A blob
    /// the server refuses (too large, not an accepted kind) stays queued and is returned with
    /// the reason; the others go on. Fails, leaving the rest queued, if the server cannot be
    /// reached.
    pub async fn upload_queued(
        &self,
        store: &dyn Store,
        mut on: impl FnMut(Progress),
    ) -> Result<Uploaded, BlobError> {
        let mut done = Uploaded::default();
        for hash in super::queued(store)? {
            match self.upload(store, &hash, &mut on).await {
                Ok(()) => done.sent += 1,
                Err(e @ (BlobError::Unreachable(_) | BlobError::Storage(_))) => return Err(e),
                Err(e) => done.refused.push((hash, e)),
            }
        }
        Ok(done)
    }

    /// Uploads one stored blob, from wherever the server stopped.
    pub async fn upload(
        &self,
        store: &dyn Store,
        hash: &BlobHash,
        on: &mut impl FnMut(Progress),
    ) -> Result<(), BlobError> {
        let meta = super::meta(store, hash)?.ok_or(BlobError::NotFound(*hash))?;
        let url = self.url(hash);
        let head = self.client.head(&url).send().await.map_err(unreachable)?;
        let mut offset = match head.status() {
            StatusCode::OK => {
                super::uploaded(store, hash)?;
                return Ok(());
            }
            StatusCode::NOT_FOUND => offset_of(&head).unwrap_or(0),
            other => return Err(BlobError::Server(format!("{other} on HEAD {url}"))),
        };
        while offset < meta.size {
            on(Progress {
                hash: *hash,
                done: offset,
                total: meta.size,
            });
            let piece = read_range(store, hash, offset, UPLOAD_PIECE)?;
            let end = offset + piece.len() as u64 - 1;
            let response = self
                .client
                .put(&url)
                .header(CONTENT_RANGE, format!("bytes {offset}-{end}/{}", meta.size))
                .body(piece)
                .send()
                .await
                .map_err(unreachable)?;
            match response.status() {
                StatusCode::OK | StatusCode::CREATED => offset = meta.size,
                StatusCode::ACCEPTED | StatusCode::CONFLICT => {
                    offset = offset_of(&response).ok_or_else(|| {
                        BlobError::Server("an upload answer without Upload-Offset".into())
                    })?;
                }
                status => {
                    let text = response.text().await.unwrap_or_default();
                    return Err(BlobError::Server(format!("{status}: {}", text.trim())));
                }
            }
        }
        on(Progress {
            hash: *hash,
            done: meta.size,
            total: meta.size,
        });
        super::uploaded(store, hash)?;
        Ok(())
    }

    /// Fetches a blob the store lacks (resuming a download cut before), checks it against its
    /// hash and stores it; a blob already here is not fetched again.
    pub async fn fetch(
        &self,
        store: &dyn Store,
        hash: &BlobHash,
        mut on: impl FnMut(Progress),
    ) -> Result<BlobMeta, BlobError> {
        if let Some(meta) = super::meta(store, hash)? {
            return Ok(meta);
        }
        let mut offset = super::partial_len(store, hash)?;
        let mut response = self
            .client
            .get(self.url(hash))
            .header(RANGE, format!("bytes={offset}-"))
            .send()
            .await
            .map_err(unreachable)?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {}
            // The whole blob (the server ignored the range): start over.
            StatusCode::OK => offset = 0,
            StatusCode::NOT_FOUND => return Err(BlobError::NotFound(*hash)),
            status => {
                let text = response.text().await.unwrap_or_default();
                return Err(BlobError::Server(format!("{status}: {}", text.trim())));
            }
        }
        let total = offset + response.content_length().unwrap_or(0);
        let mut pending: Vec<u8> = Vec::with_capacity(2 * CHUNK);
        while let Some(bytes) = response.chunk().await.map_err(unreachable)? {
            pending.extend_from_slice(&bytes);
            if pending.len() >= CHUNK {
                let taken = super::store_downloaded(store, hash, offset, &pending, false)?;
                pending.drain(..taken);
                offset += taken as u64;
                on(Progress {
                    hash: *hash,
                    done: offset,
                    total,
                });
            }
        }
        super::store_downloaded(store, hash, offset, &pending, true)?;
        let meta = super::finish_download(store, hash)?;
        on(Progress {
            hash: *hash,
            done: meta.size,
            total: meta.size,
        });
        Ok(meta)
    }
}

fn unreachable(e: reqwest::Error) -> BlobError {
    BlobError::Unreachable(e.to_string())
}

fn offset_of(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(UPLOAD_OFFSET)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Up to `len` bytes of a stored blob from `offset`.
fn read_range(
    store: &dyn Store,
    hash: &BlobHash,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, BlobError> {
    let mut out = Vec::with_capacity(len);
    let mut index = offset / CHUNK as u64;
    let mut skip = (offset % CHUNK as u64) as usize;
    while out.len() < len {
        let Some(bytes) = super::chunk(store, hash, index)? else {
            break;
        };
        let take = (bytes.len().saturating_sub(skip)).min(len - out.len());
        let Some(piece) = bytes.get(skip..skip + take) else {
            break;
        };
        out.extend_from_slice(piece);
        skip = 0;
        index += 1;
    }
    if out.is_empty() {
        return Err(BlobError::NotFound(*hash));
    }
    Ok(out)
}
