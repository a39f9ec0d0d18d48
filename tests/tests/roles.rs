//! Every role's allowed action reaches another member's device, against the real
//! `fiche-server` process: one device per role (owner, admin, manager, staff, technician,
//! read-only) of one organisation, each doing what its role may (ARCHITECTURE.md, "Who may
//! do what"), watched from another member's device. The technician's walk-in is also
//! driven through the `fiche` binary, as a technician in the field would.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fiche_core::directory::{self, directory_id};
use fiche_core::model::{ClientType, Contact};
use fiche_core::sync::SyncOptions;
use fiche_core::{Book, DocumentId};
use fiche_tests::org::{enrolled, member, named, names, runtime};
use fiche_tests::{admin, bin, Server};

/// A generous bound on one sync: it is seconds on a loaded machine; without the bound a
/// sync that never finishes (the server holding back an answer) would hang the test.
const SYNC_BOUND: Duration = Duration::from_secs(60);

fn server(data: &Path) -> Server {
    admin(data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    Server::start_secured(data, None, &[]).unwrap()
}

/// One sync of a device, which must finish within [`SYNC_BOUND`].
fn sync(book: &Arc<Book>, server: &Server) {
    let options = SyncOptions::new(server.url());
    let run = fiche_core::sync::sync_once(book.clone(), &options, |_| {});
    let done = runtime().block_on(async { tokio::time::timeout(SYNC_BOUND, run).await });
    let report = done.expect("the sync did not finish");
    report.expect("the sync failed");
}

/// `fiche --store STORE ARGS…`, which must exit within [`SYNC_BOUND`].
fn fiche_bounded(store: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(bin("fiche").unwrap())
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > SYNC_BOUND {
            child.kill().unwrap();
            panic!("fiche {args:?} did not finish in {SYNC_BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "fiche {args:?}: {out:?}");
    out
}

fn fiche_text(store: &Path, args: &[&str]) -> String {
    String::from_utf8(fiche_bounded(store, args).stdout).unwrap()
}

/// A contact record with this display name.
fn person(display: &str) -> Contact {
    let mut c = Contact::default();
    c.name.display = display.into();
    c
}

/// What a device's directory lists.
fn listed(book: &Book) -> Vec<DocumentId> {
    let doc = book.document(&directory_id()).unwrap();
    directory::entries(&doc).into_keys().collect()
}

fn city(book: &Book, id: &DocumentId) -> String {
    book.client(id).unwrap().address.city
}

#[test]
fn a_technicians_walk_in_reaches_the_office_and_stays_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = server(&data);
    let url = server.url();
    let (_, code_office) = member(&data, "acme", "Olga", "manager");
    let (_, code_tech) = member(&data, "acme", "Tom", "technician");
    let (office, tech) = (tmp.path().join("office"), tmp.path().join("tech"));
    fiche_text(&office, &["enrol", &code_office, "--server", &url]);
    fiche_text(&tech, &["enrol", &code_tech, "--server", &url]);

    // Filed in the field, synced: the sync finishes and the office has it.
    let id = fiche_text(&tech, &["add", "--name", "Tech walkin"]);
    let id = id.trim();
    fiche_text(&tech, &["sync", "--server", &url]);
    fiche_text(&office, &["sync", "--server", &url]);
    let shown = fiche_text(&office, &["show", id, "--json"]);
    assert!(shown.contains("Tech walkin"), "{shown}");

    // The technician's directory lists it: it stays theirs to see.
    let parsed: DocumentId = id.parse().unwrap();
    let book = fiche_tests::device(&tech);
    assert!(listed(&book).contains(&parsed), "{:?}", listed(&book));
    drop(book);

    // Their later edit reaches the office.
    fiche_text(&tech, &["edit", id, "--city", "Lyon"]);
    fiche_text(&tech, &["sync", "--server", &url]);
    fiche_text(&office, &["sync", "--server", &url]);
    let shown = fiche_text(&office, &["show", id, "--json"]);
    assert!(shown.contains("Lyon"), "{shown}");
}

#[test]
fn every_roles_allowed_action_reaches_another_members_device() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = server(&data);
    let roles = [
        "owner",
        "admin",
        "manager",
        "staff",
        "technician",
        "read-only",
    ];
    let mut devices = Vec::new();
    let mut tech_id = String::new();
    for role in roles {
        let (id, code) = member(&data, "acme", &format!("{role} member"), role);
        if role == "technician" {
            tech_id = id;
        }
        let (book, _) = enrolled(&tmp.path().join(role), &server, &code);
        devices.push((role, book));
    }
    let device = |role: &str| devices.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    // The watching device: a read-only member, who reads what the organisation's staff see.
    let watcher = device("read-only");

    // A client everyone in the office edits, and one assigned to the technician.
    let manager = device("manager");
    let shared = manager.create_client(named("Shared Client")).unwrap().id;
    let mut assigned = named("Assigned To Tech");
    assigned.manager = Some(tech_id);
    let assigned = manager.create_client(assigned).unwrap().id;
    sync(&manager, &server);

    for role in ["owner", "admin", "manager", "staff", "technician"] {
        let book = device(role);
        sync(&book, &server);
        // Create a client, and a contact linked to it.
        let client = book
            .create_client(named(&format!("Client of {role}")))
            .unwrap()
            .id;
        let contact = book
            .create_contact(person(&format!("Contact of {role}")))
            .unwrap();
        book.link_contact(&client, &contact, "on site").unwrap();
        // Edit a client: the shared one, or for the technician the one assigned to them.
        let edited = if role == "technician" {
            assigned
        } else {
            shared
        };
        book.edit_client(&edited, |c| c.address.city = format!("City of {role}"))
            .unwrap();
        // Change the settings: owners and admins.
        let settings_change = matches!(role, "owner" | "admin");
        if settings_change {
            book.update_settings(|s| {
                let label = format!("Type of {role}");
                s.client_types.insert(role.into(), ClientType { label });
            })
            .unwrap();
        }
        sync(&book, &server);

        sync(&watcher, &server);
        let client_name = format!("Client of {role}");
        assert!(
            names(&watcher).contains(&client_name),
            "{role}: {:?}",
            names(&watcher)
        );
        assert_eq!(
            watcher.contact(&contact).unwrap().name.display,
            format!("Contact of {role}")
        );
        assert!(watcher
            .client(&client)
            .unwrap()
            .contacts
            .contains_key(&contact.to_string()));
        assert_eq!(city(&watcher, &edited), format!("City of {role}"));
        if settings_change {
            let types = watcher.settings().unwrap().client_types;
            assert_eq!(types[role].label, format!("Type of {role}"), "{types:?}");
        }
        // The technician's own records stay theirs to see, on their device and the server.
        if role == "technician" {
            sync(&book, &server);
            let mine = listed(&book);
            for id in [client, contact, assigned] {
                assert!(mine.contains(&id), "{mine:?}");
            }
            assert!(!mine.contains(&shared), "{mine:?}");
        }
    }
    // What the watcher sees in all: the two office clients and one per acting role.
    assert_eq!(watcher.count(), 2 + 5);
}
