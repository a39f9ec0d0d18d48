//! Acknowledging a peer that holds exactly what this side holds, without the document: the
//! sync state moved as Automerge's `receive_sync_message` then `generate_sync_message` would
//! move it, when both can be told from the heads alone (a server answers the reply of every
//! device it just filled this way, instead of loading each record).

use automerge::sync::{self, Capability, MessageFlags};
use automerge::ChangeHash;

/// Applies `message` to `state` when it says the peer holds exactly `ours` (the document's
/// heads), carries no changes and needs nothing, and the peer was already answered: then
/// nothing is to be sent back. Returns `false`, with `state` untouched, whenever the document
/// itself would be needed to tell.
pub fn acknowledge(state: &mut sync::State, message: &sync::Message, ours: &[ChangeHash]) -> bool {
    let sorted = |h: &[ChangeHash]| {
        let mut h = h.to_vec();
        h.sort();
        h
    };
    let ours = ours.to_vec();
    let ours_sorted = sorted(&ours);
    let plain = !ours.is_empty()
        && message.changes.is_empty()
        && message.need.is_empty()
        // In Automerge's own order: a peer listing them otherwise is answered by the document.
        && message.heads == ours
        // Every bloom filter starts at our heads, so there is nothing after it to look up.
        && message.have.iter().all(|h| sorted(&h.last_sync) == ours_sorted)
        && state.have_responded
        && !state.read_only
        && !state.needs_reset;
    if !plain {
        return false;
    }
    state.in_flight = false;
    if let Some(flags) = message.flags {
        let mut caps = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            caps.push(Capability::SyncReset);
        }
        state.their_capabilities = Some(caps);
        state.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    // They have every change we have: none we sent is still unseen.
    state.sent_hashes.clear();
    state.last_sent_heads.clone_from(&ours);
    state.shared_heads.clone_from(&ours);
    state.their_have = Some(message.have.clone());
    state.their_heads = Some(ours);
    state.their_need = Some(Vec::new());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;
    use automerge::{Automerge, ROOT};

    fn card() -> Automerge {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        tx.put(ROOT, "name", "Ana Pop").unwrap();
        tx.commit();
        doc
    }

    /// The server's state after answering a fresh peer, and the peer's reply to that answer.
    fn answered() -> (Automerge, sync::State, sync::Message) {
        let server = card();
        let mut peer = Automerge::new();
        let (mut ps, mut ss) = (sync::State::new(), sync::State::new());
        let request = peer.generate_sync_message(&mut ps).unwrap();
        let mut s = server.clone();
        s.receive_sync_message(&mut ss, request).unwrap();
        let answer = s.generate_sync_message(&mut ss).unwrap();
        peer.receive_sync_message(&mut ps, answer).unwrap();
        let reply = peer.generate_sync_message(&mut ps).unwrap();
        (server, ss, reply)
    }

    #[test]
    fn a_peer_filled_by_the_answer_is_acknowledged_as_automerge_would() {
        let (mut server, state, reply) = answered();
        let mut by_doc = state.clone();
        server
            .receive_sync_message(&mut by_doc, reply.clone())
            .unwrap();
        assert!(server.generate_sync_message(&mut by_doc).is_none());
        let mut by_heads = state;
        assert!(acknowledge(&mut by_heads, &reply, &server.get_heads()));
        assert_eq!(by_heads.encode(), by_doc.encode());
        assert_eq!(by_heads.shared_heads, by_doc.shared_heads);
        assert_eq!(by_heads.their_heads, by_doc.their_heads);
        assert_eq!(by_heads.their_need, by_doc.their_need);
        assert_eq!(by_heads.their_have, by_doc.their_have);
        assert_eq!(by_heads.sent_hashes, by_doc.sent_hashes);
        assert_eq!(by_heads.last_sent_heads, by_doc.last_sent_heads);
        assert_eq!(by_heads.in_flight, by_doc.in_flight);
        assert_eq!(by_heads.their_capabilities, by_doc.their_capabilities);
        assert_eq!(by_heads.peer_read_only, by_doc.peer_read_only);
        // And the next change reaches the peer the same way from either state.
        let mut tx = server.transaction();
        tx.put(ROOT, "city", "Cluj").unwrap();
        tx.commit();
        let a = server.generate_sync_message(&mut by_heads).unwrap();
        let b = server.generate_sync_message(&mut by_doc).unwrap();
        assert_eq!(a.encode(), b.encode());
    }

    #[test]
    fn a_peer_behind_ahead_or_asking_is_left_to_the_document() {
        let (mut server, state, reply) = answered();
        let heads = server.get_heads();
        // The peer has changes we lack.
        let mut ahead = reply.clone();
        ahead.heads = vec![ChangeHash([7; 32])];
        // The peer needs something.
        let mut asking = reply.clone();
        asking.need = heads.clone();
        // We moved on since.
        let mut tx = server.transaction();
        tx.put(ROOT, "city", "Iasi").unwrap();
        tx.commit();
        for (message, ours) in [
            (&ahead, heads.clone()),
            (&asking, heads.clone()),
            (&reply, server.get_heads()),
        ] {
            let mut s = state.clone();
            assert!(!acknowledge(&mut s, message, &ours));
            assert_eq!(s.encode(), state.encode());
            assert_eq!(s.in_flight, state.in_flight);
        }
        // Never answered yet: Automerge would still send our heads once.
        let mut fresh = sync::State::new();
        assert!(!acknowledge(&mut fresh, &reply, &heads));
    }
}
