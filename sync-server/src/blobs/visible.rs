//! Which files a technician may fetch and upload: those of the client records assigned to
//! them or created by them (kept by [`crate::assign`]), read from the store; contacts hold no
//! files. Other roles reach every file of their organisation.

use fiche_core::model::{Client, Role};
use fiche_core::store::Store;
use fiche_core::{docstore, record};

use crate::accounts::Access;
use crate::ServerError;

/// Whether the caller may reach the file `hash` (hex) of their organisation.
pub fn may_reach(store: &dyn Store, access: &Access, hash: &str) -> Result<bool, ServerError> {
    if access.role != Role::Technician {
        return Ok(true);
    }
    for id in crate::assign::records_in_store(store, &access.member)? {
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
