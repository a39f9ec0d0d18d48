//! `fiche settings`: the organisation's client types, groups and members.

use anyhow::{bail, Result};
use clap::Subcommand;
use fiche_core::model::{ClientType, Member, Role};
use fiche_core::Book;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print the settings.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Add (or rename) a client type, e.g. `add-type club Club`.
    AddType { id: String, label: String },
    /// Remove a client type (clients of that type keep it until edited).
    RemoveType { id: String },
    /// Offer a group (tag) when filing clients.
    AddGroup { name: String },
    /// Add a member, or change their name or role.
    AddMember {
        id: String,
        name: String,
        /// owner, admin, manager, staff, technician or read-only.
        #[arg(long, default_value = "staff", value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<Role>()))]
        role: Role,
    },
    /// Remove a member.
    RemoveMember { id: String },
}

fn slug(id: &str, what: &str) -> Result<String> {
    let id = id.trim().to_lowercase();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("{what} id {id:?} must be letters, digits, '-' or '_'");
    }
    Ok(id)
}

pub fn run(book: &Book, command: SettingsCommand) -> Result<()> {
    let settings = match command {
        SettingsCommand::Show { json } => {
            let s = book.settings()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
            s
        }
        SettingsCommand::AddType { id, label } => {
            let id = slug(&id, "client type")?;
            book.update_settings(|s| {
                s.client_types.insert(id, ClientType { label });
            })?
        }
        SettingsCommand::RemoveType { id } => {
            if !book.settings()?.client_types.contains_key(&id) {
                bail!("no client type {id:?}");
            }
            book.update_settings(|s| {
                s.client_types.remove(&id);
            })?
        }
        SettingsCommand::AddGroup { name } => {
            if name.trim().is_empty() {
                bail!("a group needs a name");
            }
            book.update_settings(|s| {
                s.groups.insert(name.trim().to_string(), true);
            })?
        }
        SettingsCommand::AddMember { id, name, role } => {
            let id = slug(&id, "member")?;
            book.update_settings(|s| {
                s.members.insert(id, Member { name, role });
            })?
        }
        SettingsCommand::RemoveMember { id } => {
            if !book.settings()?.members.contains_key(&id) {
                bail!("no member {id:?}");
            }
            book.update_settings(|s| {
                s.members.remove(&id);
            })?
        }
    };
    println!("client types:");
    for (id, t) in &settings.client_types {
        println!("  {id:<14} {}", t.label);
    }
    println!(
        "groups: {}",
        settings
            .groups
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("members:");
    for (id, m) in &settings.members {
        println!("  {id:<14} {} ({:?})", m.name, m.role);
    }
    Ok(())
}
