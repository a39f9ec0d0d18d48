//! Refused changes against the real `fiche-server` process: the server refuses one document's
//! changes and keeps the connection, the device marks them, keeps syncing the rest, finishes,
//! and can drop them; the core refuses locally what the member's role may not do.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use fiche_core::directory::settings_id;
use fiche_core::protocol::Message;
use fiche_core::roles::Role;
use fiche_core::sync::Status;
use fiche_core::{Book, DocumentId};
use fiche_tests::raw::{none_held, sync_to_server, Raw, PEER};
use fiche_tests::{admin, device, sync_book, Server};

/// A temporary directory, and in it the data of a secured server with one organisation,
/// `acme`, and that server.
fn office() -> (tempfile::TempDir, std::path::PathBuf, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    admin(&data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    let server = Server::start_secured(&data, None, &[]).unwrap();
    (tmp, data, server)
}

/// A one-time enrolment code for a device of a new `acme` member with `role`.
fn code_for(data: &Path, name: &str, role: &str) -> String {
    let id = admin(data, &["member-add", "acme", name, "--role", role]).unwrap();
    admin(data, &["device-enrol", &id]).unwrap()
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A device in `dir` enrolled as a new member with `role`; returns it and its token.
fn member_device(dir: &Path, server: &Server, data: &Path, role: &str) -> (Arc<Book>, String) {
    let code = code_for(data, role, role);
    let book = device(dir);
    let enrolled = block_on(fiche_core::sync::enrol(
        &book,
        &server.url(),
        &code,
        role,
        None,
    ));
    let token = enrolled.unwrap().token;
    (book, token)
}

fn named(display: &str) -> fiche_core::model::Client {
    let mut client = fiche_core::model::Client::default();
    client.name.display = display.to_string();
    client
}

/// A sync message bringing one change (a key `injected`) to whatever document it is sent to.
fn injected() -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "injected", "yes").unwrap();
    tx.commit();
    // The first message only states heads; the one answering an empty peer has the change.
    let (mut ours, mut theirs, mut empty) = (State::new(), State::new(), Automerge::new());
    let first = doc.generate_sync_message(&mut ours).unwrap();
    empty.receive_sync_message(&mut theirs, first).unwrap();
    let reply = empty.generate_sync_message(&mut theirs).unwrap();
    doc.receive_sync_message(&mut ours, reply).unwrap();
    let with_changes = doc.generate_sync_message(&mut ours).unwrap();
    assert!(!with_changes.changes.is_empty());
    with_changes.encode()
}

/// The next message about `id` (others, such as the directory's, are skipped).
async fn next_about(raw: &mut Raw, id: DocumentId) -> Option<Message> {
    loop {
        let m = raw.next().await?;
        let about = match &m {
            Message::Error { document_id, .. } => *document_id,
            other => other.document_id().copied(),
        };
        if about == Some(id) || about.is_none() {
            return Some(m);
        }
    }
}

#[test]
fn the_server_refuses_one_documents_changes_and_keeps_the_connection() {
    let (tmp, data, server) = office();
    let (staff, staff_token) = member_device(&tmp.path().join("s"), &server, &data, "staff");
    let (_, reader_token) = member_device(&tmp.path().join("r"), &server, &data, "read-only");
    let a = staff.create_client(named("Famille Martin")).unwrap().id;
    let b = staff.create_client(named("Famille Durand")).unwrap().id;
    sync_book(&staff, &server.url());

    block_on(async {
        // A read-only member's change to A: refused, about A, and the connection stays.
        let mut raw = Raw::joined_as(&server.url(), Some(&reader_token)).await;
        raw.send(&sync_to_server(a, injected())).await;
        match next_about(&mut raw, a).await {
            Some(Message::Error {
                document_id,
                message,
                target_id,
                ..
            }) => {
                assert_eq!(document_id, Some(a));
                assert_eq!(target_id.as_deref(), Some(PEER));
                assert!(message.contains("read-only"), "{message}");
            }
            other => panic!("expected a refusal of A, got {other:?}"),
        }
        // B still syncs on the same connection, and A answers a message without changes.
        for id in [b, a] {
            raw.send(&sync_to_server(id, none_held())).await;
            match next_about(&mut raw, id).await {
                Some(Message::Sync { document_id, .. }) => assert_eq!(document_id, id),
                other => panic!("expected {id} on the same connection, got {other:?}"),
            }
        }
        // A staff member's change to the settings: refused alone, too.
        let mut raw = Raw::joined_as(&server.url(), Some(&staff_token)).await;
        raw.send(&sync_to_server(settings_id(), injected())).await;
        match next_about(&mut raw, settings_id()).await {
            Some(Message::Error {
                document_id,
                message,
                ..
            }) => {
                assert_eq!(
                    document_id,
                    Some(settings_id()),
                    "named as the peer names it"
                );
                assert!(message.contains("only an owner or an admin"), "{message}");
            }
            other => panic!("expected a refusal of the settings, got {other:?}"),
        }
        raw.send(&sync_to_server(b, none_held())).await;
        assert!(matches!(
            next_about(&mut raw, b).await,
            Some(Message::Sync { .. })
        ));
    });
    // Neither change reached the office.
    sync_book(&staff, &server.url());
    let doc = staff.document(&a).unwrap();
    assert!(automerge::ReadDoc::get(&doc, ROOT, "injected")
        .unwrap()
        .is_none());
}

