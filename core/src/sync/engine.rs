//! The WebSocket side of device sync: connects, feeds frames to a [`Session`], writes what it
//! says, reconnects with exponential backoff after a drop, and reports [`Status`] events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage};
use tokio_tungstenite::Connector;

use super::loader::Loader;
use super::session::{Note, Session};
use crate::blob::transfer::{Progress, Transfer};
use crate::book::Book;
use crate::id::DocumentId;
use crate::protocol::Message;
use crate::schema::Kind;

/// How long to wait for answers a peer may not send (to messages that only state our heads)
/// before taking the documents as in sync.
const SETTLE: Duration = Duration::from_millis(500);

/// The most frames read in one go, decoded, loaded and written together.
const BATCH: usize = 1024;

/// Where and how to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// `ws://host:port/` (an `http://` URL is taken as `ws://`).
    pub url: String,
    /// First wait before reconnecting; doubles after each failure up to `retry_max`.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Connection attempts before giving up (`None`: never give up).
    pub attempts: Option<u32>,
    /// How long to wait for an answer before the connection is taken as dead.
    pub quiet: Duration,
    /// After this long without hearing from the server, ping it; after as long again, take the
    /// connection as dead (a half-open connection otherwise looks alive forever).
    pub keepalive: Duration,
    /// For a `wss://` server whose certificate comes from the organisation's own CA: that
    /// CA's certificate (PEM). The public CAs are trusted in any case.
    pub ca: Option<Vec<u8>>,
}

impl SyncOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(30),
            attempts: Some(5),
            quiet: Duration::from_secs(30),
            keepalive: Duration::from_secs(20),
            ca: None,
        }
    }
}

/// What the engine is doing, as events for a status bar or a log.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Connecting {
        attempt: u32,
    },
    /// Not connected; the next attempt is in `retry_in`.
    Offline {
        reason: String,
        retry_in: Duration,
    },
    Syncing {
        done: usize,
        total: usize,
    },
    /// The server holds every change of this device's (its heads include ours, document by
    /// document).
    UpToDate {
        documents: usize,
    },
    /// Everything was answered, but the server refused `refused` documents' changes from
    /// here: they stay on this device (`Book::refused`) until dropped; not up to date.
    Held {
        documents: usize,
        refused: usize,
    },
    /// A document arrived or changed from another device.
    Received {
        id: DocumentId,
        kind: Kind,
        created: bool,
    },
    /// A photo or file on its way to the server: `done` of `total` bytes.
    Uploading {
        hash: String,
        done: u64,
        total: u64,
    },
    /// Photos and files could not be sent now (the server's blob endpoint is unreachable);
    /// they stay queued for the next sync.
    UploadsWaiting {
        reason: String,
    },
    /// A photo or file the server would not take (it stays queued here).
    UploadRefused {
        hash: String,
        reason: String,
    },
    /// A document from the server that this device did not take, and why.
    Skipped {
        id: DocumentId,
        reason: String,
    },
    /// A record erased on the server (GDPR): this device's copy, history included, is gone.
    Erased {
        id: DocumentId,
    },
    /// The server refused this device's changes to a document: they stay here, marked as
    /// refused, until they are dropped; the other documents go on.
    Refused {
        id: DocumentId,
        reason: String,
    },
}

/// What a one-shot sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Documents in sync with the server at the end.
    pub documents: usize,
    /// Documents that gained changes from the server (of which `created` were new here).
    pub received: usize,
    pub created: usize,
    /// Of those created, the ones a Fiche server sent whole with a preview, filed as they
    /// came without being loaded (see `crate::preview`).
    pub filed: usize,
    pub skipped: usize,
    /// Records erased on the server whose copy here was deleted.
    pub erased: usize,
    /// Documents whose changes from here the server refused, with its reason.
    pub refused: Vec<(DocumentId, String)>,
    /// Photos and files sent to the server.
    pub uploaded: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub elapsed: Duration,
}

