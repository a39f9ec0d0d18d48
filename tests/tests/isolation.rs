//! One organisation never writes into another's documents, against the real `fiche-server`
//! process: beta's owner plants documents (a settings record with beta's client type, group
//! and member, a directory listing beta's client) under every id anyone could compute for
//! acme's settings, directory and technician's directory before they exist, and for an
//! organisation not yet created; acme's devices and the later organisation see nothing of
//! them.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use automerge::sync::{Message as SyncMessage, State, SyncDoc};
use automerge::{ActorId, Automerge};
use fiche_core::directory::{self, directory_id, settings_id};
use fiche_core::model::{ClientType, Member, Role};
use fiche_core::protocol::Message;
use fiche_core::{Book, DocumentId};
use fiche_tests::org::{enrolled, member, named, names, runtime};
use fiche_tests::raw::{Raw, PEER};
use fiche_tests::{admin, sync_book, Server};
use sha2::{Digest, Sha256};

/// The id anyone can compute from an organisation's name (and a member's id) for its copy
/// of a well-known document: how the server derived them before organisations had keys.
fn unkeyed(name: &str, id: DocumentId) -> DocumentId {
    let digest = Sha256::digest(
        [
            b"fiche-scoped-document\0".as_slice(),
            name.as_bytes(),
            &[0],
            id.as_bytes(),
        ]
        .concat(),
    );
    let mut bytes: [u8; 16] = digest[..16].try_into().unwrap();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DocumentId::from_bytes(bytes)
}

/// Sends `doc` under `id` through `raw`, syncing until the server holds all of it.
async fn plant(raw: &mut Raw, id: DocumentId, doc: &Automerge) {
    let mut doc = doc.clone();
    let mut state = State::new();
    for _ in 0..20 {
        if let Some(m) = doc.generate_sync_message(&mut state) {
            raw.send(&Message::Sync {
                sender_id: PEER.into(),
                target_id: "server".into(),
                document_id: id,
                data: m.encode(),
                preview: None,
            })
            .await;
        } else if state.shared_heads == doc.get_heads() {
            return;
        }
        match raw.next_within(Duration::from_secs(10)).await {
            Some(Message::Sync {
                document_id, data, ..
            }) if document_id == id => {
                let m = SyncMessage::decode(&data).unwrap();
                doc.receive_sync_message(&mut state, m).unwrap();
            }
            Some(_) => {}
            None => break,
        }
    }
    panic!("the server did not take the planted document {id}");
}

/// Beta's settings record: its own client type, group and member.
fn beta_settings(eve: &Book) -> Automerge {
    eve.update_settings(|s| {
        s.client_types.insert(
            "bravo-type".into(),
            ClientType {
                label: "Bravo Type".into(),
            },
        );
        s.groups.insert("bravo-group".into(), true);
        s.members.insert(
            "eve".into(),
            Member {
                name: "Eve Bravo-Owner".into(),
                role: Role::Owner,
            },
        );
    })
    .unwrap();
    eve.document(&settings_id()).unwrap()
}

/// A directory listing `client` (and the settings).
fn beta_directory(client: DocumentId) -> Automerge {
    let mut doc = directory::create(ActorId::random()).unwrap();
    let entries = vec![
        (client, "client".to_string()),
        (settings_id(), "settings".to_string()),
    ];
    directory::add(&mut doc, entries, "planted").unwrap();
    doc
}

/// What a device's directory lists (nothing when it has none).
fn entries_of(book: &Book) -> std::collections::BTreeMap<DocumentId, String> {
    book.document(&directory_id())
        .map(|d| directory::entries(&d))
        .unwrap_or_default()
}

/// What a device sees of its organisation's settings and directory holds nothing of beta's.
fn sees_nothing_of_beta(book: &Book, planted: DocumentId) {
    let settings = book.settings().unwrap();
    assert!(
        !settings.client_types.contains_key("bravo-type"),
        "{settings:?}"
    );
    assert!(!settings.groups.contains_key("bravo-group"), "{settings:?}");
    assert!(
        settings
            .members
            .values()
            .all(|m| m.name != "Eve Bravo-Owner"),
        "{settings:?}"
    );
    let listed = entries_of(book);
    assert!(!listed.contains_key(&planted), "{listed:?}");
    assert!(book.client(&planted).is_err());
    assert!(!names(book).contains(&"Bravo Planted Client".to_string()));
}

