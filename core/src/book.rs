//! The client book: a device's records in a [`Store`], with their search index.
//!
//! Every method that writes validates first (invalid input never reaches a document), then
//! writes the document change and its index entry in one atomic, durable store write, and
//! only then returns.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use automerge::{ActorId, Automerge, ChangeHash};

use crate::check;
use crate::conflicts::{self, Conflict};
use crate::directory;
use crate::docstore;
use crate::duplicates::{self, Duplicate};
use crate::error::{Error, Result};
use crate::history::{self, HistoryEntry};
use crate::id::DocumentId;
use crate::index::{Filter, Index, Page, Summary};
use crate::key;
use crate::model::{Client, Contact, ContactLink, OrgSettings};
use crate::record::{self, Author, Record};
use crate::schema::{self, Kind};
use crate::store::{SledStore, Store, Write};
use crate::validate::{FieldError, Rules, ValidationErrors};

mod absorb;
mod erase;
mod files;
mod refused;
pub use absorb::{Absorb, Absorbed};
pub use erase::Erased;
pub use refused::Refusal;

/// Bump when [`Summary`] changes shape: the index is then rebuilt from the documents on open.
const INDEX_VERSION: &str = "1";

/// Who is using the book, and how input is read.
#[derive(Debug, Clone)]
pub struct Options {
    /// Member id recorded on every change.
    pub member: String,
    pub rules: Rules,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            member: "unknown".to_string(),
            rules: Rules::default(),
        }
    }
}

/// A client just filed, with the existing clients it looks like.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: DocumentId,
    pub client: Client,
    pub duplicates: Vec<Duplicate>,
}

/// The outcome of an edit.
#[derive(Debug, Clone)]
pub struct Edited {
    pub client: Client,
    /// Whether anything changed (an edit that sets the same values writes nothing).
    pub changed: bool,
    pub duplicates: Vec<Duplicate>,
}

/// What a merge of changes from elsewhere did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// Whether the document gained anything.
    pub changed: bool,
    /// Whether the document was new to this device.
    pub created: bool,
}

/// A device's records.
#[derive(Debug)]
pub struct Book {
    store: Arc<dyn Store>,
    options: Options,
    device: String,
    actor: ActorId,
    settings_id: DocumentId,
    index: RwLock<Index>,
    /// The organisation settings, read once and dropped whenever their document changes.
    settings_cache: RwLock<Option<OrgSettings>>,
    /// Serialises writers so that load–change–save of a document is never interleaved.
    writer: Mutex<()>,
    /// Announces every document written, once it is durable.
    changes: tokio::sync::broadcast::Sender<Change>,
}

/// A document was written to the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub id: DocumentId,
    pub kind: Kind,
    /// Whether it came from another device through sync (rather than an edit here).
    pub remote: bool,
}

