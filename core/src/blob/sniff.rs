//! What a blob is, told from its first bytes (never from a file name or a client's word), and
//! which kinds Fiche accepts: photos, signatures, documents and saved e-mails.

/// Bytes enough to tell every accepted kind apart.
pub const SNIFF_BYTES: usize = 64;

/// The media type of content starting with `head`, if it is one Fiche accepts.
///
/// Accepted: JPEG, PNG, GIF, WebP, HEIC/HEIF (photos and signatures), PDF, and plain text or
/// saved e-mails (`message/rfc822`) in UTF-8. Anything else (executables, archives, office
/// files with macros, unknown binary) is `None`.
pub fn media_type(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" => Some("image/heic"),
            b"mif1" | b"msf1" => Some("image/heif"),
            _ => None,
        };
    }
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    text(head)
}

/// Text: valid UTF-8 (allowing a character cut at the end of `head`) with no control bytes
/// but tabs and line ends; a saved e-mail when it starts with mail headers.
fn text(head: &[u8]) -> Option<&'static str> {
    if head.is_empty() {
        return None;
    }
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut by the end of the sniffed bytes is fine.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    if valid.is_empty() {
        return None;
    }
    if valid
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return None;
    }
    if valid.starts_with("#!") {
        // A script is text, but not something a client file should be.
        return None;
    }
    const MAIL: [&str; 6] = [
        "From:",
        "Return-Path:",
        "Received:",
        "MIME-Version:",
        "Date:",
        "Message-ID:",
    ];
    if MAIL.iter().any(|h| valid.starts_with(h)) {
        return Some("message/rfc822");
    }
    Some("text/plain")
}

#[cfg(test)]
mod tests {
    use super::media_type;

    #[test]
    fn tells_kinds_from_bytes() {
        let cases: [(&[u8], Option<&str>); 12] = [
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some("image/jpeg")),
            (b"\x89PNG\r\n\x1a\n\x00\x00", Some("image/png")),
            (b"GIF89a....", Some("image/gif")),
            (b"RIFF\x00\x00\x00\x00WEBPVP8 ", Some("image/webp")),
            (b"\x00\x00\x00\x18ftypheic\x00\x00", Some("image/heic")),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"From: marie@example.fr\r\n", Some("message/rfc822")),
            ("Notes: café crème".as_bytes(), Some("text/plain")),
            (b"MZ\x90\x00\x03\x00\x00\x00", None),
            (b"\x7fELF\x02\x01\x01", None),
            (b"#!/bin/sh\nrm -rf /", None),
            (b"PK\x03\x04\x14\x00", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(media_type(bytes), expected, "{bytes:?}");
        }
        // A character cut at the end of the sniffed bytes is still text.
        assert_eq!(media_type(&"é".as_bytes()[..1]), None);
        assert_eq!(media_type(&"aé".as_bytes()[..2]), Some("text/plain"));
    }
}