/// Why syncing stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{url:?} is not a sync server URL: use ws://host:port/")]
    BadUrl { url: String },
    #[error("cannot sync with {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the server refused the session: {0}")]
    Refused(String),
    #[error("the server refused this device: {0}")]
    Unauthorised(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Book(#[from] crate::Error),
}

/// How one connection ended.
enum End {
    /// Everything in sync (one-shot) or asked to stop (live).
    Done,
    /// The connection failed or dropped: try again.
    Retry(String),
}

/// Syncs once: connects, exchanges everything, returns when the book and the server agree.
/// Retries a dropped connection (resuming where it was) up to `options.attempts` times.
pub async fn sync_once(
    book: Arc<Book>,
    options: &SyncOptions,
    mut on: impl FnMut(Status),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let started = Instant::now();
    run(
        book,
        options,
        false,
        &mut on,
        &mut report,
        std::future::pending(),
    )
    .await?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Syncs until `stop` completes: live, reconnecting after every drop (forever unless
/// `options.attempts` says otherwise), sending local changes as they are made.
pub async fn sync_live(
    book: Arc<Book>,
    options: &SyncOptions,
    mut on: impl FnMut(Status),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), SyncError> {
    let mut report = SyncReport::default();
    run(book, options, true, &mut on, &mut report, stop).await
}

fn ws_url(url: &str) -> Result<String, SyncError> {
    match crate::tls::server_url(url) {
        Some((secure, rest)) => Ok(format!("{}://{rest}", if secure { "wss" } else { "ws" })),
        None => Err(SyncError::BadUrl {
            url: url.to_string(),
        }),
    }
}

async fn run(
    book: Arc<Book>,
    options: &SyncOptions,
    live: bool,
    on: &mut impl FnMut(Status),
    report: &mut SyncReport,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), SyncError> {
    let url = ws_url(&options.url)?;
    // The role as the server has it now, so that edits it would refuse are refused here.
    super::enrol::refresh_role(&book, &options.url, options.ca.as_deref()).await?;
    let mut stop = std::pin::pin!(stop.fuse());
    let mut failures = 0u32;
    let mut wait = options.retry_min;
    loop {
        on(Status::Connecting {
            attempt: failures + 1,
        });
        let reason = match session(&book, &url, options, live, on, report, stop.as_mut()).await? {
            (End::Done, _) => return Ok(()),
            (End::Retry(reason), progressed) => {
                if progressed {
                    failures = 0;
                    wait = options.retry_min;
                }
                reason
            }
        };
        failures += 1;
        if options.attempts.is_some_and(|n| failures >= n) {
            return Err(SyncError::Unreachable {
                url: options.url.clone(),
                reason,
            });
        }
        // Jitter spreads reconnecting devices apart after a server restart.
        let jitter = Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 100);
        let retry_in = wait + jitter;
        on(Status::Offline { reason, retry_in });
        tokio::select! {
            _ = tokio::time::sleep(retry_in) => {}
            _ = stop.as_mut() => return Ok(()),
        }
        wait = (wait * 2).min(options.retry_max);
    }
}

/// The WebSocket request for `url`, with this device's token if it has one.
fn authorised(
    url: &str,
    book: &Book,
) -> Result<tungstenite::handshake::client::Request, SyncError> {
    use tungstenite::client::IntoClientRequest;
    let bad_url = || SyncError::BadUrl { url: url.into() };
    let mut request = url.into_client_request().map_err(|_| bad_url())?;
    if let Some(token) = super::enrol::token(book.store().as_ref())? {
        let mut value = tungstenite::http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| SyncError::Unauthorised("the stored device token is damaged".into()))?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    Ok(request)
}

/// One connection. Returns how it ended, and whether it got as far as the handshake.
async fn session(
    book: &Arc<Book>,
    url: &str,
    options: &SyncOptions,
    live: bool,
    on: &mut impl FnMut(Status),
    report: &mut SyncReport,
    mut stop: std::pin::Pin<&mut futures_util::future::Fuse<impl std::future::Future<Output = ()>>>,
) -> Result<(End, bool), SyncError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let tls = match url.starts_with("wss://") {
        true => Some(Connector::Rustls(
            crate::tls::client_config(options.ca.as_deref()).map_err(SyncError::Tls)?,
        )),
        false => None,
    };
    let request = authorised(url, book)?;
    let connect =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, tls);
    let ws = match tokio::time::timeout(options.quiet, connect).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(tungstenite::Error::Http(response)))
            if matches!(response.status().as_u16(), 401 | 403) =>
        {
            let body = response.body().as_deref().unwrap_or_default();
            let reason = String::from_utf8_lossy(body).trim().to_string();
            return Err(SyncError::Unauthorised(reason));
        }
        Ok(Err(e)) => return Ok((End::Retry(e.to_string()), false)),
        Err(_) => return Ok((End::Retry("connection timed out".into()), false)),
    };
    let (mut sink, mut stream) = ws.split();
    let mut s = Session::new(book.clone());
    let mut loader = Loader::start(book.clone());
    let mut changes = book.subscribe();
    let mut was_up_to_date = false;
    let mut last_progress = (usize::MAX, usize::MAX);
    let mut out: Vec<Message> = s.start().into_iter().collect();
    let mut heard = Instant::now();
    let mut pinged = false;
    loop {
        for m in out.drain(..) {
            let bytes = m.encode();
            report.bytes_out += bytes.len() as u64;
            if let Err(e) = sink.feed(WsMessage::Binary(bytes.into())).await {
                return Ok((End::Retry(e.to_string()), s.progress().1 > 0));
            }
        }
        if let Err(e) = sink.flush().await {
            return Ok((End::Retry(e.to_string()), s.progress().1 > 0));
        }
        let progress = s.progress();
        if s.up_to_date() {
            if !was_up_to_date {
                // Records first, then the photos and files they refer to. Records in sync
                // are not undone by files that cannot go yet: those stay queued.
                if let Err(reason) =
                    upload(book, &options.url, options.ca.as_deref(), on, report).await
                {
                    on(Status::UploadsWaiting { reason });
                }
                on(match s.refused() {
                    0 => Status::UpToDate {
                        documents: progress.1,
                    },
                    refused => Status::Held {
                        documents: progress.1,
                        refused,
                    },
                });
                was_up_to_date = true;
            }
            if !live {
                report.documents = progress.1;
                let _ = sink.send(WsMessage::Close(None)).await;
                return Ok((End::Done, true));
            }
        } else {
            was_up_to_date = false;
            if progress != last_progress && progress.1 > 0 {
                on(Status::Syncing {
                    done: progress.0,
                    total: progress.1,
                });
                last_progress = progress;
            }
        }
        let waiting = !s.up_to_date();
        let settling = s.only_soft_pending();
        tokio::select! {
            frame = stream.next(), if !loader.full() => {
                heard = Instant::now();
                pinged = false;
                let mut frames = vec![frame];
                // Take what has already arrived too, to load and write it all in one go.
                while frames.len() < BATCH {
                    // Outside tokio's cooperative budget, which would otherwise end the
                    // batch after a few hundred frames however many are waiting.
                    match tokio::task::unconstrained(stream.next()).now_or_never() {
                        Some(f) => frames.push(f),
                        None => break,
                    }
                }
                match binaries(frames, report) {
                    Ok(b) if b.is_empty() => {}
                    Ok(b) => loader.send(b),
                    Err(reason) => return Ok((End::Retry(reason), true)),
                }
            }
            prepared = loader.next(), if loader.pending() => {
                let (o, notes) = s.receive_prepared(prepared?)?;
                out.extend(o);
                notify(notes, on, report)?;
                let (o, notes) = s.persist()?;
                out.extend(o);
                notify(notes, on, report)?;
            }
            change = changes.recv(), if live => match change {
                Ok(c) if !c.remote => out.extend(s.local_change(c.id)?),
                Ok(_) | Err(RecvError::Closed) => {}
                Err(RecvError::Lagged(_)) => out.extend(s.resync_all()?),
            },
            _ = tokio::time::sleep_until((heard + options.keepalive).into()) => {
                if pinged {
                    let reason = format!("the server stopped answering (nothing for {:?})", options.keepalive * 2);
                    return Ok((End::Retry(reason), true));
                }
                if let Err(e) = sink.send(WsMessage::Ping(Vec::new().into())).await {
                    return Ok((End::Retry(e.to_string()), true));
                }
                pinged = true;
                heard = Instant::now();
            }
            _ = tokio::time::sleep(SETTLE), if settling => out.extend(s.quiet()?),
            _ = tokio::time::sleep(options.quiet), if waiting => {
                return Ok((End::Retry(format!("no answer from the server for {:?}", options.quiet)), true));
            }
            _ = stop.as_mut() => {
                let _ = sink.send(WsMessage::Close(None)).await;
                return Ok((End::Done, true));
            }
        }
    }
}

