//! `fiche`: the command line over a device's client store.

mod fields;
mod files;
mod refused;
mod schema;
mod settings;
mod show;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use fiche_core::index::{Filter, Page};
use fiche_core::model::{Client, Status};
use fiche_core::validate::Rules;
use fiche_core::walk_in::today;
use fiche_core::{exchange, Book, DocumentId, Options};

use fields::{ClientFields, Removals};

/// Fiche keeps client records on this device, works offline, and merges with other devices.
#[derive(Debug, Parser)]
#[command(name = "fiche", version)]
struct Cli {
    /// The store directory (created if missing).
    #[arg(
        long,
        env = "FICHE_STORE",
        default_value = "./fiche-store",
        global = true
    )]
    store: PathBuf,
    /// Your member id, recorded on every change you make.
    #[arg(long, env = "FICHE_MEMBER", default_value = "me", global = true)]
    member: String,
    /// Country assumed for phone numbers typed without +prefix (ISO 3166 code).
    #[arg(
        long,
        env = "FICHE_DEFAULT_REGION",
        default_value = "FR",
        global = true
    )]
    default_region: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// File a new client; warns about likely duplicates.
    Add {
        #[command(flatten)]
        fields: ClientFields,
        /// Print the new record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List clients, sorted by name.
    List {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Find clients by name, phone, e-mail or city.
    Search {
        /// Words to find (all must match).
        query: String,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show one client.
    Show {
        /// Client id (or a unique prefix of it).
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change a client: given fields are set, phones/e-mails/groups are added.
    Edit {
        id: String,
        #[command(flatten)]
        fields: ClientFields,
        #[command(flatten)]
        removals: Removals,
    },
    /// Who changed what in a client, and when.
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Fields written concurrently on two devices; settle one with --resolve PATH --pick N.
    Conflicts {
        id: String,
        /// The field to settle, as listed (e.g. address.city).
        #[arg(long, requires = "pick")]
        resolve: Option<String>,
        /// The value to keep: 0 = the current one, 1.. = the others as listed.
        #[arg(long, requires = "resolve")]
        pick: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Export one client as JSON (everything, with its contacts) or vCard 4.0.
    Export {
        id: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Import clients from a CSV or vCard file; reports every rejected row and why.
    Import {
        file: PathBuf,
        /// Taken from the file extension when not given.
        #[arg(long, value_enum)]
        format: Option<ImportFormat>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sync once with a server: send what is new here, fetch every record of the
    /// organisation; shows progress; returns when both sides agree.
    Sync {
        /// The sync server, e.g. ws://127.0.0.1:3030 (wss:// for TLS)
        #[arg(long, env = "FICHE_SERVER")]
        server: String,
        #[command(flatten)]
        ca: sync::CaArg,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enrol this device with the one-time code an administrator gave
    /// (`fiche-server admin device-enrol MEMBER`); the device keeps the token it receives.
    Enrol {
        /// The enrolment code, e.g. 7K2M-Q9XP-3HDT
        code: String,
        #[arg(long, env = "FICHE_SERVER")]
        server: String,
        /// How this device shows in the list of devices.
        #[arg(long, default_value = "fiche CLI")]
        name: String,
        #[command(flatten)]
        ca: sync::CaArg,
    },
    /// Sync live with a server until Ctrl-C, printing each change as it arrives;
    /// reconnects by itself after a drop.
    Watch {
        #[arg(long, env = "FICHE_SERVER")]
        server: String,
        #[command(flatten)]
        ca: sync::CaArg,
    },
    /// A client's photo.
    Photo {
        #[command(subcommand)]
        command: files::PhotoCommand,
    },
    /// Attach a file (contract, saved e-mail, PDF, photo) to a client; it goes to the server
    /// on the next sync.
    Attach {
        client: String,
        file: std::path::PathBuf,
    },
    /// Photos and files by their hash.
    Blob {
        #[command(subcommand)]
        command: files::BlobCommand,
    },
    /// The organisation's client types, groups and members.
    Settings {
        #[command(subcommand)]
        command: settings::SettingsCommand,
    },
    /// Local changes the server refused (kept on this device until dropped).
    Refused {
        #[arg(long)]
        json: bool,
    },
    /// Drop this device's copy of a record (a refused change with it); the next sync brings
    /// the organisation's version. ID: a client id, or `settings`.
    Drop { id: String },
    /// Print the JSON Schema of Fiche's documents (the web client's types come from it).
    Schema,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
    Vcard,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ImportFormat {
    Csv,
    Vcard,
}

#[derive(Debug, clap::Args)]
struct FilterArgs {
    #[arg(long, value_parser = clap::builder::ValueParser::new(|s: &str| s.parse::<Status>()))]
    status: Option<Status>,
    #[arg(long)]
    group: Option<String>,
    #[arg(long)]
    city: Option<String>,
    #[arg(long = "type", value_name = "TYPE")]
    client_type: Option<String>,
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    email: Option<String>,
    /// Include archived clients.
    #[arg(long)]
    archived: bool,
    #[arg(long, default_value_t = 0)]
    offset: usize,
    #[arg(long, default_value_t = 100)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

impl FilterArgs {
    fn filter(&self, text: Option<String>) -> Filter {
        Filter {
            text,
            phone: self.phone.clone(),
            email: self.email.clone(),
            city: self.city.clone(),
            group: self.group.clone(),
            status: self.status,
            client_type: self.client_type.clone(),
            include_archived: self.archived,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// An id, or a unique prefix of one.
fn resolve_id(book: &Book, text: &str) -> Result<DocumentId> {
    if let Ok(id) = text.parse::<DocumentId>() {
        return Ok(id);
    }
    let all = Filter {
        include_archived: true,
        ..Filter::default()
    };
    let hits: Vec<DocumentId> = book
        .list(&all, Page::default())
        .into_iter()
        .map(|s| s.id)
        .filter(|id| !text.is_empty() && id.to_string().starts_with(text))
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => bail!("no client with id {text:?}"),
        _ => bail!(
            "{text:?} matches {} clients: give more of the id",
            hits.len()
        ),
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Command::Schema = cli.command {
        print!("{}", schema::text());
        return Ok(());
    }
    let region = fiche_core::validate::country("--default-region", &cli.default_region)?;
    let options = Options {
        member: cli.member.clone(),
        rules: Rules {
            default_region: region,
        },
    };
    let book = Book::open(&cli.store, options)
        .with_context(|| format!("cannot open the store at {}", cli.store.display()))?;
    match cli.command {
        Command::Add { fields, json } => {
            let mut draft = Client::default();
            fields.apply(&mut draft, &cli.member, &today());
            let created = book.create_client(draft)?;
            if json {
                println!("{}", exchange::json::export(&book, &created.id)?);
            } else {
                println!("{}", created.id);
            }
            show::duplicates(&created.duplicates);
        }
        Command::List { filter } => show::list(&book, &filter.filter(None), &filter)?,
        Command::Search { query, filter } => {
            show::list(&book, &filter.filter(Some(query)), &filter)?
        }
        Command::Show { id, json } => {
            let id = resolve_id(&book, &id)?;
            if json {
                println!("{}", exchange::json::export(&book, &id)?);
            } else {
                show::client(&book, &id)?;
            }
        }
        Command::Edit {
            id,
            fields,
            removals,
        } => {
            let id = resolve_id(&book, &id)?;
            let region = book.rules().default_region.clone();
            let edited = book.edit_client(&id, |c| {
                fields.apply(c, &cli.member, &today());
                removals.apply(c, |p| {
                    fiche_core::validate::phone("", p, &region).unwrap_or_else(|_| p.to_string())
                });
            })?;
            println!(
                "{}",
                if edited.changed {
                    "saved"
                } else {
                    "nothing to change"
                }
            );
            show::duplicates(&edited.duplicates);
        }
        Command::History { id, json } => {
            let id = resolve_id(&book, &id)?;
            show::history(&book.history(&id)?, json)?;
        }
        Command::Conflicts {
            id,
            resolve,
            pick,
            json,
        } => {
            let id = resolve_id(&book, &id)?;
            if let (Some(path), Some(pick)) = (resolve, pick) {
                book.resolve(&id, &path, pick)?;
                println!("settled {path}");
            }
            show::conflicts(&book.conflicts(&id)?, json)?;
        }
        Command::Export { id, format, output } => {
            let id = resolve_id(&book, &id)?;
            let text = match format {
                ExportFormat::Json => exchange::json::export(&book, &id)?,
                ExportFormat::Vcard => exchange::vcard::export(&book.client(&id)?, &id),
            };
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
        Command::Import { file, format, json } => show::import(&book, &file, format, json)?,
        Command::Settings { command } => settings::run(&book, command)?,
        Command::Photo {
            command: files::PhotoCommand::Set { client, file },
        } => files::photo(&book, &resolve_id(&book, &client)?, &file)?,
        Command::Attach { client, file } => {
            files::attach(&book, &resolve_id(&book, &client)?, &file)?
        }
        Command::Blob { command } => files::blob(&book, command)?,
        Command::Sync { server, ca, json } => sync::once(book, &server, ca.load()?, json)?,
        Command::Watch { server, ca } => sync::watch(book, &server, ca.load()?)?,
        Command::Enrol {
            code,
            server,
            name,
            ca,
        } => sync::enrol(&book, &server, &code, &name, ca.load()?)?,
        Command::Refused { json } => refused::list(&book, json)?,
        Command::Drop { id } => {
            let id = match id.as_str() {
                "settings" => book.settings_id(),
                _ => resolve_id(&book, &id)?,
            };
            refused::drop(&book, &id)?
        }
        Command::Schema => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
