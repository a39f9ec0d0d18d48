//! Previews: what a Fiche server says of a document it sends whole to a device that had none
//! of it — its kind and, for a client, its index entry — so that a fresh device files
//! thousands of records as they came, without loading each one to read it. Other peers never
//! send one and ignore it; a device that cannot use one loads the document as usual.

use automerge::sync;
use automerge::{Automerge, ChangeHash};

use crate::conflicts;
use crate::id::DocumentId;
use crate::index::Summary;
use crate::protocol::Preview;
use crate::schema::{self, Kind};

/// The layout of the index entry a preview carries (the JSON of [`Summary`]). Bumped when
/// `Summary` changes, so a device never files an entry it would read differently.
pub const FORMAT: u64 = 1;

/// The preview of a document to send whole; `None` for the directory, a document of no known
/// kind, or one of an old layout (a device upgrades those as it loads them).
pub fn of(id: &DocumentId, doc: &Automerge) -> Option<Preview> {
    let kind = schema::kind_of(doc)?;
    if !matches!(kind, Kind::Client | Kind::Contact | Kind::Settings) || schema::needs_upgrade(doc)
    {
        return None;
    }
    let index = if kind == Kind::Client {
        let summary = Summary::read(*id, doc, conflicts::list(doc).len()).ok()?;
        serde_json::to_vec(&summary).ok()?
    } else {
        Vec::new()
    };
    Some(Preview {
        format: FORMAT,
        kind: kind.as_str().to_string(),
        index,
    })
}

/// A whole document received with its preview, ready to be filed as it came.
#[derive(Debug)]
pub struct Whole {
    pub id: DocumentId,
    pub kind: Kind,
    /// The heads of the document (the sender's, which sent all of it).
    pub heads: Vec<ChangeHash>,
    /// All of it: the chunks of the sync message, end to end.
    pub bytes: Vec<u8>,
    /// For a client: its index entry as stored, and as read.
    pub index: Option<(Vec<u8>, Summary)>,
}

/// Reads the sync data of a message that came with a preview: a [`Whole`] if it carries a
/// whole document (changes, heads, nothing asked back) whose preview this device reads;
/// otherwise `None`, and the message is applied as usual.
pub fn whole(id: DocumentId, data: &[u8], preview: &Preview) -> Option<Whole> {
    if preview.format != FORMAT {
        return None;
    }
    let kind = Kind::parse(&preview.kind)?;
    if !matches!(kind, Kind::Client | Kind::Contact | Kind::Settings) {
        return None;
    }
    let message = sync::Message::decode(data).ok()?;
    if message.changes.is_empty() || message.heads.is_empty() || !message.need.is_empty() {
        return None;
    }
    let index = match kind {
        Kind::Client => {
            let summary: Summary = serde_json::from_slice(&preview.index).ok()?;
            if summary.id != id {
                return None;
            }
            Some((preview.index.clone(), summary))
        }
        _ => None,
    };
    Some(Whole {
        id,
        kind,
        heads: message.heads,
        bytes: message.changes.iter().flatten().copied().collect(),
        index,
    })
}
