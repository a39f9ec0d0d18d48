//! A fresh device filling up from the real `fiche-server`: records the server sends whole with a
//! preview are filed as they came, never loaded, and are the same records, with the same index
//! entries, as on the device that made them; they keep syncing both ways afterwards, live; and
//! a device that is not fresh, or a plain JavaScript client, gets them the usual way.
#![allow(clippy::unwrap_used)]

use std::sync::mpsc;
use std::time::Duration;

use fiche_core::index::{Filter, Page};
use fiche_core::model::{Client, Email, Phone};
use fiche_core::sync::{sync_live, Status, SyncOptions};
use fiche_core::{Book, DocumentId};
use fiche_tests::{device, js_ok, sync_book, Server};

fn card(i: usize) -> Client {
    let mut c = Client::default();
    c.name.display = format!("Zofia Nowak {i}");
    c.address.city = ["Kraków", "Lyon", "Torino"][i % 3].into();
    c.groups.insert(["vip", "b2b"][i % 2].into());
    let phone = Phone {
        label: "mobile".into(),
        number: format!("+48601{i:06}"),
    };
    c.phones.insert(fiche_core::model::new_key(), phone);
    let email = Email {
        label: "work".into(),
        address: format!("zofia{i}@example.pl"),
    };
    c.emails.insert(fiche_core::model::new_key(), email);
    c
}

fn summaries(book: &Book) -> Vec<String> {
    let mut all: Vec<String> = book
        .list(&Filter::default(), Page::default())
        .into_iter()
        .map(|s| serde_json::to_string(&s).unwrap())
        .collect();
    all.sort();
    all
}

#[test]
fn a_fresh_device_files_whole_records_that_then_sync_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let url = server.url();
    let a = device(&tmp.path().join("a"));
    let ids = a
        .create_clients((0..40).map(card).collect(), "import")
        .unwrap();
    sync_book(&a, &url);

    let b = device(&tmp.path().join("b"));
    let report = sync_book(&b, &url);
    assert_eq!(report.created, 40, "{report:?}");
    assert_eq!(report.filed, 40, "every record came whole: {report:?}");
    assert_eq!(summaries(&b), summaries(&a), "the index entries differ");
    for id in &ids {
        assert_eq!(b.client(id).unwrap(), a.client(id).unwrap());
    }
    let by_phone = Filter {
        text: Some("+48601000007".into()),
        ..Filter::default()
    };
    let found = b.list(&by_phone, Page::default());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids[7]);

    // Nothing new: the next sync files nothing and sends next to nothing.
    let again = sync_book(&b, &url);
    assert_eq!((again.received, again.filed), (0, 0), "{again:?}");

    // B stays connected; an edit on A reaches B, and B's edit of a filed record reaches A.
    let (seen, arrivals) = mpsc::channel::<DocumentId>();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let live = {
        let (b, url) = (b.clone(), url.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(sync_live(
                b,
                &SyncOptions::new(url),
                |status| {
                    if let Status::Received { id, .. } = status {
                        let _ = seen.send(id);
                    }
                },
                async {
                    let _ = stopped.await;
                },
            ))
            .unwrap();
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    a.edit_client(&ids[3], |c| c.address.city = "Gdańsk".into())
        .unwrap();
    sync_book(&a, &url);
    loop {
        let id = arrivals.recv_timeout(Duration::from_secs(10)).unwrap();
        if id == ids[3] {
            break;
        }
    }
    assert_eq!(b.client(&ids[3]).unwrap().address.city, "Gdańsk");
    b.edit_client(&ids[5], |c| c.notes = "Edited on B".into())
        .unwrap();
    let mut tries = 0;
    while a.client(&ids[5]).unwrap().notes != "Edited on B" {
        tries += 1;
        assert!(tries < 50, "B's edit never reached A");
        std::thread::sleep(Duration::from_millis(100));
        sync_book(&a, &url);
    }
    stop.send(()).unwrap();
    live.join().unwrap();

    // The official JavaScript client reads a record (it ignores the preview if it gets one).
    let got = js_ok(&["get", "--url", &url, "--doc", &ids[9].url()]).unwrap();
    assert!(got.contains("Zofia Nowak 9"), "{got}");
}

#[test]
fn after_a_restart_a_fresh_device_still_files_whole_records_answered_from_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let a = device(&tmp.path().join("a"));
    let ids = a
        .create_clients((0..30).map(card).collect(), "import")
        .unwrap();
    sync_book(&a, &server.url());
    // Some records edited since: the server stores them as a snapshot and changes after it.
    for id in &ids[..10] {
        a.edit_client(id, |c| c.notes = "Called back".into())
            .unwrap();
    }
    sync_book(&a, &server.url());
    // Nothing in memory now: every answer comes from what the store keeps.
    let server = server.restart().unwrap();
    let b = device(&tmp.path().join("b"));
    let report = sync_book(&b, &server.url());
    assert_eq!(report.created, 30, "{report:?}");
    assert_eq!(report.filed, 30, "every record came whole: {report:?}");
    assert_eq!(summaries(&b), summaries(&a), "the index entries differ");
    for id in &ids {
        assert_eq!(b.client(id).unwrap(), a.client(id).unwrap());
    }
    // The web client's list, from the store: every record's index entry, as A has it.
    let (status, body) = server.get("/api/clients").unwrap();
    assert_eq!(status, 200, "{body}");
    let mut listed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    listed.sort_by_key(|e| e["id"].as_str().unwrap_or_default().to_string());
    let mut held: Vec<serde_json::Value> = summaries(&a)
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    held.sort_by_key(|e| e["id"].as_str().unwrap_or_default().to_string());
    assert_eq!(listed, held);
    // Answered without loading a record: only the directory is in memory.
    let health = server.health().unwrap();
    assert_eq!(health["documents_in_memory"], 1, "{health}");
    // The filed records go on syncing: B's edit of one reaches A.
    b.edit_client(&ids[2], |c| c.notes = "Edited on B".into())
        .unwrap();
    sync_book(&b, &server.url());
    sync_book(&a, &server.url());
    assert_eq!(a.client(&ids[2]).unwrap().notes, "Edited on B");

    // The JavaScript client reads an edited record answered from the store.
    let server = server.restart().unwrap();
    let got = js_ok(&["get", "--url", &server.url(), "--doc", &ids[4].url()]).unwrap();
    assert!(got.contains("Called back"), "{got}");
    // Its reply (it holds what the server holds) is heard without loading the record.
    std::thread::sleep(Duration::from_millis(500));
    let health = server.health().unwrap();
    assert_eq!(health["documents_in_memory"], 0, "{health}");
}
