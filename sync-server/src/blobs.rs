//! The blob endpoints on `/blobs/{hash}`: `PUT` (resumable by `Content-Range`), `HEAD` and
//! `GET` (with `Range`); the protocol is described in `fiche_core::blob::transfer`.
//!
//! Blobs are files named by their SHA-256, one shelf per organisation
//! (`<data-dir>/fiche-blobs/orgs/ORG/`; on a `--no-auth` server `<data-dir>/fiche-blobs/`):
//! a hash known from another organisation finds nothing. An upload grows in the shelf's
//! `partial/` and moves into place only once its size, hash and kind check out, so a partial
//! blob is never served. The kind is told from the bytes, never from the client. Every
//! request needs a device token ([`crate::auth::require`]); a technician reaches only the
//! files of the records assigned to them ([`visible`]). Unfinished uploads are capped and
//! expire ([`unfinished`]).

mod unfinished;
mod visible;

pub use unfinished::{Cap, UploadCaps};

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Extension, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fiche_core::blob::sniff::{self, SNIFF_BYTES};
use fiche_core::blob::transfer::UPLOAD_OFFSET;
use fiche_core::blob::BlobHash;
use fiche_core::model::Client;
use fiche_core::schema::{self, Kind};
use fiche_core::store::Store;
use fiche_core::{docstore, key, record, DocumentId};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::accounts::{Access, OPEN_ORG};
use crate::auth::{self, Auth};
use crate::ServerError;
use unfinished::Unfinished;

/// The most bytes one `PUT` may carry; larger blobs come in pieces.
const MAX_PIECE: u64 = 16 << 20;

/// What the blob routes share.
#[derive(Debug, Clone)]
struct Shared {
    files: Arc<BlobFiles>,
    /// Read (never written) for a technician's rights.
    store: Arc<dyn Store>,
}

/// The blob routes, behind the token check.
pub fn router(files: Arc<BlobFiles>, auth: Arc<Auth>, store: Arc<dyn Store>) -> axum::Router {
    axum::Router::new()
        .route("/blobs/{hash}", axum::routing::get(get_blob).put(put_blob))
        .layer(axum::middleware::from_fn_with_state(auth, auth::require))
        .with_state(Shared { files, store })
}

/// Where blobs live, and how large one may be.
#[derive(Debug)]
pub struct BlobFiles {
    dir: PathBuf,
    limit: u64,
    /// Uploads under way (shelf, hash): one writer per partial file.
    busy: Mutex<HashSet<(PathBuf, BlobHash)>>,
    unfinished: Unfinished,
}

impl BlobFiles {
    pub fn open(data_dir: &Path, limit: u64, caps: UploadCaps) -> std::io::Result<Self> {
        let dir = data_dir.join("fiche-blobs");
        std::fs::create_dir_all(dir.join("partial"))?;
        let mut this = Self {
            dir,
            limit,
            busy: Mutex::new(HashSet::new()),
            unfinished: Unfinished::new(caps.clone(), []),
        };
        let found: Vec<(String, PathBuf)> = this
            .shelves()
            .into_iter()
            .flat_map(|(org, shelf)| {
                let files = std::fs::read_dir(shelf.join("partial"))
                    .into_iter()
                    .flatten();
                files.flatten().map(move |e| (org.clone(), e.path()))
            })
            .collect();
        this.unfinished = Unfinished::new(caps, found);
        Ok(this)
    }

    /// The organisation's directory of blobs.
    fn shelf(&self, org: &str) -> PathBuf {
        if org == OPEN_ORG {
            self.dir.clone()
        } else {
            self.dir.join("orgs").join(org)
        }
    }

    /// Every shelf there is, with its organisation.
    fn shelves(&self) -> Vec<(String, PathBuf)> {
        let mut all = vec![(OPEN_ORG.to_string(), self.dir.clone())];
        if let Ok(orgs) = std::fs::read_dir(self.dir.join("orgs")) {
            all.extend(
                orgs.flatten()
                    .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path())),
            );
        }
        all
    }

    fn complete(&self, org: &str, hash: &BlobHash) -> PathBuf {
        self.shelf(org).join(hash.to_string())
    }

    fn partial(&self, org: &str, hash: &BlobHash) -> PathBuf {
        self.shelf(org).join("partial").join(hash.to_string())
    }

    /// Removes an unfinished upload that is refused.
    async fn drop_partial(&self, partial: &Path) {
        let _ = tokio::fs::remove_file(partial).await;
        self.unfinished.over(partial);
    }

    /// Marks an upload of `hash` as under way; `None` if one already is.
    fn claim(self: &Arc<Self>, org: &str, hash: BlobHash) -> Option<Claim> {
        let key = (self.shelf(org), hash);
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(key.clone()).then(|| Claim {
            files: self.clone(),
            key,
        })
    }
}

