//! Accounts against the real `fiche-server` process, adversarially: devices of two
//! organisations, enrolled with one-time codes, on one server. What one organisation may
//! reach of the other's is checked on the raw bytes it receives; read-only members, revoked
//! devices, bad tokens and the audit log are checked too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use automerge::sync::{State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT};
use fiche_core::directory::directory_id;
use fiche_core::protocol::Message;
use fiche_core::sync::{SyncError, SyncOptions};
use fiche_core::DocumentId;
use fiche_tests::org::{enrolled, member, named, names, runtime};
use fiche_tests::raw::{Raw, PEER};
use fiche_tests::{admin, device, shows, sync_book, Server};

/// A secured server with organisations `acme` and `beta`.
fn two_organisations(data: &Path) -> Server {
    admin(data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    admin(data, &["org-create", "beta", "--name", "Beta Heating"]).unwrap();
    Server::start_secured(data, None, &[]).unwrap()
}

/// Bytes the server takes for a JPEG photo.
fn jpeg(marker: &str) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    bytes.extend(marker.as_bytes().iter().cycle().take(4096));
    bytes
}

/// A sync message from an empty document: "send me everything".
fn ask() -> Vec<u8> {
    let doc = Automerge::new();
    doc.generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

/// A sync message carrying a change that writes `text`.
fn change(text: &str) -> Vec<u8> {
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "injected", text).unwrap();
    tx.commit();
    doc.generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

fn request(id: DocumentId, data: Vec<u8>) -> Message {
    Message::Request {
        sender_id: PEER.into(),
        target_id: "server".into(),
        document_id: id,
        data,
    }
}

/// The names `/api/clients` lists for a device token (the web client's list before sync).
fn listed_names(server: &Server, token: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/api/clients?token={token}")).unwrap();
    assert_eq!(status, 200, "{body}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let mut names: Vec<String> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_organisation_never_reaches_another_ones_records_or_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (_, code_a) = member(&data, "acme", "Alice", "staff");
    let (_, code_b) = member(&data, "beta", "Bob", "staff");
    let (a, token_a) = enrolled(&tmp.path().join("a"), &server, &code_a);
    let (b, token_b) = enrolled(&tmp.path().join("b"), &server, &code_b);

    a.create_client(named("Acme Visible Client")).unwrap();
    let secret = b.create_client(named("Beta Secret Client")).unwrap().id;
    let photo = b.add_bytes(&jpeg("beta-photo"), "beta.jpg").unwrap();
    b.set_photo(&secret, photo.clone()).unwrap();
    assert_eq!(sync_book(&b, &server.url()).uploaded, 1);
    sync_book(&a, &server.url());

    // Through sync and discovery, A's device gets its own organisation's records only.
    assert_eq!(names(&a), ["Acme Visible Client"]);
    assert_eq!(b.count(), 1);
    // The web client's list from the server: each organisation its own; no token, nothing.
    assert_eq!(listed_names(&server, &token_a), ["Acme Visible Client"]);
    assert_eq!(listed_names(&server, &token_b), ["Beta Secret Client"]);
    assert_eq!(server.get("/api/clients").unwrap().0, 401);

    runtime().block_on(async {
        let url = server.url();
        // B's device stays connected, syncing its client: nothing of A's must reach it.
        let mut b_raw = Raw::joined_as(&url, Some(&token_b)).await;
        b_raw.send(&request(secret, ask())).await;
        assert!(matches!(b_raw.next().await, Some(Message::Sync { .. })));

        let mut raw = Raw::joined_as(&url, Some(&token_a)).await;
        // Asking for B's record by id, or pushing a change into it: as if it did not exist.
        raw.send(&request(secret, ask())).await;
        let answer = raw.next().await;
        assert!(
            matches!(answer, Some(Message::DocUnavailable { document_id, .. }) if document_id == secret),
            "{answer:?}"
        );
        let sync = Message::Sync {
            sender_id: PEER.into(),
            target_id: "server".into(),
            document_id: secret,
            data: change("from acme"),
            preview: None,
        };
        raw.send(&sync).await;
        assert!(matches!(
            raw.next().await,
            Some(Message::DocUnavailable { .. })
        ));
        // Ephemeral messages about B's record go nowhere; subscribing to B's storage gossip
        // gives nothing.
        raw.send(&Message::Ephemeral {
            sender_id: PEER.into(),
            target_id: "server".into(),
            count: 1,
            session_id: "s".into(),
            document_id: secret,
            data: b"cursor".to_vec(),
        })
        .await;
        raw.send(&Message::RemoteSubscriptionChange {
            sender_id: PEER.into(),
            target_id: "server".into(),
            add: vec!["beta-storage".into()],
            remove: vec![],
        })
        .await;
        // A's own directory (the well-known id) is all A discovers.
        raw.send(&request(directory_id(), ask())).await;
        let first = raw.next().await;
        assert!(matches!(&first, Some(Message::Sync { document_id, .. }) if *document_id == directory_id()));
        // Spoofing another sender id closes the connection.
        let spoof = Message::Request {
            sender_id: "someone-else".into(),
            target_id: "server".into(),
            document_id: secret,
            data: ask(),
        };
        raw.send(&spoof).await;
        let seen = raw.until_close().await;
        assert!(seen.closed);
        let mut everything = seen.bytes;
        if let Some(m) = first {
            everything.extend(m.encode());
        }
        assert!(!contains(&everything, b"Beta Secret Client"));
        assert!(!contains(&everything, b"Beta Heating"));

        // B heard nothing from A: no ephemeral, no change.
        assert_eq!(b_raw.next_within(Duration::from_millis(500)).await, None);
    });
    // B's record is untouched by A's attempt.
    sync_book(&b, &server.url());
    assert_eq!(
        b.client(&secret).unwrap().name.display,
        "Beta Secret Client"
    );

    // B's photo by hash: not found for A, served to B; nothing without a token.
    let path = format!("/blobs/{}", photo.hash);
    let auth_a = format!("Bearer {token_a}");
    let auth_b = format!("Bearer {token_b}");
    let got = |auth: &str| {
        let headers: Vec<(&str, &str)> = match auth {
            "" => vec![],
            a => vec![("Authorization", a)],
        };
        server.http("GET", &path, &headers, b"", None).unwrap()
    };
    assert_eq!(got(&auth_a).status, 404);
    assert_eq!(got(&auth_b).status, 200);
    assert_eq!(got("").status, 401);
}

#[test]
fn no_token_or_a_bad_one_is_refused_and_slowed_down() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    // A device that never enrolled.
    let book = device(&tmp.path().join("stranger"));
    let options = SyncOptions::new(server.url());
    let done = runtime().block_on(fiche_core::sync::sync_once(book, &options, |_| {}));
    assert!(matches!(done, Err(SyncError::Unauthorised(_))), "{done:?}");
    // Guessing tokens: refused, then made to wait.
    let mut statuses = Vec::new();
    let path = format!("/blobs/{}", "0".repeat(64));
    for n in 0..8 {
        let auth = format!("Bearer fiche_{n:064}");
        let r = server
            .http("GET", &path, &[("Authorization", &auth)], b"", None)
            .unwrap();
        statuses.push(r.status);
    }
    assert_eq!(&statuses[..5], &[401; 5]);
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    // Token guesses do not slow down enrolment codes (they have their own slow-down, in
    // limits.rs): a good code from this address still enrols.
    let (_, code) = member(&data, "acme", "Carla", "staff");
    let tmp2 = tempfile::tempdir().unwrap();
    let book = device(tmp2.path());
    let first = runtime().block_on(fiche_core::sync::enrol(
        &book,
        &server.url(),
        &code,
        "x",
        None,
    ));
    assert!(first.is_ok(), "{first:?}");
    let stderr = server.kill().unwrap();
    assert!(!stderr.contains("fiche_0000"), "a token reached the logs");
}

#[test]
fn a_used_enrolment_code_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (_, code) = member(&data, "acme", "Dora", "staff");
    let (book, _) = enrolled(&tmp.path().join("d"), &server, &code);
    let again = runtime().block_on(fiche_core::sync::enrol(
        &book,
        &server.url(),
        &code,
        "x",
        None,
    ));
    assert!(
        matches!(again, Err(SyncError::Unauthorised(ref m)) if m.contains("used or expired")),
        "{again:?}"
    );
}

