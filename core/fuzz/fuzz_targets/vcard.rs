//! Fuzzes the vCard reader (`fiche import --format vcard`, files users bring from elsewhere):
//! no input may panic it, and whatever card it reads can be written out and read again.
#![no_main]

use fiche_core::exchange::vcard;
use fiche_core::DocumentId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for parsed in vcard::parse(&text) {
        if let Ok(client) = parsed.result {
            let card = vcard::export(&client, &DocumentId::from_bytes([7; 16]));
            assert_eq!(vcard::parse(&card).len(), 1, "{card}");
        }
    }
});