#[test]
fn api_me_says_who_a_device_acts_for() {
    let (tmp, data, server) = office();
    let (_, token) = member_device(&tmp.path().join("r"), &server, &data, "read-only");
    let (status, body) = server.get(&format!("/api/me?token={token}")).unwrap();
    assert_eq!(status, 200, "{body}");
    let me: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["role"], "read-only");
    assert_eq!(me["org"], "acme");
    assert_eq!(me["name"], "read-only", "the member's name");
    assert!(me["member"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(me["device"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(server.get("/api/me").unwrap().0, 401);
}

/// One sync of `book`, with every status it reported; `None` if it did not finish within a
/// generous bound.
fn sync_seen(
    book: &Arc<Book>,
    server: &Server,
) -> Option<(fiche_core::sync::SyncReport, Vec<Status>)> {
    let options = fiche_core::sync::SyncOptions {
        attempts: Some(1),
        ..fiche_core::sync::SyncOptions::new(server.url())
    };
    let mut seen = Vec::new();
    let done = block_on(async {
        let run = fiche_core::sync::sync_once(book.clone(), &options, |s| seen.push(s));
        tokio::time::timeout(Duration::from_secs(60), run).await
    });
    match done {
        Ok(Ok(report)) => Some((report, seen)),
        _ => None,
    }
}

fn up_to_date(seen: &[Status]) -> bool {
    seen.iter().any(|s| matches!(s, Status::UpToDate { .. }))
}

fn set_city(book: &Book, id: &DocumentId, city: &str) -> fiche_core::Result<()> {
    book.edit_client(id, |c| c.address.city = city.into())
        .map(|_| ())
}

#[test]
fn a_read_only_devices_forced_edit_is_refused_alone_shown_and_dropped() {
    let (tmp, data, server) = office();
    let (staff, _) = member_device(&tmp.path().join("s"), &server, &data, "staff");
    let (reader, _) = member_device(&tmp.path().join("r"), &server, &data, "read-only");
    let martin = staff.create_client(named("Famille Martin")).unwrap().id;
    let durand = staff.create_client(named("Famille Durand")).unwrap().id;
    sync_book(&staff, &server.url());
    sync_book(&reader, &server.url());

    // Refused here, before anything is written, naming the role.
    let err = set_city(&reader, &martin, "Paris").unwrap_err();
    assert_eq!(err.to_string(), "you are read-only: changes are refused");
    assert!(reader.client(&martin).unwrap().address.city.is_empty());

    // Forced onto the wire (a device that did not know its role when it wrote).
    reader.set_role(None).unwrap();
    set_city(&reader, &martin, "Paris").unwrap();
    staff
        .edit_client(&durand, |c| c.address.city = "Lyon".into())
        .unwrap();
    sync_book(&staff, &server.url());

    // Every sync finishes; the refusal is reported each time; the other record syncs.
    let tries = 5;
    let mut finished = 0;
    for _ in 0..tries {
        let Some((report, seen)) = sync_seen(&reader, &server) else {
            continue;
        };
        finished += 1;
        assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
        assert_eq!(report.refused[0].0, martin);
        assert!(
            report.refused[0].1.contains("read-only"),
            "{:?}",
            report.refused
        );
        assert!(!up_to_date(&seen), "not up to date while refused: {seen:?}");
        assert!(seen
            .iter()
            .any(|s| matches!(s, Status::Held { refused: 1, .. })));
    }
    println!("read-only device with a refused edit: {finished} of {tries} syncs finished");
    assert_eq!(finished, tries);
    assert_eq!(
        reader.role().unwrap(),
        Some(Role::ReadOnly),
        "refreshed from /api/me"
    );
    assert_eq!(reader.client(&durand).unwrap().address.city, "Lyon");
    let refused = reader.refused().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].fields, ["address.city"]);
    // The office never got it.
    sync_book(&staff, &server.url());
    assert!(staff.client(&martin).unwrap().address.city.is_empty());

    // Dropped: the record is the office's again, and the device is up to date.
    reader.drop_local(&martin).unwrap();
    let (report, seen) = sync_seen(&reader, &server).unwrap();
    assert!(report.refused.is_empty());
    assert!(up_to_date(&seen), "{seen:?}");
    assert_eq!(
        reader.client(&martin).unwrap(),
        staff.client(&martin).unwrap()
    );
    assert!(reader.refused().unwrap().is_empty());
}

#[test]
fn a_staff_devices_settings_change_is_refused_and_its_client_edits_reach_the_office() {
    let (tmp, data, server) = office();
    let (admin_dev, _) = member_device(&tmp.path().join("a"), &server, &data, "admin");
    let (staff, _) = member_device(&tmp.path().join("s"), &server, &data, "staff");
    admin_dev
        .update_settings(|s| s.name = "Acme Travel".into())
        .unwrap();
    let martin = admin_dev.create_client(named("Famille Martin")).unwrap().id;
    sync_book(&admin_dev, &server.url());
    sync_book(&staff, &server.url());

    let err = staff
        .update_settings(|s| s.name = "Staff Was Here".into())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "you are staff: only an owner or an admin changes the settings"
    );
    // Forced: the settings change is refused by the server, and the client edits made after
    // it still reach the office, sync after sync.
    staff.set_role(None).unwrap();
    staff
        .update_settings(|s| s.name = "Staff Was Here".into())
        .unwrap();
    let tries = 5;
    let mut finished = 0;
    for i in 0..tries {
        let city = format!("City {i}");
        set_city(&staff, &martin, &city).unwrap();
        let Some((report, seen)) = sync_seen(&staff, &server) else {
            continue;
        };
        assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
        assert_eq!(report.refused[0].0, settings_id());
        assert!(!up_to_date(&seen));
        sync_book(&admin_dev, &server.url());
        if admin_dev.client(&martin).unwrap().address.city == city {
            finished += 1;
        }
        // Known again from the server: the next edit of the settings is refused here.
        assert!(staff.update_settings(|s| s.name = "Again".into()).is_err());
        staff.set_role(None).unwrap();
    }
    println!("staff device with a refused settings change: {finished} of {tries} syncs finished with its client edit at the office");
    assert_eq!(finished, tries);
    assert_eq!(admin_dev.settings().unwrap().name, "Acme Travel");
    assert_eq!(staff.refused().unwrap()[0].fields, ["settings"]);
    // Dropped: the office's settings come back.
    staff.drop_local(&settings_id()).unwrap();
    let (_, seen) = sync_seen(&staff, &server).unwrap();
    assert!(up_to_date(&seen), "{seen:?}");
    assert_eq!(staff.settings().unwrap().name, "Acme Travel");
}