impl BlobFiles {
    /// Removes the blob files that no stored record of their organisation refers to and that
    /// were last written more than `grace` ago, and the unfinished uploads past their expiry;
    /// returns how many went.
    ///
    /// The grace period is what keeps a blob whose record has not arrived yet (uploaded
    /// first, or referred to by a device still offline): it must exceed how long devices stay
    /// away. A device that refers anew to a blob it holds queues it again for upload.
    pub fn collect(&self, store: &dyn Store, grace: Duration) -> Result<usize, ServerError> {
        let referenced = references(store, None)?;
        let none = BTreeSet::new();
        let mut removed = self.unfinished.expire();
        for (org, shelf) in self.shelves() {
            let keep = referenced.get(&org).unwrap_or(&none);
            let Ok(entries) = std::fs::read_dir(&shelf) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(meta) = entry.metadata() else { continue };
                if !meta.is_file() || keep.contains(&name) {
                    continue;
                }
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .unwrap_or_default();
                if age >= grace && std::fs::remove_file(entry.path()).is_ok() {
                    tracing::info!(blob = %name, %org, "unreferenced blob removed");
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Removes at once the files of an erased record (`files`, hex hashes) that no other
    /// stored record of `org` refers to; returns how many went.
    pub fn forget(
        &self,
        store: &dyn Store,
        org: &str,
        files: &BTreeSet<String>,
    ) -> Result<usize, ServerError> {
        if files.is_empty() {
            return Ok(0);
        }
        let referenced = references(store, Some(org))?;
        let keep = referenced.get(org);
        let mut removed = 0;
        for name in files {
            let Ok(hash) = name.parse::<BlobHash>() else {
                continue;
            };
            if keep.is_some_and(|k| k.contains(name)) {
                continue;
            }
            let partial = self.partial(org, &hash);
            let _ = std::fs::remove_file(&partial);
            self.unfinished.over(&partial);
            if std::fs::remove_file(self.complete(org, &hash)).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The files that the stored client records of each organisation (or of `only` that one)
/// refer to, in one pass over the store.
fn references(
    store: &dyn Store,
    only: Option<&str>,
) -> Result<HashMap<String, BTreeSet<String>>, ServerError> {
    let mut referenced: HashMap<String, BTreeSet<String>> = HashMap::new();
    for key in store.keys(&key!["_docs"])? {
        let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) else {
            continue;
        };
        let org = crate::access::owner_in_store(store, &id)?;
        if only.is_some_and(|o| o != org) {
            continue;
        }
        let Ok(Some(doc)) = docstore::load(store, &id) else {
            continue;
        };
        if schema::kind_of(&doc) == Some(Kind::Client) {
            if let Ok(client) = record::read::<Client>(&doc) {
                referenced
                    .entry(org)
                    .or_default()
                    .extend(client.blob_hashes());
            }
        }
    }
    Ok(referenced)
}

/// An upload under way; released when dropped (however the request ends).
struct Claim {
    files: Arc<BlobFiles>,
    key: (PathBuf, BlobHash),
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = self.files.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.key);
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, format!("{}\n", message.into())).into_response()
}

fn with_offset(mut response: Response, offset: u64) -> Response {
    response
        .headers_mut()
        .insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    response
}

async fn file_len(path: &Path) -> Option<u64> {
    tokio::fs::metadata(path).await.ok().map(|m| m.len())
}

/// `HEAD` and `GET`: the whole blob or the asked range; 404 (with `Upload-Offset` when an
/// upload is under way) for anything not complete.
async fn get_blob(
    State(shared): State<Shared>,
    Extension(access): Extension<Access>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let hash: BlobHash = match hash.parse() {
        Ok(h) => h,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    let missing = || refuse(StatusCode::NOT_FOUND, format!("no blob {hash}"));
    match reachable(&shared, &access, &hash).await {
        Ok(true) => {}
        // As if absent: whether another record has it is not told.
        Ok(false) => return missing(),
        Err(refused) => return refused,
    }
    let files = &shared.files;
    let path = files.complete(&access.org, &hash);
    let Some(size) = file_len(&path).await else {
        let missing = missing();
        return match file_len(&files.partial(&access.org, &hash)).await {
            Some(offset) => with_offset(missing, offset),
            None => missing,
        };
    };
    let range = match headers.get(header::RANGE).map(|v| parse_range(v, size)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            let mut r = refuse(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "bad or unsatisfiable Range",
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let (start, end) = range.unwrap_or((0, size.saturating_sub(1)));
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut head = vec![0u8; SNIFF_BYTES.min(size as usize)];
    if file.read_exact(&mut head).await.is_err() || file.seek(SeekFrom::Start(start)).await.is_err()
    {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the blob");
    }
    let media_type = sniff::media_type(&head).unwrap_or("application/octet-stream");
    let len = end + 1 - start;
    let body = Body::from_stream(file_stream::read(file, len));
    let mut response = Response::new(body);
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if range.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
            response.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    response
}

/// `bytes=START-` or `bytes=START-END` within `size`; `None` if malformed or outside.
fn parse_range(value: &HeaderValue, size: u64) -> Option<(u64, u64)> {
    let spec = value.to_str().ok()?.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => size.checked_sub(1)?,
        e => e.parse::<u64>().ok()?.min(size.checked_sub(1)?),
    };
    (start <= end).then_some((start, end))
}

/// `bytes START-END/TOTAL` (END inclusive).
fn parse_content_range(value: &HeaderValue) -> Option<(u64, u64, u64)> {
    let spec = value.to_str().ok()?.strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (start, end, total) = (a.parse().ok()?, b.parse().ok()?, total.parse().ok()?);
    (start <= end && end < total).then_some((start, end, total))
}

/// Whether the caller may reach `hash` ([`visible::may_reach`], off the async workers).
async fn reachable(shared: &Shared, access: &Access, hash: &BlobHash) -> Result<bool, Response> {
    let (store, access, hash) = (shared.store.clone(), access.clone(), hash.to_string());
    let done = tokio::task::spawn_blocking(move || visible::may_reach(&*store, &access, &hash));
    match done.await {
        Ok(Ok(may)) => Ok(may),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot read a technician's records");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot check access now",
            ))
        }
        Err(e) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// `PUT`: appends one piece of an upload; the last piece checks the whole and makes it
/// available.
async fn put_blob(
    State(shared): State<Shared>,
    Extension(access): Extension<Access>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let hash: BlobHash = match hash.parse() {
        Ok(h) => h,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    let files = &shared.files;
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let (start, end, total) = match headers.get(header::CONTENT_RANGE) {
        Some(v) => match parse_content_range(v) {
            Some(r) => r,
            None => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "Content-Range must read `bytes START-END/TOTAL`",
                )
            }
        },
        None => match declared_len {
            Some(0) => return refuse(StatusCode::BAD_REQUEST, "an empty blob"),
            Some(n) => (0, n - 1, n),
            None => {
                return refuse(
                    StatusCode::LENGTH_REQUIRED,
                    "send Content-Length or Content-Range",
                )
            }
        },
    };
    if total > files.limit {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the blob is {total} bytes; the limit is {}", files.limit),
        );
    }
    if end + 1 - start > MAX_PIECE {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("send at most {MAX_PIECE} bytes per request"),
        );
    }
    if !access.role.may_edit() {
        return refuse(
            StatusCode::FORBIDDEN,
            format!(
                "member {} is {}: uploads are refused",
                access.member, access.role
            ),
        );
    }
    match reachable(&shared, &access, &hash).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "member {} is a technician: files go only with the records assigned to them (sync the record first)",
                    access.member
                ),
            )
        }
        Err(refused) => return refused,
    }
    let org = &access.org;
    if file_len(&files.complete(org, &hash)).await.is_some() {
        return (StatusCode::OK, "already stored\n").into_response();
    }
    let Some(_claim) = files.claim(org, hash) else {
        return refuse(StatusCode::CONFLICT, "an upload of this blob is under way");
    };
    let partial = files.partial(org, &hash);
    if let Some(dir) = partial.parent() {
        if let Err(e) = tokio::fs::create_dir_all(dir).await {
            tracing::error!(error = %e, "cannot make a blob shelf");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload");
        }
    }
    let offset = file_len(&partial).await.unwrap_or(0);
    if start != offset {
        let r = refuse(
            StatusCode::CONFLICT,
            format!("expected bytes from {offset}"),
        );
        return with_offset(r, offset);
    }
    if let Err(full) = files.unfinished.piece(&partial, org, &access.device, total) {
        return refuse(full.status, full.message);
    }
    let written = match append(&partial, body, offset, end + 1 - start).await {
        Ok(n) => n,
        Err(failed) => {
            if offset == 0 {
                files.drop_partial(&partial).await;
            }
            return match failed {
                Append::TooLong => refuse(
                    StatusCode::BAD_REQUEST,
                    "the body is longer than its Content-Range",
                ),
                Append::Io(e) => {
                    tracing::error!(error = %e, %hash, "cannot write an upload");
                    refuse(StatusCode::INTERNAL_SERVER_ERROR, "cannot store the upload")
                }
            };
        }
    };
    let now = offset + written;
    if offset < SNIFF_BYTES as u64 && (now >= SNIFF_BYTES as u64 || now == total) {
        // The kind is known as soon as the first bytes are: refuse early, keep nothing.
        if kind(&partial).is_none() {
            files.drop_partial(&partial).await;
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "this kind of file is not accepted (photos, PDF, text and e-mails are)",
            );
        }
    }
    if now < total {
        let status = if written == end + 1 - start {
            StatusCode::ACCEPTED
        } else {
            // The body ended early (a dropped connection): what came is kept.
            StatusCode::BAD_REQUEST
        };
        return with_offset(refuse(status, format!("have {now} of {total} bytes")), now);
    }
    if now > total {
        files.drop_partial(&partial).await;
        return refuse(
            StatusCode::BAD_REQUEST,
            "more bytes than the declared total",
        );
    }
    let finished = finish(&files.complete(org, &hash), &hash, &partial).await;
    files.unfinished.over(&partial);
    finished
}