#[test]
fn a_read_only_members_edit_is_refused_and_reaches_no_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (_, code_s) = member(&data, "acme", "Sam", "staff");
    let (_, code_r) = member(&data, "acme", "Rita", "read-only");
    let (staff, _) = enrolled(&tmp.path().join("s"), &server, &code_s);
    let (reader, _) = enrolled(&tmp.path().join("r"), &server, &code_r);
    let id = staff.create_client(named("Read Me")).unwrap().id;
    sync_book(&staff, &server.url());
    // Reading works.
    sync_book(&reader, &server.url());
    assert_eq!(reader.client(&id).unwrap().name.display, "Read Me");
    // Writing does not: refused here, and refused by the server when forced onto the wire
    // (written by a device that did not know its role).
    let rename = |c: &mut fiche_core::model::Client| c.name.display = "Changed By Rita".into();
    assert!(reader.edit_client(&id, rename).is_err());
    reader.set_role(None).unwrap();
    reader.edit_client(&id, rename).unwrap();
    let options = SyncOptions {
        attempts: Some(1),
        ..SyncOptions::new(server.url())
    };
    // Refused for that document alone: the sync finishes and says so.
    let done = runtime().block_on(fiche_core::sync::sync_once(
        reader.clone(),
        &options,
        |_| {},
    ));
    let refused = done.unwrap().refused;
    assert!(
        refused
            .iter()
            .any(|(r, why)| *r == id && why.contains("read-only")),
        "{refused:?}"
    );
    sync_book(&staff, &server.url());
    assert_eq!(staff.client(&id).unwrap().name.display, "Read Me");
}

