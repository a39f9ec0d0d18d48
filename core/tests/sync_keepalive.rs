//! The device engine notices a server that stops answering (a half-open connection) through
//! its keepalive pings, reports itself offline and tries again; it stays connected to a
//! server that answers.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fiche_core::protocol::{Message, PeerMetadata, PROTOCOL_V1};
use fiche_core::sync::{sync_live, Status, SyncOptions};
use fiche_core::{Book, Options};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A server that completes the handshake, then never reads nor writes again.
async fn silent_server(listener: TcpListener) {
    let (tcp, _) = listener.accept().await.unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    let join = loop {
        if let Some(Ok(WsMessage::Binary(b))) = ws.next().await {
            break Message::decode(&b).unwrap();
        }
    };
    let peer = Message::Peer {
        sender_id: "silent".into(),
        peer_metadata: PeerMetadata::default(),
        selected_protocol_version: PROTOCOL_V1.into(),
        target_id: join.sender_id().to_string(),
    };
    ws.send(WsMessage::Binary(peer.encode().into()))
        .await
        .unwrap();
    // Hold the socket open without reading: pings go unanswered.
    tokio::time::sleep(Duration::from_secs(30)).await;
    drop(ws);
}

#[tokio::test(flavor = "current_thread")]
async fn a_server_that_stops_answering_is_taken_as_gone() {
    let dir = tempfile::tempdir().unwrap();
    let book = Arc::new(Book::open(dir.path(), Options::default()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    tokio::spawn(silent_server(listener));

    let options = SyncOptions {
        keepalive: Duration::from_millis(200),
        attempts: Some(1),
        ..SyncOptions::new(url)
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        sync_live(
            book,
            &options,
            move |s| log.lock().unwrap().push(s),
            std::future::pending(),
        ),
    )
    .await
    .expect("the engine never noticed the silent server");
    let err = result.unwrap_err().to_string();
    assert!(err.contains("stopped answering"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(seen.lock().unwrap()[0], Status::Connecting { .. }));
}
