//! Which members each client record is assigned to (its manager, the technicians of its
//! interventions), which contact records it links, and which technician created a record,
//! kept in the store as `["_assigned", DOC]`, `["_linked", DOC]` and `["_created", DOC]` so
//! that a technician's rights and directory are known without loading any record. A
//! technician sees the clients assigned to them, the records they created (walk-ins filed in
//! the field), and the contacts those clients link (the person to call on site).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use automerge::Automerge;
use fiche_core::model::Client;
use fiche_core::schema::{self, Kind};
use fiche_core::store::{Store, StoreError, Write};
use fiche_core::{key, record, DocumentId};
use serde::{Deserialize, Serialize};

#[derive(Debug)]
pub struct Assignments {
    store: Arc<dyn Store>,
    /// Client → the members it is assigned to.
    map: HashMap<DocumentId, BTreeSet<String>>,
    /// Client → the contacts it links.
    links: HashMap<DocumentId, BTreeSet<DocumentId>>,
    /// Contact → the clients linking it (derived from `links`).
    linked_by: HashMap<DocumentId, BTreeSet<DocumentId>>,
    /// Record → the technician who created it.
    created: HashMap<DocumentId, Creator>,
}

/// Who created a record, and its kind once it has been read (`"client"`, `"contact"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Creator {
    member: String,
    #[serde(default)]
    kind: Option<String>,
}

impl Creator {
    fn kind(&self) -> Option<Kind> {
        self.kind.as_deref().and_then(Kind::parse)
    }
}

