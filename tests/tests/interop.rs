//! Interoperability with the official JavaScript automerge-repo packages (npm, pinned in
//! tests/js): a JS client syncs records with our devices through `fiche-server`, both ways,
//! and our device engine syncs through the official JS sync server.
#![allow(clippy::unwrap_used)]

use fiche_core::model::Client;
use fiche_core::{Book, DocumentId, Options};
use fiche_tests::{device, js, js_ok, sync_book, JsServer, Server};

fn client(name: &str, city: &str) -> Client {
    let mut c = Client::default();
    c.name.display = name.to_string();
    c.address.city = city.to_string();
    c.notes = "Met at the fair.".to_string();
    c
}

/// A client record exactly as fiche-core lays it out, as JSON (what a JS app would write).
fn record_json(name: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let book = Book::open(tmp.path(), Options::default()).unwrap();
    let id = book.create_client(client(name, "Paris")).unwrap().id;
    let doc = book.document(&id).unwrap();
    serde_json::to_string(&automerge::AutoSerde::from(&doc)).unwrap()
}

#[test]
fn a_js_client_record_reaches_a_device_and_edits_flow_both_ways() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let url = server.url();
    let json = record_json("Ana Popescu");
    let doc_url = js_ok(&["create", "--url", &url, "--json", &json, "--text", "notes"]).unwrap();
    let id: DocumentId = doc_url.parse().unwrap();

    // Our device learns of it through the directory and takes it as a client.
    let a = device(&tmp.path().join("a"));
    let report = sync_book(&a, &url);
    assert_eq!(report.skipped, 0, "{report:?}");
    let got = a.client(&id).unwrap();
    assert_eq!(got.name.display, "Ana Popescu");
    assert_eq!(got.notes, "Met at the fair.");

    // An edit made here reaches the JS client...
    a.edit_client(&id, |c| c.address.city = "Cluj-Napoca".into())
        .unwrap();
    sync_book(&a, &url);
    js_ok(&[
        "wait",
        "--url",
        &url,
        "--doc",
        &doc_url,
        "--path",
        "address.city",
        "--equals",
        "Cluj-Napoca",
    ])
    .unwrap();

    // ...and one made by the JS client comes back.
    js_ok(&[
        "edit",
        "--url",
        &url,
        "--doc",
        &doc_url,
        "--set",
        "name.display=Ana Ionescu",
    ])
    .unwrap();
    sync_book(&a, &url);
    assert_eq!(a.client(&id).unwrap().name.display, "Ana Ionescu");
    assert_eq!(a.client(&id).unwrap().address.city, "Cluj-Napoca");
}

#[test]
fn a_device_record_is_read_by_a_js_client_and_unknown_ids_are_unavailable() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("server"), None).unwrap();
    let url = server.url();
    let a = device(&tmp.path().join("a"));
    let id = a.create_client(client("Luca Rossi", "Torino")).unwrap().id;
    sync_book(&a, &url);
    let got: serde_json::Value =
        serde_json::from_str(&js_ok(&["get", "--url", &url, "--doc", &id.url()]).unwrap()).unwrap();
    assert_eq!(got["name"]["display"], "Luca Rossi");
    assert_eq!(got["kind"], "client");

    // The directory, found by its well-known id, lists it.
    let dir = fiche_core::directory::directory_id();
    let listed: serde_json::Value =
        serde_json::from_str(&js_ok(&["get", "--url", &url, "--doc", &dir.url()]).unwrap())
            .unwrap();
    assert_eq!(listed[id.to_string()], "client", "{listed}");

    let missing = js(&["get", "--url", &url, "--doc", &DocumentId::random().url()]).unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
}

#[test]
fn our_devices_sync_through_the_official_js_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = JsServer::start(&tmp.path().join("js-server")).unwrap();
    let url = server.url();
    let a = device(&tmp.path().join("a"));
    let ids: Vec<_> = ["Zofia Nowak", "Piotr Kowalski", "Marta Wiśniewska"]
        .iter()
        .map(|n| a.create_client(client(n, "Kraków")).unwrap().id)
        .collect();
    sync_book(&a, &url);

    // A fresh device finds them through the directory the first device wrote.
    let b = device(&tmp.path().join("b"));
    let report = sync_book(&b, &url);
    assert!(report.created >= 3, "{report:?}");
    for id in &ids {
        assert_eq!(b.client(id).unwrap().address.city, "Kraków");
    }
    b.edit_client(&ids[1], |c| c.address.city = "Gdańsk".into())
        .unwrap();
    sync_book(&b, &url);
    sync_book(&a, &url);
    assert_eq!(a.client(&ids[1]).unwrap().address.city, "Gdańsk");
}
