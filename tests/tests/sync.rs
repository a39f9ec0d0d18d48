//! Sync through the real `fiche-server` process: devices (the engine, or the `fiche` binary)
//! converge, resume after a server crash, send only what is new, see live changes, and the
//! server refuses bad input without disturbing other peers.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fiche_core::index::{Filter, Page};
use fiche_core::model::Client;
use fiche_core::sync::{sync_once, SyncError, SyncOptions, SyncReport};
use fiche_core::{Book, DocumentId};
use fiche_tests::{bin, device, fiche, sync, sync_book, watch, Server};

fn client(name: &str) -> Client {
    let mut c = Client::default();
    c.name.display = name.to_string();
    c
}

fn names(book: &Book) -> Vec<String> {
    book.list(&Filter::default(), Page::default())
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// What a fresh device in `dir` learns from the server: its clients' names, sorted.
fn fresh_names(dir: &std::path::Path, url: &str) -> Vec<String> {
    let fresh = device(dir);
    sync_book(&fresh, url);
    let mut got = names(&fresh);
    got.sort();
    got
}

/// A linear congruential generator, so every seed replays the same edits.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// One sync of `book` with `url` that does not reconnect: it ends with the first drop.
fn one_attempt(book: Arc<Book>, url: String) -> Result<SyncReport, SyncError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = SyncOptions {
        attempts: Some(1),
        ..SyncOptions::new(url)
    };
    rt.block_on(sync_once(book, &options, |_| {}))
}

#[test]
fn records_reach_a_fresh_device_and_edits_come_back() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    fiche(
        &a,
        &["add", "--name", "Marie Dupont", "--phone", "+33612345678"],
    )
    .unwrap();
    fiche(&a, &["add", "--name", "Jean Martin", "--city", "Lyon"]).unwrap();
    let first = sync(&a, &server.url()).unwrap();
    assert_eq!(first["skipped"], 0);

    let report = sync(&b, &server.url()).unwrap();
    assert!(report["created"].as_u64().unwrap() >= 2, "{report}");
    let listed = fiche(&b, &["list"]).unwrap();
    assert!(
        listed.contains("Marie Dupont") && listed.contains("Jean Martin"),
        "{listed}"
    );

    let id = listed
        .lines()
        .find(|l| l.contains("Jean Martin"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    fiche(&b, &["edit", &id, "--city", "Grenoble"]).unwrap();
    sync(&b, &server.url()).unwrap();
    let back = sync(&a, &server.url()).unwrap();
    assert!(back["received"].as_u64().unwrap() >= 1, "{back}");
    let shown = fiche(&a, &["show", &id, "--json"]).unwrap();
    assert!(shown.contains("Grenoble"), "{shown}");
}

#[test]
fn devices_converge_after_concurrent_offline_edits() {
    for seed in 1..=4u64 {
        let tmp = tempfile::tempdir().unwrap();
        let server = Server::start(&tmp.path().join("server"), None).unwrap();
        let url = server.url();
        let devices: Vec<_> = (0..3)
            .map(|i| device(&tmp.path().join(format!("d{i}"))))
            .collect();
        let ids: Vec<DocumentId> = (0..4)
            .map(|i| {
                devices[0]
                    .create_client(client(&format!("Client {i}")))
                    .unwrap()
                    .id
            })
            .collect();
        for d in &devices {
            sync_book(d, &url);
        }
        let mut rng = Rng(seed * 7919);
        for round in 0..3 {
            // Offline: every device edits while the others do too.
            for (n, d) in devices.iter().enumerate() {
                for _ in 0..3 {
                    let id = ids[rng.next(ids.len())];
                    let pick = rng.next(4);
                    d.edit_client(&id, |c| match pick {
                        0 => c.address.city = format!("City {n}-{round}"),
                        1 => c.name.display = format!("Name {n}-{round}"),
                        2 => c.notes.push_str(&format!(" note {n}-{round}")),
                        _ => c.archived = !c.archived,
                    })
                    .unwrap();
                }
            }
            // Back online, in a seed-dependent order.
            let mut order: Vec<usize> = (0..devices.len()).collect();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.next(i + 1));
            }
            for &i in &order {
                sync_book(&devices[i], &url);
            }
        }
        // One more pass carries the last device's changes to the first ones.
        for d in &devices {
            sync_book(d, &url);
        }
        for id in &ids {
            let docs: Vec<_> = devices.iter().map(|d| d.document(id).unwrap()).collect();
            let heads: Vec<_> = docs.iter().map(|d| d.get_heads()).collect();
            assert!(heads.windows(2).all(|w| w[0] == w[1]), "seed {seed}: {id}");
            let clients: Vec<_> = devices.iter().map(|d| d.client(id).unwrap()).collect();
            assert!(clients.windows(2).all(|w| w[0] == w[1]), "seed {seed}");
            let summaries: Vec<_> = devices.iter().map(|d| d.summary(id)).collect();
            assert!(summaries.windows(2).all(|w| w[0] == w[1]), "seed {seed}");
        }
    }
}

