//! Document ids: 16 random bytes (a UUID), written as bs58check like automerge-repo's `DocumentId`.

use std::fmt;
use std::str::FromStr;

/// The id of one Automerge document (a client record or the organisation settings).
///
/// Its text form is the bs58check encoding of the 16 bytes, so `automerge:<id>` is a URL the
/// automerge-repo JavaScript packages understand.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(uuid::Uuid);

/// The longest text a document id is: bs58check of 16 bytes is 20 bytes, at most 28 base58
/// characters, after an optional `automerge:` prefix.
pub const MAX_ID_TEXT: usize = "automerge:".len() + 28;

/// How much of a text an error or a log line quotes: enough to recognise it, never more.
pub const QUOTED: usize = 40;

/// The first [`QUOTED`] characters of `text` (with `…` when there was more): what errors and
/// logs show of input they refuse, so a huge field never becomes a huge message.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Why a text is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a document id: {reason}")]
pub struct BadDocumentId {
    input: String,
    reason: &'static str,
}

impl DocumentId {
    /// A fresh random id.
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    pub fn uuid(&self) -> uuid::Uuid {
        self.0
    }

    /// `automerge:<id>`.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0.as_bytes()).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = BadDocumentId;

    /// Accepts the bare id or an `automerge:` URL. A text longer than any id is refused before
    /// any decoding: base58 decoding takes time quadratic in the length.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| BadDocumentId {
            input: excerpt(s),
            reason,
        };
        // Room for the spaces `trim` takes away, no more.
        if s.len() > 2 * MAX_ID_TEXT {
            return Err(bad("it is longer than any document id"));
        }
        let text = s.trim();
        let text = text.strip_prefix("automerge:").unwrap_or(text);
        let bytes = bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|_| bad("not bs58check (a typo, or a truncated id?)"))?;
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| bad("it does not hold 16 bytes"))?;
        Ok(Self::from_bytes(bytes))
    }
}

impl serde::Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_url() {
        let id = DocumentId::random();
        assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        assert_eq!(id.url().parse::<DocumentId>(), Ok(id));
    }

    #[test]
    fn refuses_typos_and_wrong_lengths() {
        let id = DocumentId::random().to_string();
        let mut typo = id.clone().into_bytes();
        typo[3] = if typo[3] == b'2' { b'3' } else { b'2' };
        let typo = String::from_utf8(typo).unwrap();
        assert!(typo.parse::<DocumentId>().is_err());
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        let err = short.parse::<DocumentId>().unwrap_err();
        assert!(err.to_string().contains("16 bytes"), "{err}");
        assert!("".parse::<DocumentId>().is_err());
        assert!("0OIl".parse::<DocumentId>().is_err());
    }

    #[test]
    fn the_longest_ids_fit_the_limit() {
        for bytes in [[0xffu8; 16], [0u8; 16]] {
            let id = DocumentId::from_bytes(bytes);
            assert!(id.url().len() <= MAX_ID_TEXT, "{}", id.url());
            assert_eq!(id.url().parse::<DocumentId>(), Ok(id));
        }
    }

    #[test]
    fn a_long_run_of_base58_is_refused_at_once_and_quoted_short() {
        let long = "2".repeat(1 << 20);
        let started = std::time::Instant::now();
        let err = long.parse::<DocumentId>().unwrap_err();
        // Decoding it took minutes; refusing it takes no time at all.
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
        assert!(err.to_string().len() < 200, "{err}");
        assert!(
            err.to_string().contains("longer than any document id"),
            "{err}"
        );
    }
}
