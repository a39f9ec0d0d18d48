//! Fuzzes what a peer's `sync` payload reaches past the frame decoder: the Automerge sync
//! message, applied to a document, then the document read as a client record (a peer may
//! send any document under any id). Nothing may panic.
#![no_main]

use automerge::sync::{self, SyncDoc};
use automerge::Automerge;
use fiche_core::model::Client;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = sync::Message::decode(data) else {
        return;
    };
    let mut doc = Automerge::new();
    let mut state = sync::State::new();
    if doc.receive_sync_message(&mut state, message).is_ok() {
        let _ = fiche_core::record::read::<Client>(&doc);
        let _ = fiche_core::schema::kind_of(&doc);
        let _ = doc.generate_sync_message(&mut state);
    }
});