fn organisations(data: &Path) -> Server {
    admin(data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    admin(data, &["org-create", "beta", "--name", "Beta Heating"]).unwrap();
    Server::start_secured(data, None, &[]).unwrap()
}

#[test]
fn documents_planted_under_another_organisations_ids_never_reach_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = organisations(&data);
    let url = server.url();
    let (_, code_ann) = member(&data, "acme", "Ann Acme-Owner", "owner");
    let (_, code_mia) = member(&data, "acme", "Mia", "manager");
    let (ted, code_ted) = member(&data, "acme", "Ted", "technician");
    let (_, code_eve) = member(&data, "beta", "Eve Bravo-Owner", "owner");
    let (eve, token_eve) = enrolled(&tmp.path().join("eve"), &server, &code_eve);
    let planted = eve.create_client(named("Bravo Planted Client")).unwrap().id;
    let settings = beta_settings(&eve);
    sync_book(&eve, &url);

    // Before acme's devices ever sync, and before gamma exists, beta plants under every id
    // it can compute for them.
    let dir = beta_directory(planted);
    let targets = [
        (unkeyed("acme", settings_id()), &settings),
        (unkeyed("acme", directory_id()), &dir),
        (
            unkeyed(&format!("acme\0member\0{ted}"), directory_id()),
            &dir,
        ),
        (unkeyed("gamma", settings_id()), &settings),
        (unkeyed("gamma", directory_id()), &dir),
    ];
    runtime().block_on(async {
        let mut raw = Raw::joined_as(&url, Some(&token_eve)).await;
        for (id, doc) in targets {
            plant(&mut raw, id, doc).await;
        }
    });

    // Acme's owner files acme's own type; acme's other devices get it, and nothing of beta's.
    let (ann, _) = enrolled(&tmp.path().join("ann"), &server, &code_ann);
    sync_book(&ann, &url);
    ann.update_settings(|s| {
        s.client_types.insert(
            "acme-type".into(),
            ClientType {
                label: "Acme Type".into(),
            },
        );
    })
    .unwrap();
    ann.create_client(named("Acme Own Client")).unwrap();
    sync_book(&ann, &url);
    let (mia, _) = enrolled(&tmp.path().join("mia"), &server, &code_mia);
    sync_book(&mia, &url);
    let (ted_device, _) = enrolled(&tmp.path().join("ted"), &server, &code_ted);
    sync_book(&ted_device, &url);
    for book in [&ann, &mia, &ted_device] {
        sees_nothing_of_beta(book, planted);
        let settings = book.settings().unwrap();
        assert_eq!(settings.client_types["acme-type"].label, "Acme Type");
        assert_eq!(settings.client_types.len(), 7, "{settings:?}");
        assert!(settings.groups.is_empty(), "{settings:?}");
        assert!(settings.members.is_empty(), "{settings:?}");
    }
    assert_eq!(names(&mia), ["Acme Own Client"]);
    // The technician's directory: the settings and nothing else (nothing is assigned).
    let listed = entries_of(&ted_device);
    assert_eq!(listed.keys().collect::<Vec<_>>(), [&settings_id()]);

    // An organisation created after the planting starts empty.
    admin(&data, &["org-create", "gamma", "--name", "Gamma Late"]).unwrap();
    let (_, code_gil) = member(&data, "gamma", "Gil", "owner");
    let (gil, _) = enrolled(&tmp.path().join("gil"), &server, &code_gil);
    sync_book(&gil, &url);
    sees_nothing_of_beta(&gil, planted);
    assert_eq!(
        gil.settings().unwrap(),
        fiche_core::model::OrgSettings::default()
    );
    let listed = entries_of(&gil);
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(gil.count(), 0);

    // Beta keeps its own: its client and settings.
    sync_book(&eve, &url);
    assert_eq!(names(&eve), ["Bravo Planted Client"]);
    assert!(eve
        .settings()
        .unwrap()
        .client_types
        .contains_key("bravo-type"));
}
