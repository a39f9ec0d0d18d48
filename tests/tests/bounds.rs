//! Per-connection bounds against the real `fiche-server` process: the work per byte received
//! (mebibyte ids and peer ids are refused at once while `/health` answers), memory under a
//! client that never reads what it asks for, and a flood of syncs for unknown documents.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ScalarValue, ROOT};
use fiche_core::protocol::Message;
use fiche_core::DocumentId;
use fiche_tests::raw::{frame_of, none_held, sync_to_server, Field, Raw, PEER};
use fiche_tests::{fiche, sync, Memory, Server};
use futures_util::SinkExt;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message as Ws;

const MIB: u64 = 1 << 20;

/// One test at a time: each floods its server, and three at once on a two-core machine starve
/// one another past the raw client's waits.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn start() -> (TempDir, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    (tmp, server)
}

fn rss(server: &Server) -> Memory {
    Memory::of(server.pid()).unwrap()
}

/// A device adds a record and syncs; a fresh device then receives it through the same server.
async fn still_serves(url: String, name: &'static str) {
    tokio::task::spawn_blocking(move || {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        fiche(&a, &["add", "--name", name]).unwrap();
        sync(&a, &url).unwrap();
        sync(&b, &url).unwrap();
        let listed = fiche(&b, &["list"]).unwrap();
        assert!(listed.contains(name), "{name} did not reach b: {listed}");
    })
    .await
    .unwrap();
}

