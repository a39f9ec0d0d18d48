//! Organisations, members, devices and their tokens: who may connect, and as whom.
//!
//! Everything lives in the server's store under `_auth/…`:
//! - `["_auth", "org", ORG]`, `["_auth", "member", MEMBER]`, `["_auth", "device", DEVICE]`:
//!   JSON records;
//! - `["_auth", "token", SHA-256 of the token]` → the device: tokens are never stored (the
//!   device's record keeps the same hash, so revoking it deletes that one key);
//! - `["_auth", "code", SHA-256 of the code]` → a pending enrolment (member, expiry).
//!
//! Every change made by an administrator is also written to the audit log ([`audit`]), in the
//! same atomic write.

pub mod admin;
pub mod audit;
pub mod scope;
mod secret;

use std::sync::Arc;

use fiche_core::key;
use fiche_core::record::now_seconds;
use fiche_core::store::{Store, StoreError, Write};
use serde::{Deserialize, Serialize};

pub use fiche_core::roles::Role;

pub use scope::{Scope, ScopeKey};
pub use secret::{hash_code, hash_token, new_code, new_token, NoRandom};

/// The organisation every peer belongs to on a server started with `--no-auth`.
pub const OPEN_ORG: &str = "_open";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created: i64,
    /// The key of its derived document ids, in hex ([`scope`]); none for an organisation
    /// created before keys, which keeps the unkeyed ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Org {
    /// How this organisation's derived ids are made.
    pub fn scope(&self) -> Result<Scope, AccountError> {
        let key = match &self.key {
            Some(hex) => Some(scope::key_from_hex(hex).ok_or_else(|| {
                AccountError::Damaged(format!("the key of organisation {}", self.id))
            })?),
            None => None,
        };
        Ok(Scope::new(Arc::from(self.id.as_str()), key))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub org: String,
    pub name: String,
    pub role: Role,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub member: String,
    pub name: String,
    pub created: i64,
    /// When it last connected, as listed (`Accounts::devices`); kept under `["_auth", "seen"]`,
    /// read here from stores written before that key.
    pub last_seen: Option<i64>,
    pub revoked: Option<i64>,
    /// SHA-256 of its token (the key under `["_auth", "token"]`).
    #[serde(default)]
    pub token_hash: String,
}

/// A pending enrolment: the member the device will act for, until when.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Enrolment {
    member: String,
    expires: i64,
}

/// Who a connection or a request is, resolved from its device token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub org: Arc<str>,
    pub member: String,
    pub role: Role,
    pub device: String,
    /// The key of the organisation's derived ids (see [`Access::scope`]).
    pub scope_key: Option<ScopeKey>,
}

impl Access {
    /// Everyone on a `--no-auth` server.
    pub fn open() -> Self {
        Access {
            org: Arc::from(OPEN_ORG),
            member: "anyone".into(),
            role: Role::Owner,
            device: "anonymous".into(),
            scope_key: None,
        }
    }

    /// How the organisation's derived ids are made.
    pub fn scope(&self) -> Scope {
        Scope::new(self.org.clone(), self.scope_key)
    }
}