#[test]
fn a_second_sync_sends_only_what_is_new() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let a = device(&tmp.path().join("a"));
    let drafts = (0..200)
        .map(|i| client(&format!("Client {i:03}")))
        .collect();
    let ids = a.create_clients(drafts, "import").unwrap();
    let first = sync_book(&a, &server.url());
    let again = sync_book(&a, &server.url());
    a.edit_client(&ids[7], |c| c.address.city = "Nantes".into())
        .unwrap();
    let edited = sync_book(&a, &server.url());
    println!(
        "bytes out/in: first {}/{}, unchanged {}/{}, one edit {}/{}",
        first.bytes_out,
        first.bytes_in,
        again.bytes_out,
        again.bytes_in,
        edited.bytes_out,
        edited.bytes_in
    );
    assert!(first.bytes_out > 20_000, "{first:?}");
    // Unchanged documents cost a heads exchange, not their content.
    assert!(
        again.bytes_out * 3 < first.bytes_out,
        "{again:?} vs {first:?}"
    );
    assert!(edited.bytes_out < again.bytes_out + 2_000, "{edited:?}");

    let b = device(&tmp.path().join("b"));
    let fetched = sync_book(&b, &server.url());
    assert_eq!(b.count(), 200, "{fetched:?}");
    assert_eq!(b.client(&ids[7]).unwrap().address.city, "Nantes");
}

#[test]
fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let port = server.port;
    let a = device(&tmp.path().join("a"));
    let drafts = (0..300)
        .map(|i| client(&format!("Client {i:03}")))
        .collect();
    a.create_clients(drafts, "import").unwrap();
    sync_book(&a, &server.url());
    // The sync returned: the server acknowledged everything. Kill it without warning.
    server.kill().unwrap();

    // Edits made while it is down, and a sync cut by a second crash, resume afterwards.
    let drafts = (0..300).map(|i| client(&format!("Later {i:03}"))).collect();
    a.create_clients(drafts, "import").unwrap();
    let server = Server::start(&data, Some(port)).unwrap();
    let url = server.url();
    let book = a.clone();
    let cut = std::thread::spawn(move || one_attempt(book, url));
    std::thread::sleep(Duration::from_millis(30));
    server.kill().unwrap();
    let _ = cut.join().unwrap(); // finished or cut: either is fine

    let server = Server::start(&data, Some(port)).unwrap();
    sync_book(&a, &server.url());
    let b = device(&tmp.path().join("b"));
    sync_book(&b, &server.url());
    assert_eq!(b.count(), 600);
    assert_eq!(names(&b), names(&a));
}

/// The server relays a change to the other devices before it writes it: killed in between, it
/// loses what a watching device already holds. That device offers it back, and the author,
/// never acknowledged, sends it again.
#[test]
fn a_change_relayed_before_a_crash_comes_back_from_the_devices_that_got_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let port = server.port;
    let a = device(&tmp.path().join("a"));
    let drafts = (0..50).map(|i| client(&format!("Client {i:03}"))).collect();
    let ids = a.create_clients(drafts, "import").unwrap();
    sync_book(&a, &server.url());
    let watcher = tmp.path().join("watcher");
    sync(&watcher, &server.url()).unwrap();
    server.stop().unwrap();

    // This server dies in the first round that relays a change, before writing it.
    let server = Server::start_with(&data, Some(port), &["--die-before-write", "1"]).unwrap();
    let (mut watching, mut lines) = watch(&watcher, &server.url()).unwrap();
    let mut wait_for = |what: &str| {
        lines
            .by_ref()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("fiche watch ended before printing {what:?}"));
    };
    wait_for("up to date");
    for (i, id) in ids.iter().enumerate() {
        a.edit_client(id, |c| c.name.display = format!("Renamed {i:03}"))
            .unwrap();
    }
    let report = one_attempt(a.clone(), server.url());
    assert!(report.is_err(), "the server should have died: {report:?}");
    wait_for("offline");
    watching.kill().unwrap();
    watching.wait().unwrap();
    let logs = server.kill().unwrap();
    assert!(logs.contains("dying before the write"), "{logs}");

    // What the restarted server kept lacks renames the watcher holds; once the watcher
    // synced, it has them.
    let server = Server::start(&data, Some(port)).unwrap();
    let kept = device(&tmp.path().join("kept"));
    sync_book(&kept, &server.url());
    let renamed = |b: &Book| names(b).iter().filter(|n| n.starts_with("Renamed")).count();
    sync(&watcher, &server.url()).unwrap();
    let watcher = device(&watcher);
    println!(
        "the watcher held {} renames; the server kept {} through the crash",
        renamed(&watcher),
        renamed(&kept)
    );
    assert!(renamed(&watcher) > renamed(&kept));
    let fresh = device(&tmp.path().join("fresh"));
    sync_book(&fresh, &server.url());
    assert_eq!(names(&fresh), names(&watcher));

    // Then the author: every rename is there.
    sync_book(&a, &server.url());
    let last = device(&tmp.path().join("last"));
    sync_book(&last, &server.url());
    assert_eq!(renamed(&last), 50);
    assert_eq!(names(&last), names(&a));
}

