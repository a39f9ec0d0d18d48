//! What the server would refuse, before and after: the member's role, kept on the device (from
//! enrolment, refreshed at each sync), against which every local write is checked before it
//! is written; and the local changes the server refused anyway (`["_refused", DOC]`), kept
//! here and shown until they are acknowledged or dropped.
//!
//! Keys: `["_meta", "role"]` (the role's name), `["_refused", DOC]` (a [`Refusal`] as JSON).

use automerge::{Automerge, ChangeHash};
use serde::{Deserialize, Serialize};

use super::Book;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::key;
use crate::model::Client;
use crate::record::now_seconds;
use crate::roles::Role;
use crate::schema::{self, Kind};
use crate::store::{Key, Write};

/// A local change to a document that the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub id: DocumentId,
    /// The server's reason, as it said it.
    pub reason: String,
    /// The fields the refused change touches (`address.city`), as far as this device can
    /// tell; empty when it cannot.
    #[serde(default)]
    pub fields: Vec<String>,
    /// When it was refused (seconds since the epoch).
    pub at: i64,
}

fn role_key() -> Key {
    key!["_meta", "role"]
}

fn refused_key(id: &DocumentId) -> Key {
    key!["_refused", id]
}

impl Book {
    /// The role of the member this device acts for, once known (enrolment, `/api/me`);
    /// `None`: not enrolled, or an open server, and nothing is restricted here.
    pub fn role(&self) -> Result<Option<Role>> {
        let Some(bytes) = self.store.get(&role_key())? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        text.parse::<Role>().map(Some).map_err(Error::Shape)
    }

    /// Records the member's role (`None`: forget it, nothing restricted).
    pub fn set_role(&self, role: Option<Role>) -> Result<()> {
        let write = match role {
            Some(r) => Write::Put(role_key(), r.as_str().as_bytes().to_vec()),
            None => Write::Delete(role_key()),
        };
        Ok(self.store.apply(vec![write])?)
    }

    /// Refuses, before anything is written, a change to a document of `kind` that the
    /// member's role may not make.
    pub(super) fn permit(&self, kind: Kind) -> Result<()> {
        match self.role()?.and_then(|r| r.refusal(kind)) {
            Some(reason) => Err(Error::Forbidden(reason)),
            None => Ok(()),
        }
    }

    /// The local changes the server refused, oldest first.
    pub fn refused(&self) -> Result<Vec<Refusal>> {
        let mut all: Vec<Refusal> = self
            .store
            .scan(&key!["_refused"])?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
            .collect();
        all.sort_by_key(|r| r.at);
        Ok(all)
    }

    /// Marks a document's local change as refused by the server, for `reason`; `since`: the
    /// heads the server was last known to hold (what the change is measured from).
    pub fn mark_refused(
        &self,
        id: &DocumentId,
        reason: &str,
        doc: &Automerge,
        since: &[ChangeHash],
    ) -> Result<Refusal> {
        let refusal = Refusal {
            id: *id,
            reason: reason.to_string(),
            fields: changed_fields(doc, since),
            at: now_seconds(),
        };
        let json = serde_json::to_vec(&refusal).map_err(|e| Error::Shape(e.to_string()))?;
        self.store.apply(vec![Write::Put(refused_key(id), json)])?;
        Ok(refusal)
    }

    /// Forgets a refusal (the server took the change after all); whether there was one.
    pub fn clear_refused(&self, id: &DocumentId) -> Result<bool> {
        if self.store.get(&refused_key(id))?.is_none() {
            return Ok(false);
        }
        self.store.apply(vec![Write::Delete(refused_key(id))])?;
        Ok(true)
    }

    /// Drops the local copy of a document (its changes refused here included) and its sync
    /// states: the next sync fetches the organisation's version afresh. A refused change to
    /// the directory (listing a record the server refused) goes with it: the directory comes
    /// back from the server, and the next sync lists in it again what the server never had.
    pub fn drop_local(&self, id: &DocumentId) -> Result<()> {
        let _guard = self.lock();
        let dir = crate::directory::directory_id();
        let mut ids = vec![*id];
        if *id != dir && self.store.get(&refused_key(&dir))?.is_some() {
            ids.push(dir);
        }
        let mut kinds = Vec::new();
        let mut writes = Vec::new();
        for id in &ids {
            if let Some(kind) = self.document_kind(id)?.as_deref().and_then(Kind::parse) {
                kinds.push((*id, kind));
            }
            writes.extend(self.store.keys(&key![id])?.into_iter().map(Write::Delete));
            writes.push(Write::Delete(key!["_docs", id]));
            writes.push(Write::Delete(key!["_index", id]));
            writes.push(Write::Delete(refused_key(id)));
        }
        self.store.apply(writes)?;
        self.index_write().remove(id);
        // Announced as a local change: a live sync asks for the organisation's version now.
        for (id, kind) in kinds {
            self.written(&id, kind, None, false);
        }
        Ok(())
    }
}

/// The fields a document's changes since `since` touch: a client's fields (one level into
/// a part with fixed fields, as `address.city`), the settings as `settings`; a document the
/// server never held is `new record`.
fn changed_fields(doc: &Automerge, since: &[ChangeHash]) -> Vec<String> {
    if since.is_empty() {
        return vec!["new record".into()];
    }
    match schema::kind_of(doc) {
        Some(Kind::Client) => {}
        Some(kind) => return vec![kind.as_str().to_string()],
        None => return Vec::new(),
    }
    let value = |d: &Automerge| {
        crate::record::read::<Client>(d)
            .ok()
            .and_then(|c| serde_json::to_value(c).ok())
    };
    let (Some(now), Some(then)) = (value(doc), doc.fork_at(since).ok().and_then(|d| value(&d)))
    else {
        return Vec::new();
    };
    diff(&then, &now)
}

/// The top-level fields where a client's JSON `a` and `b` differ, and one level into a part
/// with fixed fields (`address.city`), not into maps whose keys come and go (phones by id).
fn diff(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let (Value::Object(a), Value::Object(b)) = (a, b) else {
        return Vec::new();
    };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(Value::Object(x)), Some(Value::Object(y))) if x.keys().eq(y.keys()) => {
                out.extend(
                    x.iter()
                        .filter(|(sub, v)| y.get(*sub) != Some(v))
                        .map(|(sub, _)| format!("{k}.{sub}")),
                );
            }
            (x, y) if x != y => out.push(k.clone()),
            _ => {}
        }
    }
    out
}