#[test]
fn revoking_a_device_closes_its_connection_at_once_and_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (member_id, code) = member(&data, "acme", "Eve", "staff");
    let (_, token) = enrolled(&tmp.path().join("e"), &server, &code);
    let devices = admin(&data, &["device-list", "--org", "acme"]).unwrap();
    let device = devices.split('\t').next().unwrap().to_string();
    assert!(
        devices.contains("Eve") && devices.contains("active"),
        "{devices}"
    );
    runtime().block_on(async {
        let raw = Raw::joined_as(&server.url(), Some(&token)).await;
        // Through the running server's admin socket.
        admin(&data, &["device-revoke", &device]).unwrap();
        let seen = raw.until_close_within(Duration::from_secs(2)).await;
        assert!(seen.closed, "the revoked device's connection stayed open");
    });
    let r = server
        .http(
            "GET",
            "/blobs/00",
            &[("Authorization", &format!("Bearer {token}"))],
            b"",
            None,
        )
        .unwrap();
    assert_eq!(r.status, 401);
    let listed = admin(&data, &["device-list"]).unwrap();
    assert!(
        listed.contains("revoked") && !listed.contains("last seen never"),
        "{listed}"
    );
    let audit = admin(&data, &["audit"]).unwrap();
    for action in [
        "org created",
        "member added",
        "enrolment code issued",
        "device enrolled",
        "device revoked",
    ] {
        assert!(
            audit.contains(action),
            "{action:?} missing from the audit log:\n{audit}"
        );
    }
    assert!(audit.contains(&member_id));
    assert!(!audit.contains(&token), "a token reached the audit log");
}

