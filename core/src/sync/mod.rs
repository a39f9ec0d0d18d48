//! The device sync engine: keeps a [`Book`](crate::Book) in sync with a server over the
//! automerge-repo WebSocket protocol.
//!
//! - [`session`]: one connection's logic, without I/O (what to send, what to write);
//! - [`engine`]: the WebSocket transport, reconnection with backoff, and status events;
//! - [`enrol`]: the device's token, from an administrator's one-time code;
//! - `loader`: decodes received frames and loads the documents they bring on a thread of its
//!   own, so that one batch loads while the session writes the one before.

pub mod engine;
pub mod enrol;
mod loader;
pub mod session;

pub use engine::{sync_live, sync_once, Status, SyncError, SyncOptions, SyncReport};
pub use enrol::{enrol, refresh_role, Enrolled, Me};
pub use session::{Note, Session};
