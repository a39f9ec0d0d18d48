//! Duplicate warnings: does a new or edited client look like one already filed?

use serde::{Deserialize, Serialize};

use crate::id::DocumentId;
use crate::index::{name_key, Index};
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

/// Jaro-Winkler similarity of two name keys, rounded to 0.01, when at least
/// [`NAME_SIMILARITY`].
fn name_similarity(a: &str, b: &str) -> Option<f64> {
    let (la, lb) = (a.chars().count(), b.chars().count());
    // Jaro-Winkler >= 0.92 needs Jaro >= 0.866, which needs the shorter name to be at least
    // 60 % of the longer: skip the computation for names of very different lengths.
    if la == 0 || lb == 0 || la.min(lb) * 10 < la.max(lb) * 6 {
        return None;
    }
    let score = strsim::jaro_winkler(a, b);
    (score >= NAME_SIMILARITY).then(|| (score * 100.0).round() / 100.0)
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
        .candidates(&key, &phones, &emails)
        .filter(|e| Some(e.summary.id) != except)
        .filter_map(|e| {
            let s = &e.summary;
            let mut reasons = Vec::new();
            for p in s.phones.iter().filter(|p| phones.contains(&p.as_str())) {
                reasons.push(Reason::SamePhone(p.clone()));
            }
            for m in s.emails.iter().filter(|m| emails.contains(m)) {
                reasons.push(Reason::SameEmail(m.clone()));
            }
            if let Some(score) = name_similarity(&key, &e.name_key) {
                reasons.push(Reason::SimilarName(score));
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