/// The records `member` may see as a technician, read from the store (for threads other than
/// the hub's, which holds [`Assignments`]): those assigned to them and those they created.
pub fn records_in_store(store: &dyn Store, member: &str) -> Result<Vec<DocumentId>, StoreError> {
    let id_of = |key: &[String]| key.get(1).and_then(|k| k.parse::<DocumentId>().ok());
    let mut out = Vec::new();
    for (key, value) in store.scan(&key!["_assigned"])? {
        let members: BTreeSet<String> = serde_json::from_slice(&value).unwrap_or_default();
        if members.contains(member) {
            out.extend(id_of(&key));
        }
    }
    for (key, value) in store.scan(&key!["_created"])? {
        let creator = serde_json::from_slice::<Creator>(&value);
        if creator.is_ok_and(|c| c.member == member) {
            out.extend(id_of(&key));
        }
    }
    Ok(out)
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
            created: HashMap::new(),
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
        for (key, value) in store.scan(&key!["_created"])? {
            let id = key.get(1).and_then(|k| k.parse::<DocumentId>().ok());
            if let (Some(id), Ok(creator)) = (id, serde_json::from_slice(&value)) {
                this.created.insert(id, creator);
            }
        }
        Ok(this)
    }

    /// Records, durably, that technician `member` creates `id` (before its first change is
    /// applied): it is theirs to see and edit from now on.
    pub fn created(&mut self, id: DocumentId, member: &str) -> Result<(), StoreError> {
        let creator = Creator {
            member: member.to_string(),
            kind: None,
        };
        self.store.put(
            key!["_created", id],
            serde_json::to_vec(&creator).unwrap_or_default(),
        )?;
        self.created.insert(id, creator);
        Ok(())
    }

    fn created_by(&self, id: &DocumentId, member: &str) -> bool {
        self.created.get(id).is_some_and(|c| c.member == member)
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
        let assigned = |c: &DocumentId| {
            self.map.get(c).is_some_and(|m| m.contains(member)) || self.created_by(c, member)
        };
        assigned(id)
            || self
                .linked_by
                .get(id)
                .is_some_and(|by| by.iter().any(assigned))
    }

    /// The records `member` sees, with their kind: the clients assigned to them or created
    /// by them, the contacts those link and the contacts they created.
    pub fn of_member(&self, member: &str) -> Vec<(DocumentId, Kind)> {
        let mine = |kind: Kind| {
            self.created
                .iter()
                .filter(move |(_, c)| c.member == member && c.kind() == Some(kind))
                .map(|(id, _)| *id)
        };
        let clients: BTreeSet<DocumentId> = self
            .map
            .iter()
            .filter(|(_, m)| m.contains(member))
            .map(|(id, _)| *id)
            .chain(mine(Kind::Client))
            .collect();
        let contacts: BTreeSet<DocumentId> = clients
            .iter()
            .filter_map(|c| self.links.get(c))
            .flatten()
            .copied()
            .chain(mine(Kind::Contact))
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
        let kind = schema::kind_of(doc);
        let mut affected = self.learn_kind(id, kind)?;
        if kind != Some(Kind::Client) {
            return Ok(affected);
        }
        let Ok(client) = record::read::<Client>(doc) else {
            return Ok(affected);
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
            return Ok(affected);
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
        affected.extend(members.union(&before).cloned());
        self.map.insert(id, members);
        self.set_links(id, contacts);
        Ok(affected)
    }

    /// Notes the kind of a record a technician created, the first time it is read (it is
    /// listed in their directory from then on); returns the technician if so.
    fn learn_kind(
        &mut self,
        id: DocumentId,
        kind: Option<Kind>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let Some(creator) = self.created.get_mut(&id) else {
            return Ok(BTreeSet::new());
        };
        let Some(kind) = kind.filter(|k| matches!(k, Kind::Client | Kind::Contact)) else {
            return Ok(BTreeSet::new());
        };
        if creator.kind() == Some(kind) {
            return Ok(BTreeSet::new());
        }
        creator.kind = Some(kind.as_str().to_string());
        let bytes = serde_json::to_vec(&*creator).unwrap_or_default();
        let member = creator.member.clone();
        self.store.put(key!["_created", id], bytes)?;
        Ok(BTreeSet::from([member]))
    }

    /// Forgets a record (it is being erased); returns the members who saw it. The caller
    /// deletes `["_assigned", DOC]`, `["_linked", DOC]` and `["_created", DOC]`.
    pub fn forget(&mut self, id: &DocumentId) -> BTreeSet<String> {
        self.set_links(*id, BTreeSet::new());
        let mut members = self.map.remove(id).unwrap_or_default();
        members.extend(self.created.remove(id).map(|c| c.member));
        // A contact: the members of the clients that link it saw it.
        for c in self.linked_by.remove(id).unwrap_or_default() {
            if let Some(links) = self.links.get_mut(&c) {
                links.remove(id);
            }
            members.extend(self.map.get(&c).cloned().unwrap_or_default());
            members.extend(self.created.get(&c).map(|c| c.member.clone()));
        }
        members
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;
    use fiche_core::model::{Client, Contact};
    use fiche_core::record::Author;
    use fiche_core::store::SledStore;

    fn author() -> Author {
        Author {
            member: "tom".into(),
            device: "phone".into(),
            action: "create".into(),
        }
    }

    #[test]
    fn a_technicians_new_records_are_theirs_from_the_first_change_and_after_a_restart(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path())?);
        let mut assignments = Assignments::load(store.clone())?;
        let (client, contact) = (
            DocumentId::from_bytes([1; 16]),
            DocumentId::from_bytes([2; 16]),
        );
        assignments.created(client, "tom")?;
        assignments.created(contact, "tom")?;
        // Seen before its first change is read; listed once its kind is known.
        assert!(assignments.is_assigned(&client, "tom"));
        assert!(!assignments.is_assigned(&client, "ann"));
        assert!(assignments.of_member("tom").is_empty());
        let mut walk_in = Client::default();
        walk_in.name.display = "Walk-in".into();
        let doc = record::create(ActorId::random(), Kind::Client, &walk_in, &author())?;
        assert_eq!(
            assignments.update(client, &doc)?,
            BTreeSet::from(["tom".to_string()])
        );
        let person = record::create(
            ActorId::random(),
            Kind::Contact,
            &Contact::default(),
            &author(),
        )?;
        assert_eq!(
            assignments.update(contact, &person)?,
            BTreeSet::from(["tom".to_string()])
        );
        // Known once: a later change moves nothing.
        assert!(assignments.update(contact, &person)?.is_empty());
        let expected = vec![(client, Kind::Client), (contact, Kind::Contact)];
        assert_eq!(assignments.of_member("tom"), expected);
        drop(assignments);
        let mut again = Assignments::load(store)?;
        assert_eq!(again.of_member("tom"), expected);
        // Erased: no longer theirs.
        assert_eq!(again.forget(&client), BTreeSet::from(["tom".to_string()]));
        assert!(!again.is_assigned(&client, "tom"));
        Ok(())
    }
}
