//! The client record: plain Rust types that map one-to-one onto the Automerge document.
//!
//! Collections of sub-records are maps keyed by a UUID (see [`new_key`]), never lists, so two
//! devices editing different fields of the same sub-record both keep their edit. Every field
//! defaults when absent, so a record written by an older or newer app still reads.

mod billing;
mod people;
mod settings;
pub(crate) mod shape;
mod work;

use std::collections::{BTreeMap, BTreeSet};

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use billing::{BankAccount, Bonus, Discount, Invoice, ValueKind};
pub use people::{Consent, ConsentMethod, Contact, ContactLink, OptIns, Site};
/// The JSON Schema crate the model derives with, for front ends that emit the schema
/// (`fiche schema`) without a dependency of their own.
#[doc(hidden)]
pub use schemars;
pub use settings::{ClientType, Member, OrgSettings, Role};
pub use work::{
    Activity, ActivityKind, Contract, FileRef, Installation, Interest, Intervention,
    InterventionStatus, Link, LinkKind, Renewable, Signature,
};

/// A fresh key for a sub-record map.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One client: a person, a couple, a company… with everything the business knows of them.
#[derive(
    Debug, Clone, PartialEq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Client {
    /// One of the organisation's configured client types (person, company, school…).
    #[autosurgeon(missing = "Default::default")]
    pub client_type: String,
    #[autosurgeon(missing = "Default::default")]
    pub status: Status,
    /// Archived clients are hidden from lists but kept; archiving is reversible.
    #[autosurgeon(missing = "Default::default")]
    pub archived: bool,
    /// Id of the member responsible for this client.
    #[autosurgeon(missing = "Default::default")]
    pub manager: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub name: Name,
    /// ISO 8601 date, `YYYY-MM-DD`.
    #[autosurgeon(missing = "Default::default")]
    pub birthday: Option<String>,
    #[autosurgeon(missing = "Default::default")]
    pub phones: BTreeMap<String, Phone>,
    #[autosurgeon(missing = "Default::default")]
    pub emails: BTreeMap<String, Email>,
    #[autosurgeon(missing = "Default::default")]
    pub address: Address,
    #[autosurgeon(missing = "Default::default", with = "shape::set")]
    #[schemars(with = "BTreeMap<String, bool>", extend("x-automerge" = "set"))]
    pub groups: BTreeSet<String>,
    /// Staff-only notes: collaborative text.
    #[autosurgeon(missing = "Default::default", with = "shape::text")]
    #[schemars(extend("x-automerge" = "text"))]
    pub notes: String,
    #[autosurgeon(missing = "Default::default")]
    pub photo: Option<FileRef>,

    #[autosurgeon(missing = "Default::default")]
    pub invoice: Invoice,
    #[autosurgeon(missing = "Default::default", with = "shape::set")]
    #[schemars(with = "BTreeMap<String, bool>", extend("x-automerge" = "set"))]
    pub payment_methods: BTreeSet<String>,
    #[autosurgeon(missing = "Default::default")]
    pub banks: BTreeMap<String, BankAccount>,
    #[autosurgeon(missing = "Default::default")]
    pub bonuses: BTreeMap<String, Bonus>,
    #[autosurgeon(missing = "Default::default")]
    pub discounts: BTreeMap<String, Discount>,

    /// Linked contacts, keyed by the contact's document id.
    #[autosurgeon(missing = "Default::default")]
    pub contacts: BTreeMap<String, ContactLink>,
    #[autosurgeon(missing = "Default::default")]
    pub sites: BTreeMap<String, Site>,

    #[autosurgeon(missing = "Default::default")]
    pub activities: BTreeMap<String, Activity>,
    #[autosurgeon(missing = "Default::default")]
    pub installations: BTreeMap<String, Installation>,
    #[autosurgeon(missing = "Default::default")]
    pub interventions: BTreeMap<String, Intervention>,
    #[autosurgeon(missing = "Default::default")]
    pub contracts: BTreeMap<String, Contract>,
    #[autosurgeon(missing = "Default::default")]
    pub interests: BTreeMap<String, Interest>,
    #[autosurgeon(missing = "Default::default")]
    pub renewables: BTreeMap<String, Renewable>,
    /// Opportunities, quotes, trips and incidents linked to the client.
    #[autosurgeon(missing = "Default::default")]
    pub links: BTreeMap<String, Link>,
    #[autosurgeon(missing = "Default::default")]
    pub files: BTreeMap<String, FileRef>,

    #[autosurgeon(missing = "Default::default")]
    pub consent: Option<Consent>,
}

impl Client {
    /// Every blob the record refers to (photo, files, intervention photos, signatures,
    /// contract files, and their previews), as hashes.
    pub fn blob_hashes(&self) -> std::collections::BTreeSet<String> {
        let mut files: Vec<&FileRef> = self.photo.iter().chain(self.files.values()).collect();
        for i in self.interventions.values() {
            files.extend(i.photos.values());
            files.extend(i.signature.as_ref().map(|s| &s.image));
        }
        files.extend(self.contracts.values().filter_map(|c| c.file.as_ref()));
        files
            .into_iter()
            .flat_map(|f| std::iter::once(f.hash.clone()).chain(f.thumbnail.clone()))
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// The members this client is assigned to: its manager and the technicians of its
    /// interventions (a technician sees only the clients assigned to them).
    pub fn assignees(&self) -> std::collections::BTreeSet<String> {
        self.manager
            .iter()
            .chain(
                self.interventions
                    .values()
                    .filter_map(|i| i.technician.as_ref()),
            )
            .filter(|m| !m.is_empty())
            .cloned()
            .collect()
    }

    /// What lists show: the display name, or first and last name, or the company name.
    pub fn display_name(&self) -> String {
        self.name.shown(&self.invoice.company_name)
    }
}

/// Prospect or client; archiving is a separate flag.
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
pub enum Status {
    #[default]
    #[autosurgeon(rename = "prospect")]
    Prospect,
    #[autosurgeon(rename = "client")]
    Client,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Prospect => "prospect",
            Status::Client => "client",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_lowercase().as_str() {
            "prospect" => Ok(Status::Prospect),
            "client" => Ok(Status::Client),
            other => Err(format!("{other:?} is not a status: use prospect or client")),
        }
    }
}

/// The display name, and for a person their first and last names.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Name {
    #[autosurgeon(missing = "Default::default")]
    pub display: String,
    #[autosurgeon(missing = "Default::default")]
    pub first: String,
    #[autosurgeon(missing = "Default::default")]
    pub last: String,
}

impl Name {
    /// What lists show: the display name, or first and last name, or else `company`.
    pub fn shown(&self, company: &str) -> String {
        if !self.display.trim().is_empty() {
            return self.display.trim().to_string();
        }
        let full = format!("{} {}", self.first.trim(), self.last.trim());
        if !full.trim().is_empty() {
            return full.trim().to_string();
        }
        company.trim().to_string()
    }
}

/// A labelled phone number, E.164 once validated.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Phone {
    /// mobile, office, home…
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub number: String,
}

/// A labelled e-mail address.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Email {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub address: String,
}

/// A postal address; `country` is an ISO 3166 alpha-2 code.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Address {
    #[autosurgeon(missing = "Default::default")]
    pub street: String,
    #[autosurgeon(missing = "Default::default")]
    pub city: String,
    /// Region, county, province…
    #[autosurgeon(missing = "Default::default")]
    pub region: String,
    #[autosurgeon(missing = "Default::default")]
    pub postal_code: String,
    #[autosurgeon(missing = "Default::default")]
    pub country: String,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self == &Address::default()
    }
}
