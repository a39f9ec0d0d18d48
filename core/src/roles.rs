//! Who may do what: a member's [`Role`] and its policy, the one place both the server (which
//! enforces it on the wire) and a device (which refuses, before writing, what the server would
//! refuse) read it.
//!
//! | role | clients and contacts | settings |
//! |------|----------------------|----------|
//! | owner, admin | create, edit | change |
//! | manager, staff | create, edit | — |
//! | technician | create (assigned to them), edit those assigned to them | — |
//! | read-only | read | — |

use autosurgeon::{Hydrate, Reconcile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::Kind;

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

impl Role {
    /// May file new clients and contacts (a technician's walk-ins are assigned to them).
    pub fn may_create(self) -> bool {
        self.may_edit()
    }

    /// May change documents of `kind` (a technician: among clients and contacts, those
    /// assigned to them, which are the only ones their devices hold).
    pub fn may_change(self, kind: Kind) -> bool {
        match kind {
            Kind::Settings => self.may_manage(),
            _ => self.may_edit(),
        }
    }

    /// Why a change to a document of `kind` is refused to this role, said to the member;
    /// `None` when it is allowed.
    pub fn refusal(self, kind: Kind) -> Option<String> {
        if self.may_change(kind) {
            None
        } else if !self.may_edit() {
            Some(format!("you are {self}: changes are refused"))
        } else {
            Some(format!(
                "you are {self}: only an owner or an admin changes the settings"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_each_role_may_change() {
        let check = |role: Role, expected: [bool; 3]| {
            let got = [Kind::Client, Kind::Contact, Kind::Settings].map(|k| role.may_change(k));
            assert_eq!(got, expected, "{role}");
            assert_eq!(role.may_create(), expected[0], "{role}");
        };
        check(Role::Owner, [true, true, true]);
        check(Role::Admin, [true, true, true]);
        check(Role::Manager, [true, true, false]);
        check(Role::Staff, [true, true, false]);
        check(Role::Technician, [true, true, false]);
        check(Role::ReadOnly, [false, false, false]);
        assert_eq!(
            Role::ReadOnly.refusal(Kind::Client).as_deref(),
            Some("you are read-only: changes are refused")
        );
        assert_eq!(
            Role::Staff.refusal(Kind::Settings).as_deref(),
            Some("you are staff: only an owner or an admin changes the settings")
        );
        assert_eq!(Role::Admin.refusal(Kind::Settings), None);
    }
}