impl Book {
    /// Opens the book in a sled directory, creating it if needed.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self> {
        Self::with_store(Arc::new(SledStore::open(dir)?), options)
    }

    /// Opens the book over any store.
    pub fn with_store(store: Arc<dyn Store>, options: Options) -> Result<Self> {
        let device = match store.get(&key!["_meta", "device"])? {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                store.put(key!["_meta", "device"], id.clone().into_bytes())?;
                id
            }
        };
        let actor = uuid::Uuid::parse_str(&device)
            .map(|u| ActorId::from(u.as_bytes().as_slice()))
            .unwrap_or_else(|_| ActorId::random());
        let mut book = Self {
            store,
            options,
            device,
            actor,
            settings_id: DocumentId::random(),
            index: RwLock::new(Index::default()),
            settings_cache: RwLock::new(None),
            writer: Mutex::new(()),
            changes: tokio::sync::broadcast::channel(4096).0,
        };
        book.settings_id = book.open_settings()?;
        book.load_index()?;
        Ok(book)
    }

    /// Every document written from now on, as it becomes durable. A receiver that falls more
    /// than 4096 changes behind is told it lagged, and should then look at everything again.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// The Automerge actor of this device's changes.
    pub fn actor_id(&self) -> &ActorId {
        &self.actor
    }

    pub fn device_id(&self) -> &str {
        &self.device
    }

    pub fn member(&self) -> &str {
        &self.options.member
    }

    pub fn rules(&self) -> &Rules {
        &self.options.rules
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn author(&self, action: &str) -> Author {
        Author {
            member: self.options.member.clone(),
            device: self.device.clone(),
            action: action.to_string(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn index_read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    // ----- documents -------------------------------------------------------------------------

    /// Loads a document with this device's actor, upgrading an old layout in place (durably).
    fn load(&self, id: &DocumentId) -> Result<Automerge> {
        let mut doc = docstore::load(self.store.as_ref(), id)?
            .ok_or(Error::NotFound(*id))?
            .with_actor(self.actor.clone());
        if schema::needs_upgrade(&doc) {
            let kind = schema::kind_of(&doc)
                .ok_or_else(|| Error::Shape(format!("document {id} has no kind")))?;
            let before = doc.get_heads();
            record::upgrade(&mut doc, &self.author("upgrade"))?;
            self.persist(id, &doc, &before, kind, None)?;
        }
        Ok(doc)
    }

    /// Loads a document that must hold a `T`; `NotFound` if it holds something else.
    fn load_record<T: Record>(&self, id: &DocumentId) -> Result<Automerge> {
        let doc = self.load(id)?;
        if schema::kind_of(&doc) != Some(T::KIND) {
            return Err(Error::NotFound(*id));
        }
        Ok(doc)
    }

    fn get_record<T: Record>(&self, id: &DocumentId) -> Result<T> {
        record::read(&self.load_record::<T>(id)?)
    }

    /// Files a new, already checked record under a fresh id.
    fn create_record<T: Record>(&self, value: &T, action: &str) -> Result<DocumentId> {
        self.permit(T::KIND)?;
        let _guard = self.lock();
        let id = DocumentId::random();
        let doc = record::create(self.actor.clone(), T::KIND, value, &self.author(action))?;
        self.persist(&id, &doc, &[], T::KIND, value.as_client())?;
        Ok(id)
    }

    /// Edits a record: `f` changes a copy and checks it; only if it succeeds is the copy
    /// written, field by field. Returns the record and whether anything changed.
    fn edit_record<T: Record>(
        &self,
        id: &DocumentId,
        action: &str,
        f: impl FnOnce(&mut T) -> Result<()>,
    ) -> Result<(T, bool)> {
        self.permit(T::KIND)?;
        let _guard = self.lock();
        let mut doc = self.load_record::<T>(id)?;
        let before = doc.get_heads();
        let mut value: T = record::read(&doc)?;
        f(&mut value)?;
        let changed = record::write(&mut doc, &value, &self.author(action))?.is_some();
        self.persist(id, &doc, &before, T::KIND, value.as_client())?;
        Ok((value, changed))
    }

    /// The raw Automerge document (for sync and export).
    pub fn document(&self, id: &DocumentId) -> Result<Automerge> {
        self.load(id)
    }

    /// Every document id this device holds, with its kind.
    pub fn documents(&self) -> Result<Vec<(DocumentId, String)>> {
        self.store
            .scan(&key!["_docs"])?
            .into_iter()
            .filter_map(|(k, v)| {
                let id = k.get(1)?.parse().ok()?;
                Some(Ok((id, String::from_utf8_lossy(&v).into_owned())))
            })
            .collect()
    }

    /// Summary and index writes for a client document; `client` is the record if the caller
    /// already holds it, `fresh` says the document was just made (so it has no conflicts).
    fn index_writes(
        &self,
        id: &DocumentId,
        doc: &Automerge,
        client: Option<&Client>,
        fresh: bool,
    ) -> Result<(Vec<Write>, Summary)> {
        let conflicts = if fresh { 0 } else { conflicts::list(doc).len() };
        let summary = match client {
            Some(c) => Summary::of(*id, c, conflicts),
            None => Summary::read(*id, doc, conflicts)?,
        };
        let json = serde_json::to_vec(&summary).map_err(|e| Error::Shape(e.to_string()))?;
        Ok((vec![Write::Put(key!["_index", id], json)], summary))
    }

    /// What persisting a new or changed document writes: its chunks, its `_docs` entry when
    /// new, and for a client its index entry, whose summary is returned to index once written.
    /// `client` is the record the document now holds, when the caller has it; `whole`, bytes
    /// that hold all of a new document (as received), stored instead of saving it again.
    fn document_writes(
        &self,
        id: &DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        kind: Kind,
        client: Option<&Client>,
        whole: Option<Vec<u8>>,
    ) -> Result<(Vec<Write>, Option<Summary>)> {
        let mut writes = match whole {
            Some(bytes) if before.is_empty() => docstore::new_document_writes(id, doc, bytes),
            _ => docstore::save_writes(self.store.as_ref(), id, doc, before)?,
        };
        if writes.is_empty() {
            return Ok((writes, None));
        }
        if before.is_empty() {
            writes.push(Write::Put(
                key!["_docs", id],
                kind.as_str().as_bytes().to_vec(),
            ));
        }
        let mut summary = None;
        if kind == Kind::Client {
            let fresh = before.is_empty() && client.is_some();
            let (w, s) = self.index_writes(id, doc, client, fresh)?;
            writes.extend(w);
            summary = Some(s);
        }
        Ok((writes, summary))
    }

    /// Brings what the book holds in memory up to date once a document of `kind` is written.
    fn written(&self, id: &DocumentId, kind: Kind, summary: Option<Summary>, remote: bool) {
        if kind == Kind::Settings {
            *self
                .settings_cache
                .write()
                .unwrap_or_else(|p| p.into_inner()) = None;
        }
        if let Some(s) = summary {
            self.index_write().insert(s);
        }
        // Nobody listening is fine.
        let _ = self.changes.send(Change {
            id: *id,
            kind,
            remote,
        });
    }

    /// Persists a new or changed document (and its index entry) in one durable write.
    fn persist(
        &self,
        id: &DocumentId,
        doc: &Automerge,
        before: &[ChangeHash],
        kind: Kind,
        client: Option<&Client>,
    ) -> Result<()> {
        let (writes, summary) = self.document_writes(id, doc, before, kind, client, None)?;
        if writes.is_empty() {
            return Ok(());
        }
        self.store.apply(writes)?;
        self.written(id, kind, summary, false);
        Ok(())
    }

    fn load_index(&self) -> Result<()> {
        let version = self.store.get(&key!["_meta", "index_version"])?;
        if version.as_deref() != Some(INDEX_VERSION.as_bytes()) {
            return self.reindex();
        }
        let mut index = Index::default();
        for (_, v) in self.store.scan(&key!["_index"])? {
            let summary: Summary = serde_json::from_slice(&v)
                .map_err(|e| Error::Shape(format!("index entry: {e}")))?;
            index.insert(summary);
        }
        *self.index_write() = index;
        Ok(())
    }

    /// Rebuilds the search index from the documents.
    pub fn reindex(&self) -> Result<()> {
        let _guard = self.lock();
        let mut writes: Vec<Write> = self
            .store
            .scan(&key!["_index"])?
            .into_iter()
            .map(|(k, _)| Write::Delete(k))
            .collect();
        let mut index = Index::default();
        for (id, kind) in self.documents()? {
            if kind != Kind::Client.as_str() {
                continue;
            }
            let doc = self.load(&id)?;
            let (w, s) = self.index_writes(&id, &doc, None, false)?;
            writes.extend(w);
            index.insert(s);
        }
        writes.push(Write::Put(
            key!["_meta", "index_version"],
            INDEX_VERSION.as_bytes().to_vec(),
        ));
        self.store.apply(writes)?;
        *self.index_write() = index;
        Ok(())
    }

    // ----- organisation settings -------------------------------------------------------------

    /// The settings document of this book: the organisation's well-known one
    /// ([`directory::settings_id`]), so that every device shares it; a book made before
    /// settings were shared keeps the one it recorded.
    fn open_settings(&self) -> Result<DocumentId> {
        if let Some(bytes) = self.store.get(&key!["_meta", "settings"])? {
            let text = String::from_utf8_lossy(&bytes);
            return Ok(text.parse()?);
        }
        // Created on its first change, so that a fresh device takes the organisation's
        // settings from sync rather than making a rival document with the same id.
        Ok(directory::settings_id())
    }

    /// The id of the organisation settings document.
    pub fn settings_id(&self) -> DocumentId {
        self.settings_id
    }

    pub fn settings(&self) -> Result<OrgSettings> {
        if let Some(s) = self
            .settings_cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(s.clone());
        }
        let settings: OrgSettings = match self.get_record(&self.settings_id) {
            Err(Error::NotFound(_)) => OrgSettings::default(),
            other => other?,
        };
        *self
            .settings_cache
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(settings.clone());
        Ok(settings)
    }

    /// Changes the organisation settings.
    pub fn update_settings(&self, f: impl FnOnce(&mut OrgSettings)) -> Result<OrgSettings> {
        let id = self.settings_id;
        self.permit(Kind::Settings)?;
        {
            let _guard = self.lock();
            if !self.has_document(&id)? {
                let mut settings = OrgSettings::default();
                f(&mut settings);
                let author = self.author("settings");
                let doc = record::create(self.actor.clone(), Kind::Settings, &settings, &author)?;
                self.persist(&id, &doc, &[], Kind::Settings, None)?;
                return Ok(settings);
            }
        }
        let (settings, _) = self.edit_record(&id, "settings", |s| {
            f(s);
            Ok(())
        })?;
        Ok(settings)
    }

    // ----- clients ---------------------------------------------------------------------------

    /// Validates and normalises a draft; writes nothing.
    pub fn check(&self, draft: &Client) -> Result<Client> {
        let mut client = draft.clone();
        check::client(&mut client, &self.options.rules, &self.settings()?)?;
        Ok(client)
    }

    /// Validates a draft and finds the clients it looks like, without writing anything (for
    /// forms that warn while the user types).
    pub fn check_client(
        &self,
        draft: &Client,
        except: Option<DocumentId>,
    ) -> Result<(Client, Vec<Duplicate>)> {
        let client = self.check(draft)?;
        let dups = duplicates::find(&self.index_read(), &client, except);
        Ok((client, dups))
    }

    /// Files a new client. Likely duplicates are reported, not refused.
    pub fn create_client(&self, draft: Client) -> Result<Created> {
        let (client, duplicates) = self.check_client(&draft, None)?;
        let id = self.create_record(&client, "create")?;
        Ok(Created {
            id,
            client,
            duplicates,
        })
    }

    /// Files many clients in one durable write (imports). The first invalid draft fails the
    /// whole batch before anything is written.
    pub fn create_clients(&self, drafts: Vec<Client>, action: &str) -> Result<Vec<DocumentId>> {
        let checked = drafts
            .iter()
            .map(|d| self.check(d))
            .collect::<Result<Vec<_>>>()?;
        self.create_checked(&checked, action)
    }

    /// Files clients that went through [`Book::check`], in one durable write.
    pub(crate) fn create_checked(
        &self,
        clients: &[Client],
        action: &str,
    ) -> Result<Vec<DocumentId>> {
        self.permit(Kind::Client)?;
        let _guard = self.lock();
        let author = self.author(action);
        let mut writes = Vec::new();
        let mut summaries = Vec::new();
        let mut ids = Vec::new();
        for client in clients {
            let id = DocumentId::random();
            let doc = record::create(self.actor.clone(), Kind::Client, client, &author)?;
            let (w, s) = self.document_writes(&id, &doc, &[], Kind::Client, Some(client), None)?;
            writes.extend(w);
            summaries.push((id, s));
            ids.push(id);
        }
        self.store.apply(writes)?;
        for (id, s) in summaries {
            self.written(&id, Kind::Client, s, false);
        }
        Ok(ids)
    }

    pub fn client(&self, id: &DocumentId) -> Result<Client> {
        self.get_record(id)
    }

    /// Edits a client: `f` changes a copy, which is validated and then written field by field.
    pub fn edit_client(&self, id: &DocumentId, f: impl FnOnce(&mut Client)) -> Result<Edited> {
        let settings = self.settings()?;
        let mut referenced_before = Default::default();
        let (client, changed) = self.edit_record(id, "edit", |c: &mut Client| {
            let altered_before = files::altered(c);
            referenced_before = c.blob_hashes();
            f(c);
            if let Some(key) = files::altered(c)
                .into_iter()
                .find(|k| !altered_before.contains(k))
            {
                let field = format!("interventions.{key}");
                let reason = "the client signed this report: it cannot be changed";
                return Err(ValidationErrors(vec![FieldError::new(field, reason)]).into());
            }
            Ok(check::client(c, &self.options.rules, &settings)?)
        })?;
        let newly_referenced = client
            .blob_hashes()
            .into_iter()
            .filter(|h| !referenced_before.contains(h));
        self.queue_held(newly_referenced)?;
        let duplicates = duplicates::find(&self.index_read(), &client, Some(*id));
        Ok(Edited {
            client,
            changed,
            duplicates,
        })
    }

    /// Archives (or brings back) a client: it leaves the everyday lists but stays whole.
    pub fn set_archived(&self, id: &DocumentId, archived: bool) -> Result<Edited> {
        self.edit_client(id, |c| c.archived = archived)
    }

    /// The clients already filed that `draft` looks like (to warn while it is typed).
    /// Phones are compared once read as E.164 when the draft already validates.
    pub fn similar(&self, draft: &Client) -> Vec<Duplicate> {
        let normalized = self.check(draft).unwrap_or_else(|_| draft.clone());
        duplicates::find(&self.index_read(), &normalized, None)
    }

    pub fn summary(&self, id: &DocumentId) -> Option<Summary> {
        self.index_read().get(id).cloned()
    }

    /// Clients matching `filter`, sorted by name.
    pub fn list(&self, filter: &Filter, page: Page) -> Vec<Summary> {
        self.index_read().search(filter, page)
    }

    /// Number of clients on this device (archived included).
    pub fn count(&self) -> usize {
        self.index_read().len()
    }

    pub fn history(&self, id: &DocumentId) -> Result<Vec<HistoryEntry>> {
        Ok(history::of(&self.load(id)?))
    }

    pub fn conflicts(&self, id: &DocumentId) -> Result<Vec<Conflict>> {
        Ok(conflicts::list(&self.load(id)?))
    }

    /// Settles the conflict at `path` with the value at position `pick` (0 = the current one).
    pub fn resolve(&self, id: &DocumentId, path: &str, pick: usize) -> Result<()> {
        let _guard = self.lock();
        let mut doc = self.load(id)?;
        let kind = schema::kind_of(&doc).unwrap_or(Kind::Client);
        self.permit(kind)?;
        let before = doc.get_heads();
        record::change(&mut doc, &self.author("resolve"), |tx| {
            conflicts::resolve(tx, path, pick)
        })?;
        if kind == Kind::Client {
            // A picked value must still be a valid record.
            let mut client: Client = record::read(&doc)?;
            check::client(&mut client, &self.options.rules, &self.settings()?)?;
        }
        self.persist(id, &doc, &before, kind, None)
    }

    // ----- merging changes from elsewhere ------------------------------------------------------

    /// Merges a document (or changes of it) saved by another device; the index follows.
    pub fn merge(&self, id: &DocumentId, bytes: &[u8]) -> Result<Merged> {
        let existing = docstore::load(self.store.as_ref(), id)?;
        let mut doc = existing.unwrap_or_default().with_actor(self.actor.clone());
        let before = doc.get_heads();
        doc.load_incremental(bytes).map_err(|e| Error::Corrupt {
            id: *id,
            reason: e.to_string(),
        })?;
        let batch = vec![Absorb {
            id: *id,
            doc: &mut doc,
            before,
            with: Vec::new(),
            received: None,
        }];
        match self.absorb(batch)?.pop() {
            Some(Absorbed::Written { created, .. }) => Ok(Merged {
                changed: true,
                created,
            }),
            Some(Absorbed::Refused(e)) => Err(e),
            Some(Absorbed::Unchanged) | None => Ok(Merged {
                changed: false,
                created: false,
            }),
        }
    }

    /// A full save of a document, for another device to [`Book::merge`].
    pub fn save(&self, id: &DocumentId) -> Result<Vec<u8>> {
        Ok(self.load(id)?.save())
    }

    // ----- contacts --------------------------------------------------------------------------

    pub fn create_contact(&self, mut contact: Contact) -> Result<DocumentId> {
        check::contact(&mut contact, &self.options.rules)?;
        self.create_record(&contact, "create")
    }

    pub fn contact(&self, id: &DocumentId) -> Result<Contact> {
        self.get_record(id)
    }

    pub fn edit_contact(&self, id: &DocumentId, f: impl FnOnce(&mut Contact)) -> Result<Contact> {
        let (contact, _) = self.edit_record(id, "edit", |c: &mut Contact| {
            f(c);
            Ok(check::contact(c, &self.options.rules)?)
        })?;
        Ok(contact)
    }

    /// Links a contact to a client with a role (or changes the role).
    pub fn link_contact(
        &self,
        client: &DocumentId,
        contact: &DocumentId,
        role: &str,
    ) -> Result<Edited> {
        self.contact(contact)?;
        let role = role.trim().to_string();
        self.edit_client(client, |c| {
            c.contacts.insert(contact.to_string(), ContactLink { role });
        })
    }

    /// Unlinks a contact from a client; the contact itself stays.
    pub fn unlink_contact(&self, client: &DocumentId, contact: &DocumentId) -> Result<Edited> {
        self.edit_client(client, |c| {
            c.contacts.remove(&contact.to_string());
        })
    }

    /// The clients a contact is linked to.
    pub fn clients_of_contact(&self, contact: &DocumentId) -> Vec<Summary> {
        let key = contact.to_string();
        let filter = Filter {
            include_archived: true,
            ..Filter::default()
        };
        self.list(&filter, Page::default())
            .into_iter()
            .filter(|s| s.contacts.contains(&key))
            .collect()
    }
}
