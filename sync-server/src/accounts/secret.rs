//! Device tokens and enrolment codes: random secrets, kept on the server only as hashes.

use sha2::{Digest, Sha256};

/// Letters that cannot be mistaken for one another when read out or typed (no I, L, O, U).
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The operating system's generator failed: no secret can be made.
#[derive(Debug, thiserror::Error)]
#[error("no random numbers from the operating system: {0}")]
pub struct NoRandom(getrandom::Error);

fn random<const N: usize>() -> Result<[u8; N], NoRandom> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(NoRandom)?;
    Ok(bytes)
}

/// A device token: 256 random bits, as `fiche_` and 64 hex digits.
pub fn new_token() -> Result<String, NoRandom> {
    let bytes: [u8; 32] = random()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("fiche_{hex}"))
}

/// A key for an organisation's derived document ids (`scope`).
pub fn new_scope_key() -> Result<[u8; 32], NoRandom> {
    random()
}

/// An enrolment code to read out or type: 60 random bits as `XXXX-XXXX-XXXX` (short-lived
/// and tried at a slowed-down rate, so this is plenty).
pub fn new_code() -> Result<String, NoRandom> {
    let bytes: [u8; 12] = random()?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The stored form of a device token: its SHA-256, in hex.
pub fn hash_token(token: &str) -> String {
    sha256_hex(token)
}

/// The stored form of an enrolment code: the SHA-256 of its letters and digits, whatever the
/// dashes, spaces or case it was typed with.
pub fn hash_code(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    sha256_hex(&normal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() -> Result<(), NoRandom> {
        let (a, b) = (new_token()?, new_token()?);
        assert_eq!(a.len(), 6 + 64);
        assert_ne!(a, b);
        Ok(())
    }

    #[test]
    fn codes_match_however_typed() -> Result<(), NoRandom> {
        let code = new_code()?;
        assert_eq!(code.len(), 14);
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(hash_code(&code), hash_code(&typed));
        assert_ne!(hash_code(&code), hash_code(&new_code()?));
        Ok(())
    }
}
