//! What a device that has none of a record gets, kept in the store beside the record
//! (`[id, "fresh"]`, written with each version), so that it is answered without loading the
//! record, after a restart or once the record left memory: the answer to its request, less
//! the record's bytes (read from the store as they are), the sync state that answer leaves,
//! and the record's preview.

use std::collections::BTreeSet;

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash};
use fiche_core::protocol::Preview;
use fiche_core::store::Store;
use fiche_core::{docstore, key, DocumentId};

/// Layout of the stored bytes; anything else is ignored (the record is then loaded).
const VERSION: u8 = 1;

/// An answer prepared for the first message of a device that has none of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub heads: Vec<ChangeHash>,
    pub data: Vec<u8>,
    pub state: sync::State,
}

/// The answer to a fresh request for `doc`.
pub fn prepare(doc: &mut Automerge, request: &[u8]) -> Option<Answer> {
    let mut state = sync::State::new();
    let message = sync::Message::decode(request).ok()?;
    // A request with no heads and no changes leaves the document as it is.
    doc.receive_sync_message(&mut state, message).ok()?;
    let data = doc.generate_sync_message(&mut state)?.encode();
    Some(Answer {
        heads: doc.get_heads(),
        data,
        state,
    })
}

/// What the store keeps for fresh devices about a document, if it is of the version stored.
/// A read that fails counts as nothing kept: the caller goes the slow way (loading the
/// document), which reports the failure.
pub fn read(store: &dyn Store, id: &DocumentId) -> Option<Kept> {
    let kept = Kept::decode(&store.get(&key![id, "fresh"]).ok()??)?;
    let stored = docstore::heads(store, id).ok()??;
    (stored == kept.heads).then_some(kept)
}

/// What is stored: enough to rebuild an [`Answer`] from the record's stored chunks.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub heads: Vec<ChangeHash>,
    /// The answer's sync message without its changes.
    stripped: Vec<u8>,
    /// The changes the answer sent (the state remembers them).
    sent: Vec<ChangeHash>,
    pub preview: Preview,
}

impl Kept {
    pub fn new(answer: &Answer, preview: Preview) -> Option<Self> {
        let mut message = sync::Message::decode(&answer.data).ok()?;
        message.changes = sync::ChunkList::empty();
        Some(Self {
            heads: answer.heads.clone(),
            stripped: message.encode(),
            sent: answer.state.sent_hashes.iter().copied().collect(),
            preview,
        })
    }

    /// The answer again, with the record's stored chunks as its changes; `request` is the
    /// fresh request it answers (the state begins from it).
    pub fn answer(&self, chunks: Vec<Vec<u8>>, request: &[u8]) -> Option<Answer> {
        let mut message = sync::Message::decode(&self.stripped).ok()?;
        message.changes = sync::ChunkList::from(chunks);
        let mut state = sync::State::new();
        Automerge::new()
            .receive_sync_message(&mut state, sync::Message::decode(request).ok()?)
            .ok()?;
        state.have_responded = true;
        state.in_flight = true;
        state.last_sent_heads = self.heads.clone();
        state.sent_hashes = self.sent.iter().copied().collect::<BTreeSet<_>>();
        Some(Answer {
            heads: self.heads.clone(),
            data: message.encode(),
            state,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        put_hashes(&mut out, &self.heads);
        put_hashes(&mut out, &self.sent);
        put_bytes(&mut out, &self.stripped);
        out.extend_from_slice(&self.preview.format.to_le_bytes());
        put_bytes(&mut out, self.preview.kind.as_bytes());
        put_bytes(&mut out, &self.preview.index);
        out
    }

    /// `None` for bytes of another layout or cut short.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.take(1)? != [VERSION] {
            return None;
        }
        let heads = r.hashes()?;
        let sent = r.hashes()?;
        let stripped = r.bytes()?.to_vec();
        let format = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let kind = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let index = r.bytes()?.to_vec();
        r.0.is_empty().then_some(Self {
            heads,
            stripped,
            sent,
            preview: Preview {
                format,
                kind,
                index,
            },
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_hashes(out: &mut Vec<u8>, hashes: &[ChangeHash]) {
    out.extend_from_slice(&(hashes.len() as u32).to_le_bytes());
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn len(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }

    fn hashes(&mut self) -> Option<Vec<ChangeHash>> {
        let n = self.len()?;
        let bytes = self.take(n.checked_mul(32)?)?;
        bytes
            .chunks(32)
            .map(|c| ChangeHash::try_from(c).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::ROOT;

    fn request() -> Vec<u8> {
        Automerge::new()
            .generate_sync_message(&mut sync::State::new())
            .map(|m| m.encode())
            .unwrap_or_default()
    }

    fn preview() -> Preview {
        Preview {
            format: 1,
            kind: "client".into(),
            index: b"{\"name\":\"Ana\"}".to_vec(),
        }
    }

    fn doc(edits: usize) -> Automerge {
        let mut doc = Automerge::new();
        for i in 0..edits {
            let mut tx = doc.transaction();
            tx.put(ROOT, "name", format!("Ana {i}")).unwrap();
            tx.commit();
        }
        doc
    }

    #[test]
    fn an_answer_rebuilt_from_the_stored_save_is_the_one_made_from_the_document() {
        let mut doc = doc(3);
        let made = prepare(&mut doc, &request()).unwrap();
        let kept = Kept::decode(&Kept::new(&made, preview()).unwrap().encode()).unwrap();
        assert_eq!(kept.preview, preview());
        let rebuilt = kept.answer(vec![doc.save()], &request()).unwrap();
        assert_eq!(rebuilt, made);
    }

    #[test]
    fn an_answer_from_a_snapshot_and_changes_after_it_brings_the_whole_document() {
        let mut doc = doc(2);
        let snapshot = doc.save();
        let before = doc.get_heads();
        let mut tx = doc.transaction();
        tx.put(ROOT, "city", "Cluj").unwrap();
        tx.commit();
        let after = doc.save_after(&before);
        let made = prepare(&mut doc, &request()).unwrap();
        let kept = Kept::new(&made, preview()).unwrap();
        let rebuilt = kept.answer(vec![snapshot, after], &request()).unwrap();
        assert_eq!(rebuilt.state, made.state);
        let mut fresh = Automerge::new();
        let mut state = sync::State::new();
        fresh
            .receive_sync_message(&mut state, sync::Message::decode(&rebuilt.data).unwrap())
            .unwrap();
        assert_eq!(fresh.get_heads(), doc.get_heads());
    }

    #[test]
    fn bytes_of_another_layout_or_cut_short_are_not_read() {
        let bytes = Kept::new(&prepare(&mut doc(1), &request()).unwrap(), preview())
            .unwrap()
            .encode();
        assert!(Kept::decode(&bytes[..bytes.len() - 1]).is_none());
        let mut other = bytes.clone();
        other[0] = VERSION + 1;
        assert!(Kept::decode(&other).is_none());
        assert!(Kept::decode(&[]).is_none());
    }
}
