//! Fiche's mobile bindings: the Rust core exported through uniffi to Kotlin, Swift and Python.
//! Each method delegates to fiche-core in a line or two; conversions live in [`types`] and
//! [`error`]. Methods that wait on the network are `async`; the rest touch only the local
//! store and return at once.

mod error;
mod types;

use std::sync::{Arc, Mutex};

use fiche_core::blob::transfer::Transfer;
use fiche_core::index::{Filter, Page};
use fiche_core::sync::{sync_live, sync_once, SyncOptions};
use fiche_core::validate::Rules;
use fiche_core::walk_in::{today, WalkIn};
use fiche_core::{Book, DocumentId, Options};

pub use error::{FicheError, FieldProblem};
pub use types::*;

uniffi::setup_scaffolding!();

/// Receives the sync engine's status changes (on a background thread).
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_status(&self, status: SyncStatus);
}

/// Live sync running on its own thread until stopped.
struct Live {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// One device's store of client records.
#[derive(uniffi::Object)]
pub struct FicheStore {
    book: Arc<Book>,
    live: Mutex<Option<Live>>,
    /// The organisation's CA certificate (PEM), for a server whose certificate it signed.
    ca: Mutex<Option<Vec<u8>>>,
}

impl std::fmt::Debug for FicheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FicheStore").finish_non_exhaustive()
    }
}

fn id(text: &str) -> Result<DocumentId, FicheError> {
    Ok(text
        .parse::<DocumentId>()
        .map_err(fiche_core::Error::from)?)
}

#[uniffi::export(async_runtime = "tokio")]
impl FicheStore {
    /// Opens (or creates) the store at `path`, for `member`, reading national phone numbers
    /// as numbers of `region` (ISO 3166 alpha-2, e.g. "FR").
    #[uniffi::constructor]
    pub fn open(path: String, member: String, region: String) -> Result<Arc<Self>, FicheError> {
        let region = fiche_core::validate::country("region", &region)?;
        let rules = Rules {
            default_region: region,
        };
        let book = Book::open(path, Options { member, rules })?;
        Ok(Arc::new(Self {
            book: Arc::new(book),
            live: Mutex::new(None),
            ca: Mutex::new(None),
        }))
    }

    /// Trusts the organisation's own CA (PEM) for `wss://`/`https://` servers, besides the
    /// public ones.
    pub fn trust_ca(&self, pem: Vec<u8>) -> Result<(), FicheError> {
        fiche_core::tls::certificates(&pem).map_err(|reason| FicheError::Invalid {
            problems: vec![FieldProblem {
                field: "ca".into(),
                reason,
            }],
        })?;
        *self.ca.lock().unwrap_or_else(|p| p.into_inner()) = Some(pem);
        Ok(())
    }

    /// The client types and groups the form offers.
    pub fn settings(&self) -> Result<SettingsInfo, FicheError> {
        let s = self.book.settings()?;
        Ok(SettingsInfo {
            name: s.name,
            client_types: s.client_types.into_keys().collect(),
            groups: s.groups.into_keys().collect(),
        })
    }

