//! Exchange formats: one client as JSON or vCard 4.0; clients in from vCard or CSV.
//!
//! Readers ([`vcard::parse`], [`csv::parse`]) give raw [`Parsed`] rows; [`import`] validates
//! them and files the good ones in batches, each batch one durable write.

pub mod csv;
pub mod json;
pub mod vcard;

use std::collections::HashMap;

use crate::book::Book;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::model::Client;

/// How many clients one durable write of [`import`] files.
pub const BATCH: usize = 500;

/// One client read from a file, not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// 1-based line of the file where the row or card starts.
    pub line: usize,
    /// The raw client, or why the row could not be read.
    pub result: Result<Client, String>,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// The line of each imported row and the id of the client filed for it, in file order.
    pub imported: Vec<(usize, DocumentId)>,
    /// Rows left out, in file order.
    pub rejected: Vec<Rejected>,
}

/// Validates `rows` and files the good ones, [`BATCH`] at a time in one durable write each
/// (a crash leaves whole clients only). A row is rejected, with its reason, when it could not
/// be read, when it is invalid (the reason names the fields), or when it has the same phone or
/// e-mail as an earlier imported row of the same file. Clients that look like ones already on
/// the device are imported: those duplicates are warnings, not errors.
///
/// `progress(done, total)` is called after each batch is written, with the number of rows
/// dealt with so far and the number of rows; the last call is `(total, total)`. An error of the
/// store stops the import: batches already written stay.
pub fn import(
    book: &Book,
    rows: Vec<Parsed>,
    progress: impl FnMut(usize, usize),
) -> Result<ImportReport> {
    import_in_batches(book, rows, BATCH, progress)
}