/// The slowest `/health` answer while it runs, polled on a thread until `stop`.
fn poll_health(server: Arc<Server>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let mut slowest = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let asked = Instant::now();
            server.health().unwrap();
            slowest = slowest.max(asked.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        slowest
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mebibyte_ids_are_refused_at_once_while_health_answers() {
    let _serial = SERIAL.lock().await;
    let (_tmp, server) = start();
    let server = Arc::new(server);
    let url = server.url();
    let stop = Arc::new(AtomicBool::new(false));
    let health = poll_health(server.clone(), stop.clone());
    let started = Instant::now();
    // Two requests whose documentId is a MiB of valid base58 (decoding one took minutes, and
    // two froze the server for about 495 s), and a join whose senderId is 16 MiB.
    let mut clients = Vec::new();
    for digit in ["2", "3"] {
        let url = url.clone();
        clients.push(tokio::spawn(async move {
            let mut raw = Raw::joined(&url).await;
            let id = digit.repeat(MIB as usize);
            let frame = frame_of(&[
                ("type", Field::Text("request")),
                ("senderId", Field::Text(PEER)),
                ("targetId", Field::Text("server")),
                ("documentId", Field::Text(&id)),
                ("data", Field::Bytes(b"\x42")),
            ]);
            raw.frame(Ws::Binary(frame.into())).await;
            raw.until_close_within(Duration::from_secs(60)).await
        }));
    }
    clients.push(tokio::spawn({
        let url = url.clone();
        async move {
            let mut raw = Raw::connect(&url).await;
            let peer = "p".repeat(16 * MIB as usize);
            let frame = frame_of(&[
                ("type", Field::Text("join")),
                ("senderId", Field::Text(&peer)),
            ]);
            raw.frame(Ws::Binary(frame.into())).await;
            raw.until_close_within(Duration::from_secs(60)).await
        }
    }));
    for client in clients {
        let seen = client.await.unwrap();
        assert!(seen.closed, "not refused: {seen:?}");
        match seen.messages.last() {
            Some(Message::Error { message, .. }) => {
                assert!(message.contains("longer than"), "{message}");
                assert!(
                    message.len() < 200,
                    "the error quotes {} bytes",
                    message.len()
                );
            }
            other => panic!("no error before the close: {other:?}"),
        }
    }
    let answered = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let slowest = health.join().unwrap();
    println!("mebibyte ids refused in {answered:?}; slowest /health meanwhile {slowest:?}");
    assert!(
        answered < Duration::from_secs(20),
        "refused after {answered:?}"
    );
    assert!(slowest < Duration::from_secs(2), "/health took {slowest:?}");
    still_serves(url, "Après Les Géants").await;
    let logs = Arc::try_unwrap(server).unwrap().kill().unwrap();
    let longest = logs.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 2000, "a log line of {longest} bytes");
}

/// Bytes no compression shrinks (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Syncs `doc` with the server until neither side has anything to say.
async fn push(raw: &mut Raw, id: DocumentId, doc: &mut Automerge, state: &mut State) {
    loop {
        if let Some(m) = doc.generate_sync_message(state) {
            raw.send(&sync_to_server(id, m.encode())).await;
        }
        match raw.next_within(Duration::from_millis(500)).await {
            Some(Message::Sync { data, .. }) => {
                let m = automerge::sync::Message::decode(&data).unwrap();
                doc.receive_sync_message(state, m).unwrap();
            }
            Some(_) => {}
            None => return,
        }
    }
}

/// Sends without caring whether the server still reads (it may have dropped the socket).
async fn send_blind(raw: &mut Raw, message: &Message) -> bool {
    let frame = Ws::Binary(message.encode().into());
    let sent = tokio::time::timeout(Duration::from_secs(5), raw.0.send(frame)).await;
    matches!(sent, Ok(Ok(())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_memory_stays_bounded() {
    let _serial = SERIAL.lock().await;
    let (_tmp, server) = start();
    let url = server.url();
    // A MiB document, pushed by a writer.
    let id = DocumentId::random();
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "blob", ScalarValue::Bytes(noise(MIB as usize, 7)))
        .unwrap();
    tx.commit();
    let mut writer = Raw::joined(&url).await;
    let mut state = State::new();
    push(&mut writer, id, &mut doc, &mut state).await;
    let base = rss(&server);
    // The flooder says it holds none of it, again and again, and never reads. Each such
    // message used to queue a whole copy: 300 of them, 300 MiB.
    let mut flood = Raw::joined(&url).await;
    for _ in 0..300 {
        assert!(send_blind(&mut flood, &sync_to_server(id, none_held())).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flooded = rss(&server);
    // Each new version may go whole once more: a writer changes it while the flooder repeats,
    // until what is queued for the flooder passes the bound and it is dropped.
    let mut edits = 0;
    for i in 0..120 {
        let mut tx = doc.transaction();
        tx.put(ROOT, "edit", i).unwrap();
        tx.commit();
        if let Some(m) = doc.generate_sync_message(&mut state) {
            writer.send(&sync_to_server(id, m.encode())).await;
        }
        if let Some(Message::Sync { data, .. }) = writer.next().await {
            let m = automerge::sync::Message::decode(&data).unwrap();
            doc.receive_sync_message(&mut state, m).unwrap();
        }
        edits += 1;
        if !send_blind(&mut flood, &sync_to_server(id, none_held())).await {
            break;
        }
    }
    let seen = flood.until_close_within(Duration::from_secs(30)).await;
    let end = rss(&server);
    println!(
        "RSS: {} MiB with the document, {} MiB after 300 repeats, peak {} MiB after {edits} edits; \
         the flooder got {} messages, closed: {}",
        base.rss / MIB,
        flooded.rss / MIB,
        end.peak / MIB,
        seen.messages.len(),
        seen.closed
    );
    assert!(
        flooded.rss < base.rss + 64 * MIB,
        "{flooded:?} after {base:?}"
    );
    assert!(seen.closed, "the flooder was never dropped");
    assert!(
        end.peak < base.rss + 200 * MIB,
        "peak {end:?} after {base:?}"
    );
    // The writer is still served.
    let mut tx = doc.transaction();
    tx.put(ROOT, "after", "yes").unwrap();
    tx.commit();
    push(&mut writer, id, &mut doc, &mut state).await;
    still_serves(url, "Après Le Sourd").await;
    let logs = server.kill().unwrap();
    assert!(logs.contains("does not read"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_syncs_for_unknown_documents_is_closed() {
    let _serial = SERIAL.lock().await;
    let (_tmp, server) = start();
    let base = rss(&server);
    let mut flood = Raw::joined(&server.url()).await;
    let limit = fiche_core::protocol::MAX_UNKNOWN_ASKED;
    let started = Instant::now();
    let mut sent = 0;
    // Each used to keep an empty document and a sync state, with no end: a million of them
    // took the server to 940 MB and were never closed.
    while sent < 3 * limit
        && send_blind(
            &mut flood,
            &sync_to_server(DocumentId::random(), none_held()),
        )
        .await
    {
        sent += 1;
    }
    let seen = flood.until_close_within(Duration::from_secs(60)).await;
    let end = rss(&server);
    println!(
        "closed: {} after {sent} sent, in {:?}; RSS {} MiB -> peak {} MiB",
        seen.closed,
        started.elapsed(),
        base.rss / MIB,
        end.peak / MIB
    );
    assert!(seen.closed, "never closed");
    match seen.messages.last() {
        Some(Message::Error { message, .. }) => {
            assert!(message.contains("does not hold"), "{message}")
        }
        other => panic!("no error before the close: {other:?}"),
    }
    assert!(
        end.peak < base.rss + 150 * MIB,
        "peak {end:?} after {base:?}"
    );
    still_serves(server.url(), "Après Le Déluge").await;
}
