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

/// What a member may do (enforced by the server once accounts exist).
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
#[serde(rename_all = "kebab-case")]
pub enum Role {
    #[autosurgeon(rename = "owner")]
    Owner,
    #[autosurgeon(rename = "admin")]
    Admin,
    #[autosurgeon(rename = "manager")]
    Manager,
    #[default]
    #[autosurgeon(rename = "staff")]
    Staff,
    #[autosurgeon(rename = "technician")]
    Technician,
    #[autosurgeon(rename = "read-only")]
    ReadOnly,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::Staff,
        Role::Technician,
        Role::ReadOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Technician => "technician",
            Role::ReadOnly => "read-only",
        }
    }

    /// May create, edit and archive client records (a technician: those assigned to them).
    pub fn may_edit(self) -> bool {
        self != Role::ReadOnly
    }

    /// May change the organisation's settings and its members.
    pub fn may_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_lowercase().as_str() {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "manager" => Role::Manager,
            "staff" => Role::Staff,
            "technician" => Role::Technician,
            "read-only" | "readonly" => Role::ReadOnly,
            other => {
                return Err(format!(
                    "{other:?} is not a role: use owner, admin, manager, staff, technician or read-only"
                ))
            }
        })
    }
}
