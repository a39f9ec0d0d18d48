//! Crash: a writer process is killed with SIGKILL mid-stream; the reopened store holds every
//! write it acknowledged, and nothing half-written.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fiche_core::index::{Filter, Page};
use fiche_core::{Book, DocumentId, Options};

fn kill_after(dir: &std::path::Path, acks: usize) -> (Vec<DocumentId>, Option<u64>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut clients = Vec::new();
    let mut last_note = None;
    for line in BufReader::new(stdout).lines().take(acks) {
        let line = line.unwrap();
        match line.split_once(' ') {
            Some(("client", id)) => clients.push(id.parse().unwrap()),
            Some(("note", n)) => last_note = Some(n.parse().unwrap()),
            _ => panic!("unexpected line {line:?}"),
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    (clients, last_note)
}

#[test]
fn every_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    // Several rounds: each kills the writer at a different point of its stream.
    for acks in [7, 60, 131, 250] {
        let (clients, last_note) = kill_after(dir.path(), acks);
        let book = Book::open(dir.path(), Options::default()).unwrap();
        for id in &clients {
            let c = book
                .client(id)
                .unwrap_or_else(|e| panic!("acknowledged {id} lost: {e}"));
            assert!(c.display_name().starts_with("Crash Test"));
        }
        if let (Some(first), Some(n)) = (clients.first(), last_note) {
            let notes: u64 = book.client(first).unwrap().notes.parse().unwrap();
            // The last acknowledged edit is there; one more may have landed before the kill.
            assert!(notes == n || notes == n + 1, "notes {notes}, last ack {n}");
        }
        all.extend(clients);
        // The index agrees with the documents: every client listed, none half-indexed.
        let listed = book.list(&Filter::default(), Page::default());
        for id in &all {
            assert!(
                listed.iter().any(|s| &s.id == id),
                "{id} missing from the index"
            );
        }
        let docs = book.documents().unwrap();
        let clients_stored = docs.iter().filter(|(_, k)| k == "client").count();
        assert_eq!(clients_stored, listed.len());
    }
}
