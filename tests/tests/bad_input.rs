//! Bad input against the real `fiche-server` process: raw WebSocket clients send garbage,
//! frames out of order, spoofed or malformed protocol messages and oversized frames. Each one
//! must be refused (an `error` message, then the socket closes) while the same server keeps
//! serving ordinary devices.
#![allow(clippy::unwrap_used)]

use automerge::sync::{State, SyncDoc};
use automerge::Automerge;
use fiche_core::protocol::{Message, PeerMetadata};
use fiche_core::DocumentId;
use fiche_tests::raw::{Raw, Seen, PEER, WAIT};
use fiche_tests::{fiche, sync, Server};
use futures_util::SinkExt;
use tempfile::TempDir;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Ws;

/// Not CBOR: `0xff` (a lone "break") cannot start a CBOR item.
const GARBAGE: &[u8] = b"\xff\xfe not cbor at all \x00\x01";
/// `{"type": "bogus", "senderId": "x"}`: CBOR, but no protocol message.
const UNKNOWN_TYPE: &[u8] = b"\xa2\x64type\x65bogus\x68senderId\x61x";
/// `[1, 2, 3]`: CBOR, but not a map.
const ARRAY: &[u8] = b"\x83\x01\x02\x03";

/// A server on a fresh data directory (the directory lives as long as the server is used).
fn start() -> (TempDir, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    (tmp, server)
}

/// The socket got one `error` whose text contains `needle` as its last message, then closed.
fn assert_refused(seen: &Seen, needle: &str) {
    assert!(seen.closed, "the server did not close the socket: {seen:?}");
    match seen.messages.last() {
        Some(Message::Error { message, .. }) => {
            assert!(
                message.contains(needle),
                "error {message:?} lacks {needle:?}"
            );
        }
        _ => panic!("no error message before the close: {seen:?}"),
    }
}

/// A device adds a record and syncs; a fresh device then receives it through the same server.
fn still_serves(url: &str, name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    fiche(&a, &["add", "--name", name]).unwrap();
    sync(&a, url).unwrap();
    sync(&b, url).unwrap();
    let listed = fiche(&b, &["list"]).unwrap();
    assert!(listed.contains(name), "{name} did not reach b: {listed}");
}

async fn still_serves_async(url: String, name: &'static str) {
    tokio::task::spawn_blocking(move || still_serves(&url, name))
        .await
        .unwrap();
}

/// A valid Automerge sync message (from an empty document).
fn sync_data() -> Vec<u8> {
    Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

fn sync_msg(sender_id: &str, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: sender_id.into(),
        target_id: "server".into(),
        document_id: DocumentId::random(),
        data,
        preview: None,
    }
}

/// Connects (and joins first when `join`), sends `frames`, expects an error containing
/// `needle` and a close; then checks that the same server still serves devices.
async fn refused(frames: Vec<Ws>, join: bool, needle: &str) {
    let (_tmp, server) = start();
    let url = server.url();
    let mut raw = if join {
        Raw::joined(&url).await
    } else {
        Raw::connect(&url).await
    };
    for frame in frames {
        raw.frame(frame).await;
    }
    assert_refused(&raw.until_close().await, needle);
    still_serves_async(url, "Après Refus").await;
}

fn binary(bytes: &[u8]) -> Ws {
    Ws::Binary(bytes.to_vec().into())
}

#[tokio::test]
async fn garbage_bytes_are_refused() {
    refused(vec![binary(GARBAGE)], false, "not CBOR").await;
}

#[tokio::test]
async fn cbor_that_is_not_a_message_is_refused() {
    let (_tmp, server) = start();
    for (bytes, needle) in [(UNKNOWN_TYPE, "unknown message type"), (ARRAY, "map")] {
        let mut raw = Raw::connect(&server.url()).await;
        raw.frame(binary(bytes)).await;
        assert_refused(&raw.until_close().await, needle);
    }
    still_serves_async(server.url(), "Après CBOR").await;
}

#[tokio::test]
async fn text_frames_are_refused() {
    refused(vec![Ws::text("{\"type\":\"join\"}")], false, "text").await;
}

#[tokio::test]
async fn sync_before_join_is_refused() {
    let sync = sync_msg(PEER, sync_data()).encode();
    refused(vec![binary(&sync)], false, "expected join").await;
}

#[tokio::test]
async fn join_without_protocol_1_is_refused() {
    let join = Message::Join {
        sender_id: PEER.into(),
        peer_metadata: PeerMetadata::default(),
        supported_protocol_versions: vec!["2".into()],
    };
    refused(vec![binary(&join.encode())], false, "protocol version").await;
}

#[tokio::test]
async fn a_spoofed_sender_is_refused() {
    let spoofed = sync_msg("someone-else", sync_data()).encode();
    refused(vec![binary(&spoofed)], true, "someone-else").await;
}

#[tokio::test]
async fn garbage_sync_data_is_refused() {
    let bad = sync_msg(PEER, b"\x42\x00garbage".to_vec()).encode();
    refused(vec![binary(&bad)], true, "bad sync message").await;
}

#[tokio::test]
async fn requests_for_unknown_documents_get_doc_unavailable() {
    let (_tmp, server) = start();
    let mut raw = Raw::joined(&server.url()).await;
    for _ in 0..2 {
        let id = DocumentId::random();
        raw.send(&Message::Request {
            sender_id: PEER.into(),
            target_id: "server".into(),
            document_id: id,
            data: sync_data(),
        })
        .await;
        match raw.next().await {
            Some(Message::DocUnavailable { document_id, .. }) => assert_eq!(document_id, id),
            other => panic!("expected doc-unavailable for {id}, got {other:?}"),
        }
    }
    still_serves_async(server.url(), "Après Requêtes").await;
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection() {
    let (_tmp, server) = start();
    let mut raw = Raw::connect(&server.url()).await;
    // Sending may fail half-way: the server may drop the socket as soon as it reads the header.
    let big = Ws::Binary(vec![0u8; 40 * 1024 * 1024].into());
    let _ = timeout(WAIT, raw.0.send(big)).await.unwrap();
    let seen = raw.until_close().await;
    assert!(
        seen.closed,
        "a 40 MiB frame did not close the socket: {seen:?}"
    );
    still_serves_async(server.url(), "Après Géant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_garbage_connections_do_not_stop_a_device() {
    let (_tmp, server) = start();
    let url = server.url();
    let device = tokio::spawn(still_serves_async(url.clone(), "Pendant Le Bruit"));
    let attackers: Vec<_> = (0..50)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move {
                let mut raw = Raw::connect(&url).await;
                let frame = match i % 3 {
                    0 => binary(GARBAGE),
                    1 => binary(ARRAY),
                    _ => Ws::text("garbage"),
                };
                raw.frame(frame).await;
                raw.until_close().await
            })
        })
        .collect();
    for attacker in attackers {
        let seen = attacker.await.unwrap();
        assert!(seen.closed, "a garbage connection stayed open: {seen:?}");
        assert!(
            matches!(seen.messages.last(), Some(Message::Error { .. })),
            "{seen:?}"
        );
    }
    device.await.unwrap();
}
