//! The book's promises over a real sled store: merges keep both sides, same-field writes are
//! reported as conflicts and can be settled, history says who did what, unknown fields survive.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use fiche_core::index::{Filter, Page};
use fiche_core::model::{Client, Email, Phone};
use fiche_core::{Book, Error, Options};

fn book(dir: &std::path::Path, member: &str) -> Book {
    let options = Options {
        member: member.to_string(),
        ..Options::default()
    };
    Book::open(dir, options).unwrap()
}

fn walk_in(name: &str, phone: &str) -> Client {
    let mut c = Client::default();
    c.name.display = name.to_string();
    c.phones.insert(
        "p1".into(),
        Phone {
            label: "mobile".into(),
            number: phone.into(),
        },
    );
    c.address.city = "Lyon".into();
    c
}

fn by_text(book: &Book, text: &str) -> Vec<String> {
    let f = Filter {
        text: Some(text.to_string()),
        ..Filter::default()
    };
    book.list(&f, Page::default())
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// One device (member `alice`) holding one client, Marie Dupont.
fn marie() -> (tempfile::TempDir, Book, fiche_core::DocumentId) {
    let dir = tempfile::tempdir().unwrap();
    let a = book(dir.path(), "alice");
    let id = a
        .create_client(walk_in("Marie Dupont", "+33612345678"))
        .unwrap()
        .id;
    (dir, a, id)
}

/// Two devices with the same record: `a` creates it, `b` receives it.
fn two_devices() -> (
    tempfile::TempDir,
    tempfile::TempDir,
    Book,
    Book,
    fiche_core::DocumentId,
) {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (book(da.path(), "alice"), book(db.path(), "bob"));
    let id = a
        .create_client(walk_in("Marie Dupont", "+33612345678"))
        .unwrap()
        .id;
    b.merge(&id, &a.save(&id).unwrap()).unwrap();
    (da, db, a, b, id)
}

#[test]
fn forks_editing_different_fields_converge_with_both() {
    let (_da, _db, a, b, id) = two_devices();
    a.edit_client(&id, |c| c.address.city = "Paris".into())
        .unwrap();
    b.edit_client(&id, |c| {
        c.emails.insert(
            "e1".into(),
            Email {
                label: "work".into(),
                address: "marie@example.fr".into(),
            },
        );
    })
    .unwrap();
    b.edit_client(&id, |c| c.notes = "prefers mornings".into())
        .unwrap();
    a.merge(&id, &b.save(&id).unwrap()).unwrap();
    b.merge(&id, &a.save(&id).unwrap()).unwrap();
    let (ca, cb) = (a.client(&id).unwrap(), b.client(&id).unwrap());
    assert_eq!(ca, cb);
    assert_eq!(ca.address.city, "Paris");
    assert_eq!(ca.emails["e1"].address, "marie@example.fr");
    assert_eq!(ca.notes, "prefers mornings");
    assert!(
        a.conflicts(&id).unwrap().is_empty(),
        "{:?}",
        a.conflicts(&id)
    );
    // The index follows the merge on both sides.
    assert_eq!(by_text(&a, "paris"), vec!["Marie Dupont"]);
    assert_eq!(by_text(&b, "paris"), vec!["Marie Dupont"]);
    assert!(by_text(&b, "lyon").is_empty());
    assert_eq!(by_text(&a, "marie@example"), vec!["Marie Dupont"]);
}

#[test]
fn concurrent_typing_in_notes_keeps_both_texts() {
    let (_da, _db, a, b, id) = two_devices();
    a.edit_client(&id, |c| c.notes = "Allergic to cats.".into())
        .unwrap();
    b.merge(&id, &a.save(&id).unwrap()).unwrap();
    a.edit_client(&id, |c| {
        c.notes = "Allergic to cats. Call after 6pm.".into()
    })
    .unwrap();
    b.edit_client(&id, |c| c.notes = "VIP. Allergic to cats.".into())
        .unwrap();
    a.merge(&id, &b.save(&id).unwrap()).unwrap();
    assert_eq!(
        a.client(&id).unwrap().notes,
        "VIP. Allergic to cats. Call after 6pm."
    );
}

#[test]
fn same_field_writes_are_reported_and_can_be_settled() {
    let (_da, _db, a, b, id) = two_devices();
    a.edit_client(&id, |c| c.address.city = "Paris".into())
        .unwrap();
    b.edit_client(&id, |c| c.address.city = "Marseille".into())
        .unwrap();
    a.merge(&id, &b.save(&id).unwrap()).unwrap();
    let conflicts = a.conflicts(&id).unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.path, "address.city");
    let mut both = vec![c.winner.as_str().unwrap(), c.others[0].as_str().unwrap()];
    both.sort();
    assert_eq!(both, ["Marseille", "Paris"]);
    assert_eq!(a.summary(&id).unwrap().conflicts, 1);

    // Pick the loser.
    let loser = c.others[0].as_str().unwrap().to_string();
    a.resolve(&id, "address.city", 1).unwrap();
    assert!(a.conflicts(&id).unwrap().is_empty());
    assert_eq!(a.client(&id).unwrap().address.city, loser);
    assert_eq!(a.summary(&id).unwrap().conflicts, 0);
    assert!(matches!(
        a.resolve(&id, "address.city", 1),
        Err(Error::NoConflict(_))
    ));
    // The resolution travels like any edit.
    b.merge(&id, &a.save(&id).unwrap()).unwrap();
    assert!(b.conflicts(&id).unwrap().is_empty());
    assert_eq!(b.client(&id).unwrap().address.city, loser);
}

