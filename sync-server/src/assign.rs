//! Which members each client record is assigned to (its manager, the technicians of its
//! interventions), kept in the store as `["_assigned", DOC]` so that a technician's rights and
//! directory are known without loading any record.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use automerge::Automerge;
use fiche_core::model::Client;
use fiche_core::schema::{self, Kind};
use fiche_core::store::{Store, StoreError};
use fiche_core::{key, record, DocumentId};

#[derive(Debug)]
pub struct Assignments {
    store: Arc<dyn Store>,
    map: HashMap<DocumentId, BTreeSet<String>>,
}

/// Members who gained or lost a record.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Moved {
    pub gained: Vec<String>,
    pub lost: Vec<String>,
}

impl Assignments {
    pub fn load(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        let mut map = HashMap::new();
        for (key, value) in store.scan(&key!["_assigned"])? {
            let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) else {
                continue;
            };
            let members: BTreeSet<String> = serde_json::from_slice(&value).unwrap_or_default();
            map.insert(id, members);
        }
        Ok(Self { store, map })
    }

    pub fn is_assigned(&self, id: &DocumentId, member: &str) -> bool {
        self.map.get(id).is_some_and(|m| m.contains(member))
    }

    /// The records assigned to `member`.
    pub fn of_member(&self, member: &str) -> Vec<DocumentId> {
        self.map
            .iter()
            .filter(|(_, m)| m.contains(member))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Forgets a record's assignees (it is being erased); returns who had it. The caller
    /// deletes `["_assigned", DOC]`.
    pub fn forget(&mut self, id: &DocumentId) -> BTreeSet<String> {
        self.map.remove(id).unwrap_or_default()
    }

    /// Reads the assignees of a changed document again; returns who gained and lost it.
    pub fn update(&mut self, id: DocumentId, doc: &Automerge) -> Result<Moved, StoreError> {
        if schema::kind_of(doc) != Some(Kind::Client) {
            return Ok(Moved::default());
        }
        let Ok(client) = record::read::<Client>(doc) else {
            return Ok(Moved::default());
        };
        let now = client.assignees();
        let before = self.map.get(&id).cloned().unwrap_or_default();
        if now == before {
            return Ok(Moved::default());
        }
        let value = serde_json::to_vec(&now).unwrap_or_default();
        self.store.put(key!["_assigned", id], value)?;
        let moved = Moved {
            gained: now.difference(&before).cloned().collect(),
            lost: before.difference(&now).cloned().collect(),
        };
        self.map.insert(id, now);
        Ok(moved)
    }
}
