//! The errors of the sync server.

use fiche_core::DocumentId;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage failed: {0}")]
    Store(#[from] fiche_core::store::StoreError),
    #[error("document {0}: {1}")]
    Document(DocumentId, Box<fiche_core::Error>),
    #[error("cannot open the data directory {path}: {source}")]
    Open {
        path: String,
        source: fiche_core::store::StoreError,
    },
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    #[error(transparent)]
    Erase(#[from] crate::erase::EraseError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the hub thread panicked: changes not yet written are lost, devices send them again on their next sync")]
    HubPanicked,
}
