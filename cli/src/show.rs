//! How the `fiche` commands print records, lists, history, conflicts and import reports.

use std::path::Path;

use anyhow::{Context, Result};
use fiche_core::conflicts::Conflict;
use fiche_core::duplicates::Duplicate;
use fiche_core::exchange;
use fiche_core::history::HistoryEntry;
use fiche_core::index::Page;
use fiche_core::{Book, DocumentId};

use crate::{FilterArgs, ImportFormat};

fn json_line<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Warnings about likely duplicates, on standard error so scripts can keep the id on stdout.
pub fn duplicates(dups: &[Duplicate]) {
    for d in dups {
        let reasons: Vec<String> = d.reasons.iter().map(ToString::to_string).collect();
        eprintln!(
            "warning: looks like {} ({}): {}",
            d.name,
            d.id,
            reasons.join(", ")
        );
    }
}

pub fn list(book: &Book, filter: &fiche_core::index::Filter, args: &FilterArgs) -> Result<()> {
    let page = Page {
        offset: args.offset,
        limit: args.limit,
    };
    let rows = book.list(filter, page);
    if args.json {
        return json_line(&rows);
    }
    for s in &rows {
        let mut extra = Vec::new();
        if !s.city.is_empty() {
            extra.push(s.city.clone());
        }
        if let Some(p) = s.phones.first() {
            extra.push(p.clone());
        }
        if let Some(e) = s.emails.first() {
            extra.push(e.clone());
        }
        if s.archived {
            extra.push("archived".into());
        }
        if s.conflicts > 0 {
            extra.push(format!("{} conflict(s)", s.conflicts));
        }
        println!(
            "{}  {:<30} {:<9} {}",
            s.id,
            s.name,
            s.status.as_str(),
            extra.join("  ")
        );
    }
    eprintln!("{} client(s)", rows.len());
    Ok(())
}

fn line(label: &str, value: &str) {
    if !value.trim().is_empty() {
        println!("  {label:<14} {value}");
    }
}

pub fn client(book: &Book, id: &DocumentId) -> Result<()> {
    let c = book.client(id)?;
    println!("{}  ({})", c.display_name(), id);
    line("type", &c.client_type);
    line(
        "status",
        &format!(
            "{}{}",
            c.status.as_str(),
            if c.archived { ", archived" } else { "" }
        ),
    );
    line("manager", c.manager.as_deref().unwrap_or(""));
    line("first name", &c.name.first);
    line("last name", &c.name.last);
    line("birthday", c.birthday.as_deref().unwrap_or(""));
    for p in c.phones.values() {
        line(format!("phone {}", p.label).trim(), &p.number);
    }
    for e in c.emails.values() {
        line(format!("e-mail {}", e.label).trim(), &e.address);
    }
    let a = &c.address;
    let addr = [&a.street, &a.postal_code, &a.city, &a.region, &a.country]
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    line("address", &addr);
    line(
        "groups",
        &c.groups.iter().cloned().collect::<Vec<_>>().join(", "),
    );
    line("company", &c.invoice.company_name);
    line("legal form", &c.invoice.legal_form);
    line("VAT", c.invoice.vat_number.as_deref().unwrap_or(""));
    for b in c.banks.values() {
        line("IBAN", format!("{} {}", b.iban, b.label).trim());
    }
    line(
        "payment",
        &c.payment_methods
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(consent) = &c.consent {
        line(
            "consent",
            &format!(
                "{} on {} ({:?}, recorded by {})",
                if consent.given { "given" } else { "refused" },
                consent.on,
                consent.method,
                consent.recorded_by
            ),
        );
    }
    for (key, link) in &c.contacts {
        let name = key
            .parse()
            .ok()
            .and_then(|id| book.contact(&id).ok())
            .map(|p| format!("{} {}", p.name.first, p.name.last))
            .unwrap_or_else(|| key.clone());
        line("contact", &format!("{} ({})", name.trim(), link.role));
    }
    let counts = [
        ("sites", c.sites.len()),
        ("activities", c.activities.len()),
        ("installations", c.installations.len()),
        ("interventions", c.interventions.len()),
        ("contracts", c.contracts.len()),
        ("interests", c.interests.len()),
        ("renewables", c.renewables.len()),
        ("links", c.links.len()),
        ("files", c.files.len()),
    ];
    for (label, n) in counts.into_iter().filter(|(_, n)| *n > 0) {
        line(label, &n.to_string());
    }
    if let Some(photo) = &c.photo {
        line(
            "photo",
            &format!(
                "{} ({} bytes, {})",
                photo.hash, photo.size, photo.media_type
            ),
        );
    }
    for (key, i) in &c.interventions {
        if let Some(s) = &i.signature {
            let warning = if i.altered_after_signing() {
                " — CHANGED AFTER SIGNING"
            } else {
                ""
            };
            line(
                "signed",
                &format!(
                    "intervention {key} by {} at {}{warning}",
                    s.signed_by, s.signed_at
                ),
            );
        }
    }
    if !c.notes.is_empty() {
        println!("  notes:\n    {}", c.notes.replace('\n', "\n    "));
    }
    Ok(())
}

fn when(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

pub fn history(entries: &[HistoryEntry], json: bool) -> Result<()> {
    if json {
        return json_line(&entries);
    }
    for e in entries {
        println!(
            "{}  {:<8} by {} on device {}: {}",
            when(e.time),
            e.action,
            e.member,
            e.device,
            e.fields.join(", ")
        );
    }
    Ok(())
}

pub fn conflicts(conflicts: &[Conflict], json: bool) -> Result<()> {
    if json {
        return json_line(&conflicts);
    }
    if conflicts.is_empty() {
        println!("no conflicts");
    }
    for c in conflicts {
        println!("{}", c.path);
        println!("  0 (current): {}", c.winner);
        for (i, o) in c.others.iter().enumerate() {
            println!("  {}: {}", i + 1, o);
        }
    }
    Ok(())
}

pub fn import(book: &Book, file: &Path, format: Option<ImportFormat>, json: bool) -> Result<()> {
    let format = match format {
        Some(f) => f,
        None => match file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref()
        {
            Some("csv") | Some("txt") => ImportFormat::Csv,
            Some("vcf") | Some("vcard") => ImportFormat::Vcard,
            _ => anyhow::bail!(
                "cannot tell the format of {}: add --format csv or --format vcard",
                file.display()
            ),
        },
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let rows = match format {
        ImportFormat::Csv => exchange::csv::parse(bytes.as_slice())?,
        ImportFormat::Vcard => exchange::vcard::parse(&String::from_utf8_lossy(&bytes)),
    };
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = exchange::import(book, rows, |done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    if json {
        let value = serde_json::json!({
            "imported": report.imported.iter().map(|(line, id)| serde_json::json!({"line": line, "id": id})).collect::<Vec<_>>(),
            "rejected": report.rejected.iter().map(|r| serde_json::json!({"line": r.line, "reason": r.reason})).collect::<Vec<_>>(),
        });
        return json_line(&value);
    }
    for r in &report.rejected {
        println!("line {}: rejected: {}", r.line, r.reason);
    }
    println!(
        "{} imported, {} rejected",
        report.imported.len(),
        report.rejected.len()
    );
    Ok(())
}
