//! HTTP and WebSocket routes: the sync endpoint (`/` and `/sync`), `/health`,
//! `/api/directory` and `/api/enrol`; the web client's files (`web.rs`) at `/` and every other path. Sockets only move frames: decoding happens here,
//! authorisation and protocol in the hub.

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
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::accounts::Access;
use crate::auth::{Auth, PeerAddr};
use crate::hub::{Event, Outgoing, Stats};

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
        .merge(crate::me::router())
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
    let (out, mut outgoing) = mpsc::unbounded_channel();
    state.send(Event::Connect { conn, out, access });
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            let o = tokio::select! {
                o = outgoing.recv() => match o {
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
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
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
    });
    let mut rejected = false;
    loop {
        // Peers answer pings: silence this long means the connection is dead (half-open).
        let frame = match tokio::time::timeout(SILENCE_LIMIT, stream.next()).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(_) => {
                tracing::info!(conn, "no answer to pings: dropping the connection");
                break;
            }
        };
        let reason = match frame {
            Ok(WsMessage::Binary(bytes)) => match Message::decode(&bytes) {
                Ok(message) => {
                    state.send(Event::Frame { conn, message });
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
    if rejected {
        // Let the error and the close frame go out before the socket is dropped.
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    } else {
        writer.abort();
    }
    state.send(Event::Disconnect { conn });
}

/// Close reasons are limited to 123 bytes by the WebSocket protocol.
fn truncate(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}
