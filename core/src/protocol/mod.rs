//! The sync protocol: automerge-repo's WebSocket protocol, version "1", without any I/O.
//!
//! - [`message`] encodes and decodes frames;
//! - [`connection`] is one connection's state machine (handshake, per-document sync state);
//! - [`hub`] is the server's: many connections around one set of documents.
//!
//! Transports (the sync server, the device sync engine) only move frames and call these.

pub mod connection;
pub mod hub;
pub mod message;
pub mod settled;

pub use connection::{Action, Connection, Documents, Side, MAX_UNKNOWN_ASKED};
pub use hub::{ConnId, Hub, Out, Wait};
pub use message::{DecodeError, Message, PeerId, PeerMetadata, Preview, RemoteHeads, PROTOCOL_V1};
