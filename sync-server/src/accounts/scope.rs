//! Each organisation's own ids for the well-known documents (its directory, its settings)
//! and for each member's directory.
//!
//! They are derived from the well-known id, the organisation and a key of the organisation
//! (32 random bytes kept in its record, `Org::key`), so another organisation cannot compute
//! them, let alone write under them, before they exist. An organisation created before keys
//! existed has none and keeps the unkeyed ids its documents already live under; the server
//! claims those at every start (`access::Owners::load`), so nobody can plant a document under
//! them, and gives the organisation a key (fresh ids) when one of them is found holding another
//! organisation's document.

use std::sync::Arc;

use fiche_core::directory::{directory_id, settings_id};
use fiche_core::store::Write;
use fiche_core::{key, DocumentId};
use sha2::{Digest, Sha256};

use super::OPEN_ORG;

/// An organisation's key for its derived ids.
pub type ScopeKey = [u8; 32];

/// How one organisation's derived ids are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    org: Arc<str>,
    key: Option<ScopeKey>,
}

/// The store entry that records `org` as the owner of `id` (read by `access::Owners`).
pub fn owner_entry(id: DocumentId, org: &str) -> Write {
    Write::Put(key!["_owner", id], org.as_bytes().to_vec())
}

fn derive(key: Option<&ScopeKey>, name: &str, id: DocumentId) -> DocumentId {
    let hasher = match key {
        Some(key) => Sha256::new()
            .chain_update(b"fiche-keyed-document\0")
            .chain_update(key),
        None => Sha256::new().chain_update(b"fiche-scoped-document\0"),
    };
    let digest = hasher
        .chain_update(name.as_bytes())
        .chain_update([0])
        .chain_update(id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // A valid version-4 UUID, like every other document id.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DocumentId::from_bytes(bytes)
}

impl Scope {
    pub fn new(org: Arc<str>, key: Option<ScopeKey>) -> Self {
        Self { org, key }
    }

    /// Everyone's on a `--no-auth` server: the well-known ids themselves.
    pub fn open() -> Self {
        Self::new(Arc::from(OPEN_ORG), None)
    }

    pub fn org(&self) -> &Arc<str> {
        &self.org
    }

    pub fn key(&self) -> Option<ScopeKey> {
        self.key
    }

    fn is_open(&self) -> bool {
        *self.org == *OPEN_ORG
    }

    /// The id under which the server keeps `id` for this organisation: the well-known
    /// documents get one of their own; every other id is itself.
    pub fn id(&self, id: DocumentId) -> DocumentId {
        if self.is_open() || (id != directory_id() && id != settings_id()) {
            return id;
        }
        derive(self.key.as_ref(), &self.org, id)
    }

    /// A member's own directory: what a technician discovers (the records assigned to them).
    pub fn member_directory(&self, member: &str) -> DocumentId {
        let name = format!("{}\0member\0{member}", self.org);
        derive(self.key.as_ref(), &name, directory_id())
    }

    /// Every id derived for the organisation and `members`.
    pub fn derived<'a>(&self, members: impl IntoIterator<Item = &'a str>) -> Vec<DocumentId> {
        if self.is_open() {
            return Vec::new();
        }
        [self.id(directory_id()), self.id(settings_id())]
            .into_iter()
            .chain(members.into_iter().map(|m| self.member_directory(m)))
            .collect()
    }

    /// The entries that claim the ids derived for the organisation and `members`.
    pub fn claims<'a>(&self, members: impl IntoIterator<Item = &'a str>) -> Vec<Write> {
        self.derived(members)
            .into_iter()
            .map(|id| owner_entry(id, &self.org))
            .collect()
    }
}

/// A key in its stored form (hex), and back.
pub fn key_to_hex(key: &ScopeKey) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn key_from_hex(hex: &str) -> Option<ScopeKey> {
    let mut key = [0u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(org: &str, key: Option<u8>) -> Scope {
        Scope::new(Arc::from(org), key.map(|k| [k; 32]))
    }

    #[test]
    fn an_organisation_without_a_key_keeps_the_ids_its_documents_live_under() {
        // The ids a store written before keys holds acme's documents under.
        let legacy = scope("acme", None);
        let ids = [
            legacy.id(settings_id()),
            legacy.id(directory_id()),
            legacy.member_directory("m1"),
        ];
        let ids: Vec<String> = ids.iter().map(DocumentId::to_string).collect();
        assert_eq!(
            ids,
            [
                "44F88ko1xgZyzvkx6o2PKLr9a4PY",
                "MKs2kS1AXPZjE2DW3mbTpGvbUSg",
                "4KU5WdpoMUXCF2fZXUiGmAr4dWc3"
            ]
        );
    }

    #[test]
    fn a_key_changes_every_derived_id_and_records_keep_theirs() {
        let (legacy, keyed, other) = (
            scope("acme", None),
            scope("acme", Some(1)),
            scope("acme", Some(2)),
        );
        for (a, b) in [(&legacy, &keyed), (&keyed, &other)] {
            assert_ne!(a.id(settings_id()), b.id(settings_id()));
            assert_ne!(a.id(directory_id()), b.id(directory_id()));
            assert_ne!(a.member_directory("m1"), b.member_directory("m1"));
        }
        let record = DocumentId::from_bytes([7; 16]);
        assert_eq!(keyed.id(record), record);
        assert_eq!(Scope::open().id(settings_id()), settings_id());
        assert_eq!(keyed.derived(["m1", "m2"]).len(), 4);
    }

    #[test]
    fn keys_read_back_as_written() {
        let key = [0xa5; 32];
        assert_eq!(key_from_hex(&key_to_hex(&key)), Some(key));
        assert_eq!(key_from_hex("zz"), None);
        assert_eq!(key_from_hex(&"é".repeat(32)), None);
    }
}
