//! Erasure (GDPR) against the real `fiche-server` process: an admin erases a client; the
//! server keeps only a tombstone (no history, no photo), a device watching live and a device
//! that was offline (and edited it meanwhile) both delete their copy and never send it again,
//! a fresh device never sees it, and the official JavaScript client gets `doc-unavailable`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fiche_core::store::{SledStore, Store};
use fiche_core::{Book, DocumentId};
use fiche_tests::{admin, device, fiche, shows, sync, sync_book, watch, Server};

fn named(display: &str) -> fiche_core::model::Client {
    let mut client = fiche_core::model::Client::default();
    client.name.display = display.to_string();
    client
}

/// A client with a photo (JPEG bytes the server accepts); returns its id and the photo's hash.
fn with_photo(book: &Book, name: &str, marker: &str) -> (DocumentId, String) {
    let id = book.create_client(named(name)).unwrap().id;
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    bytes.extend(marker.as_bytes().iter().cycle().take(8192));
    let photo = book.add_bytes(&bytes, "face.jpg").unwrap();
    book.set_photo(&id, photo.clone()).unwrap();
    (id, photo.hash)
}

/// The keys of a stopped store that name `id`, and those whose value holds `text`.
fn traces(dir: &Path, id: &DocumentId, text: &str) -> (Vec<String>, Vec<String>) {
    let store = SledStore::open(dir).unwrap();
    let (id, text) = (id.to_string(), text.as_bytes());
    let mut named = Vec::new();
    let mut holding = Vec::new();
    for (k, v) in store.scan(&[]).unwrap() {
        let key = k.join("/");
        if key.contains(&id) {
            named.push(key.clone());
        }
        if v.windows(text.len()).any(|w| w == text) {
            holding.push(key);
        }
    }
    (named, holding)
}

#[test]
fn an_erased_client_leaves_only_a_tombstone_and_every_device_deletes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let url = server.url();

    // Device A files two clients with photos; device W (the CLI) watches live.
    let a = device(&tmp.path().join("a"));
    let (gone, gone_photo) = with_photo(&a, "Erasable Person", "erase-me");
    let (kept, kept_photo) = with_photo(&a, "Kept Client", "keep-me");
    assert_eq!(sync_book(&a, &url).uploaded, 2);
    let w = tmp.path().join("w");
    sync(&w, &url).unwrap();
    assert!(fiche(&w, &["show", &gone.to_string()])
        .unwrap()
        .contains("Erasable Person"));
    let (mut watching, mut lines) = watch(&w, &url).unwrap();
    assert!(lines.by_ref().any(|l| l.contains("up to date")));

    // A edits the client while it does not know yet.
    a.edit_client(&gone, |c| {
        c.notes.push_str("edited before the erasure reached me")
    })
    .unwrap();

    let said = admin(
        &data,
        &["record-erase", &gone.url(), "--reason", "the client asked"],
    )
    .unwrap();
    assert!(
        said.contains("erased") && said.contains("1 file(s) removed"),
        "{said}"
    );
    let blobs = data.join("fiche-blobs");
    assert!(!blobs.join(&gone_photo).exists(), "the erased photo stays");
    assert!(blobs.join(&kept_photo).exists(), "the other photo went too");
    assert!(admin(&data, &["record-erase", &gone.to_string()]).is_err());

    // The watching device deletes its copy at once.
    assert!(shows(lines, "erased client", Duration::from_secs(20)));
    watching.kill().unwrap();
    watching.wait().unwrap();
    let shown = fiche_tests::fiche_output(&w, &["show", &gone.to_string()]).unwrap();
    assert!(!shown.status.success(), "{shown:?}");

    // A, back online, deletes it too (its offline edit with it) and never sends it again.
    let report = sync_book(&a, &url);
    assert_eq!(report.erased, 1, "{report:?}");
    assert!(a.client(&gone).is_err());
    assert!(a.is_erased(&gone).unwrap());
    assert!(a.blob(&gone_photo.parse().unwrap()).unwrap().is_none());
    assert!(a.blob(&kept_photo.parse().unwrap()).unwrap().is_some());
    assert!(a.client(&kept).is_ok());
    assert_eq!(sync_book(&a, &url).erased, 0);

    // A fresh device gets the other client, not the erased one.
    let fresh = device(&tmp.path().join("fresh"));
    sync_book(&fresh, &url);
    assert!(fresh.client(&kept).is_ok());
    assert!(fresh.client(&gone).is_err());

    // The official JavaScript client is told it is unavailable.
    let js = fiche_tests::js(&["get", "--url", &url, "--doc", &gone.url()]).unwrap();
    assert_eq!(js.status.code(), Some(2), "{js:?}");
    let js_kept = fiche_tests::js_ok(&["get", "--url", &url, "--doc", &kept.url()]).unwrap();
    assert!(js_kept.contains("Kept Client"), "{js_kept}");

    let audit = admin(&data, &["audit"]).unwrap();
    assert!(audit.contains("record erased") && audit.contains("the client asked"));
    assert!(!audit.contains("Erasable"), "{audit}");
    server.stop_cleanly().unwrap();

    // Nothing of it is left anywhere: only the tombstone names its id, and no stored byte
    // holds the client's name.
    let tombstone = vec![format!("_erased/{gone}")];
    let (named, holding) = traces(&data, &gone, "Erasable Person");
    assert_eq!((named, holding), (tombstone.clone(), vec![]));
    drop(Arc::try_unwrap(a).ok());
    let (named, holding) = traces(&tmp.path().join("a"), &gone, "Erasable Person");
    assert_eq!((named, holding), (tombstone, vec![]));
}

#[test]
fn a_record_erased_while_the_server_is_stopped_is_gone_when_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = Server::start(&data, None).unwrap();
    let port = server.port;
    let a = device(&tmp.path().join("a"));
    let (gone, photo) = with_photo(&a, "Offline Erasure", "offline");
    let kept = a.create_client(named("Still Here")).unwrap().id;
    sync_book(&a, &server.url());
    let stored = |server: &Server| {
        server.health().unwrap()["documents_stored"]
            .as_u64()
            .unwrap()
    };
    let before = stored(&server);
    server.stop_cleanly().unwrap();

    // No server runs: the admin command works on the store itself.
    let said = admin(&data, &["record-erase", &gone.to_string()]).unwrap();
    assert!(said.contains("1 file(s) removed"), "{said}");
    assert!(!data.join("fiche-blobs").join(&photo).exists());

    let server = Server::start(&data, Some(port)).unwrap();
    // The count kept in the store went down with the erasure.
    assert_eq!(stored(&server), before - 1);
    let report = sync_book(&a, &server.url());
    assert_eq!(report.erased, 1, "{report:?}");
    assert!(a.client(&gone).is_err());
    assert!(a.client(&kept).is_ok());
    let fresh = device(&tmp.path().join("fresh"));
    sync_book(&fresh, &server.url());
    assert!(fresh.client(&gone).is_err());
    assert!(fresh.client(&kept).is_ok());
}