/// Checks a complete upload against its hash and moves it into place.
async fn finish(complete: &Path, hash: &BlobHash, partial: &Path) -> Response {
    let actual = match hash_file(partial.to_path_buf()).await {
        Ok(h) => h,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if actual != *hash {
        let _ = tokio::fs::remove_file(partial).await;
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the content hashes to {actual}, not {hash}: nothing stored"),
        );
    }
    if let Err(e) = tokio::fs::rename(partial, complete).await {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    tracing::info!(%hash, "blob stored");
    (StatusCode::CREATED, "stored\n").into_response()
}

enum Append {
    TooLong,
    Io(std::io::Error),
}

/// Appends the body to `path` (holding `offset` bytes), at most `max` bytes; returns how many
/// were written (fewer if the body ended early). What was written is on disk when this
/// returns; a body longer than `max` leaves the file as it was.
async fn append(path: &Path, body: Body, offset: u64, max: u64) -> Result<u64, Append> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(Append::Io)?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    while let Some(frame) = stream.next().await {
        let Ok(bytes) = frame else {
            break;
        };
        if written + bytes.len() as u64 > max {
            file.set_len(offset).await.map_err(Append::Io)?;
            return Err(Append::TooLong);
        }
        file.write_all(&bytes).await.map_err(Append::Io)?;
        written += bytes.len() as u64;
    }
    file.sync_data().await.map_err(Append::Io)?;
    Ok(written)
}

/// The accepted kind of the file at `path`, from its first bytes.
fn kind(path: &Path) -> Option<&'static str> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    std::fs::File::open(path)
        .ok()?
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .ok()?;
    sniff::media_type(&head)
}

async fn hash_file(path: PathBuf) -> std::io::Result<BlobHash> {
    tokio::task::spawn_blocking(move || fiche_core::blob::hash_of(std::fs::File::open(path)?))
        .await
        .map_err(std::io::Error::other)?
}

/// A file read as a stream of chunks, without holding it whole.
mod file_stream {
    use axum::body::Bytes;
    use tokio::io::AsyncReadExt;

    pub fn read(
        file: tokio::fs::File,
        len: u64,
    ) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
        futures_util::stream::unfold((file, len), |(mut file, left)| async move {
            if left == 0 {
                return None;
            }
            let mut buf = vec![0u8; (64 * 1024).min(left as usize)];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        })
    }
}
