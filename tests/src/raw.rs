//! A WebSocket client that speaks the automerge-repo protocol by hand, for tests that send
//! what a well-behaved peer would not (garbage, spoofed ids, other organisations' documents)
//! and look at every byte that comes back. Its methods panic on failure: it is a test helper.

use std::time::Duration;

use fiche_core::protocol::{Message, PeerMetadata, PROTOCOL_V1};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

/// How long a raw client waits for the server to answer or close.
pub const WAIT: Duration = Duration::from_secs(5);
/// The peer id a raw client joins as.
pub const PEER: &str = "raw-peer";

/// What a raw client saw until the socket closed (or [`WAIT`] passed).
#[derive(Debug)]
pub struct Seen {
    pub messages: Vec<Message>,
    /// Every binary frame, as received.
    pub bytes: Vec<u8>,
    pub closed: bool,
}

/// A raw protocol client.
pub struct Raw(pub WebSocketStream<MaybeTlsStream<TcpStream>>);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Raw")
    }
}

impl Raw {
    pub async fn connect(url: &str) -> Self {
        Self::connect_as(url, None).await
    }

    /// Connects with a device token (`Authorization: Bearer`).
    pub async fn connect_as(url: &str, token: Option<&str>) -> Self {
        let mut request = url.into_client_request().expect("a bad URL");
        if let Some(token) = token {
            let value = format!("Bearer {token}").parse().expect("a bad token");
            request.headers_mut().insert("authorization", value);
        }
        let connect = timeout(WAIT, connect_async(request)).await;
        let (ws, _) = connect.expect("connect timed out").expect("cannot connect");
        Self(ws)
    }

    /// Connects and completes the `join`/`peer` handshake as [`PEER`].
    pub async fn joined(url: &str) -> Self {
        Self::joined_as(url, None).await
    }

    /// [`Raw::joined`] with a device token.
    pub async fn joined_as(url: &str, token: Option<&str>) -> Self {
        let mut raw = Self::connect_as(url, token).await;
        raw.send(&Message::Join {
            sender_id: PEER.into(),
            peer_metadata: PeerMetadata::default(),
            supported_protocol_versions: vec![PROTOCOL_V1.into()],
        })
        .await;
        match raw.next().await {
            Some(Message::Peer { target_id, .. }) => assert_eq!(target_id, PEER),
            other => panic!("expected peer, got {other:?}"),
        }
        raw
    }

    pub async fn frame(&mut self, frame: Ws) {
        let sent = timeout(WAIT, self.0.send(frame)).await;
        sent.expect("send timed out").expect("cannot send");
    }

    pub async fn send(&mut self, message: &Message) {
        self.frame(Ws::Binary(message.encode().into())).await;
    }

    /// The next protocol message; `None` once the socket closed or nothing came in time.
    pub async fn next(&mut self) -> Option<Message> {
        self.next_within(WAIT).await
    }

    /// [`Raw::next`], waiting at most `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            match timeout_at(deadline, self.0.next()).await {
                Ok(Some(Ok(Ws::Binary(bytes)))) => {
                    return Some(Message::decode(&bytes).expect("the server sent a bad frame"))
                }
                Ok(Some(Ok(Ws::Ping(_) | Ws::Pong(_)))) => continue,
                Ok(Some(Ok(other))) if !other.is_close() => panic!("unexpected frame {other:?}"),
                _ => return None,
            }
        }
    }

    /// Everything the server sends until it closes the socket or `wait` passes.
    pub async fn until_close_within(mut self, wait: Duration) -> Seen {
        let deadline = Instant::now() + wait;
        let mut seen = Seen {
            messages: Vec::new(),
            bytes: Vec::new(),
            closed: false,
        };
        loop {
            match timeout_at(deadline, self.0.next()).await {
                Err(_) => return seen,
                Ok(Some(Ok(Ws::Binary(bytes)))) => {
                    seen.bytes.extend_from_slice(&bytes);
                    seen.messages
                        .push(Message::decode(&bytes).expect("the server sent a bad frame"));
                }
                Ok(Some(Ok(Ws::Close(_))) | Some(Err(_)) | None) => {
                    seen.closed = true;
                    return seen;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Everything the server sends until it closes the socket (or [`WAIT`] passes).
    pub async fn until_close(self) -> Seen {
        self.until_close_within(WAIT).await
    }
}

/// A field of a frame made by hand ([`frame_of`]).
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A CBOR map of `fields`, written by hand: fields of any length, which a [`Message`] could
/// not hold (a document id of a mebibyte).
pub fn frame_of(fields: &[(&str, Field)]) -> Vec<u8> {
    fn head(out: &mut Vec<u8>, major: u8, len: usize) {
        match u32::try_from(len) {
            Ok(n) if n < 24 => out.push(major << 5 | n as u8),
            Ok(n) => {
                out.push(major << 5 | 26);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Err(_) => {
                out.push(major << 5 | 27);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    head(&mut out, 5, fields.len());
    for (key, value) in fields {
        head(&mut out, 3, key.len());
        out.extend_from_slice(key.as_bytes());
        let (major, bytes) = match value {
            Field::Text(t) => (3, t.as_bytes()),
            Field::Bytes(b) => (2, *b),
        };
        head(&mut out, major, bytes.len());
        out.extend_from_slice(bytes);
    }
    out
}

/// A sync message from a peer that holds none of a document ("send me everything").
pub fn none_held() -> Vec<u8> {
    use automerge::sync::SyncDoc;
    automerge::Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .map(|m| m.encode())
        .unwrap_or_default()
}

/// A `sync` frame from [`PEER`] to the server about `id`.
pub fn sync_to_server(id: fiche_core::DocumentId, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: PEER.into(),
        target_id: "server".into(),
        document_id: id,
        data,
        preview: None,
    }
}
