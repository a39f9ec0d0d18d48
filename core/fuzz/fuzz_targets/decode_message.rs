//! Fuzzes the protocol decoder: no input may panic it, and whatever decodes re-encodes to a
//! frame that decodes to the same message. Run with `cargo fuzz run decode_message` in core/.
#![no_main]

use fiche_core::protocol::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        let again = Message::decode(&message.encode());
        assert_eq!(again.as_ref(), Ok(&message));
    }
});
