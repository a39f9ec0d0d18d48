//! The records apps exchange with the store, and their conversions to and from fiche-core's.

use fiche_core::duplicates::Duplicate;
use fiche_core::index::Summary;
use fiche_core::model::FileRef;
use fiche_core::walk_in::WalkIn;

/// The walk-in form: `fiche_core::walk_in::WalkIn` itself, exported as a record.
#[uniffi::remote(Record)]
pub struct WalkIn {
    pub client_type: String,
    pub first_name: String,
    pub last_name: String,
    pub company_name: String,
    pub vat_number: String,
    pub phone: String,
    pub email: String,
    pub birthday: String,
    pub groups: Vec<String>,
    pub notes: String,
    pub consent: bool,
}

/// A client filed earlier that the form looks like.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DuplicateMatch {
    pub id: String,
    pub name: String,
    /// In words: "same phone +33…", "similar name (0.95)".
    pub reasons: Vec<String>,
}

impl From<Duplicate> for DuplicateMatch {
    fn from(d: Duplicate) -> Self {
        Self {
            id: d.id.to_string(),
            name: d.name,
            reasons: d.reasons.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A client just filed, and the ones it looks like.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Created {
    pub id: String,
    pub duplicates: Vec<DuplicateMatch>,
}

/// A line of the client list.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub city: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub archived: bool,
    /// Fields with concurrent edits to settle.
    pub conflicts: u32,
}

impl From<Summary> for ClientRow {
    fn from(s: Summary) -> Self {
        Self {
            id: s.id.to_string(),
            name: s.name,
            city: s.city,
            phones: s.phones,
            emails: s.emails,
            archived: s.archived,
            conflicts: s.conflicts as u32,
        }
    }
}

/// A photo or file held by a record.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FileInfo {
    pub hash: String,
    pub size: u64,
    pub media_type: String,
    pub name: String,
    /// Hash of the small preview of a photo, if it has one.
    pub thumbnail: Option<String>,
}

impl From<FileRef> for FileInfo {
    fn from(f: FileRef) -> Self {
        Self {
            hash: f.hash,
            size: f.size,
            media_type: f.media_type,
            name: f.name,
            thumbnail: f.thumbnail,
        }
    }
}

/// A contact linked to the client.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactRow {
    pub id: String,
    pub role: String,
}

/// A contact person (a client's accountant, travel companion, site manager…).
#[derive(Debug, Clone, uniffi::Record)]
pub struct ContactInfo {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    pub email: String,
}

impl From<ContactInfo> for fiche_core::model::Contact {
    fn from(c: ContactInfo) -> Self {
        use fiche_core::model::{new_key, Email, Name, Phone};
        let mut contact = fiche_core::model::Contact {
            name: Name {
                first: c.first_name,
                last: c.last_name,
                ..Name::default()
            },
            ..Default::default()
        };
        if !c.phone.trim().is_empty() {
            let phone = Phone {
                label: "mobile".into(),
                number: c.phone,
            };
            contact.phones.insert(new_key(), phone);
        }
        if !c.email.trim().is_empty() {
            let email = Email {
                label: String::new(),
                address: c.email,
            };
            contact.emails.insert(new_key(), email);
        }
        contact
    }
}

impl From<fiche_core::model::Contact> for ContactInfo {
    fn from(c: fiche_core::model::Contact) -> Self {
        Self {
            first_name: c.name.first,
            last_name: c.name.last,
            phone: c
                .phones
                .into_values()
                .next()
                .map(|p| p.number)
                .unwrap_or_default(),
            email: c
                .emails
                .into_values()
                .next()
                .map(|e| e.address)
                .unwrap_or_default(),
        }
    }
}

/// One client as its detail screen shows it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientCard {
    pub id: String,
    pub name: String,
    pub form: WalkIn,
    pub photo: Option<FileInfo>,
    pub contacts: Vec<ContactRow>,
    pub sites: Vec<String>,
    pub interventions: Vec<String>,
    pub files: Vec<FileInfo>,
}

/// A field two devices wrote at once: the value shown and the others.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConflictInfo {
    pub path: String,
    /// JSON of the value shown now.
    pub shown: String,
    /// JSON of the others; pick one by its position, 1 for the first.
    pub others: Vec<String>,
}

/// The organisation's lists for the form.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SettingsInfo {
    pub name: String,
    pub client_types: Vec<String>,
    pub groups: Vec<String>,
}

/// What a sync did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncSummary {
    pub documents: u64,
    pub received: u64,
    pub uploaded: u64,
    /// Documents whose changes from this phone the server refused (see `refused`).
    pub refused: u64,
}

/// A change of this phone's that the server refused; it stays here until dropped.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RefusedChange {
    pub id: String,
    pub reason: String,
    /// The fields it touches (`address.city`), when known.
    pub fields: Vec<String>,
}

impl From<fiche_core::book::Refusal> for RefusedChange {
    fn from(r: fiche_core::book::Refusal) -> Self {
        RefusedChange {
            id: r.id.to_string(),
            reason: r.reason,
            fields: r.fields,
        }
    }
}

/// What the sync engine is doing, for the status bar.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum SyncStatus {
    Connecting {
        attempt: u32,
    },
    Offline {
        reason: String,
        retry_in_ms: u64,
    },
    Syncing {
        done: u64,
        total: u64,
    },
    /// The server holds every change made here.
    UpToDate {
        documents: u64,
    },
    /// Everything answered, but `refused` changes made here were refused and stay here: not
    /// up to date (`refused()` lists them, `drop_local` returns a record to the office's).
    Held {
        documents: u64,
        refused: u64,
    },
    /// The server refused this phone's change to a record.
    Refused {
        id: String,
        reason: String,
    },
    Received {
        id: String,
        created: bool,
    },
    /// A record erased on the server: its copy on this phone is gone; lists should refresh.
    Erased {
        id: String,
    },
    Uploading {
        done: u64,
        total: u64,
    },
    Problem {
        reason: String,
    },
}

impl From<fiche_core::sync::Status> for SyncStatus {
    fn from(s: fiche_core::sync::Status) -> Self {
        use fiche_core::sync::Status;
        match s {
            Status::Connecting { attempt } => SyncStatus::Connecting { attempt },
            Status::Offline { reason, retry_in } => SyncStatus::Offline {
                reason,
                retry_in_ms: retry_in.as_millis() as u64,
            },
            Status::Syncing { done, total } => SyncStatus::Syncing {
                done: done as u64,
                total: total as u64,
            },
            Status::UpToDate { documents } => SyncStatus::UpToDate {
                documents: documents as u64,
            },
            Status::Held { documents, refused } => SyncStatus::Held {
                documents: documents as u64,
                refused: refused as u64,
            },
            Status::Refused { id, reason } => SyncStatus::Refused {
                id: id.to_string(),
                reason,
            },
            Status::Received { id, created, .. } => SyncStatus::Received {
                id: id.to_string(),
                created,
            },
            Status::Erased { id } => SyncStatus::Erased { id: id.to_string() },
            Status::Uploading { done, total, .. } => SyncStatus::Uploading { done, total },
            Status::Skipped { id, reason } => SyncStatus::Problem {
                reason: format!("{id}: {reason}"),
            },
            Status::UploadRefused { hash, reason } => SyncStatus::Problem {
                reason: format!("{hash}: {reason}"),
            },
            Status::UploadsWaiting { reason } => SyncStatus::Problem { reason },
        }
    }
}
