//! Work done with the client: activities, installations, interventions, contracts, interests,
//! renewables, linked opportunities and incidents, and file references.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A reference to a blob kept outside the document (content-addressed by SHA-256).
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct FileRef {
    /// Lower-case hex SHA-256 of the content.
    #[autosurgeon(missing = "Default::default")]
    pub hash: String,
    #[autosurgeon(missing = "Default::default")]
    pub size: u64,
    #[autosurgeon(missing = "Default::default")]
    pub media_type: String,
    #[autosurgeon(missing = "Default::default")]
    pub name: String,
    /// For a photo: the hash of a small JPEG preview (at most 256 px a side, upright), made on
    /// the device that took it, so lists show faces without fetching whole photos.
    #[autosurgeon(missing = "Default::default")]
    pub thumbnail: Option<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ActivityKind {
    #[default]
    #[autosurgeon(rename = "task")]
    Task,
    #[autosurgeon(rename = "call")]
    Call,
    #[autosurgeon(rename = "meeting")]
    Meeting,
}

/// A call, meeting or task.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Activity {
    #[autosurgeon(missing = "Default::default")]
    pub kind: ActivityKind,
    /// ISO 8601 date.
    #[autosurgeon(missing = "Default::default")]
    pub date: String,
    #[autosurgeon(missing = "Default::default")]
    pub title: String,
    #[autosurgeon(missing = "Default::default")]
    pub description: String,
    #[autosurgeon(missing = "Default::default")]
    pub done: bool,
}

/// Equipment installed at one of the client's sites.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Installation {
    /// Key of the site in [`super::Client::sites`].
    #[autosurgeon(missing = "Default::default")]
    pub site: Option<String>,
    /// boiler, heat pump, air conditioner…
    #[autosurgeon(missing = "Default::default")]
    pub kind: String,
    #[autosurgeon(missing = "Default::default")]
    pub brand: String,
    #[autosurgeon(missing = "Default::default")]
    pub model: String,
    #[autosurgeon(missing = "Default::default")]
    pub serial: String,
    #[autosurgeon(missing = "Default::default")]
    pub installed_on: Option<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum InterventionStatus {
    #[default]
    #[autosurgeon(rename = "planned")]
    Planned,
    #[autosurgeon(rename = "done")]
    Done,
    #[autosurgeon(rename = "cancelled")]
    Cancelled,
}

/// The client's signature on an intervention report.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Signature {
    #[autosurgeon(missing = "Default::default")]
    pub image: FileRef,
    #[autosurgeon(missing = "Default::default")]
    pub signed_by: String,
    /// RFC 3339 time of signing.
    #[autosurgeon(missing = "Default::default")]
    pub signed_at: String,
    /// [`Intervention::content_hash`] of the report as it was signed: an intervention whose
    /// content no longer hashes to it was changed after signing.
    #[autosurgeon(missing = "Default::default")]
    pub report_hash: String,
}

/// A technician's visit on an installation.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Intervention {
    /// Key of the installation in [`super::Client::installations`].
    #[autosurgeon(missing = "Default::default")]
    pub installation: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub date: String,
    /// Member id of the technician.
    #[autosurgeon(missing = "Default::default")]
    pub technician: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub report: String,
    #[autosurgeon(missing = "Default::default")]
    pub photos: BTreeMap<String, FileRef>,
    #[autosurgeon(missing = "Default::default")]
    pub signature: Option<Signature>,
    #[autosurgeon(missing = "Default::default")]
    pub status: InterventionStatus,
}

impl Intervention {
    /// SHA-256 (hex) of what the client signs: the installation, date, technician, report and
    /// photos (by hash), in a fixed encoding. Not the status or the signature itself.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let photos: std::collections::BTreeSet<&str> =
            self.photos.values().map(|p| p.hash.as_str()).collect();
        let content = serde_json::json!({
            "installation": self.installation,
            "date": self.date,
            "technician": self.technician,
            "report": self.report,
            "photos": photos,
        });
        let digest = Sha256::digest(content.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether it is signed and was changed since.
    pub fn altered_after_signing(&self) -> bool {
        self.signature
            .as_ref()
            .is_some_and(|s| s.report_hash != self.content_hash())
    }
}

/// A contract signed with the client.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Contract {
    #[autosurgeon(missing = "Default::default")]
    pub number: String,
    #[autosurgeon(missing = "Default::default")]
    pub starts_on: String,
    #[autosurgeon(missing = "Default::default")]
    pub ends_on: Option<String>,
    /// In cents.
    #[autosurgeon(missing = "Default::default")]
    pub amount: Option<i64>,
    /// ISO 4217 code.
    #[autosurgeon(missing = "Default::default")]
    pub currency: String,
    #[autosurgeon(missing = "Default::default")]
    pub file: Option<FileRef>,
}

/// A product the client (or one of their contacts) showed interest in.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Interest {
    #[autosurgeon(missing = "Default::default")]
    pub product: String,
    /// Document id of the contact who showed it, if not the client.
    #[autosurgeon(missing = "Default::default")]
    pub contact: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub on: String,
}

/// A product sold that renews every period.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Renewable {
    #[autosurgeon(missing = "Default::default")]
    pub product: String,
    /// Purchase dates, keyed by a UUID.
    #[autosurgeon(missing = "Default::default")]
    pub purchases: BTreeMap<String, String>,
    #[autosurgeon(missing = "Default::default")]
    pub period_months: u32,
    #[autosurgeon(missing = "Default::default")]
    pub next_due: Option<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    #[default]
    #[autosurgeon(rename = "opportunity")]
    Opportunity,
    #[autosurgeon(rename = "quote")]
    Quote,
    #[autosurgeon(rename = "trip")]
    Trip,
    #[autosurgeon(rename = "incident")]
    Incident,
}

/// An opportunity, quote, trip or incident linked to the client.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Link {
    #[autosurgeon(missing = "Default::default")]
    pub kind: LinkKind,
    /// Its id or URL in whatever system holds it.
    #[autosurgeon(missing = "Default::default")]
    pub reference: String,
    #[autosurgeon(missing = "Default::default")]
    pub title: String,
}