#[test]
fn a_js_client_with_its_token_in_the_url_sees_its_organisation_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (_, code_a) = member(&data, "acme", "Ann", "manager");
    let (_, code_b) = member(&data, "beta", "Ben", "manager");
    let (a, token_a) = enrolled(&tmp.path().join("a"), &server, &code_a);
    let (b, _) = enrolled(&tmp.path().join("b"), &server, &code_b);
    let mine = a.create_client(named("Acme Js Client")).unwrap().id;
    let theirs = b.create_client(named("Beta Hidden Client")).unwrap().id;
    sync_book(&a, &server.url());
    sync_book(&b, &server.url());

    // The official JavaScript client, as a browser would connect: the token in the query.
    let url = format!("{}/?token={token_a}", server.url());
    let get = |doc: DocumentId| fiche_tests::js(&["get", "--url", &url, "--doc", &doc.url()]);
    let got: serde_json::Value = serde_json::from_slice(&get(mine).unwrap().stdout).unwrap();
    assert_eq!(got["name"]["display"], "Acme Js Client");
    let listed = get(directory_id()).unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[mine.to_string()], "client", "{listed}");
    assert!(listed.get(theirs.to_string()).is_none(), "{listed}");
    let hidden = get(theirs).unwrap();
    assert_eq!(hidden.status.code(), Some(2), "{hidden:?}");
    // Without a token it gets nothing at all.
    let bare = server.url();
    let refused = fiche_tests::js(&["get", "--url", &bare, "--doc", &mine.url()]).unwrap();
    assert!(!refused.status.success(), "{refused:?}");
    assert!(!String::from_utf8_lossy(&refused.stdout).contains("Acme Js Client"));
}

#[test]
fn a_technician_receives_exactly_the_clients_assigned_to_them_and_live() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let server = two_organisations(&data);
    let (_, code_m) = member(&data, "acme", "Mia", "manager");
    let (tech, code_t) = member(&data, "acme", "Tom", "technician");
    let (manager, _) = enrolled(&tmp.path().join("m"), &server, &code_m);
    let mut first = named("Assigned By Manager");
    first.manager = Some(tech.clone());
    let first = manager.create_client(first).unwrap().id;
    let second = manager.create_client(named("Later Assigned")).unwrap().id;
    let never = manager.create_client(named("Never Assigned")).unwrap().id;
    // The person to call on site comes with the assigned client; another client's does not.
    let contact = |name: &str| {
        let mut c = fiche_core::model::Contact::default();
        c.name.display = name.into();
        manager.create_contact(c).unwrap()
    };
    let on_site = contact("Site Caretaker");
    let elsewhere = contact("Other Accountant");
    manager.link_contact(&first, &on_site, "on site").unwrap();
    manager
        .link_contact(&never, &elsewhere, "accountant")
        .unwrap();
    sync_book(&manager, &server.url());

    let store_t = tmp.path().join("t");
    let (tom, token_t) = enrolled(&store_t, &server, &code_t);
    sync_book(&tom, &server.url());
    assert_eq!(listed_names(&server, &token_t), ["Assigned By Manager"]);
    assert_eq!(names(&tom), ["Assigned By Manager"]);
    assert_eq!(
        tom.contact(&on_site).unwrap().name.display,
        "Site Caretaker"
    );
    assert!(tom.contact(&elsewhere).is_err());
    drop(tom);

    // Assigning one more (an intervention for Tom) reaches his watching device live.
    let (mut watch, lines) = fiche_tests::watch(&store_t, &server.url()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    manager
        .edit_client(&second, |c| {
            let visit = fiche_core::model::Intervention {
                date: "2026-11-20".into(),
                technician: Some(tech.clone()),
                report: "Boiler check".into(),
                ..Default::default()
            };
            c.interventions.insert("visit-1".into(), visit);
        })
        .unwrap();
    sync_book(&manager, &server.url());
    let arrived = shows(lines, "Later Assigned", Duration::from_secs(20));
    watch.kill().unwrap();
    watch.wait().unwrap();
    assert!(
        arrived,
        "the newly assigned client did not reach the technician live"
    );

    // Unassigned, a client leaves what the technician discovers.
    manager.edit_client(&first, |c| c.manager = None).unwrap();
    sync_book(&manager, &server.url());
    let tom = device(&store_t);
    sync_book(&tom, &server.url());
    let listed = fiche_core::directory::entries(&tom.document(&directory_id()).unwrap());
    assert!(listed.contains_key(&second), "{listed:?}");
    assert!(!listed.contains_key(&first), "{listed:?}");
    assert!(!listed.contains_key(&on_site), "{listed:?}");
    assert_eq!(
        listed
            .keys()
            .filter(|id| **id != fiche_core::directory::settings_id())
            .count(),
        1
    );
}
