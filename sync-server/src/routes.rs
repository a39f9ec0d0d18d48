//! HTTP and WebSocket routes: the sync endpoint (`/` and `/sync`), `/health`,
//! `/api/directory` and `/api/enrol`; the web client's files (`web.rs`) at `/` and every other path. Sockets only move frames: decoding happens here,
//! authorisation and protocol in the hub; the queues between them are bounded (`link.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fiche_core::directory::directory_id;
use fiche_core::protocol::Message;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};

use crate::accounts::Access;
use crate::auth::{Auth, PeerAddr};
use crate::hub::{Event, Outgoing, Stats};
use crate::link;

/// How often the server pings each peer.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer silent this long (not even a pong) is taken as gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// What every route shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The hub runs on a plain thread: a `std` channel reaches it.
    pub events: Sender<Event>,
    pub next_conn: Arc<AtomicU64>,
    pub stats: Arc<Stats>,
    pub max_message: usize,
    pub auth: Arc<Auth>,
    /// The web client's files (`web.rs`).
    pub web: Arc<crate::web::Site>,
    /// The documents' store, read (never written) by `/api/clients`.
    pub store: Arc<dyn fiche_core::store::Store>,
}

impl AppState {
    /// Closes the connections of these devices (their access was taken away).
    pub fn send_revoke(&self, devices: Vec<String>) {
        if !devices.is_empty() {
            self.send(Event::Revoke { devices });
        }
    }

    /// Asks the hub to erase a record; the answer says what was done.
    pub async fn erase(
        &self,
        id: fiche_core::DocumentId,
        actor: String,
        reason: String,
    ) -> Result<crate::erase::Erasure, String> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.send(Event::Erase {
            id,
            actor,
            reason,
            done,
        });
        answer
            .await
            .unwrap_or_else(|_| Err("the server is stopping".into()))
    }

    /// Asks the hub to close every connection and write everything; `done` answers then.
    pub fn send_shutdown(&self, done: tokio::sync::oneshot::Sender<()>) {
        self.send(Event::Shutdown { done });
    }

    fn send(&self, event: Event) {
        if self.events.send(event).is_err() {
            tracing::warn!("the hub has stopped; event dropped");
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/sync", get(sync))
        .route("/health", get(health))
        .route("/api/directory", get(directory))
        .route("/api/clients", get(clients))
        .route("/api/enrol", post(enrol))
        .merge(crate::me::router(state.auth.clone()))
        .fallback(web_file)
        .with_state(state)
}

/// What an upgrade request carries besides the socket: who asks, and from where.
struct Caller {
    headers: HeaderMap,
    uri: Uri,
    from: PeerAddr,
}

async fn root(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => upgrade(state, ws, Caller { headers, uri, from }),
        Err(_) => state.web.respond("/").await,
    }
}

/// Any other path: a file of the web client.
async fn web_file(State(state): State<AppState>, uri: Uri) -> Response {
    state.web.respond(uri.path()).await
}

async fn sync(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(state, ws, Caller { headers, uri, from })
}

fn upgrade(state: AppState, ws: WebSocketUpgrade, caller: Caller) -> Response {
    let from = caller.from.0.ip();
    let access = match state.auth.check(&caller.headers, caller.uri.query(), from) {
        Ok(access) => access,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(accounts) = state.auth.accounts().cloned() {
        // Off the async workers: the write waits for the disk, and devices reconnecting
        // together after a restart would otherwise stall every socket.
        let device = access.device.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = accounts.seen(&device) {
                tracing::warn!(error = %e, "cannot note when a device was last seen");
            }
        });
    }
    ws.max_message_size(state.max_message)
        .max_frame_size(state.max_message)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| serve_socket(state, socket, access))
}

#[derive(Debug, serde::Deserialize)]
struct EnrolRequest {
    code: String,
    #[serde(default)]
    name: String,
}

