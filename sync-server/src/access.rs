//! Authorisation of sync traffic: which organisation owns each document, and what each
//! connection may send and receive.
//!
//! - A document belongs to the organisation it was derived for, or else to the organisation
//!   of the member who first sent changes to it (`["_owner", DOC]` in the store). A peer of
//!   another organisation is answered `doc-unavailable`, exactly as for a document that does
//!   not exist; nothing another organisation wrote is ever handed over ([`Owners::ensure`]).
//! - The well-known documents (the directory, the settings) exist once per organisation:
//!   peers use the well-known ids, the server keeps each organisation's copy under an id
//!   derived from the organisation and its key ([`Scope`]) and renames on the way in and out.
//!   Those ids are claimed when the organisation (or the member, for a member's directory)
//!   is created, and at every start.
//! - A technician's new record (a walk-in) is their organisation's and stays theirs to see
//!   and edit ([`Assignments::created`]).
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

use crate::accounts::{Access, AccountError, Accounts, Role, Scope, OPEN_ORG};
use crate::assign::Assignments;

/// Why a document cannot be given to an organisation.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    /// Another organisation wrote it first: it is never handed over.
    #[error("document {id} belongs to another organisation")]
    Foreign { id: DocumentId, owner: Arc<str> },
}

/// Which organisation owns each document, and how each organisation's ids are derived.
#[derive(Debug)]
pub struct Owners {
    store: Arc<dyn Store>,
    known: HashMap<DocumentId, Arc<str>>,
    scopes: HashMap<Arc<str>, Scope>,
    open: Arc<str>,
}

impl Owners {
    /// The owners recorded in the store; then every organisation's derived ids are claimed
    /// ([`Owners::claim_organisations`]).
    pub fn load(store: Arc<dyn Store>) -> Result<Self, AccountError> {
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
        let mut this = Self {
            store,
            known,
            scopes: HashMap::new(),
            open: Arc::from(OPEN_ORG),
        };
        this.claim_organisations()?;
        Ok(this)
    }

    /// Claims the ids derived for every organisation and its members (organisations created
    /// from now on claim theirs as they are created). An organisation without a key one of
    /// whose ids already holds another organisation's document gets a key: fresh ids, and
    /// that document stays its writer's.
    fn claim_organisations(&mut self) -> Result<(), AccountError> {
        let accounts = Accounts::new(self.store.clone());
        for org in accounts.orgs()? {
            let members = accounts.members(&org.id)?;
            let members: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
            let mut scope = org.scope()?;
            let name = scope.org().clone();
            let taken = scope
                .derived(members.iter().copied())
                .into_iter()
                .find_map(|id| Some((id, self.owner(&id).filter(|o| *o != name)?)));
            if let Some((id, holder)) = taken {
                tracing::error!(org = %name, %id, %holder, "an id derived for this organisation holds another organisation's document: it moves to ids of its own");
                scope = accounts.rekey(&org.id)?;
            }
            for id in scope.derived(members.iter().copied()) {
                match self.ensure(id, &name) {
                    Ok(()) => {}
                    Err(ClaimError::Store(e)) => return Err(e.into()),
                    Err(e) => tracing::error!(org = %name, error = %e, "a derived id is taken"),
                }
            }
            self.scopes.insert(name, scope);
        }
        Ok(())
    }

    /// How `org` derives its ids, from its record (read once).
    pub fn scope(&mut self, org: &str) -> Scope {
        if org == OPEN_ORG {
            return Scope::open();
        }
        if let Some(scope) = self.scopes.get(org) {
            return scope.clone();
        }
        let read = Accounts::new(self.store.clone())
            .org(org)
            .and_then(|o| o.scope());
        match read {
            Ok(scope) => {
                self.scopes.insert(scope.org().clone(), scope.clone());
                scope
            }
            Err(e) => {
                // The unkeyed ids: claimed for this organisation before anything is written
                // under them (`ensure`), so nothing of another's is reached through them.
                tracing::error!(%org, error = %e, "cannot read an organisation's key");
                Scope::new(Arc::from(org), None)
            }
        }
    }

    /// The owner of `id`: recorded (by the hub, or by an administrator creating an
    /// organisation or a member), or the open organisation for a document stored before
    /// any owner was recorded (a server that ran with `--no-auth`), or none for a new id.
    pub fn owner(&self, id: &DocumentId) -> Option<Arc<str>> {
        if let Some(org) = self.known.get(id) {
            return Some(org.clone());
        }
        if let Ok(Some(org)) = self.store.get(&key!["_owner", id]) {
            return Some(Arc::from(String::from_utf8_lossy(&org).as_ref()));
        }
        match self.store.get(&key!["_docs", id]) {
            Ok(Some(_)) => Some(self.open.clone()),
            _ => None,
        }
    }

