//! Authorisation of sync traffic: which organisation owns each document, and what each
//! connection may send and receive.
//!
//! - Every document belongs to the organisation of the member who first sent changes to it
//!   (`["_owner", DOC]` in the store). A peer of another organisation is answered
//!   `doc-unavailable`, exactly as for a document that does not exist.
//! - The well-known documents (the directory, the settings) exist once per organisation:
//!   peers use the well-known ids, the server keeps each organisation's copy under an id
//!   derived from the organisation ([`scoped`]) and renames on the way in and out.
//! - Every message going out is checked again ([`ConnAccess::outbound`]), so a document of
//!   another organisation cannot leak through a path the inbound checks missed.
//!
//! On a `--no-auth` server everyone is in [`OPEN_ORG`], whose documents keep their own ids.

use std::collections::HashMap;
use std::sync::Arc;

use automerge::sync;
use fiche_core::directory::{directory_id, settings_id};
use fiche_core::protocol::Message;
use fiche_core::store::{Store, StoreError};
use fiche_core::{key, DocumentId};
use sha2::{Digest, Sha256};

use crate::accounts::{Access, Role, OPEN_ORG};
use crate::assign::Assignments;

/// The id under which the server keeps `id` for `org`: the well-known documents get one per
/// organisation; every other id is itself.
pub fn scoped(org: &str, id: DocumentId) -> DocumentId {
    if org == OPEN_ORG || (id != directory_id() && id != settings_id()) {
        return id;
    }
    let digest = Sha256::new()
        .chain_update(b"fiche-scoped-document\0")
        .chain_update(org.as_bytes())
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

/// A member's own directory: what a technician discovers (the records assigned to them).
pub fn member_directory(org: &str, member: &str) -> DocumentId {
    scoped(&format!("{org}\0member\0{member}"), directory_id())
}

/// Which organisation owns each document.
#[derive(Debug)]
pub struct Owners {
    store: Arc<dyn Store>,
    known: HashMap<DocumentId, Arc<str>>,
    open: Arc<str>,
}

impl Owners {
    pub fn load(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        let mut known = HashMap::new();
        let mut orgs: HashMap<String, Arc<str>> = HashMap::new();
        for (key, value) in store.scan(&key!["_owner"])? {
            let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) else {
                continue;
            };
            let org = String::from_utf8_lossy(&value).into_owned();
            let org = orgs.entry(org.clone()).or_insert_with(|| Arc::from(org));
            known.insert(id, org.clone());
        }
        Ok(Self {
            store,
            known,
            open: Arc::from(OPEN_ORG),
        })
    }

    /// The owner of `id`: recorded, or the open organisation for a document stored before
    /// any owner was recorded (a server that ran with `--no-auth`), or none for a new id.
    pub fn owner(&self, id: &DocumentId) -> Option<Arc<str>> {
        if let Some(org) = self.known.get(id) {
            return Some(org.clone());
        }
        match self.store.get(&key!["_docs", id]) {
            Ok(Some(_)) => Some(self.open.clone()),
            _ => None,
        }
    }

    /// Records that `org` owns `id` unless that is known already.
    pub fn ensure(&mut self, id: DocumentId, org: &Arc<str>) -> Result<(), StoreError> {
        match self.known.get(&id) {
            Some(o) if o == org => Ok(()),
            _ => self.claim(id, org),
        }
    }

    /// Records that `org` owns `id` (durably, before the document is written).
    pub fn claim(&mut self, id: DocumentId, org: &Arc<str>) -> Result<(), StoreError> {
        if **org != *OPEN_ORG {
            self.store
                .put(key!["_owner", id], org.as_bytes().to_vec())?;
        }
        self.known.insert(id, org.clone());
        Ok(())
    }
}

/// The organisation that owns a stored document, read from the store (for threads other than
/// the hub's, which holds [`Owners`]): the recorded owner, else the open organisation.
pub fn owner_in_store(store: &dyn Store, id: &DocumentId) -> Result<String, StoreError> {
    Ok(store.get(&key!["_owner", id])?.map_or_else(
        || OPEN_ORG.to_string(),
        |o| String::from_utf8_lossy(&o).into_owned(),
    ))
}

/// What to do with a message from a peer.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Hand it to the protocol (renamed where needed).
    Pass(Message),
    /// Answer `doc-unavailable` for this document (as the peer named it), as if it did not
    /// exist.
    Unavailable(DocumentId),
    /// Refuse with this reason: an `error`, then the connection closes.
    Refuse(String),
    /// Refuse the changes this message brings to one document (named as the peer names it):
    /// they are neither applied nor relayed, the peer is told (an `error` with that
    /// `documentId`), and the connection goes on.
    RefuseChanges {
        document_id: DocumentId,
        reason: String,
    },
    /// Ignore it.
    Drop,
}

/// Whether a sync message brings changes.
fn carries_changes(data: &[u8]) -> bool {
    sync::Message::decode(data).map_or(true, |m| !m.changes.is_empty())
}

