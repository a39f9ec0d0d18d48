//! People and places around a client: contacts (their own documents), sites, consent.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Address, Email, Name, Phone};

/// A natural person, kept in a document of its own so several clients can link to it.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Contact {
    #[autosurgeon(missing = "Default::default")]
    pub name: Name,
    #[autosurgeon(missing = "Default::default")]
    pub phones: BTreeMap<String, Phone>,
    #[autosurgeon(missing = "Default::default")]
    pub emails: BTreeMap<String, Email>,
    #[autosurgeon(missing = "Default::default")]
    pub opt_ins: OptIns,
}

/// What a contact agreed to receive.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct OptIns {
    #[autosurgeon(missing = "Default::default")]
    pub mailings: bool,
    #[autosurgeon(missing = "Default::default")]
    pub email: bool,
    #[autosurgeon(missing = "Default::default")]
    pub sms: bool,
}

/// The link from a client to a contact, with the contact's role for this client.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct ContactLink {
    /// travel manager, companion, accountant, technician on site…
    #[autosurgeon(missing = "Default::default")]
    pub role: String,
}

/// One of the client's locations.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Site {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
    #[autosurgeon(missing = "Default::default")]
    pub address: Address,
}

/// How consent to the processing of personal data was collected.
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
pub enum ConsentMethod {
    #[default]
    #[autosurgeon(rename = "form")]
    Form,
    #[autosurgeon(rename = "paper")]
    Paper,
    #[autosurgeon(rename = "verbal")]
    Verbal,
}

/// The client's consent to the processing of their personal data.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Consent {
    #[autosurgeon(missing = "Default::default")]
    pub given: bool,
    /// ISO 8601 date of the answer.
    #[autosurgeon(missing = "Default::default")]
    pub on: String,
    #[autosurgeon(missing = "Default::default")]
    pub method: ConsentMethod,
    /// Id of the member who recorded it.
    #[autosurgeon(missing = "Default::default")]
    pub recorded_by: String,
}
