//! Refused changes as a person reads them: `fiche sync` and `fiche watch` print one line per
//! refusal.

use fiche_core::{Book, DocumentId};

/// "Your change to Famille Martin was refused: …".
pub fn line(book: &Book, id: &DocumentId, reason: &str) -> String {
    let name = book
        .summary(id)
        .map(|s| s.name)
        .unwrap_or_else(|| id.to_string());
    format!("Your change to {name} was refused: {reason}")
}
