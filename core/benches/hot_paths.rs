//! Criterion micro-benchmarks of the sync hot paths that profiling of a fresh device found:
//! protocol frames (CBOR encode/decode), Automerge documents (save, load from a document chunk
//! or from its change, the sync message a fresh peer gets and its application), and store
//! writes (one document, and a batch of 500 as a fresh device writes them).
//!
//! `cargo bench -p fiche-core --bench hot_paths`; `FICHE_BENCH_QUICK=1` runs a short version.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use automerge::sync::{self, SyncDoc};
use automerge::{ActorId, Automerge};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fiche_core::model::{new_key, Activity, Client, Email, Phone, Site};
use fiche_core::protocol::Message;
use fiche_core::record::{self, Author};
use fiche_core::schema::Kind;
use fiche_core::store::{SledStore, Store, Write};
use fiche_core::DocumentId;

/// A client card of typical size: identity, a phone, an e-mail, a site, an activity, notes.
fn card(n: usize) -> Automerge {
    let mut c = Client::default();
    c.name.display = format!("Ioana Popescu {n}");
    c.address.city = "Cluj-Napoca".into();
    c.address.country = "RO".into();
    let phone = Phone {
        label: "mobile".into(),
        number: format!("+40722{n:06}"),
    };
    c.phones.insert(new_key(), phone);
    let email = Email {
        label: "work".into(),
        address: format!("ioana{n}@example.ro"),
    };
    c.emails.insert(new_key(), email);
    let mut site = Site {
        label: "Depot".into(),
        ..Site::default()
    };
    site.address.street = "Strada Memorandumului 28".into();
    c.sites.insert(new_key(), site);
    let call = Activity {
        title: "Yearly boiler check".into(),
        date: "2026-03-14".into(),
        ..Activity::default()
    };
    c.activities.insert(new_key(), call);
    c.notes = "Prefers morning visits; the gate code is in the contract.".into();
    let author = Author {
        member: "m".into(),
        device: "d".into(),
        action: "create".into(),
    };
    record::create(ActorId::random(), Kind::Client, &c, &author).unwrap()
}

/// The sync message that carries a whole document to a peer that has nothing.
fn first_sync(doc: &mut Automerge) -> Vec<u8> {
    let peer = Automerge::new();
    let (mut ours, mut theirs) = (sync::State::new(), sync::State::new());
    let hello = peer.generate_sync_message(&mut theirs).unwrap();
    doc.receive_sync_message(&mut ours, hello).unwrap();
    doc.generate_sync_message(&mut ours).unwrap().encode()
}

fn protocol(c: &mut Criterion) {
    let mut doc = card(1);
    let frame = Message::Sync {
        sender_id: "server".into(),
        target_id: "device".into(),
        document_id: DocumentId::random(),
        data: first_sync(&mut doc),
        preview: None,
    };
    let bytes = frame.encode();
    c.bench_function("protocol: encode a sync frame with a whole card", |b| {
        b.iter(|| frame.encode())
    });
    c.bench_function("protocol: decode a sync frame with a whole card", |b| {
        b.iter(|| Message::decode(&bytes).unwrap())
    });
}

fn document(c: &mut Criterion) {
    let mut doc = card(2);
    let saved = doc.save();
    let change: Vec<u8> = doc
        .get_changes(&[])
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    let message = first_sync(&mut doc);
    c.bench_function("document: create a card (reconcile + commit)", |b| {
        b.iter(|| card(3))
    });
    c.bench_function("document: save (compressed)", |b| b.iter(|| doc.save()));
    c.bench_function("document: save without compression", |b| {
        b.iter(|| doc.save_nocompress())
    });
    c.bench_function("document: load a saved card", |b| {
        b.iter(|| Automerge::load(&saved).unwrap())
    });
    c.bench_function("document: load a card from its change", |b| {
        b.iter(|| Automerge::load(&change).unwrap())
    });
    c.bench_function(
        "document: generate the sync message for a fresh peer",
        |b| b.iter(|| first_sync(&mut doc)),
    );
    c.bench_function("document: a fresh peer applies that message", |b| {
        b.iter(|| {
            let mut fresh = Automerge::new();
            let decoded = sync::Message::decode(&message).unwrap();
            fresh
                .receive_sync_message(&mut sync::State::new(), decoded)
                .unwrap();
            fresh
        })
    });
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("s")).unwrap();
    let bytes = card(4).save();
    let key = |id: &DocumentId| vec![id.to_string(), "snapshot".to_string()];
    c.bench_function("store: write one card durably", |b| {
        b.iter(|| {
            let id = DocumentId::random();
            store
                .apply(vec![Write::Put(key(&id), bytes.clone())])
                .unwrap()
        })
    });
    c.bench_function("store: write 500 cards in one batch", |b| {
        b.iter_batched(
            || {
                (0..500)
                    .map(|_| Write::Put(key(&DocumentId::random()), bytes.clone()))
                    .collect::<Vec<_>>()
            },
            |writes| store.apply(writes).unwrap(),
            BatchSize::LargeInput,
        )
    });
}

fn config() -> Criterion {
    let c = Criterion::default().configure_from_args();
    if std::env::var_os("FICHE_BENCH_QUICK").is_some() {
        c.sample_size(10)
            .measurement_time(Duration::from_millis(300))
            .warm_up_time(Duration::from_millis(100))
    } else {
        c
    }
}

criterion_group! { name = benches; config = config(); targets = protocol, document, store }
criterion_main!(benches);