#[test]
fn history_says_who_on_which_device_changed_what() {
    let (_da, _db, a, b, id) = two_devices();
    b.edit_client(&id, |c| c.address.city = "Paris".into())
        .unwrap();
    a.merge(&id, &b.save(&id).unwrap()).unwrap();
    let h = a.history(&id).unwrap();
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(
        (h[0].member.as_str(), h[0].action.as_str()),
        ("alice", "create")
    );
    assert_eq!(h[0].device, a.device_id());
    assert!(
        h[0].fields.contains(&"name.display".to_string()),
        "{:?}",
        h[0].fields
    );
    assert_eq!(
        (h[1].member.as_str(), h[1].action.as_str()),
        ("bob", "edit")
    );
    assert_eq!(h[1].device, b.device_id());
    assert_eq!(h[1].fields, vec!["address.city"]);
    assert!(h[1].time > 1_700_000_000);
}

#[test]
fn invalid_input_never_reaches_the_document() {
    let (_dir, a, id) = marie();
    let before = a.document(&id).unwrap().get_heads();
    let err = a
        .edit_client(&id, |c| {
            c.name.display.clear();
            c.client_type = "alien".into();
        })
        .unwrap_err();
    let Error::Invalid(errors) = err else {
        panic!("{err:?}")
    };
    let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "client_type"]);
    assert_eq!(a.document(&id).unwrap().get_heads(), before);
    assert!(a.create_client(Client::default()).is_err());
    assert_eq!(a.count(), 1);
}

#[test]
fn fields_a_newer_app_wrote_survive_an_edit_here() {
    let (_da, _db, a, b, id) = two_devices();
    // A newer app on device b adds fields this build does not know.
    let mut doc = b.document(&id).unwrap();
    let mut tx = doc.transaction();
    tx.put(ROOT, "loyalty_tier", "gold").unwrap();
    let name = match tx.get(ROOT, "name").unwrap() {
        Some((_, obj)) => obj,
        None => panic!("no name"),
    };
    tx.put(&name, "phonetic", "ma-REE").unwrap();
    tx.commit();
    a.merge(&id, &doc.save()).unwrap();
    a.edit_client(&id, |c| c.address.city = "Nice".into())
        .unwrap();
    a.edit_client(&id, |c| c.name.display = "Marie Dupont-Durand".into())
        .unwrap();
    let doc = a.document(&id).unwrap();
    assert!(doc.get(ROOT, "loyalty_tier").unwrap().is_some());
    let (_, name) = doc.get(ROOT, "name").unwrap().unwrap();
    assert!(doc.get(&name, "phonetic").unwrap().is_some());
}

