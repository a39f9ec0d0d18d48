//! Typed access to a document: read a record out of it, write a record into it as one change.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ChangeHash};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Client, Contact, OrgSettings};
use crate::schema::{self, Kind};

/// A record type with a document of its own: clients, contacts, the organisation settings.
pub trait Record: Hydrate + Reconcile {
    /// The `kind` its documents carry.
    const KIND: Kind;

    /// The client this record is, if it is one (clients are indexed for search).
    fn as_client(&self) -> Option<&Client> {
        None
    }
}

impl Record for Client {
    const KIND: Kind = Kind::Client;
    fn as_client(&self) -> Option<&Client> {
        Some(self)
    }
}

impl Record for Contact {
    const KIND: Kind = Kind::Contact;
}

impl Record for OrgSettings {
    const KIND: Kind = Kind::Settings;
}

/// Who made a change, recorded in its commit message so history can say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Member id (from the organisation settings).
    pub member: String,
    /// Device id (stable per store).
    pub device: String,
    /// What was done: `create`, `edit`, `import`, `resolve`, `upgrade`…
    pub action: String,
}

impl Author {
    pub(crate) fn message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an author back from a commit message written by [`Author::message`].
    pub fn from_message(message: &str) -> Option<Self> {
        serde_json::from_str(message).ok()
    }
}

/// The time now, in Unix seconds (0 if the clock is before 1970).
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn commit_options(author: &Author) -> CommitOptions {
    CommitOptions::default()
        .with_message(author.message())
        .with_time(now_seconds())
}

/// Reads the typed record out of a document.
pub fn read<T: Hydrate>(doc: &Automerge) -> Result<T> {
    Ok(autosurgeon::hydrate(doc)?)
}

/// A new document of `kind` holding `value`, made by `actor`.
pub fn create<T: Reconcile>(
    actor: automerge::ActorId,
    kind: Kind,
    value: &T,
    author: &Author,
) -> Result<Automerge> {
    let mut doc = Automerge::new().with_actor(actor);
    let mut tx = doc.transaction();
    schema::stamp(&mut tx, kind)?;
    autosurgeon::reconcile(&mut tx, value)?;
    tx.commit_with(commit_options(author));
    Ok(doc)
}

/// Writes `value` over the document as one change (upgrading its layout first if it is old);
/// only the fields that differ are written. Returns the new change, if anything changed.
pub fn write<T: Reconcile>(
    doc: &mut Automerge,
    value: &T,
    author: &Author,
) -> Result<Option<ChangeHash>> {
    change(doc, author, |tx| {
        if schema::needs_upgrade(tx) {
            schema::upgrade(tx)?;
        }
        Ok(autosurgeon::reconcile(tx, value)?)
    })
}

/// Applies `f` to the document in one change with `author`'s stamp; used for raw edits
/// (resolving conflicts, upgrades) that do not go through a typed record.
pub fn change<F>(doc: &mut Automerge, author: &Author, f: F) -> Result<Option<ChangeHash>>
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<()>,
{
    let mut tx = doc.transaction();
    f(&mut tx)?;
    if tx.pending_ops() == 0 {
        tx.rollback();
        return Ok(None);
    }
    Ok(tx.commit_with(commit_options(author)).0)
}

/// Upgrades an old document in place; `None` if it was already current.
pub fn upgrade(doc: &mut Automerge, author: &Author) -> Result<Option<ChangeHash>> {
    if !schema::needs_upgrade(doc) {
        return Ok(None);
    }
    change(doc, author, |tx| schema::upgrade(tx))
}