/// The payloads of binary frames read together; `Err(reason)` when the connection ended
/// among them (what came before is dropped: the next session asks again).
type Frame = Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>;

fn binaries(frames: Vec<Frame>, report: &mut SyncReport) -> Result<Vec<Bytes>, String> {
    let mut out = Vec::with_capacity(frames.len());
    for frame in frames {
        match frame {
            Some(Ok(WsMessage::Binary(b))) => {
                report.bytes_in += b.len() as u64;
                out.push(b);
            }
            Some(Ok(WsMessage::Close(c))) => {
                let reason = c.map(|c| c.reason.to_string()).unwrap_or_default();
                return Err(format!("the server closed the connection {reason}"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("the connection closed".into()),
        }
    }
    Ok(out)
}

/// Sends the blobs queued on this device; a blob the server refuses is reported and stays
/// queued. `Err(reason)` if the server cannot be reached.
async fn upload(
    book: &Book,
    url: &str,
    ca: Option<&[u8]>,
    on: &mut impl FnMut(Status),
    report: &mut SyncReport,
) -> Result<(), String> {
    if book.queued_uploads().map_err(|e| e.to_string())?.is_empty() {
        return Ok(());
    }
    let token = super::enrol::token(book.store().as_ref()).map_err(|e| e.to_string())?;
    let transfer = Transfer::new(url, ca, token.as_deref()).map_err(|e| e.to_string())?;
    let mut progress = |p: Progress| {
        on(Status::Uploading {
            hash: p.hash.to_string(),
            done: p.done,
            total: p.total,
        })
    };
    let done = transfer
        .upload_queued(book.store().as_ref(), &mut progress)
        .await
        .map_err(|e| e.to_string())?;
    report.uploaded += done.sent;
    for (hash, reason) in done.refused {
        on(Status::UploadRefused {
            hash: hash.to_string(),
            reason: reason.to_string(),
        });
    }
    Ok(())
}

fn notify(
    notes: Vec<Note>,
    on: &mut impl FnMut(Status),
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    for note in notes {
        match note {
            Note::Received { id, kind, created } => {
                report.received += 1;
                report.created += usize::from(created);
                on(Status::Received { id, kind, created });
            }
            Note::Filed { id, kind } => {
                report.received += 1;
                report.created += 1;
                report.filed += 1;
                on(Status::Received {
                    id,
                    kind,
                    created: true,
                });
            }
            Note::Skipped { id, reason } => {
                report.skipped += 1;
                on(Status::Skipped { id, reason });
            }
            Note::Erased { id, held } => {
                report.erased += usize::from(held);
                on(Status::Erased { id });
            }
            Note::Refused { id, reason } => {
                report.refused.push((id, reason.clone()));
                on(Status::Refused { id, reason });
            }
            Note::Closed(reason) => return Err(SyncError::Refused(reason)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(
            ws_url("ws://127.0.0.1:3030").unwrap(),
            "ws://127.0.0.1:3030"
        );
        assert_eq!(ws_url("http://h:1/sync").unwrap(), "ws://h:1/sync");
        for bad in ["127.0.0.1:3030", "ftp://x", "ws://"] {
            assert!(
                matches!(ws_url(bad), Err(SyncError::BadUrl { .. })),
                "{bad}"
            );
        }
    }
}
