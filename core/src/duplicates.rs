//! Duplicate warnings: does a new or edited client look like one already filed?

use serde::{Deserialize, Serialize};

use crate::id::DocumentId;
use crate::index::{fold, Index};
use crate::model::Client;

/// Names at least this similar (Jaro-Winkler on folded, sorted words) are reported.
pub const NAME_SIMILARITY: f64 = 0.92;

/// Why a client looks like a duplicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "value")]
pub enum Reason {
    /// Same E.164 number.
    SamePhone(String),
    /// Same e-mail address (case-insensitive).
    SameEmail(String),
    /// Names this similar (1.0 = the same once accents, case and word order are ignored).
    SimilarName(f64),
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::SamePhone(p) => write!(f, "same phone {p}"),
            Reason::SameEmail(e) => write!(f, "same e-mail {e}"),
            Reason::SimilarName(s) => write!(f, "similar name ({:.0} %)", s * 100.0),
        }
    }
}

/// An existing client that looks like the one being filed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    pub id: DocumentId,
    pub name: String,
    pub reasons: Vec<Reason>,
}

fn name_key(name: &str) -> String {
    let folded = fold(name);
    let mut words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words.join(" ")
}

/// Clients in `index` (other than `except`) that look like `candidate`, most likely first.
pub fn find(index: &Index, candidate: &Client, except: Option<DocumentId>) -> Vec<Duplicate> {
    let key = name_key(&candidate.display_name());
    let phones: Vec<&str> = candidate
        .phones
        .values()
        .map(|p| p.number.as_str())
        .collect();
    let emails: Vec<String> = candidate
        .emails
        .values()
        .map(|e| e.address.to_lowercase())
        .collect();
    let mut out: Vec<Duplicate> = index
        .summaries()
        .filter(|s| Some(s.id) != except)
        .filter_map(|s| {
            let mut reasons = Vec::new();
            for p in s.phones.iter().filter(|p| phones.contains(&p.as_str())) {
                reasons.push(Reason::SamePhone(p.clone()));
            }
            for e in s.emails.iter().filter(|e| emails.contains(e)) {
                reasons.push(Reason::SameEmail(e.clone()));
            }
            if !key.is_empty() {
                let score = strsim::jaro_winkler(&key, &name_key(&s.name));
                if score >= NAME_SIMILARITY {
                    reasons.push(Reason::SimilarName((score * 100.0).round() / 100.0));
                }
            }
            (!reasons.is_empty()).then(|| Duplicate {
                id: s.id,
                name: s.name.clone(),
                reasons,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.reasons
            .len()
            .cmp(&a.reasons.len())
            .then(a.name.cmp(&b.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Summary;
    use crate::model::{Email, Phone};

    fn client(name: &str, phone: &str, email: &str) -> Client {
        let mut c = Client::default();
        c.name.display = name.into();
        if !phone.is_empty() {
            c.phones.insert(
                "p".into(),
                Phone {
                    label: String::new(),
                    number: phone.into(),
                },
            );
        }
        if !email.is_empty() {
            c.emails.insert(
                "e".into(),
                Email {
                    label: String::new(),
                    address: email.into(),
                },
            );
        }
        c
    }

    fn check(candidate: Client, expected: &[&str]) {
        let mut ix = Index::default();
        ix.insert(Summary::of(
            DocumentId::random(),
            &client("Marie Dupont", "+33612345678", "marie@example.fr"),
            0,
        ));
        ix.insert(Summary::of(
            DocumentId::random(),
            &client("Jean Martin", "+33700000000", ""),
            0,
        ));
        let got: Vec<String> = find(&ix, &candidate, None)
            .iter()
            .map(|d| {
                format!(
                    "{}: {}",
                    d.name,
                    d.reasons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn duplicate_table() {
        check(
            client("Dupont Marie", "", ""),
            &["Marie Dupont: similar name (100 %)"],
        );
        check(
            client("Marie Dupond", "", ""),
            &["Marie Dupont: similar name (97 %)"],
        );
        check(
            client("Someone Else", "+33612345678", ""),
            &["Marie Dupont: same phone +33612345678"],
        );
        check(
            client("X", "", "MARIE@example.fr"),
            &["Marie Dupont: same e-mail marie@example.fr"],
        );
        check(
            client("Paul Durand", "+33699999999", "paul@example.fr"),
            &[],
        );
        check(
            client("Marie Dupont", "+33612345678", ""),
            &["Marie Dupont: same phone +33612345678, similar name (100 %)"],
        );
    }
}
