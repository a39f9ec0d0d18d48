//! Administrative commands (organisations, members, devices, the audit log): one type shared
//! by the command line, the admin socket of a running server, and the store when no server
//! runs. Each change is written together with its audit entry.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{audit, AccountError, Accounts, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clap::Subcommand)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum AdminCommand {
    /// Create an organisation; ID is lower-case letters, digits and '-'.
    OrgCreate {
        id: String,
        /// Its display name.
        #[arg(long)]
        name: String,
    },
    /// List the organisations.
    OrgList,
    /// Add a member to an organisation; prints the member's id.
    MemberAdd {
        org: String,
        name: String,
        /// owner, admin, manager, staff, technician or read-only.
        #[arg(long)]
        role: Role,
    },
    /// List an organisation's members.
    MemberList { org: String },
    /// Change a member's role (their devices reconnect with the new rights).
    MemberRole { member: String, role: Role },
    /// Remove a member: every device of theirs is revoked and disconnected.
    MemberRemove { member: String },
    /// A one-time code that enrols a new device for a member (`fiche enrol CODE`).
    DeviceEnrol {
        member: String,
        /// How long the code stays valid.
        #[arg(long, default_value_t = 15)]
        minutes: u32,
    },
    /// Revoke a device: its token stops working and its connections close at once.
    DeviceRevoke { device: String },
    /// List devices with their member and when they were last seen.
    DeviceList {
        /// Only this organisation's.
        #[arg(long)]
        org: Option<String>,
    },
    /// Erase a client or contact record for good (GDPR): its history and files go, every
    /// device deletes its copy on its next sync, only a tombstone with the id stays.
    /// Archiving (in the apps) is the everyday, reversible way to hide a client.
    RecordErase {
        /// The record's id (or its `automerge:` URL).
        id: String,
        /// Why (kept in the audit log; put no personal data here).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Show the last entries of the audit log.
    Audit {
        #[arg(long, default_value_t = 50)]
        last: usize,
    },
}

/// What a command printed, and the devices whose open connections must close.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminReply {
    pub text: String,
    pub disconnect: Vec<String>,
}

fn when(seconds: Option<i64>) -> String {
    let Some(s) = seconds else {
        return "never".into();
    };
    OffsetDateTime::from_unix_timestamp(s)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|_| s.to_string())
}

/// Runs one command as `actor`.
pub fn run(
    accounts: &Accounts,
    actor: &str,
    command: AdminCommand,
) -> Result<AdminReply, AccountError> {
    let mut reply = AdminReply::default();
    let (action, detail, mut writes) = match command {
        AdminCommand::OrgCreate { id, name } => {
            let (org, w) = accounts.create_org(&id, &name)?;
            reply.text = format!("organisation {} created", org.id);
            ("org created", format!("{} ({:?})", org.id, org.name), w)
        }
        AdminCommand::MemberAdd { org, name, role } => {
            let (m, w) = accounts.add_member(&org, &name, role)?;
            reply.text = m.id.clone();
            let detail = format!("{} {:?} as {} in {}", m.id, m.name, role, org);
            ("member added", detail, w)
        }
        AdminCommand::MemberRole { member, role } => {
            let (m, w) = accounts.set_role(&member, role)?;
            reply.text = format!("{} is now {}", m.name, role);
            reply.disconnect = live_devices(accounts, &member)?;
            ("role changed", format!("{member} to {role}"), w)
        }
        AdminCommand::MemberRemove { member } => {
            let (revoked, w) = accounts.remove_member(&member)?;
            reply.text = format!("member removed; {} device(s) revoked", revoked.len());
            reply.disconnect = revoked;
            ("member removed", member, w)
        }
        AdminCommand::DeviceEnrol { member, minutes } => {
            let (code, w) = accounts.enrol(&member, minutes)?;
            reply.text = code;
            let detail = format!("code for member {member}, valid {minutes} min");
            ("enrolment code issued", detail, w)
        }
        AdminCommand::DeviceRevoke { device } => {
            let w = accounts.revoke(&device)?;
            reply.text = format!("device {device} revoked");
            reply.disconnect = vec![device.clone()];
            ("device revoked", device, w)
        }
        AdminCommand::RecordErase { .. } => {
            return Err(AccountError::Elsewhere(
                "erasure runs through the server's documents (crate::erase), not the accounts",
            ))
        }
        read => {
            reply.text = report(accounts, read)?;
            return Ok(reply);
        }
    };
    writes.push(audit::entry(actor, action, &detail));
    accounts.store().apply(writes)?;
    Ok(reply)
}

fn live_devices(accounts: &Accounts, member: &str) -> Result<Vec<String>, AccountError> {
    Ok(accounts
        .devices(None)?
        .into_iter()
        .filter(|(d, _)| d.member == member && d.revoked.is_none())
        .map(|(d, _)| d.id)
        .collect())
}

/// The commands that only read.
fn report(accounts: &Accounts, command: AdminCommand) -> Result<String, AccountError> {
    let mut lines = Vec::new();
    match command {
        AdminCommand::OrgList => {
            for o in accounts.orgs()? {
                lines.push(format!(
                    "{}\t{}\tsince {}",
                    o.id,
                    o.name,
                    when(Some(o.created))
                ));
            }
        }
        AdminCommand::MemberList { org } => {
            accounts.org(&org)?;
            for m in accounts.members(&org)? {
                lines.push(format!("{}\t{}\t{}", m.id, m.role, m.name));
            }
        }
        AdminCommand::DeviceList { org } => {
            for (d, m) in accounts.devices(org.as_deref())? {
                let state = match d.revoked {
                    Some(t) => format!("revoked {}", when(Some(t))),
                    None => "active".into(),
                };
                lines.push(format!(
                    "{}\t{}\t{} ({}, {})\tlast seen {}\t{}",
                    d.id,
                    d.name,
                    m.name,
                    m.role,
                    m.org,
                    when(d.last_seen),
                    state
                ));
            }
        }
        AdminCommand::Audit { last } => {
            for e in audit::last(accounts.store(), last)? {
                lines.push(format!(
                    "{}\t{}\t{}\t{}",
                    when(Some(e.at)),
                    e.actor,
                    e.action,
                    e.detail
                ));
            }
        }
        _ => {}
    }
    Ok(lines.join("\n"))
}