#[test]
fn a_schema_1_record_is_upgraded_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = book(dir.path(), "alice");
    // A record as the first prototype wrote it: flat name, single phone.
    let mut doc = automerge::Automerge::new();
    let mut tx = doc.transaction();
    tx.put(ROOT, "kind", "client").unwrap();
    tx.put(ROOT, "name", "Ion Popescu").unwrap();
    tx.put(ROOT, "phone", "+40722123456").unwrap();
    tx.put(ROOT, "favourite_colour", "blue").unwrap();
    tx.commit();
    let id = fiche_core::DocumentId::random();
    a.merge(&id, &doc.save()).unwrap();
    let c = a.client(&id).unwrap();
    assert_eq!(c.name.display, "Ion Popescu");
    assert_eq!(
        c.phones
            .values()
            .map(|p| p.number.as_str())
            .collect::<Vec<_>>(),
        ["+40722123456"]
    );
    let doc = a.document(&id).unwrap();
    assert_eq!(
        fiche_core::schema::version_of(&doc),
        fiche_core::schema::SCHEMA_VERSION
    );
    assert!(doc.get(ROOT, "favourite_colour").unwrap().is_some());
    assert!(doc.get(ROOT, "phone").unwrap().is_none());
    assert_eq!(by_text(&a, "popescu"), vec!["Ion Popescu"]);
}

#[test]
fn contacts_link_to_several_clients_and_unlinking_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = book(dir.path(), "alice");
    let c1 = a
        .create_client(walk_in("Agence Soleil", "+33612345678"))
        .unwrap()
        .id;
    let c2 = a
        .create_client(walk_in("Famille Martin", "+33699999999"))
        .unwrap()
        .id;
    let mut person = fiche_core::model::Contact::default();
    person.name.first = "Paul".into();
    person.name.last = "Durand".into();
    person.opt_ins.email = true;
    let p = a.create_contact(person).unwrap();
    a.link_contact(&c1, &p, "travel manager").unwrap();
    a.link_contact(&c2, &p, "accountant").unwrap();
    assert_eq!(a.clients_of_contact(&p).len(), 2);
    assert_eq!(
        a.client(&c1).unwrap().contacts[&p.to_string()].role,
        "travel manager"
    );
    a.unlink_contact(&c1, &p).unwrap();
    assert_eq!(a.clients_of_contact(&p).len(), 1);
    assert!(a.contact(&p).unwrap().opt_ins.email);
}

#[test]
fn a_reopened_store_keeps_records_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let a = book(dir.path(), "alice");
        let id = a
            .create_client(walk_in("Marie Dupont", "+33612345678"))
            .unwrap()
            .id;
        for i in 0..40 {
            // Enough edits to force a compaction into a snapshot.
            a.edit_client(&id, |c| c.notes = format!("visit {i}"))
                .unwrap();
        }
        id
    };
    let a = book(dir.path(), "alice");
    assert_eq!(a.client(&id).unwrap().notes, "visit 39");
    assert_eq!(by_text(&a, "dupont").len(), 1);
    assert_eq!(a.history(&id).unwrap().len(), 41);
    let store: Arc<dyn fiche_core::store::Store> = a.store().clone();
    let chunks = store.scan(&[id.to_string()]).unwrap();
    assert!(
        chunks.len() < 32,
        "compaction keeps chunks bounded: {}",
        chunks.len()
    );
    let heads = fiche_core::docstore::heads(store.as_ref(), &id).unwrap();
    assert_eq!(heads, Some(a.document(&id).unwrap().get_heads()));
}

#[test]
fn a_synced_copy_absorbed_after_a_local_edit_keeps_both() {
    use automerge::transaction::Transactable;
    let (_dir, a, id) = marie();
    // A sync session holds a copy...
    let mut copy = a.document(&id).unwrap();
    let before = copy.get_heads();
    // ...while an edit is made here...
    a.edit_client(&id, |c| c.address.city = "Lyon".into())
        .unwrap();
    // ...and the copy gains a change from another device.
    let mut other = copy.fork().with_actor(automerge::ActorId::random());
    let mut tx = other.transaction();
    tx.put(automerge::ROOT, "manager", "bob").unwrap();
    tx.commit();
    copy.merge(&mut other).unwrap();
    let batch = vec![fiche_core::Absorb {
        id,
        doc: &mut copy,
        before,
        with: Vec::new(),
        received: None,
    }];
    a.absorb(batch).unwrap();
    let client = a.client(&id).unwrap();
    assert_eq!(client.address.city, "Lyon");
    assert_eq!(client.manager.as_deref(), Some("bob"));
    assert_eq!(a.summary(&id).unwrap().city, "Lyon");
}

