//! The document envelope (`kind`, `schema`) and the upgrade path between schema versions.
//!
//! Every Fiche document has two root keys besides its content: `kind` (`client`, `contact`,
//! `settings`, `directory`) and `schema`, the version of the layout it was written with. Upgrades touch only
//! the keys they know about, so fields added by a newer app survive an older one, and fields an
//! upgrade does not know survive it.

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ScalarValue, Value, ROOT};

use crate::error::{Error, Result};

/// The layout this build writes.
pub const SCHEMA_VERSION: u64 = 2;

/// Which kind of record a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Client,
    Contact,
    Settings,
    /// The organisation's list of documents (see `directory`).
    Directory,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Contact => "contact",
            Kind::Settings => "settings",
            Kind::Directory => "directory",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Kind::Client, Kind::Contact, Kind::Settings, Kind::Directory]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

fn root_str<D: ReadDoc>(doc: &D, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The kind written in a document, if any.
pub fn kind_of<D: ReadDoc>(doc: &D) -> Option<Kind> {
    root_str(doc, "kind").and_then(|s| Kind::parse(&s))
}

/// The schema version written in a document; documents from before versioning count as 1.
pub fn version_of<D: ReadDoc>(doc: &D) -> u64 {
    match doc.get(ROOT, "schema") {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Uint(v) => *v,
            ScalarValue::Int(v) => u64::try_from(*v).unwrap_or(1),
            ScalarValue::F64(v) if *v >= 1.0 => *v as u64,
            _ => 1,
        },
        _ => 1,
    }
}

/// Writes the envelope of a new document.
pub fn stamp<T: Transactable>(tx: &mut T, kind: Kind) -> Result<()> {
    tx.put(ROOT, "kind", kind.as_str())?;
    tx.put(ROOT, "schema", SCHEMA_VERSION)?;
    Ok(())
}

/// Whether [`upgrade`] has anything to do.
pub fn needs_upgrade<D: ReadDoc>(doc: &D) -> bool {
    version_of(doc) < SCHEMA_VERSION
}

/// Brings a document written with an older layout up to [`SCHEMA_VERSION`], in place.
///
/// Documents written by a newer app are left as they are: this build reads the fields it knows
/// and keeps the others untouched when it edits.
pub fn upgrade<T: Transactable + ReadDoc>(tx: &mut T) -> Result<()> {
    let mut version = version_of(tx);
    while version < SCHEMA_VERSION {
        match version {
            1 => v1_to_v2(tx)?,
            other => return Err(Error::Shape(format!("no upgrade from schema {other}"))),
        }
        version += 1;
        tx.put(ROOT, "schema", version)?;
    }
    Ok(())
}

/// Schema 1 (the first prototype) kept the name as one string and a single `phone` and `email`;
/// schema 2 has a structured `name` and labelled `phones` / `emails` maps keyed by UUID.
fn v1_to_v2<T: Transactable + ReadDoc>(tx: &mut T) -> Result<()> {
    if let Some(name) = root_str(tx, "name") {
        let obj = tx.put_object(ROOT, "name", ObjType::Map)?;
        tx.put(&obj, "display", name)?;
        tx.put(&obj, "first", "")?;
        tx.put(&obj, "last", "")?;
    }
    for (old, new, field) in [
        ("phone", "phones", "number"),
        ("email", "emails", "address"),
    ] {
        let Some(value) = root_str(tx, old) else {
            continue;
        };
        let map = match tx.get(ROOT, new)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => tx.put_object(ROOT, new, ObjType::Map)?,
        };
        let entry = tx.put_object(&map, crate::model::new_key(), ObjType::Map)?;
        tx.put(&entry, "label", "")?;
        tx.put(&entry, field, value)?;
        tx.delete(ROOT, old)?;
    }
    Ok(())
}