#[test]
fn a_watching_device_sees_changes_live() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (mut watch, mut lines) = watch(&b, &server.url()).unwrap();
    let mut wait_for = |what: &str| -> String {
        lines
            .by_ref()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("fiche watch ended before printing {what:?}"))
    };
    wait_for("up to date");
    fiche(&a, &["add", "--name", "Walk In"]).unwrap();
    let started = Instant::now();
    sync(&a, &server.url()).unwrap();
    let line = wait_for("Walk In");
    println!(
        "seen by the watching device {:?} after the sync began: {line}",
        started.elapsed()
    );
    assert!(line.starts_with("new client"), "{line}");
    watch.kill().unwrap();
    watch.wait().unwrap();
}

#[test]
fn sigterm_closes_connections_and_writes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let a = device(&tmp.path().join("a"));
    a.create_client(client("Before Shutdown")).unwrap();
    sync_book(&a, &server.url());
    let (mut watch, mut lines) = watch(&tmp.path().join("w"), &server.url()).unwrap();
    assert!(lines.by_ref().any(|l| l.contains("up to date")));
    let logs = server.stop_cleanly().unwrap();
    assert!(logs.contains("stopped"), "{logs}");
    // The watching device noticed and is trying again.
    assert!(lines.any(|l| l.starts_with("offline")));
    watch.kill().unwrap();
    watch.wait().unwrap();
    let server = Server::start(&data, None).unwrap();
    let b = device(&tmp.path().join("b"));
    sync_book(&b, &server.url());
    assert_eq!(names(&b), vec!["Before Shutdown".to_string()]);
}

#[test]
fn organisation_settings_are_shared_by_every_device() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let a = device(&tmp.path().join("a"));
    let b = device(&tmp.path().join("b"));
    a.update_settings(|s| {
        let person = s.client_types["person"].clone();
        s.client_types.insert("vip".into(), person);
        s.groups.insert("newsletter".into(), true);
    })
    .unwrap();
    let mut vip = client("Grand Hotel");
    vip.client_type = "vip".into();
    let id = a.create_client(vip).unwrap().id;
    sync_book(&a, &server.url());
    sync_book(&b, &server.url());
    // B knows the type A defined, so it can edit A's client without a validation error.
    assert!(b.settings().unwrap().client_types.contains_key("vip"));
    b.edit_client(&id, |c| c.address.city = "Sibiu".into())
        .unwrap();
    b.update_settings(|s| {
        s.groups.insert("vip-events".into(), true);
    })
    .unwrap();
    sync_book(&b, &server.url());
    sync_book(&a, &server.url());
    let groups = a.settings().unwrap().groups;
    assert!(
        groups.contains_key("newsletter") && groups.contains_key("vip-events"),
        "{groups:?}"
    );
    assert_eq!(b.settings_id(), a.settings_id());
}

#[test]
fn idle_documents_leave_the_server_memory_and_health_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let server =
        Server::start_with(&tmp.path().join("server"), None, &["--idle-seconds", "1"]).unwrap();
    let a = device(&tmp.path().join("a"));
    let drafts = (0..40).map(|i| client(&format!("Client {i:02}"))).collect();
    a.create_clients(drafts, "import").unwrap();
    sync_book(&a, &server.url());
    let busy = server.health().unwrap();
    assert_eq!(busy["status"], "ok");
    assert!(busy["documents_stored"].as_u64().unwrap() >= 41, "{busy}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = server.health().unwrap();
        // Nothing stays, the directory neither: it is loaded again when next used.
        if now["documents_in_memory"] == 0 {
            assert_eq!(now["documents_stored"], busy["documents_stored"]);
            break;
        }
        assert!(Instant::now() < deadline, "still in memory: {now}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Dropped from memory, not from disk: a fresh device still gets everything.
    let b = device(&tmp.path().join("b"));
    sync_book(&b, &server.url());
    assert_eq!(b.count(), 40);
    let (status, body) = server.get("/api/directory").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains(&fiche_core::directory::directory_id().url()),
        "{body}"
    );
}

