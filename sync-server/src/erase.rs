//! Erasure (GDPR) on the server: a record removed with its whole history, its assignments and
//! its files, leaving only a tombstone with its id. Peers syncing it hear `doc-unavailable`
//! marked erased (a Fiche device then deletes its copy); afterwards every request, sync or
//! ephemeral message about it is answered `doc-unavailable` or dropped, so nothing of it is
//! ever taken, stored or relayed again.

use std::collections::{BTreeSet, HashSet};

use fiche_core::directory::{self, directory_id};
use fiche_core::model::Client;
use fiche_core::protocol::{Documents, Out};
use fiche_core::schema::{self, Kind};
use fiche_core::store::{Store, StoreError, Write};
use fiche_core::{key, record, DocumentId};
use serde::{Deserialize, Serialize};

use crate::accounts::{audit, OPEN_ORG};
use crate::docs::ServerDocs;
use crate::hub::HubThread;

/// The ids of erased records (`["_erased", DOC]`), kept in memory: every message is checked.
#[derive(Debug)]
pub struct Tombstones {
    ids: HashSet<DocumentId>,
}

/// What a tombstone keeps: no personal data, only when and for which organisation.
#[derive(Debug, Serialize, Deserialize)]
struct Tombstone {
    at: i64,
    org: String,
}

impl Tombstones {
    pub fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let ids = store
            .keys(&key!["_erased"])?
            .into_iter()
            .filter_map(|k| k.get(1)?.parse().ok())
            .collect();
        Ok(Self { ids })
    }

    pub fn contains(&self, id: &DocumentId) -> bool {
        self.ids.contains(id)
    }
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub id: DocumentId,
    pub org: String,
    /// Store entries deleted (chunks of its history, heads, assignments…).
    pub entries: usize,
    /// Files it referred to: removed by the caller unless another record of the organisation
    /// refers to them too (see [`crate::blobs::BlobFiles::forget`]).
    pub files: BTreeSet<String>,
}

/// Why a record could not be erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("no record {0} on this server")]
    NotFound(DocumentId),
    #[error("{0} was already erased")]
    Already(DocumentId),
    #[error("{id} is {what}, not a client or contact record: only those are erased")]
    NotARecord { id: DocumentId, what: String },
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

impl HubThread {
    /// Erases a client (or contact) record: see the module documentation. Returns what was
    /// done and the messages for the connections that were syncing it or its directories.
    pub fn erase(
        &mut self,
        id: DocumentId,
        actor: &str,
        reason: &str,
    ) -> Result<(Erasure, Vec<Out>), EraseError> {
        if self.tombstones.contains(&id) {
            return Err(EraseError::Already(id));
        }
        let store = self.hub.documents().store().clone();
        if store.get(&key!["_docs", id])?.is_none() {
            return Err(EraseError::NotFound(id));
        }
        let Some(doc) = self.hub.documents().get(&id) else {
            return Err(EraseError::NotARecord {
                id,
                what: "a document that cannot be read".into(),
            });
        };
        let files = match schema::kind_of(doc) {
            Some(Kind::Client) => record::read::<Client>(doc)
                .map(|c| c.blob_hashes())
                .unwrap_or_default(),
            Some(Kind::Contact) => BTreeSet::new(),
            other => {
                let what = other.map_or("a document of no known kind".into(), |k| {
                    format!("the {}", k.as_str())
                });
                return Err(EraseError::NotARecord { id, what });
            }
        };
        let org = self
            .owners
            .owner(&id)
            .map_or_else(|| OPEN_ORG.to_string(), |o| o.to_string());
        let mut writes: Vec<Write> = store
            .keys(&key![id])?
            .into_iter()
            .map(Write::Delete)
            .collect();
        writes.push(Write::Delete(key!["_docs", id]));
        writes.push(Write::Delete(key!["_assigned", id]));
        writes.push(Write::Delete(key!["_linked", id]));
        writes.push(Write::Delete(key!["_created", id]));
        writes.push(Write::Delete(ServerDocs::unlisted_key(&id)));
        let entries = writes.len();
        let tombstone = Tombstone {
            at: time::OffsetDateTime::now_utc().unix_timestamp(),
            org: org.clone(),
        };
        writes.push(Write::Put(
            key!["_erased", id],
            serde_json::to_vec(&tombstone).unwrap_or_default(),
        ));
        let why = if reason.is_empty() {
            String::new()
        } else {
            format!(": {reason}")
        };
        writes.push(audit::entry(
            actor,
            "record erased",
            &format!("{id} of {org}{why}"),
        ));
        let stored = self.hub.documents().stored().saturating_sub(1);
        writes.push(ServerDocs::stored_entry(stored));
        store.apply(writes)?;
        self.hub.documents().forget(&id);
        self.tombstones.ids.insert(id);
        self.unlisted.remove(&id);
        let members = self.assignments.forget(&id);
        let mut outs = self.hub.erased(&id);
        let scope = self.owners.scope(&org);
        let directories = std::iter::once(scope.id(directory_id()))
            .chain(members.iter().map(|m| scope.member_directory(m)));
        for dir in directories {
            let Some(doc) = self.hub.documents().directory(&dir, false) else {
                continue;
            };
            match directory::remove(doc, [id], "erased") {
                Ok(0) => {}
                Ok(_) => outs.extend(self.hub.changed(&dir, None)),
                Err(e) => {
                    tracing::error!(error = %e, %dir, "cannot take an erased record out of a directory")
                }
            }
        }
        tracing::info!(%id, %org, entries, files = files.len(), "record erased");
        let erasure = Erasure {
            id,
            org,
            entries,
            files,
        };
        Ok((erasure, outs))
    }
}

/// What the admin command prints after an erasure.
pub fn report(erasure: &Erasure, files_removed: usize) -> String {
    format!(
        "record {} of {} erased: {} stored entries and {} file(s) removed; devices delete \
         their copy on their next sync",
        erasure.id, erasure.org, erasure.entries, files_removed
    )
}