/// One connection's rights, with its organisation's ids for the well-known documents.
#[derive(Debug, Clone)]
pub struct ConnAccess {
    pub access: Access,
    directory: DocumentId,
    settings: DocumentId,
}

impl ConnAccess {
    pub fn new(access: Access) -> Self {
        let directory = match access.role {
            Role::Technician => member_directory(&access.org, &access.member),
            _ => scoped(&access.org, directory_id()),
        };
        Self {
            directory,
            settings: scoped(&access.org, settings_id()),
            access,
        }
    }

    /// The organisation's own copy of the directory.
    pub fn directory(&self) -> DocumentId {
        self.directory
    }

    fn inside(&self, id: DocumentId) -> DocumentId {
        if id == directory_id() {
            self.directory
        } else if id == settings_id() {
            self.settings
        } else {
            id
        }
    }

    fn outside(&self, id: DocumentId) -> DocumentId {
        if id == self.directory {
            directory_id()
        } else if id == self.settings {
            settings_id()
        } else {
            id
        }
    }

    fn is_open(&self) -> bool {
        *self.access.org == *OPEN_ORG
    }

    /// Whether this connection's member may see `id`, a document of their organisation: a
    /// technician only the records assigned to them.
    fn sees(&self, assignments: &Assignments, id: &DocumentId) -> bool {
        self.access.role != Role::Technician
            || *id == self.directory
            || *id == self.settings
            || assignments.is_assigned(id, &self.access.member)
    }

    /// Checks a message from this connection's peer.
    pub fn inbound(
        &self,
        owners: &mut Owners,
        assignments: &Assignments,
        mut message: Message,
    ) -> Verdict {
        if self.is_open() {
            return Verdict::Pass(message);
        }
        let Some(slot) = message.document_id_mut() else {
            return Verdict::Pass(message);
        };
        let outside = *slot;
        let id = self.inside(outside);
        *slot = id;
        let owner = if id != outside {
            // The organisation's own copy of a well-known document.
            if let Err(e) = owners.ensure(id, &self.access.org) {
                tracing::error!(error = %e, %id, "cannot record a document's owner");
                return Verdict::Refuse("the server cannot store this document now".into());
            }
            Some(self.access.org.clone())
        } else {
            owners.owner(&id)
        };
        let foreign = match &owner {
            Some(o) => *o != self.access.org || !self.sees(assignments, &id),
            None => false,
        };
        let data = match &message {
            Message::Sync { .. } | Message::Request { .. } if foreign => {
                return Verdict::Unavailable(outside)
            }
            Message::Sync { data, .. } | Message::Request { data, .. } => data,
            Message::Ephemeral { .. } if foreign || owner.is_none() => return Verdict::Drop,
            _ if foreign => return Verdict::Drop,
            _ => return Verdict::Pass(message),
        };
        if !carries_changes(data) {
            // Asking, or answering: nothing to refuse. (A request for an id nobody owns
            // keeps the peer's interest in the protocol; the outbound check keeps out
            // whatever another organisation may later store under it.)
            return Verdict::Pass(message);
        }
        let role = self.access.role;
        let refuse = |reason: String| Verdict::RefuseChanges {
            document_id: outside,
            reason,
        };
        if !role.may_edit() {
            return refuse(format!(
                "member {} is {role}: changes to {outside} are refused",
                self.access.member
            ));
        }
        if id == self.settings && !role.may_manage() {
            return refuse(format!(
                "member {} is {role}: only an owner or an admin changes the settings",
                self.access.member
            ));
        }
        if owner.is_none() && role == Role::Technician {
            return refuse(format!(
                "member {} is a technician: they work on the clients assigned to them; a \
                 manager files new ones",
                self.access.member
            ));
        }
        if owner.is_none() {
            if let Err(e) = owners.claim(id, &self.access.org) {
                tracing::error!(error = %e, %id, "cannot record a document's owner");
                return Verdict::Refuse("the server cannot store this document now".into());
            }
        }
        Verdict::Pass(message)
    }

    /// A message about to go to this connection's peer, renamed; `None` if the peer may
    /// not see its document.
    pub fn outbound(
        &self,
        owners: &Owners,
        assignments: &Assignments,
        mut message: Message,
    ) -> Option<Message> {
        if self.is_open() {
            return Some(message);
        }
        // `doc-unavailable` only ever answers the peer's own question and carries nothing.
        let answer = matches!(message, Message::DocUnavailable { .. });
        let Some(slot) = message.document_id_mut() else {
            return Some(message);
        };
        let id = *slot;
        let own = answer
            || id == self.directory
            || id == self.settings
            || (owners.owner(&id).is_none_or(|o| o == self.access.org)
                && self.sees(assignments, &id));
        if !own {
            tracing::warn!(%id, member = %self.access.member, "held back a message about another organisation's document");
            return None;
        }
        *slot = self.outside(id);
        Some(message)
    }
}