/// The directory is not held from the start: a restarted server loads nothing, and a record
/// added afterwards is still listed for a fresh device.
#[test]
fn a_restarted_server_loads_the_directory_only_to_list_a_new_record() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let a = device(&tmp.path().join("a"));
    a.create_clients(
        (0..3).map(|i| client(&format!("Before {i}"))).collect(),
        "import",
    )
    .unwrap();
    sync_book(&a, &server.url());
    let before = server.health().unwrap();
    let server = server.restart().unwrap();
    let after = server.health().unwrap();
    assert_eq!(after["documents_in_memory"], 0, "{after}");
    // Three records, the directory and the settings: kept in the store, not counted again.
    assert_eq!(after["documents_stored"], before["documents_stored"]);
    assert!(after["documents_stored"].as_u64().unwrap() >= 4, "{after}");
    a.create_clients(vec![client("After the restart")], "walk-in")
        .unwrap();
    sync_book(&a, &server.url());
    assert_eq!(
        fresh_names(&tmp.path().join("b"), &server.url()),
        ["After the restart", "Before 0", "Before 1", "Before 2"],
        "what a fresh device learnt from the directory"
    );
}

/// A record the server could not list (its directory unreadable) is listed when it next
/// changes, even after a restart in between: the store marks it, in the write that stores it.
#[test]
fn a_record_that_could_not_be_listed_is_listed_after_a_restart() {
    use fiche_core::store::{SledStore, Store};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let a = device(&tmp.path().join("a"));
    a.create_clients(vec![client("Before")], "walk-in").unwrap();
    sync_book(&a, &server.url());
    server.stop_cleanly().unwrap();

    let chunks = damage_directory(&data);
    let server = Server::start(&data, None).unwrap();
    let during = a.create_clients(vec![client("During")], "walk-in").unwrap();
    sync_book(&a, &server.url());
    let logs = server.stop_cleanly().unwrap();
    assert!(logs.contains("cannot add to the directory"), "{logs}");

    // The device's own copy of the directory does not list it either (else the device, not
    // the server, would list it below).
    let dir = fiche_core::directory::directory_id();
    let own = fiche_core::directory::entries(&a.document(&dir).unwrap());
    assert!(!own.contains_key(&during[0]), "{own:?}");

    // The directory mended, the server restarted: the record is listed when it next changes.
    assert_eq!(unlisted(&data), vec![during[0].to_string()]);
    {
        let store = SledStore::open(&data).unwrap();
        for (k, v) in chunks {
            store.put(k, v).unwrap();
        }
    }
    let server = Server::start(&data, None).unwrap();
    a.edit_client(&during[0], |c| c.name.display = "During, renamed".into())
        .unwrap();
    sync_book(&a, &server.url());
    assert_eq!(
        fresh_names(&tmp.path().join("b"), &server.url()),
        ["Before", "During, renamed"],
        "what a fresh device learnt"
    );
    server.stop_cleanly().unwrap();
    assert!(unlisted(&data).is_empty());
}

/// SIGTERM right after the server says it listens stops it cleanly: its handlers are set
/// before that line (they were once set a moment after, and one stop in five was a plain
/// death by signal).
#[test]
fn a_stop_right_after_the_ready_line_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..10 {
        let server = Server::start(&tmp.path().join(i.to_string()), None).unwrap();
        server
            .stop_cleanly()
            .unwrap_or_else(|e| panic!("start {i}: {e:#}"));
    }
}

/// A directory that cannot be read is read once, not again for each record to list.
#[test]
fn a_damaged_directory_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    Server::start(&data, None).unwrap().stop_cleanly().unwrap();
    damage_directory(&data);
    let server = Server::start(&data, None).unwrap();
    let mut ids = Vec::new();
    for name in ["First", "Second"] {
        let json = format!(r#"{{"name":"{name}"}}"#);
        let url = fiche_tests::js_ok(&["create", "--url", &server.url(), "--json", &json]).unwrap();
        ids.push(url.parse::<DocumentId>().unwrap().to_string());
    }
    let logs = server.stop_cleanly().unwrap();
    assert_eq!(
        logs.matches("cannot add to the directory").count(),
        2,
        "{logs}"
    );
    assert_eq!(logs.matches("answered as unavailable").count(), 1, "{logs}");
    ids.sort();
    assert_eq!(unlisted(&data), ids);
}

