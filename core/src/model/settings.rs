//! The organisation settings document: client types, groups and members.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings shared by every device of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OrgSettings {
    #[autosurgeon(missing = "Default::default")]
    pub name: String,
    /// Client types keyed by a short id (`person`, `company`…).
    #[autosurgeon(missing = "Default::default")]
    pub client_types: BTreeMap<String, ClientType>,
    /// Groups (tags) offered when filing a client, keyed by their name.
    #[autosurgeon(missing = "Default::default")]
    pub groups: BTreeMap<String, bool>,
    /// Members keyed by their id.
    #[autosurgeon(missing = "Default::default")]
    pub members: BTreeMap<String, Member>,
}

impl Default for OrgSettings {
    /// The client types the seeds ask for.
    fn default() -> Self {
        let types = [
            ("person", "Person"),
            ("couple", "Couple"),
            ("family", "Family"),
            ("company", "Company"),
            ("school", "School"),
            ("association", "Association"),
        ];
        Self {
            name: String::new(),
            client_types: types
                .into_iter()
                .map(|(id, label)| {
                    let t = ClientType {
                        label: label.to_string(),
                    };
                    (id.to_string(), t)
                })
                .collect(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
        }
    }
}

#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct ClientType {
    #[autosurgeon(missing = "Default::default")]
    pub label: String,
}

/// A member of the organisation.
#[derive(
    Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, Serialize, Deserialize, JsonSchema,
)]
#[serde(default)]
pub struct Member {
    #[autosurgeon(missing = "Default::default")]
    pub name: String,
    #[autosurgeon(missing = "Default::default")]
    pub role: Role,
}

pub use crate::roles::Role;
