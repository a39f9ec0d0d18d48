//! Fiche's core: the client record as an Automerge document, its validation, and the device
//! store that keeps records durable, searchable and mergeable.
//!
//! # Layout
//! - [`model`]: the record types (client, contact, organisation settings); [`roles`]: who may
//!   change what;
//! - [`validate`] and `check`: field validators, and the whole-record check built on them;
//! - [`record`] and [`schema`]: reading and writing a record in a document, schema upgrades;
//! - [`store`]: the storage trait and its sled implementation; `docstore` lays documents in it;
//! - [`book`]: a device's records — create, edit, list, search, merge — with [`index`],
//!   [`duplicates`], [`conflicts`] and [`history`];
//! - [`exchange`]: JSON, vCard and CSV;
//! - [`protocol`]: the automerge-repo sync protocol, sans I/O; [`directory`]: the list of an
//!   organisation's documents that devices discover records through;
//! - [`sync`]: the device sync engine (WebSocket client over the protocol).
//!
//! # Example
//! ```
//! use fiche_core::{Book, Options, model::Client, index::{Filter, Page}};
//! let dir = tempfile::tempdir().unwrap();
//! let book = Book::open(dir.path(), Options::default()).unwrap();
//! let mut draft = Client::default();
//! draft.name.display = "Marie Dupont".into();
//! let created = book.create_client(draft).unwrap();
//! let found = book.list(&Filter { text: Some("dupont".into()), ..Filter::default() }, Page::default());
//! assert_eq!(found[0].id, created.id);
//! ```

pub mod blob;
pub mod book;
mod check;
pub mod conflicts;
pub mod directory;
pub mod docstore;
pub mod duplicates;
pub mod error;
pub mod exchange;
pub mod history;
pub mod id;
pub mod index;
pub mod model;
pub mod par;
pub mod preview;
pub mod protocol;
pub mod record;
pub mod roles;
pub mod schema;
pub mod store;
pub mod sync;
pub mod tls;
pub mod validate;
pub mod walk_in;

pub use book::{Absorb, Absorbed, Book, Change, Created, Edited, Merged, Options};
pub use error::{Error, Result};
pub use id::DocumentId;