/// `POST /api/enrol {"code", "name"}`: a device's enrolment code for its token.
async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<PeerAddr>,
    Json(request): Json<EnrolRequest>,
) -> Response {
    let auth = state.auth.clone();
    let from = from.0.ip();
    let done = tokio::task::spawn_blocking(move || auth.enrol(&request.code, &request.name, from));
    match done.await {
        Ok(Ok(enrolled)) => Json(enrolled).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let s = &state.stats;
    Json(serde_json::json!({
        "status": "ok",
        "connections": s.connections.load(Ordering::Relaxed),
        "documents_in_memory": s.loaded.load(Ordering::Relaxed),
        "documents_stored": s.stored.load(Ordering::Relaxed),
    }))
}

/// `GET /api/clients` (signed in as for the socket): the caller's client list, read from the
/// store (`listing.rs`).
async fn clients(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let access = match state.auth.check(&headers, uri.query(), from.0.ip()) {
        Ok(access) => access,
        Err(refusal) => return refusal.into_response(),
    };
    let dir = crate::access::ConnAccess::new(access).directory();
    let store = state.store.clone();
    let listed = tokio::task::spawn_blocking(move || crate::listing::clients(store.as_ref(), &dir));
    let error = |e: String| {
        tracing::error!(error = %e, "cannot list the clients");
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e).into_response()
    };
    match listed.await {
        Ok(Ok(json)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response(),
        Ok(Err(e)) => error(e.to_string()),
        Err(e) => error(e.to_string()),
    }
}

async fn directory() -> Json<serde_json::Value> {
    let id = directory_id();
    Json(serde_json::json!({ "id": id.to_string(), "url": id.url() }))
}

/// A connection's read buffer, held by every connection, idle or not. tungstenite's default,
/// 128 KiB, cost about 120 MiB for 1,000 connections; 8 KiB still cost 8 MiB. Peers' frames
/// are mostly a few hundred bytes; a larger one is read in steps of this size into a buffer
/// reserved to its length (pushing 20,000 records took the same time with 8 KiB and 2 KiB).
const READ_BUFFER: usize = 2 * 1024;

async fn serve_socket(state: AppState, socket: WebSocket, access: Access) {
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (out, writer, mut reader) = link::link();
    state.send(Event::Connect { conn, out, access });
    let (sink, mut stream) = socket.split();
    let mut writer = tokio::spawn(write_socket(sink, writer));
    let mut rejected = false;
    let mut written = false;
    loop {
        // Peers answer pings: silence this long means the connection is dead (half-open).
        let frame = tokio::select! {
            _ = &mut writer => {
                written = true;
                break;
            }
            frame = tokio::time::timeout(SILENCE_LIMIT, stream.next()) => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                tracing::info!(conn, "no answer to pings: dropping the connection");
                break;
            }
        };
        let reason = match frame {
            Ok(WsMessage::Binary(bytes)) => match decode(bytes) {
                Ok((message, size)) => {
                    tokio::select! {
                        _ = &mut writer => {
                            written = true;
                            break;
                        }
                        _ = reader.admit(size) => {}
                    }
                    state.send(Event::Frame {
                        conn,
                        message,
                        size,
                    });
                    continue;
                }
                Err(e) => format!("bad message: {e}"),
            },
            Ok(WsMessage::Text(_)) => "text frames are not part of the protocol".to_string(),
            Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
            Ok(WsMessage::Close(_)) => break,
            Err(e) => {
                tracing::info!(conn, error = %e, "connection dropped");
                break;
            }
        };
        tracing::warn!(conn, %reason, "refusing connection");
        state.send(Event::Reject { conn, reason });
        rejected = true;
        break;
    }
    if written {
        // The hub closed or cut the connection: what the peer still sends is read (and
        // dropped) for a moment, so that the close frame reaches it before the socket goes.
        let drain = async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, WsMessage::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    } else if rejected {
        // Let the error and the close frame go out before the socket is dropped.
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    } else {
        writer.abort();
    }
    state.send(Event::Disconnect { conn });
}

/// A frame's message and length (the frame itself is not kept).
fn decode(bytes: axum::body::Bytes) -> Result<(Message, usize), fiche_core::protocol::DecodeError> {
    Ok((Message::decode(&bytes)?, bytes.len()))
}

/// How long a socket the hub closed is still read, for its close frame to reach the peer.
const LINGER: Duration = Duration::from_secs(2);

/// Sends what the hub queues for a peer, and pings; ends when the hub closes or cuts the
/// connection off, or the socket fails.
async fn write_socket(mut sink: SplitSink<WebSocket, WsMessage>, mut writer: link::Writer) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let o = tokio::select! {
            o = writer.next() => match o {
                Some(o) => o,
                None => break,
            },
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
                continue;
            }
        };
        match o {
            Outgoing::Frame(bytes) => {
                let len = bytes.len();
                let sent = tokio::select! {
                    sent = sink.send(WsMessage::Binary(bytes.into())) => sent.is_ok(),
                    _ = writer.cut() => false,
                };
                writer.sent(len);
                if !sent {
                    break;
                }
            }
            Outgoing::Close(reason) => {
                let frame = CloseFrame {
                    code: 1000,
                    reason: truncate(&reason).into(),
                };
                let _ = sink.send(WsMessage::Close(Some(frame))).await;
                break;
            }
        }
    }
}

/// Close reasons are limited to 123 bytes by the WebSocket protocol.
fn truncate(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}