    /// Clients already filed that the form, as typed so far, looks like.
    pub fn similar(&self, form: WalkIn) -> Vec<DuplicateMatch> {
        let draft = form.into_client(self.book.member(), &today());
        self.book
            .similar(&draft)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Files the client; invalid fields are refused with their names and nothing is written.
    pub fn create_client(&self, form: WalkIn) -> Result<Created, FicheError> {
        let draft = form.into_client(self.book.member(), &today());
        let created = self.book.create_client(draft)?;
        Ok(Created {
            id: created.id.to_string(),
            duplicates: created.duplicates.into_iter().map(Into::into).collect(),
        })
    }

    /// Clients whose name, phone, e-mail or city match every word of `query` (all when
    /// empty), by name, a page at a time.
    pub fn list(&self, query: String, offset: u32, limit: u32) -> Vec<ClientRow> {
        let filter = Filter {
            text: Some(query).filter(|q| !q.trim().is_empty()),
            ..Filter::default()
        };
        let page = Page {
            offset: offset as usize,
            limit: limit as usize,
        };
        self.book
            .list(&filter, page)
            .into_iter()
            .map(Into::into)
            .collect()
    }

    pub fn count(&self) -> u64 {
        self.book.count() as u64
    }

    pub fn client(&self, id: String) -> Result<ClientCard, FicheError> {
        let id = self::id(&id)?;
        Ok(card(id, self.book.client(&id)?))
    }

    /// Writes the form over the client; returns the clients it now looks like.
    pub fn edit_client(&self, id: String, form: WalkIn) -> Result<Vec<DuplicateMatch>, FicheError> {
        let member = self.book.member().to_string();
        let edited = self
            .book
            .edit_client(&self::id(&id)?, |c| form.apply(c, &member, &today()))?;
        Ok(edited.duplicates.into_iter().map(Into::into).collect())
    }

    /// Files a contact person and links them to the client with `role`; returns their id.
    pub fn add_contact(
        &self,
        client_id: String,
        contact: ContactInfo,
        role: String,
    ) -> Result<String, FicheError> {
        let contact_id = self.book.create_contact(contact.into())?;
        self.book
            .link_contact(&self::id(&client_id)?, &contact_id, &role)?;
        Ok(contact_id.to_string())
    }

    pub fn contact(&self, id: String) -> Result<ContactInfo, FicheError> {
        Ok(self.book.contact(&self::id(&id)?)?.into())
    }

    /// Makes the camera's photo (JPEG, PNG, HEIC…) the client's; it is kept here and sent
    /// on the next sync. A preview is made for lists.
    pub fn set_photo(
        &self,
        id: String,
        bytes: Vec<u8>,
        file_name: String,
    ) -> Result<FileInfo, FicheError> {
        let photo = self.book.add_bytes(&bytes, &file_name)?;
        self.book.set_photo(&self::id(&id)?, photo.clone())?;
        Ok(photo.into())
    }

    /// A photo or file held on this device (`None` if it is not here: see `fetch_file`).
    pub fn file(&self, hash: String) -> Result<Option<Vec<u8>>, FicheError> {
        let hash = hash.parse()?;
        if self.book.blob(&hash)?.is_none() {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        self.book.read_blob(&hash, &mut bytes)?;
        Ok(Some(bytes))
    }

    /// A photo or file from the server (kept here afterwards).
    pub async fn fetch_file(&self, server: String, hash: String) -> Result<Vec<u8>, FicheError> {
        let parsed = hash.parse()?;
        Transfer::new(&server, self.ca().as_deref(), self.token()?.as_deref())?
            .fetch(self.book.store().as_ref(), &parsed, |_| {})
            .await?;
        self.file(hash)?.ok_or(FicheError::NotFound {
            what: parsed.to_string(),
        })
    }

    /// Enrols this phone with the one-time code an administrator gave; returns the member's
    /// role. The token received stays in the store and goes with every sync.
    pub async fn enrol(
        &self,
        server: String,
        code: String,
        name: String,
    ) -> Result<String, FicheError> {
        let ca = self.ca();
        let enrolled =
            fiche_core::sync::enrol(&self.book, &server, &code, &name, ca.as_deref()).await?;
        Ok(enrolled.role)
    }

    /// Syncs once with the server (records both ways, then photos and files up).
    pub async fn sync_once(&self, server: String) -> Result<SyncSummary, FicheError> {
        let options = SyncOptions {
            ca: self.ca(),
            ..SyncOptions::new(server)
        };
        let report = sync_once(self.book.clone(), &options, |_| {}).await?;
        Ok(SyncSummary {
            documents: report.documents as u64,
            received: report.received as u64,
            uploaded: report.uploaded as u64,
            refused: report.refused.len() as u64,
        })
    }

    /// The changes made here that the server refused (they stay until dropped).
    pub fn refused(&self) -> Result<Vec<RefusedChange>, FicheError> {
        Ok(self.book.refused()?.into_iter().map(Into::into).collect())
    }

    /// Drops this phone's copy of a record, a refused change with it: the next sync brings
    /// the organisation's version.
    pub fn drop_local(&self, id: String) -> Result<(), FicheError> {
        Ok(self.book.drop_local(&self::id(&id)?)?)
    }

    /// The member's role as this phone knows it (enrolment, each sync); `None`: not enrolled.
    pub fn role(&self) -> Result<Option<String>, FicheError> {
        Ok(self.book.role()?.map(|r| r.as_str().to_string()))
    }

    /// Starts live sync on a background thread: reconnects by itself, reports to `listener`.
    pub fn sync_start(
        &self,
        server: String,
        listener: Arc<dyn SyncListener>,
    ) -> Result<(), FicheError> {
        self.sync_stop();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let book = self.book.clone();
        let options = SyncOptions {
            attempts: None,
            ca: self.ca(),
            ..SyncOptions::new(server)
        };
        let thread = std::thread::Builder::new()
            .name("fiche-live-sync".into())
            .spawn(move || live(book, options, listener, stopped))
            .map_err(|e| FicheError::Storage {
                reason: e.to_string(),
            })?;
        *self.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(Live { stop, thread });
        Ok(())
    }

    /// Stops live sync (waits for it to close its connection).
    pub fn sync_stop(&self) {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(Live { stop, thread }) = live {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }

    /// The fields of a client that two devices wrote at once.
    pub fn conflicts(&self, id: String) -> Result<Vec<ConflictInfo>, FicheError> {
        let conflicts = self.book.conflicts(&self::id(&id)?)?;
        Ok(conflicts
            .into_iter()
            .map(|c| ConflictInfo {
                path: c.path,
                shown: c.winner.to_string(),
                others: c.others.iter().map(ToString::to_string).collect(),
            })
            .collect())
    }

    /// Settles a conflict: keeps the shown value (`pick` 0) or one of the others (1, 2…).
    pub fn resolve(&self, id: String, path: String, pick: u32) -> Result<(), FicheError> {
        Ok(self.book.resolve(&self::id(&id)?, &path, pick as usize)?)
    }

    /// The client as a vCard 4.0.
    pub fn export_vcard(&self, id: String) -> Result<String, FicheError> {
        let id = self::id(&id)?;
        Ok(fiche_core::exchange::vcard::export(
            &self.book.client(&id)?,
            &id,
        ))
    }
}

impl FicheStore {
    fn token(&self) -> Result<Option<String>, FicheError> {
        Ok(fiche_core::sync::enrol::token(self.book.store().as_ref())?)
    }

    fn ca(&self) -> Option<Vec<u8>> {
        self.ca.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The detail screen's view of a client.
fn card(id: DocumentId, c: fiche_core::model::Client) -> ClientCard {
    ClientCard {
        id: id.to_string(),
        name: c.display_name(),
        form: WalkIn::of(&c),
        photo: c.photo.clone().map(Into::into),
        contacts: c
            .contacts
            .iter()
            .map(|(id, link)| ContactRow {
                id: id.clone(),
                role: link.role.clone(),
            })
            .collect(),
        sites: c.sites.values().map(|s| s.label.clone()).collect(),
        interventions: c
            .interventions
            .values()
            .map(|i| format!("{} {}", i.date, i.report))
            .collect(),
        files: c.files.into_values().map(Into::into).collect(),
    }
}

/// The live sync thread: its own runtime, until `stopped`.
fn live(
    book: Arc<Book>,
    options: SyncOptions,
    listener: Arc<dyn SyncListener>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            listener.on_status(SyncStatus::Problem {
                reason: e.to_string(),
            });
            return;
        }
    };
    let on = |s: fiche_core::sync::Status| listener.on_status(s.into());
    let result = runtime.block_on(sync_live(book, &options, on, async {
        let _ = stopped.await;
    }));
    if let Err(e) = result {
        listener.on_status(SyncStatus::Problem {
            reason: e.to_string(),
        });
    }
}
