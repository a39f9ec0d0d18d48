//! The one error type apps see: only the cases an app handles differently, converted from
//! fiche-core's errors here and nowhere else.

use fiche_core::Error as Core;

/// A field the app should mark, and why.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FieldProblem {
    /// Dotted path, e.g. `phones.<key>.number` or `invoice.vat_number`.
    pub field: String,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum FicheError {
    /// Nothing was written; each problem names its field.
    #[error("invalid input: {}", problems.iter().map(|p| format!("{}: {}", p.field, p.reason)).collect::<Vec<_>>().join("; "))]
    Invalid { problems: Vec<FieldProblem> },
    #[error("not found: {what}")]
    NotFound { what: String },
    /// The record looks like clients already filed (the app asks before filing anyway).
    #[error("looks like {count} client(s) already filed")]
    DuplicateSuspected { count: u32 },
    /// The server cannot be reached: work goes on offline and syncs later.
    #[error("offline: {reason}")]
    Offline { reason: String },
    #[error("not allowed: {reason}")]
    Unauthorised { reason: String },
    /// The device's store failed (disk full, damaged data…).
    #[error("storage failed: {reason}")]
    Storage { reason: String },
}

impl From<Core> for FicheError {
    fn from(e: Core) -> Self {
        use fiche_core::blob::BlobError;
        match e {
            Core::Invalid(errors) => FicheError::Invalid {
                problems: errors
                    .0
                    .into_iter()
                    .map(|p| FieldProblem {
                        field: p.field,
                        reason: p.reason,
                    })
                    .collect(),
            },
            Core::Forbidden(reason) => FicheError::Unauthorised { reason },
            Core::NotFound(id) => FicheError::NotFound {
                what: id.to_string(),
            },
            Core::BadId(e) => FicheError::NotFound {
                what: e.to_string(),
            },
            Core::Blob(BlobError::NotFound(hash)) => FicheError::NotFound {
                what: hash.to_string(),
            },
            Core::Blob(e @ BlobError::Unreachable(_)) => FicheError::Offline {
                reason: e.to_string(),
            },
            Core::Blob(
                e @ (BlobError::NotAllowed
                | BlobError::Empty
                | BlobError::TooLarge { .. }
                | BlobError::BadHash(_)),
            ) => FicheError::Invalid {
                problems: vec![FieldProblem {
                    field: "file".into(),
                    reason: e.to_string(),
                }],
            },
            other => FicheError::Storage {
                reason: other.to_string(),
            },
        }
    }
}

impl From<fiche_core::blob::BlobError> for FicheError {
    fn from(e: fiche_core::blob::BlobError) -> Self {
        Core::Blob(e).into()
    }
}

impl From<fiche_core::sync::SyncError> for FicheError {
    fn from(e: fiche_core::sync::SyncError) -> Self {
        use fiche_core::sync::SyncError;
        match e {
            SyncError::Book(e) => e.into(),
            SyncError::BadUrl { .. } => FicheError::Invalid {
                problems: vec![FieldProblem {
                    field: "server".into(),
                    reason: e.to_string(),
                }],
            },
            SyncError::Unauthorised(reason) => FicheError::Unauthorised { reason },
            other => FicheError::Offline {
                reason: other.to_string(),
            },
        }
    }
}

impl From<fiche_core::validate::FieldError> for FicheError {
    fn from(e: fiche_core::validate::FieldError) -> Self {
        FicheError::Invalid {
            problems: vec![FieldProblem {
                field: e.field,
                reason: e.reason,
            }],
        }
    }
}
