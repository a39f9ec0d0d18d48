//! The document store's chunks: every save keeps what was saved before it.
#![allow(clippy::unwrap_used)]

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use fiche_core::docstore;
use fiche_core::store::{SledStore, Store};
use fiche_core::DocumentId;

/// A document whose five heads are concurrent changes, each made on a fork of one base: the
/// base, and the five forks' documents in the order of their change hashes.
fn five_concurrent_heads() -> (AutoCommit, Vec<(ChangeHash, AutoCommit)>) {
    let mut base = AutoCommit::new();
    base.put(ROOT, "name", "Marie Dupont").unwrap();
    let mut forks: Vec<(ChangeHash, AutoCommit)> = (0..5)
        .map(|i| {
            let mut fork = base.fork();
            fork.put(ROOT, format!("site_{i}"), i as i64).unwrap();
            (fork.get_heads()[0], fork)
        })
        .collect();
    forks.sort_by_key(|(h, _)| *h);
    (base, forks)
}

#[test]
fn a_save_at_five_heads_keeps_the_save_at_four() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let id = DocumentId::random();
    let (mut doc, mut forks) = five_concurrent_heads();
    let last = forks.pop().unwrap().1;

    // The base as a snapshot, then the four first concurrent changes in one chunk.
    let writes = docstore::save_writes(&store, &id, doc.document(), &[]).unwrap();
    store.apply(writes).unwrap();
    let mut saved = doc.get_heads();
    for (_, fork) in &mut forks {
        doc.merge(fork).unwrap();
    }
    assert_eq!(doc.get_heads().len(), 4);
    store
        .apply(docstore::save_writes(&store, &id, doc.document(), &saved).unwrap())
        .unwrap();
    saved = doc.get_heads();
    // The fifth, whose hash sorts after the four: its chunk is saved beside theirs.
    doc.merge(&mut last.clone()).unwrap();
    assert_eq!(doc.get_heads().len(), 5);
    store
        .apply(docstore::save_writes(&store, &id, doc.document(), &saved).unwrap())
        .unwrap();

    let loaded = docstore::load(&store, &id).unwrap().unwrap();
    let mut want = doc.get_heads();
    want.sort();
    let mut got = loaded.get_heads();
    got.sort();
    assert_eq!(got, want, "the store lost changes");
    for i in 0..5 {
        assert!(
            loaded.get(ROOT, format!("site_{i}")).unwrap().is_some(),
            "site_{i} lost"
        );
    }
}