/// Swaps the open directory's stored chunks (server stopped) for bytes that do not load;
/// returns them as they were.
fn damage_directory(data: &std::path::Path) -> Vec<(Vec<String>, Vec<u8>)> {
    use fiche_core::store::{SledStore, Store};
    let store = SledStore::open(data).unwrap();
    let dir = fiche_core::directory::directory_id();
    let chunks: Vec<_> = store
        .scan(&fiche_core::key![dir])
        .unwrap()
        .into_iter()
        .filter(|(k, _)| {
            k.get(1)
                .is_some_and(|p| p == "snapshot" || p == "incremental")
        })
        .collect();
    assert!(!chunks.is_empty(), "no stored directory");
    for (k, _) in &chunks {
        store
            .put(k.clone(), b"not an automerge document".to_vec())
            .unwrap();
    }
    chunks
}

/// The ids marked as stored but not listed (server stopped), in key order.
fn unlisted(data: &std::path::Path) -> Vec<String> {
    use fiche_core::store::{SledStore, Store};
    let store = SledStore::open(data).unwrap();
    let keys = store.keys(&fiche_core::key!["_unlisted"]).unwrap();
    keys.into_iter().filter_map(|k| k.get(1).cloned()).collect()
}

/// An import larger than the documents the server may hold: the least recently used leave
/// memory as it goes, and nothing is lost.
#[test]
fn an_import_larger_than_the_memory_cap_is_held_a_part_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        &tmp.path().join("server"),
        None,
        &["--max-documents-in-memory", "20"],
    )
    .unwrap();
    let a = device(&tmp.path().join("a"));
    let drafts = (0..200)
        .map(|i| client(&format!("Client {i:03}")))
        .collect();
    let ids = a.create_clients(drafts, "import").unwrap();
    sync_book(&a, &server.url());
    let health = server.health().unwrap();
    assert!(
        health["documents_stored"].as_u64().unwrap() >= 201,
        "{health}"
    );
    assert!(
        health["documents_in_memory"].as_u64().unwrap() <= 20,
        "{health}"
    );

    // The first records left memory long ago: an edit of one still reaches a fresh device.
    a.edit_client(&ids[0], |c| c.name.display = "Renamed 000".into())
        .unwrap();
    sync_book(&a, &server.url());
    let b = device(&tmp.path().join("b"));
    sync_book(&b, &server.url());
    assert_eq!(b.count(), 200);
    assert_eq!(names(&b), names(&a));
    assert!(names(&b).contains(&"Renamed 000".to_string()));
}

#[test]
fn a_watching_device_reconnects_after_a_server_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let port = server.port;
    let (mut watch, mut lines) = watch(&tmp.path().join("w"), &server.url()).unwrap();
    assert!(lines.by_ref().any(|l| l.contains("up to date")));
    server.kill().unwrap();
    assert!(lines.by_ref().any(|l| l.starts_with("offline")));
    let server = Server::start(&data, Some(port)).unwrap();
    let a = tmp.path().join("a");
    fiche(&a, &["add", "--name", "After The Crash"]).unwrap();
    sync(&a, &server.url()).unwrap();
    assert!(lines.by_ref().any(|l| l.contains("After The Crash")));
    watch.kill().unwrap();
    watch.wait().unwrap();
}

#[test]
fn the_server_explains_its_options() {
    let out = Command::new(bin("fiche-server").unwrap())
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for option in [
        "--listen",
        "--data-dir",
        "--idle-seconds",
        "--max-message-bytes",
        "--log",
        "FICHE_DATA_DIR",
    ] {
        assert!(
            help.contains(option),
            "{option} missing from --help:\n{help}"
        );
    }
}

#[test]
fn an_idle_live_device_stays_connected_through_keepalive_pings() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let book = device(&tmp.path().join("w"));
    let options = fiche_core::sync::SyncOptions {
        keepalive: Duration::from_millis(100),
        ..fiche_core::sync::SyncOptions::new(server.url())
    };
    let mut seen = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(fiche_core::sync::sync_live(
        book,
        &options,
        |s| seen.push(s),
        async { tokio::time::sleep(Duration::from_secs(2)).await },
    ))
    .unwrap();
    // Twenty keepalive periods idle: pings were answered, the connection never dropped.
    let offline: Vec<_> = seen
        .iter()
        .filter(|s| matches!(s, fiche_core::sync::Status::Offline { .. }))
        .collect();
    assert!(offline.is_empty(), "{offline:?}");
    assert!(seen
        .iter()
        .any(|s| matches!(s, fiche_core::sync::Status::UpToDate { .. })));
}
