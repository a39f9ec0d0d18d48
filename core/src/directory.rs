//! The organisation's directory: one Automerge document that lists every record (id → kind),
//! so that a fresh device learns what exists and fetches it all at once.
//!
//! Its id is well known ([`directory_id`]), so every peer — a Fiche device, the Fiche server, an
//! official JavaScript automerge-repo client, or a plain JavaScript sync server in between —
//! finds the same document without being told. Entries live directly under the root (key: the
//! document id, value: its kind), never in a nested map: peers that create the directory
//! independently then merge into one list instead of hiding each other's map.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, ReadDoc, ScalarValue, Value, ROOT};

use crate::error::Result;
use crate::id::DocumentId;
use crate::schema::{self, Kind};

/// The directory's id: a fixed, valid version-4 UUID.
pub fn directory_id() -> DocumentId {
    DocumentId::from_bytes([
        0x5f, 0x1c, 0x4e, 0x00, 0xd1, 0x4e, 0x4c, 0x70, 0x8a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01,
    ])
}

/// The organisation settings' id: fixed too, so every device edits the same document.
pub fn settings_id() -> DocumentId {
    DocumentId::from_bytes([
        0x5f, 0x1c, 0x4e, 0x00, 0xd1, 0x4e, 0x4c, 0x70, 0x8a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02,
    ])
}

/// The documents a directory lists, with their kind (`client`, `contact`, `settings`, or
/// another peer's kind, or `""` when the document has none).
pub fn entries<D: ReadDoc>(doc: &D) -> BTreeMap<DocumentId, String> {
    doc.map_range(ROOT, ..)
        .filter_map(|item| {
            let id: DocumentId = item.key.parse().ok()?;
            let value: Value<'static> = item.value.into();
            let kind = match value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Str(s) => s.to_string(),
                    _ => String::new(),
                },
                Value::Object(_) => String::new(),
            };
            Some((id, kind))
        })
        .collect()
}

/// Whether the directory lists `id`.
pub fn lists<D: ReadDoc>(doc: &D, id: &DocumentId) -> bool {
    doc.get(ROOT, id.to_string()).ok().flatten().is_some()
}

/// Adds the entries the directory does not list yet, in one change; returns how many were
/// added (0 writes nothing). A directory without its envelope gets one.
pub fn add(
    doc: &mut Automerge,
    new: impl IntoIterator<Item = (DocumentId, String)>,
    message: &str,
) -> Result<usize> {
    let missing: Vec<_> = new.into_iter().filter(|(id, _)| !lists(doc, id)).collect();
    let stamp = schema::kind_of(doc) != Some(Kind::Directory);
    if missing.is_empty() && !stamp {
        return Ok(0);
    }
    let mut tx = doc.transaction();
    if stamp {
        schema::stamp(&mut tx, Kind::Directory)?;
    }
    for (id, kind) in &missing {
        tx.put(ROOT, id.to_string(), kind.as_str())?;
    }
    tx.commit_with(CommitOptions::default().with_message(message));
    Ok(missing.len())
}

/// Removes entries, in one change; returns how many were listed (0 writes nothing). A
/// server uses it to take a record out of what a member may discover.
pub fn remove(
    doc: &mut Automerge,
    gone: impl IntoIterator<Item = DocumentId>,
    message: &str,
) -> Result<usize> {
    let listed: Vec<_> = gone.into_iter().filter(|id| lists(doc, id)).collect();
    if listed.is_empty() {
        return Ok(0);
    }
    let mut tx = doc.transaction();
    for id in &listed {
        tx.delete(ROOT, id.to_string())?;
    }
    tx.commit_with(CommitOptions::default().with_message(message));
    Ok(listed.len())
}

/// A new, empty directory written by `actor`.
pub fn create(actor: ActorId) -> Result<Automerge> {
    let mut doc = Automerge::new().with_actor(actor);
    add(&mut doc, [], "directory")?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_a_valid_v4_uuid() {
        let id = directory_id();
        assert_eq!(id.uuid().get_version_num(), 4);
        assert_eq!(id.uuid().get_variant(), uuid::Variant::RFC4122);
        assert_eq!(id.to_string().parse::<DocumentId>().ok(), Some(id));
    }

    #[test]
    fn removed_entries_leave_the_list() {
        let (a, b) = (DocumentId::random(), DocumentId::random());
        let mut dir = create(ActorId::random()).unwrap();
        add(&mut dir, [(a, "client".into()), (b, "client".into())], "t").unwrap();
        assert_eq!(remove(&mut dir, [a, DocumentId::random()], "t").unwrap(), 1);
        assert_eq!(entries(&dir).into_keys().collect::<Vec<_>>(), [b]);
        assert_eq!(remove(&mut dir, [a], "t").unwrap(), 0);
    }

    #[test]
    fn directories_made_apart_merge_into_one_list() {
        let (a, b) = (DocumentId::random(), DocumentId::random());
        let mut one = create(ActorId::random()).unwrap();
        let mut two = create(ActorId::random()).unwrap();
        add(&mut one, [(a, "client".to_string())], "t").unwrap();
        add(&mut two, [(b, "contact".to_string())], "t").unwrap();
        one.merge(&mut two).unwrap();
        let listed = entries(&one);
        assert_eq!(listed.get(&a).map(String::as_str), Some("client"));
        assert_eq!(listed.get(&b).map(String::as_str), Some("contact"));
        assert_eq!(listed.len(), 2, "kind and schema are not entries");
        assert_eq!(add(&mut one, [(a, "client".to_string())], "t").unwrap(), 0);
    }
}
