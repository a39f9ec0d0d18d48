//! Which files a technician may fetch and upload: those of the client records assigned to
//! them (`_assigned/DOC`, kept by [`crate::assign`]), read from the store; contacts hold no
//! files. Other roles reach every file of their organisation.

use std::collections::BTreeSet;

use fiche_core::model::{Client, Role};
use fiche_core::store::Store;
use fiche_core::{docstore, key, record, DocumentId};

use crate::accounts::Access;
use crate::ServerError;

/// Whether the caller may reach the file `hash` (hex) of their organisation.
pub fn may_reach(store: &dyn Store, access: &Access, hash: &str) -> Result<bool, ServerError> {
    if access.role != Role::Technician {
        return Ok(true);
    }
    for (key, value) in store.scan(&key!["_assigned"])? {
        let members: BTreeSet<String> = serde_json::from_slice(&value).unwrap_or_default();
        if !members.contains(&access.member) {
            continue;
        }
        let Some(id) = key.get(1).and_then(|k| k.parse::<DocumentId>().ok()) else {
            continue;
        };
        if crate::access::owner_in_store(store, &id)? != *access.org {
            continue;
        }
        let Ok(Some(doc)) = docstore::load(store, &id) else {
            continue;
        };
        if record::read::<Client>(&doc).is_ok_and(|c| c.blob_hashes().contains(hash)) {
            return Ok(true);
        }
    }
    Ok(false)
}