fn import_in_batches(
    book: &Book,
    rows: Vec<Parsed>,
    batch_size: usize,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportReport> {
    let batch_size = batch_size.max(1);
    let total = rows.len();
    let mut report = ImportReport::default();
    // Normalised phone numbers and e-mail addresses of the rows kept so far, with their line.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut batch: Vec<(usize, Client)> = Vec::new();
    let mut reported = None;
    for (done, row) in rows.into_iter().enumerate() {
        let line = row.line;
        let reject = |report: &mut ImportReport, reason: String| {
            report.rejected.push(Rejected { line, reason });
        };
        let draft = match row.result {
            Ok(c) => c,
            Err(reason) => {
                reject(&mut report, reason);
                continue;
            }
        };
        let checked = match book.check(&draft) {
            Ok(checked) => checked,
            Err(Error::Invalid(errors)) => {
                reject(&mut report, errors.to_string());
                continue;
            }
            Err(e) => return Err(e),
        };
        let keys = contact_keys(&checked);
        if let Some(earlier) = keys.iter().find_map(|k| seen.get(k)) {
            reject(&mut report, format!("same phone/e-mail as line {earlier}"));
            continue;
        }
        for k in keys {
            seen.entry(k).or_insert(line);
        }
        batch.push((line, checked));
        if batch.len() >= batch_size {
            write_batch(book, &mut batch, &mut report)?;
            progress(done + 1, total);
            reported = Some(done + 1);
        }
    }
    if !batch.is_empty() {
        write_batch(book, &mut batch, &mut report)?;
    }
    if reported != Some(total) {
        progress(total, total);
    }
    Ok(report)
}

/// Files a batch of checked clients in one durable write.
fn write_batch(
    book: &Book,
    batch: &mut Vec<(usize, Client)>,
    report: &mut ImportReport,
) -> Result<()> {
    let (lines, clients): (Vec<usize>, Vec<Client>) = std::mem::take(batch).into_iter().unzip();
    let ids = book.create_checked(&clients, "import")?;
    report.imported.extend(lines.into_iter().zip(ids));
    Ok(())
}

/// The phone numbers (E.164 once checked) and e-mail addresses (lower case) of a checked
/// client, prefixed so that the two never collide.
fn contact_keys(c: &Client) -> Vec<String> {
    let phones = c.phones.values().map(|p| format!("tel:{}", p.number));
    let emails = c
        .emails
        .values()
        .map(|e| format!("mailto:{}", e.address.to_lowercase()));
    phones.chain(emails).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Options;
    use crate::index::{Filter, Page};
    use crate::model::Email;

    fn open() -> (tempfile::TempDir, Book) {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(dir.path(), Options::default()).unwrap();
        (dir, book)
    }

    fn names(book: &Book) -> Vec<String> {
        book.list(&Filter::default(), Page::default())
            .into_iter()
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn imports_good_rows_and_reports_bad_ones() {
        let (_dir, book) = open();
        // Already on the device: a row like it is imported all the same (only a warning).
        let mut existing = Client::default();
        existing.name.display = "Old Client".into();
        existing.emails.insert(
            "e".into(),
            Email {
                label: String::new(),
                address: "zoe@example.com".into(),
            },
        );
        book.create_client(existing).unwrap();

        // A phone number no validator could take, when the real one is in place.
        let bad_phone = "not a phone";
        let phone_refused = crate::validate::phone("p", bad_phone, "FR").is_err();
        let csv = format!(
            "name,phone,email,city\n\
             Marie Dupont,+33612345678,marie@example.com,Lyon\n\
             Bad Mail,,marie.example.com,Paris\n\
             ,+33700000000,nobody@example.com,Nice\n\
             Too Many,+33600000001,tm@example.com,Lille,extra\n\
             Marie Again,,MARIE@example.com,Lyon\n\
             Bad Phone,{bad_phone},bp@example.com,Metz\n\
             Zoé Martin,+33611111111,zoe@example.com,Nantes\n\
             Same Phone,+33612345678,other@example.com,Lyon\n"
        );
        let rows = csv::parse(csv.as_bytes()).unwrap();
        let mut calls = Vec::new();
        let report = import(&book, rows, |done, total| calls.push((done, total))).unwrap();

        let rejected: Vec<(usize, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        let check = |line: usize, wants: &[&str]| {
            let (_, reason) = rejected
                .iter()
                .find(|(l, _)| *l == line)
                .unwrap_or_else(|| panic!("line {line} not rejected: {rejected:?}"));
            for want in wants {
                assert!(
                    reason.contains(want),
                    "line {line}: {reason:?} should say {want:?}"
                );
            }
        };
        check(3, &["emails."]);
        check(4, &["name"]);
        check(5, &["5 fields", "4"]);
        check(6, &["same phone/e-mail as line 2"]);
        check(9, &["same phone/e-mail as line 2"]);
        if phone_refused {
            check(7, &["phones."]);
        }
        assert_eq!(
            rejected.len(),
            if phone_refused { 6 } else { 5 },
            "{rejected:?}"
        );

        let mut lines: Vec<usize> = report.imported.iter().map(|(l, _)| *l).collect();
        lines.sort_unstable();
        let mut want = vec![2, 8];
        if !phone_refused {
            want.insert(1, 7);
        }
        assert_eq!(lines, want);
        for (_, id) in &report.imported {
            assert!(book.client(id).is_ok());
        }
        let mut listed = names(&book);
        listed.sort();
        let mut expected = vec!["Marie Dupont", "Old Client", "Zoé Martin"];
        if !phone_refused {
            expected.insert(0, "Bad Phone");
        }
        assert_eq!(listed, expected);
        assert_eq!(calls, vec![(8, 8)]);
    }

    #[test]
    fn writes_in_batches_and_reports_progress() {
        let (_dir, book) = open();
        let rows: Vec<Parsed> = (0..7)
            .map(|i| {
                let mut c = Client::default();
                c.name.display = format!("Client {i}");
                Parsed {
                    line: i + 2,
                    result: if i == 6 {
                        Err("unreadable".into())
                    } else {
                        Ok(c)
                    },
                }
            })
            .collect();
        let mut calls = Vec::new();
        let report =
            import_in_batches(&book, rows, 2, |done, total| calls.push((done, total))).unwrap();
        assert_eq!(calls, vec![(2, 7), (4, 7), (6, 7), (7, 7)]);
        let lines: Vec<usize> = report.imported.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7]);
        assert_eq!(
            report.rejected,
            vec![Rejected {
                line: 8,
                reason: "unreadable".into()
            }]
        );
        assert_eq!(book.count(), 6);
    }

    #[test]
    fn imports_a_vcard_file() {
        let (_dir, book) = open();
        let mut c = Client::default();
        c.name.first = "Léa".into();
        c.name.last = "Martin".into();
        let text = vcard::export(&c, &DocumentId::random()) + "BEGIN:VCARD\r\nVERSION:4.0\r\n";
        let report = import(&book, vcard::parse(&text), |_, _| {}).unwrap();
        assert_eq!(report.imported.len(), 1);
        assert_eq!(report.rejected.len(), 1);
        assert!(report.rejected[0].reason.contains("END:VCARD"));
        assert_eq!(names(&book), vec!["Léa Martin"]);
    }

    #[test]
    fn an_empty_file_imports_nothing() {
        let (_dir, book) = open();
        let mut calls = Vec::new();
        let report = import(&book, Vec::new(), |d, t| calls.push((d, t))).unwrap();
        assert_eq!(report, ImportReport::default());
        assert_eq!(calls, vec![(0, 0)]);
    }
}
