//! Documents that a Fiche server sent whole with a preview (see [`crate::preview`]), filed as
//! they came, without being loaded, on the thread that prepares received batches: how a fresh
//! device takes in thousands of records quickly. Anything else is applied as usual.

use std::collections::HashMap;

use automerge::ChangeHash;

use super::{Note, Session};
use crate::book::{Absorbed, Book};
use crate::error::Result;
use crate::id::DocumentId;
use crate::preview::Whole;

/// A document of a received batch, filed as it came.
#[derive(Debug)]
pub(super) struct Filed {
    id: DocumentId,
    heads: Vec<ChangeHash>,
    outcome: Absorbed,
}

/// Files the whole documents of a batch (`(index in the batch, the server's peer id, the
/// document)`) in one durable write; returns what became of each, by index. A document the
/// book turned out to hold is left out: its message is then applied as usual.
pub(super) fn file(
    book: &Book,
    wholes: Vec<(usize, String, Whole)>,
) -> Result<HashMap<usize, Filed>> {
    let mut by_peer: HashMap<String, Vec<(usize, Whole)>> = HashMap::new();
    for (i, peer, whole) in wholes {
        by_peer.entry(peer).or_default().push((i, whole));
    }
    let mut filed = HashMap::new();
    for (peer, batch) in by_peer {
        let (indexes, wholes): (Vec<usize>, Vec<Whole>) = batch.into_iter().unzip();
        let keys: Vec<(DocumentId, Vec<ChangeHash>)> =
            wholes.iter().map(|w| (w.id, w.heads.clone())).collect();
        let outcomes = book.file_whole(wholes, &peer)?;
        for ((i, (id, heads)), outcome) in indexes.into_iter().zip(keys).zip(outcomes) {
            if !matches!(outcome, Absorbed::Unchanged) {
                filed.insert(i, Filed { id, heads, outcome });
            }
        }
    }
    Ok(filed)
}

impl Session {
    /// Takes note of a document filed whole: this side now holds exactly its heads, and later
    /// messages about it load the filed copy.
    pub(super) fn filed(&mut self, filed: Filed) -> Option<Note> {
        let Filed { id, heads, outcome } = filed;
        // An empty copy a request may have been made with.
        self.docs.slots.remove(&id);
        self.dirty.remove(&id);
        self.rounds.remove(&id);
        self.soft.remove(&id);
        self.pending.remove(&id);
        match outcome {
            Absorbed::Written { kind, .. } => {
                self.conn.filed_whole(id, heads);
                self.settled.insert(id);
                Some(Note::Filed { id, kind })
            }
            Absorbed::Unchanged => None,
            Absorbed::Refused(e) => {
                self.conn.forget(&id);
                self.known.remove(&id);
                Some(Note::Skipped {
                    id,
                    reason: e.to_string(),
                })
            }
        }
    }
}
