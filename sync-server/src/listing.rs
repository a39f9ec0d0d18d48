//! `GET /api/clients`: the client list a web client shows before it has synced the records
//! themselves. For every client in the caller's directory, its index entry (fiche-core's
//! `Summary` as JSON), read from what the store keeps for fresh devices. No record is
//! loaded. A record written before those were kept is left out; it arrives with the sync.

use fiche_core::store::Store;
use fiche_core::{directory, docstore, DocumentId};

use crate::fresh;

/// The listing of the directory `dir`, as a JSON array of index entries.
pub fn clients(store: &dyn Store, dir: &DocumentId) -> Result<Vec<u8>, fiche_core::Error> {
    let entries = match docstore::load(store, dir)? {
        Some(doc) => directory::entries(&doc),
        None => Default::default(),
    };
    let mut out = b"[".to_vec();
    for (id, kind) in entries {
        if kind != "client" {
            continue;
        }
        let Some(kept) = fresh::read(store, &id) else {
            continue;
        };
        if kept.preview.kind != "client" || kept.preview.index.is_empty() {
            continue;
        }
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(&kept.preview.index);
    }
    out.push(b']');
    Ok(out)
}
