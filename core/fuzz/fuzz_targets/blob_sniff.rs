//! Fuzzes what the server and devices do with the bytes of an uploaded file: the kind sniffer
//! (which decides what is accepted) and, for what it takes as a photo, the preview decoder.
#![no_main]

use std::io::Cursor;

use fiche_core::blob::{sniff, thumbnail};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(kind) = sniff::media_type(data) else {
        return;
    };
    if thumbnail::can_preview(kind) {
        if let Some(jpeg) = thumbnail::make(Cursor::new(data)) {
            assert_eq!(sniff::media_type(&jpeg), Some("image/jpeg"));
        }
    }
});