/// What a device receives for its enrolment code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Enrolled {
    pub token: String,
    pub device: String,
    pub member: String,
    pub org: String,
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    NoRandom(#[from] NoRandom),
    #[error("a stored account record is damaged: {0}")]
    Damaged(String),
    #[error("no organisation {0:?}")]
    NoOrg(String),
    #[error("organisation {0:?} exists already")]
    OrgExists(String),
    #[error("an organisation id is 1 to 40 lower-case letters, digits and '-': {0:?} is not")]
    BadOrgId(String),
    #[error("no member {0:?}")]
    NoMember(String),
    #[error("no device {0:?}")]
    NoDevice(String),
    #[error("a name may not be empty")]
    EmptyName,
    #[error("this enrolment code is unknown, used or expired: ask an administrator for a new one")]
    BadCode,
    /// A command that the accounts alone cannot carry out (erasure needs the documents).
    #[error("{0}")]
    Elsewhere(&'static str),
}

/// The accounts of every organisation on this server.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[String], bytes: &[u8]) -> Result<T, AccountError> {
    serde_json::from_slice(bytes)
        .map_err(|e| AccountError::Damaged(format!("{}: {e}", key.join("/"))))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    fn read<T: for<'de> Deserialize<'de>>(
        &self,
        key: &[String],
    ) -> Result<Option<T>, AccountError> {
        self.store.get(key)?.map(|b| decode(key, &b)).transpose()
    }

    fn all<T: for<'de> Deserialize<'de>>(&self, kind: &str) -> Result<Vec<T>, AccountError> {
        self.store
            .scan(&key!["_auth", kind])?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    pub fn org(&self, id: &str) -> Result<Org, AccountError> {
        self.read(&key!["_auth", "org", id])?
            .ok_or_else(|| AccountError::NoOrg(id.to_string()))
    }

    pub fn orgs(&self) -> Result<Vec<Org>, AccountError> {
        self.all("org")
    }

    pub fn member(&self, id: &str) -> Result<Member, AccountError> {
        self.read(&key!["_auth", "member", id])?
            .ok_or_else(|| AccountError::NoMember(id.to_string()))
    }

    pub fn members(&self, org: &str) -> Result<Vec<Member>, AccountError> {
        let all: Vec<Member> = self.all("member")?;
        Ok(all.into_iter().filter(|m| m.org == org).collect())
    }

    pub fn device(&self, id: &str) -> Result<Device, AccountError> {
        self.read(&key!["_auth", "device", id])?
            .ok_or_else(|| AccountError::NoDevice(id.to_string()))
    }

    /// Every device, with the member it acts for, of one organisation (or of all).
    pub fn devices(&self, org: Option<&str>) -> Result<Vec<(Device, Member)>, AccountError> {
        let devices: Vec<Device> = self.all("device")?;
        let mut out = Vec::new();
        for mut d in devices {
            let Ok(m) = self.member(&d.member) else {
                continue;
            };
            d.last_seen = self.last_seen(&d)?;
            if org.is_none_or(|o| o == m.org) {
                out.push((d, m));
            }
        }
        Ok(out)
    }

    /// The writes that create an organisation: its record with a new key, and the claims on
    /// its derived ids.
    pub(crate) fn create_org(
        &self,
        id: &str,
        name: &str,
    ) -> Result<(Org, Vec<Write>), AccountError> {
        let valid = !id.is_empty()
            && id.len() <= 40
            && id != OPEN_ORG
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(AccountError::BadOrgId(id.to_string()));
        }
        if self.store.get(&key!["_auth", "org", id])?.is_some() {
            return Err(AccountError::OrgExists(id.to_string()));
        }
        let org = Org {
            id: id.to_string(),
            name: non_empty(name)?,
            created: now_seconds(),
            key: Some(scope::key_to_hex(&secret::new_scope_key()?)),
        };
        let mut writes = org.scope()?.claims([]);
        writes.push(Write::Put(key!["_auth", "org", id], encode(&org)));
        Ok((org, writes))
    }

    /// Gives an organisation a new key (so new derived ids, claimed in the same write);
    /// returns its scope. Its devices fill the new directory and settings on their next sync.
    pub fn rekey(&self, id: &str) -> Result<Scope, AccountError> {
        let mut org = self.org(id)?;
        org.key = Some(scope::key_to_hex(&secret::new_scope_key()?));
        let scope = org.scope()?;
        let members = self.members(id)?;
        let mut writes = scope.claims(members.iter().map(|m| m.id.as_str()));
        writes.push(Write::Put(key!["_auth", "org", id], encode(&org)));
        writes.push(audit::entry(
            "server",
            "org rekeyed",
            &format!("{id}: an id derived for it held another organisation's document"),
        ));
        self.store.apply(writes)?;
        Ok(scope)
    }

    pub(crate) fn add_member(
        &self,
        org: &str,
        name: &str,
        role: Role,
    ) -> Result<(Member, Vec<Write>), AccountError> {
        let scope = self.org(org)?.scope()?;
        let member = Member {
            id: short_id(),
            org: org.to_string(),
            name: non_empty(name)?,
            role,
            created: now_seconds(),
        };
        // Its own directory is claimed now, so that no one else's document can wait there.
        let claim = scope::owner_entry(scope.member_directory(&member.id), org);
        let w = Write::Put(key!["_auth", "member", &member.id], encode(&member));
        Ok((member, vec![claim, w]))
    }

    pub(crate) fn set_role(
        &self,
        id: &str,
        role: Role,
    ) -> Result<(Member, Vec<Write>), AccountError> {
        let mut member = self.member(id)?;
        member.role = role;
        let w = Write::Put(key!["_auth", "member", id], encode(&member));
        Ok((member, vec![w]))
    }

    /// Removes a member and revokes every device of theirs; returns the devices revoked.
    pub(crate) fn remove_member(
        &self,
        id: &str,
    ) -> Result<(Vec<String>, Vec<Write>), AccountError> {
        self.member(id)?;
        let mut writes = vec![Write::Delete(key!["_auth", "member", id])];
        let mut revoked = Vec::new();
        for (device, _) in self.devices(None)? {
            if device.member == id && device.revoked.is_none() {
                writes.extend(self.revoke(&device.id)?);
                revoked.push(device.id);
            }
        }
        Ok((revoked, writes))
    }

    /// A one-time enrolment code for a new device of `member`, valid `minutes`.
    pub(crate) fn enrol(
        &self,
        member: &str,
        minutes: u32,
    ) -> Result<(String, Vec<Write>), AccountError> {
        self.member(member)?;
        let code = new_code()?;
        let pending = Enrolment {
            member: member.to_string(),
            expires: now_seconds() + i64::from(minutes) * 60,
        };
        let w = Write::Put(key!["_auth", "code", hash_code(&code)], encode(&pending));
        Ok((code, vec![w]))
    }

    /// Exchanges an enrolment code for a device token; the code is used up.
    pub fn redeem(&self, code: &str, device_name: &str) -> Result<Enrolled, AccountError> {
        let code_key = key!["_auth", "code", hash_code(code)];
        let pending: Enrolment = self.read(&code_key)?.ok_or(AccountError::BadCode)?;
        if pending.expires < now_seconds() {
            self.store.delete(code_key)?;
            return Err(AccountError::BadCode);
        }
        let member = self.member(&pending.member)?;
        let token = new_token()?;
        let name = device_name.trim();
        let device = Device {
            id: short_id(),
            member: member.id.clone(),
            name: if name.is_empty() { "device" } else { name }.to_string(),
            created: now_seconds(),
            last_seen: None,
            revoked: None,
            token_hash: hash_token(&token),
        };
        let mut writes = vec![
            Write::Delete(code_key),
            Write::Put(key!["_auth", "device", &device.id], encode(&device)),
            Write::Put(
                key!["_auth", "token", &device.token_hash],
                device.id.clone().into_bytes(),
            ),
        ];
        writes.push(audit::entry(
            &format!("device {}", device.id),
            "device enrolled",
            &format!(
                "{:?} for member {} ({})",
                device.name, member.id, member.name
            ),
        ));
        self.store.apply(writes)?;
        Ok(Enrolled {
            token,
            device: device.id,
            member: member.id,
            org: member.org,
            role: member.role,
        })
    }

    /// The writes that revoke a device: its token stops working.
    pub(crate) fn revoke(&self, id: &str) -> Result<Vec<Write>, AccountError> {
        let mut device = self.device(id)?;
        device.revoked.get_or_insert(now_seconds());
        let mut writes = vec![Write::Put(key!["_auth", "device", id], encode(&device))];
        if !device.token_hash.is_empty() {
            writes.push(Write::Delete(key!["_auth", "token", &device.token_hash]));
        }
        Ok(writes)
    }

    /// Who holds `token`, or `None` for an unknown or revoked token (or a removed member).
    pub fn authenticate(&self, token: &str) -> Result<Option<Access>, AccountError> {
        let Some(device) = self.store.get(&key!["_auth", "token", hash_token(token)])? else {
            return Ok(None);
        };
        let device = String::from_utf8_lossy(&device).into_owned();
        let Ok(d) = self.device(&device) else {
            return Ok(None);
        };
        if d.revoked.is_some() {
            return Ok(None);
        }
        let Ok(m) = self.member(&d.member) else {
            return Ok(None);
        };
        let scope = match self.org(&m.org) {
            Ok(org) => org.scope()?,
            Err(AccountError::NoOrg(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(Access {
            org: scope.org().clone(),
            member: m.id,
            role: m.role,
            device,
            scope_key: scope.key(),
        }))
    }

    /// Notes that a device connected now. Under a key of its own: rewriting the device's
    /// record could undo a revocation made between the read and the write.
    pub fn seen(&self, device: &str) -> Result<(), AccountError> {
        self.store.put(
            key!["_auth", "seen", device],
            now_seconds().to_be_bytes().to_vec(),
        )?;
        Ok(())
    }

    /// When `device` last connected: its own key, else what older stores kept in its record.
    fn last_seen(&self, device: &Device) -> Result<Option<i64>, AccountError> {
        let seen = self.store.get(&key!["_auth", "seen", &device.id])?;
        Ok(match seen.as_deref().map(<[u8; 8]>::try_from) {
            Some(Ok(bytes)) => Some(i64::from_be_bytes(bytes)),
            _ => device.last_seen,
        })
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The store, to hand to another thread.
    pub fn shared_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

fn non_empty(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::EmptyName);
    }
    Ok(name.to_string())
}