/// A small real PNG, as a signature pad gives.
fn signature_png() -> Vec<u8> {
    let pad = image::RgbImage::from_fn(200, 80, |x, y| {
        if (x as i32 - 2 * y as i32).abs() < 3 {
            image::Rgb([0, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(pad)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

#[test]
fn a_signed_report_cannot_be_changed_here_and_a_change_from_elsewhere_shows() {
    use fiche_core::model::Intervention;
    let (_da, _db, a, b, id) = two_devices();
    let key = "visit-1".to_string();
    a.edit_client(&id, |c| {
        c.interventions.insert(
            key.clone(),
            Intervention {
                date: "2026-11-20".into(),
                report: "Boiler serviced, pressure 1.5 bar.".into(),
                ..Default::default()
            },
        );
    })
    .unwrap();
    // Nobody may sign for no one, or with something that is not an image.
    assert!(a
        .sign_intervention(&id, &key, &signature_png(), " ")
        .is_err());
    assert!(a
        .sign_intervention(&id, &key, b"%PDF-1.4 ...", "Ana")
        .is_err());
    let signed = a
        .sign_intervention(&id, &key, &signature_png(), "Ana Ionescu")
        .unwrap();
    let intervention = &signed.client.interventions[&key];
    let signature = intervention.signature.as_ref().unwrap();
    assert_eq!(signature.signed_by, "Ana Ionescu");
    assert_eq!(signature.image.media_type, "image/png");
    assert!(a
        .blob(&signature.image.hash.parse().unwrap())
        .unwrap()
        .is_some());
    assert!(!intervention.altered_after_signing());

    // Changing the signed report here is refused, with the field named; nothing is written.
    let err = a
        .edit_client(&id, |c| {
            c.interventions.get_mut(&key).unwrap().report = "Boiler replaced.".into();
        })
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("interventions.{key}")),
        "{err}"
    );
    assert_eq!(
        a.client(&id).unwrap().interventions[&key].report,
        "Boiler serviced, pressure 1.5 bar."
    );
    // Other fields stay editable; the status of a signed visit too.
    a.edit_client(&id, |c| c.notes = "Call before coming.".into())
        .unwrap();

    // Another device that does not refuse (an old app, a JS peer) changes the report: once
    // merged, the change is flagged, and further edits of other fields still work.
    b.merge(&id, &a.save(&id).unwrap()).unwrap();
    let mut doc = b.document(&id).unwrap();
    let (_, interventions) = doc.get(ROOT, "interventions").unwrap().unwrap();
    let (_, visit) = doc.get(&interventions, key.as_str()).unwrap().unwrap();
    let mut tx = doc.transaction();
    tx.put(&visit, "report", "Nothing was done.").unwrap();
    tx.commit();
    a.merge(&id, &doc.save()).unwrap();
    let merged = a.client(&id).unwrap();
    assert!(merged.interventions[&key].altered_after_signing());
    a.edit_client(&id, |c| c.notes = "Dispute: see report.".into())
        .unwrap();
}

#[test]
fn collecting_blobs_removes_the_unreferenced_and_keeps_the_rest() {
    use fiche_core::blob::{self, BlobHash};
    let (_dir, a, id) = marie();
    let kept = a.add_bytes(b"%PDF-1.7 contract", "contract.pdf").unwrap();
    let dropped = a.add_bytes(b"%PDF-1.7 draft", "draft.pdf").unwrap();
    a.attach(&id, kept.clone()).unwrap();
    let hash = |f: &fiche_core::model::FileRef| f.hash.parse::<BlobHash>().unwrap();
    // Queued for upload: kept whatever refers to it.
    let none = a.collect_blobs(std::time::Duration::ZERO).unwrap();
    assert_eq!(none.blobs, 0);
    for f in [&kept, &dropped] {
        blob::uploaded(a.store().as_ref(), &hash(f)).unwrap();
    }
    // Within the grace period: kept.
    let none = a
        .collect_blobs(std::time::Duration::from_secs(3600))
        .unwrap();
    assert_eq!(none.blobs, 0);
    let done = a.collect_blobs(std::time::Duration::ZERO).unwrap();
    assert_eq!((done.blobs, done.bytes), (1, dropped.size));
    assert!(a.blob(&hash(&dropped)).unwrap().is_none());
    assert!(a.blob(&hash(&kept)).unwrap().is_some());
}
