//! Refused changes as a person reads them: `fiche sync` and `fiche watch` print one line per
//! refusal, `fiche refused` lists them, `fiche drop ID` returns a record to the organisation's
//! version.

use anyhow::Result;
use fiche_core::book::Refusal;
use fiche_core::{Book, DocumentId};

/// What a document is called: a client's name, "the settings", else its id.
fn name(book: &Book, id: &DocumentId) -> String {
    if *id == book.settings_id() {
        return "the settings".into();
    }
    if *id == fiche_core::directory::directory_id() {
        return "the directory".into();
    }
    book.summary(id)
        .map(|s| s.name)
        .unwrap_or_else(|| id.to_string())
}

/// "Your change to Famille Martin (address.city) was refused: …".
pub fn line(book: &Book, id: &DocumentId, reason: &str) -> String {
    let refusal = book
        .refused()
        .ok()
        .and_then(|all| all.into_iter().find(|r| r.id == *id));
    let fields = match refusal.map(|r| r.fields) {
        Some(f) if !f.is_empty() => format!(" ({})", f.join(", ")),
        _ => String::new(),
    };
    format!(
        "Your change to {}{fields} was refused: {reason}",
        name(book, id)
    )
}

/// `fiche refused`: the refused changes kept here, with how to drop each.
pub fn list(book: &Book, json: bool) -> Result<()> {
    let all: Vec<Refusal> = book.refused()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("no refused changes");
    }
    for r in &all {
        println!("{}", line(book, &r.id, &r.reason));
        println!("  drop it: fiche drop {}", r.id);
    }
    Ok(())
}

/// `fiche drop ID`: forgets this device's copy; the next sync brings the organisation's.
pub fn drop(book: &Book, id: &DocumentId) -> Result<()> {
    let what = name(book, id);
    book.drop_local(id)?;
    println!(
        "dropped this device's copy of {what}: `fiche sync` brings the organisation's version"
    );
    Ok(())
}
