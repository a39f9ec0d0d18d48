//! Writes records to a store as fast as it can and prints an acknowledgement after each call
//! returns; the crash test kills it with SIGKILL and checks every acknowledged write survived.
//!
//! Usage: `crash-writer STORE_DIR`. Prints `client <id>` after each create and `note <n>`
//! after each edit of the first client's notes.

use std::io::Write;

use anyhow::{Context, Result};
use fiche_core::model::{Client, Phone};
use fiche_core::{Book, Options};

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: crash-writer STORE_DIR")?;
    let book = Book::open(&dir, Options::default())?;
    let mut out = std::io::stdout().lock();
    let mut first = None;
    for i in 0u64.. {
        let mut c = Client::default();
        c.name.display = format!("Crash Test {i}");
        c.phones.insert(
            "p".into(),
            Phone {
                label: "mobile".into(),
                number: format!("+3361{:07}", i % 10_000_000),
            },
        );
        let id = book.create_client(c)?.id;
        writeln!(out, "client {id}")?;
        out.flush()?;
        let target = *first.get_or_insert(id);
        book.edit_client(&target, |c| c.notes = i.to_string())?;
        writeln!(out, "note {i}")?;
        out.flush()?;
    }
    Ok(())
}