    /// Makes sure `org` owns `id`, an id derived for it: claimed now if no one holds it;
    /// refused if another organisation does (its document is never handed over).
    pub fn ensure(&mut self, id: DocumentId, org: &Arc<str>) -> Result<(), ClaimError> {
        match self.owner(&id) {
            Some(o) if o == *org => {
                self.known.insert(id, o);
                Ok(())
            }
            Some(owner) => Err(ClaimError::Foreign { id, owner }),
            None => Ok(self.claim(id, org)?),
        }
    }

    /// Records that `org` owns `id`, which no one owns yet (durably, before the document is
    /// written).
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
        let scope = access.scope();
        let directory = match access.role {
            Role::Technician => scope.member_directory(&access.member),
            _ => scope.id(directory_id()),
        };
        Self {
            directory,
            settings: scope.id(settings_id()),
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
        assignments: &mut Assignments,
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
            // The organisation's own copy of a well-known document (claimed when the
            // organisation was created or the server started: another's is never taken).
            if let Err(e) = owners.ensure(id, &self.access.org) {
                tracing::error!(error = %e, %id, org = %self.access.org, "refused an organisation's own document");
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
        if owner.is_none() {
            // A new record: the organisation's; a technician's stays assigned to them.
            let claimed = owners.claim(id, &self.access.org).and_then(|()| {
                if role == Role::Technician {
                    assignments.created(id, &self.access.member)
                } else {
                    Ok(())
                }
            });
            if let Err(e) = claimed {
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
        // A document no one owns holds nothing yet (changes are claimed before they are
        // applied): the answer to a peer about to create it.
        let own = answer
            || id == self.directory
            || id == self.settings
            || owners
                .owner(&id)
                .is_none_or(|o| o == self.access.org && self.sees(assignments, &id));
        if !own {
            tracing::warn!(%id, member = %self.access.member, "held back a message about another organisation's document");
            return None;
        }
        *slot = self.outside(id);
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Org;
    use fiche_core::store::SledStore;

    fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        Arc::new(SledStore::open(dir.path()).expect("a store"))
    }

    /// An organisation record as stores written before keys hold it.
    fn legacy_org(store: &dyn Store, id: &str) {
        let org = format!(r#"{{"id":"{id}","name":"{id}","created":0}}"#);
        store
            .put(key!["_auth", "org", id], org.into_bytes())
            .expect("a write");
    }

    fn org(store: &Arc<dyn Store>, id: &str) -> Org {
        Accounts::new(store.clone()).org(id).expect("an org")
    }

    #[test]
    fn an_id_another_organisation_holds_is_never_handed_over() -> Result<(), AccountError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut owners = Owners::load(store(&dir))?;
        let (acme, beta): (Arc<str>, Arc<str>) = (Arc::from("acme"), Arc::from("beta"));
        let id = DocumentId::from_bytes([3; 16]);
        owners.claim(id, &beta)?;
        let refused = owners.ensure(id, &acme);
        assert!(
            matches!(&refused, Err(ClaimError::Foreign { owner, .. }) if *owner == beta),
            "{refused:?}"
        );
        assert_eq!(owners.owner(&id), Some(beta));
        Ok(())
    }

    #[test]
    fn a_store_written_before_keys_keeps_its_ids_unless_another_organisation_holds_one(
    ) -> Result<(), AccountError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(e.to_string()))?;
        let store = store(&dir);
        legacy_org(store.as_ref(), "acme");
        legacy_org(store.as_ref(), "beta");
        let old = Scope::new(Arc::from("acme"), None);
        // Beta wrote under acme's settings id, as the server let it before keys.
        let planted = old.id(settings_id());
        store.put(key!["_owner", planted], b"beta".to_vec())?;
        store.put(key!["_docs", planted], Vec::new())?;

        let mut owners = Owners::load(store.clone())?;
        // Acme moved to ids of its own, claimed; the planted document stays beta's.
        let acme = org(&store, "acme").scope()?;
        assert!(acme.key().is_some());
        assert_ne!(acme.id(settings_id()), planted);
        for id in acme.derived([]) {
            assert_eq!(owners.owner(&id).as_deref(), Some("acme"));
        }
        assert_eq!(owners.owner(&planted).as_deref(), Some("beta"));
        assert_eq!(owners.scope("acme"), acme);
        // Beta's own ids were free: it keeps them, claimed now.
        let beta = org(&store, "beta").scope()?;
        assert_eq!(beta, Scope::new(Arc::from("beta"), None));
        for id in beta.derived([]) {
            assert_eq!(owners.owner(&id).as_deref(), Some("beta"));
        }
        Ok(())
    }
}
