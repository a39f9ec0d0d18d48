//! The errors of fiche-core.

use crate::id::{BadDocumentId, DocumentId};
use crate::validate::ValidationErrors;

/// Everything that can go wrong in fiche-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was refused; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(#[from] ValidationErrors),
    #[error("no record {0}")]
    NotFound(DocumentId),
    /// The member's role may not make this change ("you are read-only: changes are
    /// refused"); nothing was written.
    #[error("{0}")]
    Forbidden(String),
    /// The record was erased on request (GDPR): it is never taken again.
    #[error("record {0} was erased")]
    Erased(DocumentId),
    #[error(transparent)]
    BadId(#[from] BadDocumentId),
    #[error("storage failed: {0}")]
    Storage(#[from] crate::store::StoreError),
    #[error("document {id} is damaged: {reason}")]
    Corrupt { id: DocumentId, reason: String },
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("document shape: {0}")]
    Shape(String),
    #[error("no conflict at {0}")]
    NoConflict(String),
    #[error("{0}")]
    Exchange(String),
    #[error(transparent)]
    Blob(#[from] crate::blob::BlobError),
}

impl From<autosurgeon::ReconcileError> for Error {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        Error::Shape(e.to_string())
    }
}

impl From<autosurgeon::HydrateError> for Error {
    fn from(e: autosurgeon::HydrateError) -> Self {
        Error::Shape(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