/// The issue's symptom through the `fiche` binary: a read-only member's city edit and a staff
/// member's settings change are refused at once, with the role; forced onto the wire, every
/// `fiche sync` finishes and prints the refusal plainly; `fiche drop` brings the device back
/// up to date.
#[test]
fn fiche_sync_prints_each_refusal_finishes_and_drop_returns_the_office_version() {
    use fiche_tests::{fiche, fiche_output};
    let (tmp, data, server) = office();
    let url = server.url();
    let (desk, _) = member_device(&tmp.path().join("desk"), &server, &data, "staff");
    let martin = desk.create_client(named("Famille Martin")).unwrap().id;
    sync_book(&desk, &url);
    drop(desk);

    let (reader, staff) = (tmp.path().join("r"), tmp.path().join("s"));
    for (store, role) in [(&reader, "read-only"), (&staff, "staff")] {
        let code = code_for(&data, role, role);
        fiche(store, &["enrol", &code, "--server", &url]).unwrap();
        fiche(store, &["sync", "--server", &url]).unwrap();
    }
    let id = martin.to_string();
    let edit = fiche_output(&reader, &["edit", &id, "--city", "Paris"]).unwrap();
    assert!(!edit.status.success());
    let said = String::from_utf8_lossy(&edit.stderr);
    assert!(
        said.contains("you are read-only: changes are refused"),
        "{said}"
    );
    let settings = fiche_output(&staff, &["settings", "add-type", "club", "Club"]).unwrap();
    assert!(!settings.status.success());
    let said = String::from_utf8_lossy(&settings.stderr);
    assert!(said.contains("only an owner or an admin"), "{said}");

    // Forced: written while the device did not know its role.
    Book::open(&reader, Default::default())
        .unwrap()
        .set_role(None)
        .unwrap();
    fiche(&reader, &["edit", &id, "--city", "Paris"]).unwrap();
    let tries = 3;
    let mut finished = 0;
    for _ in 0..tries {
        let out = fiche_output(&reader, &["sync", "--server", &url]).unwrap();
        let printed = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            finished += 1;
        }
        assert!(
            printed.contains("Your change to Famille Martin (address.city) was refused: member")
                && printed.contains("is read-only"),
            "{printed}"
        );
        assert!(!printed.contains("up to date"), "{printed}");
    }
    println!("fiche sync with a refused edit: {finished} of {tries} runs finished");
    assert_eq!(finished, tries);
    let listed = fiche(&reader, &["refused"]).unwrap();
    assert!(listed.contains(&format!("fiche drop {id}")), "{listed}");
    let dropped = fiche(&reader, &["drop", &id]).unwrap();
    assert!(dropped.contains("Famille Martin"), "{dropped}");
    let synced = fiche(&reader, &["sync", "--server", &url]).unwrap();
    assert!(synced.contains("up to date"), "{synced}");
    let shown = fiche(&reader, &["show", &id, "--json"]).unwrap();
    assert!(!shown.contains("Paris"), "{shown}");
    assert!(fiche(&reader, &["refused"])
        .unwrap()
        .contains("no refused changes"));
}
