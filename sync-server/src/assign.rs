//! Which members each client record is assigned to (its manager, the technicians of its
//! interventions), and which contact records it links, kept in the store as
//! `["_assigned", DOC]` and `["_linked", DOC]` so that a technician's rights and directory are
//! known without loading any record. A technician sees the clients assigned to them and the
//! contacts those clients link (the person to call on site).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use automerge::Automerge;
use fiche_core::model::Client;
use fiche_core::schema::{self, Kind};
use fiche_core::store::{Store, StoreError, Write};
use fiche_core::{key, record, DocumentId};

#[derive(Debug)]
pub struct Assignments {
    store: Arc<dyn Store>,
    /// Client → the members it is assigned to.
    map: HashMap<DocumentId, BTreeSet<String>>,
    /// Client → the contacts it links.
    links: HashMap<DocumentId, BTreeSet<DocumentId>>,
    /// Contact → the clients linking it (derived from `links`).
    linked_by: HashMap<DocumentId, BTreeSet<DocumentId>>,
}

fn ids(value: &[u8]) -> BTreeSet<DocumentId> {
    serde_json::from_slice::<Vec<String>>(value)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

impl Assignments {
    pub fn load(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        let mut this = Self {
            store: store.clone(),
            map: HashMap::new(),
            links: HashMap::new(),
            linked_by: HashMap::new(),
        };
        for (key, value) in store.scan(&key!["_assigned"])? {
            if let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) {
                let members: BTreeSet<String> = serde_json::from_slice(&value).unwrap_or_default();
                this.map.insert(id, members);
            }
        }
        for (key, value) in store.scan(&key!["_linked"])? {
            if let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) {
                this.set_links(id, ids(&value));
            }
        }
        Ok(this)
    }

    fn set_links(&mut self, client: DocumentId, contacts: BTreeSet<DocumentId>) {
        for old in self.links.remove(&client).unwrap_or_default() {
            if let Some(by) = self.linked_by.get_mut(&old) {
                by.remove(&client);
            }
        }
        for c in &contacts {
            self.linked_by.entry(*c).or_default().insert(client);
        }
        if !contacts.is_empty() {
            self.links.insert(client, contacts);
        }
    }

    /// Whether `member` may see `id`: a client assigned to them, or a contact that such a
    /// client links.
    pub fn is_assigned(&self, id: &DocumentId, member: &str) -> bool {
        let assigned = |c: &DocumentId| self.map.get(c).is_some_and(|m| m.contains(member));
        assigned(id)
            || self
                .linked_by
                .get(id)
                .is_some_and(|by| by.iter().any(assigned))
    }

    /// The records `member` sees, with their kind: the clients assigned to them and the
    /// contacts those link.
    pub fn of_member(&self, member: &str) -> Vec<(DocumentId, Kind)> {
        let clients: Vec<DocumentId> = self
            .map
            .iter()
            .filter(|(_, m)| m.contains(member))
            .map(|(id, _)| *id)
            .collect();
        let contacts: BTreeSet<DocumentId> = clients
            .iter()
            .filter_map(|c| self.links.get(c))
            .flatten()
            .copied()
            .collect();
        clients
            .into_iter()
            .map(|c| (c, Kind::Client))
            .chain(contacts.into_iter().map(|c| (c, Kind::Contact)))
            .collect()
    }

    /// Reads the assignees and links of a changed document again; returns the members whose
    /// view changed (those who had it or now have it, when anything moved).
    pub fn update(
        &mut self,
        id: DocumentId,
        doc: &Automerge,
    ) -> Result<BTreeSet<String>, StoreError> {
        if schema::kind_of(doc) != Some(Kind::Client) {
            return Ok(BTreeSet::new());
        }
        let Ok(client) = record::read::<Client>(doc) else {
            return Ok(BTreeSet::new());
        };
        let members = client.assignees();
        let contacts: BTreeSet<DocumentId> = client
            .contacts
            .keys()
            .filter_map(|k| k.parse().ok())
            .collect();
        let before = self.map.get(&id).cloned().unwrap_or_default();
        let linked_before = self.links.get(&id).cloned().unwrap_or_default();
        if members == before && contacts == linked_before {
            return Ok(BTreeSet::new());
        }
        let listed: Vec<String> = contacts.iter().map(|c| c.to_string()).collect();
        self.store.apply(vec![
            Write::Put(
                key!["_assigned", id],
                serde_json::to_vec(&members).unwrap_or_default(),
            ),
            Write::Put(
                key!["_linked", id],
                serde_json::to_vec(&listed).unwrap_or_default(),
            ),
        ])?;
        let affected = members.union(&before).cloned().collect();
        self.map.insert(id, members);
        self.set_links(id, contacts);
        Ok(affected)
    }

    /// Forgets a record (it is being erased); returns the members who saw it. The caller
    /// deletes `["_assigned", DOC]` and `["_linked", DOC]`.
    pub fn forget(&mut self, id: &DocumentId) -> BTreeSet<String> {
        self.set_links(*id, BTreeSet::new());
        let mut members = self.map.remove(id).unwrap_or_default();
        // A contact: the members of the clients that link it saw it.
        for c in self.linked_by.remove(id).unwrap_or_default() {
            if let Some(links) = self.links.get_mut(&c) {
                links.remove(id);
            }
            members.extend(self.map.get(&c).cloned().unwrap_or_default());
        }
        members
    }
}
