//! Refused changes against the real `fiche-server` process: the server refuses one document's
//! changes and keeps the connection, the device marks them, keeps syncing the rest, finishes,
//! and can drop them; the core refuses locally what the member's role may not do.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use fiche_core::directory::settings_id;
use fiche_core::protocol::Message;
use fiche_core::{Book, DocumentId};
use fiche_tests::raw::{Raw, PEER};
use fiche_tests::{admin, device, sync_book, Server};

/// A secured server with one organisation, `acme`.
fn office(data: &Path) -> Server {
    admin(data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    Server::start_secured(data, None, &[]).unwrap()
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

/// A sync message from an empty document: "send me everything".
fn ask() -> Vec<u8> {
    Automerge::new()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

fn sync(id: DocumentId, data: Vec<u8>) -> Message {
    Message::Sync {
        sender_id: PEER.into(),
        target_id: "server".into(),
        document_id: id,
        data,
        preview: None,
    }
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
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = office(&data);
    let (staff, staff_token) = member_device(&tmp.path().join("s"), &server, &data, "staff");
    let (_, reader_token) = member_device(&tmp.path().join("r"), &server, &data, "read-only");
    let a = staff.create_client(named("Famille Martin")).unwrap().id;
    let b = staff.create_client(named("Famille Durand")).unwrap().id;
    sync_book(&staff, &server.url());

    block_on(async {
        // A read-only member's change to A: refused, about A, and the connection stays.
        let mut raw = Raw::joined_as(&server.url(), Some(&reader_token)).await;
        raw.send(&sync(a, injected())).await;
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
            raw.send(&sync(id, ask())).await;
            match next_about(&mut raw, id).await {
                Some(Message::Sync { document_id, .. }) => assert_eq!(document_id, id),
                other => panic!("expected {id} on the same connection, got {other:?}"),
            }
        }
        // A staff member's change to the settings: refused alone, too.
        let mut raw = Raw::joined_as(&server.url(), Some(&staff_token)).await;
        raw.send(&sync(settings_id(), injected())).await;
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
        raw.send(&sync(b, ask())).await;
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
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = office(&data);
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
