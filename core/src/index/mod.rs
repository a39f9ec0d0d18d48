//! The search index: one small summary per client, kept in the store beside the document and
//! rewritten in the same atomic write whenever the document changes (locally or by a merge).

mod read;

use std::collections::{BTreeSet, HashMap, HashSet};

use automerge::Automerge;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::Result;
use crate::id::DocumentId;
use crate::model::{Client, Status};

/// What lists and searches need of a client, without loading its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub id: DocumentId,
    pub name: String,
    pub client_type: String,
    pub status: Status,
    pub archived: bool,
    pub manager: Option<String>,
    pub city: String,
    pub country: String,
    pub groups: BTreeSet<String>,
    /// E.164 numbers.
    pub phones: Vec<String>,
    /// Lower-cased addresses.
    pub emails: Vec<String>,
    /// Document ids of linked contacts.
    pub contacts: Vec<String>,
    /// Whether the document holds unresolved concurrent writes.
    pub conflicts: usize,
}

impl Summary {
    pub fn of(id: DocumentId, c: &Client, conflicts: usize) -> Self {
        Self {
            id,
            name: c.display_name(),
            client_type: c.client_type.clone(),
            status: c.status,
            archived: c.archived,
            manager: c.manager.clone(),
            city: c.address.city.clone(),
            country: c.address.country.clone(),
            groups: c.groups.clone(),
            phones: c.phones.values().map(|p| p.number.clone()).collect(),
            emails: c
                .emails
                .values()
                .map(|e| e.address.to_lowercase())
                .collect(),
            contacts: c.contacts.keys().cloned().collect(),
            conflicts,
        }
    }

    /// The summary of the client a document holds, read without the rest of the record (for
    /// records that arrive by sync, thousands at a time on a fresh device: reading each whole
    /// took most of that time). Equal to [`Summary::of`] the record read whole, and refused
    /// the same way when an indexed field has the wrong shape.
    pub fn read(id: DocumentId, doc: &Automerge, conflicts: usize) -> Result<Self> {
        read::summary(id, doc, conflicts)
    }
}

/// Folds text for matching: lower case, accents removed (`Ștefan` → `stefan`).
pub fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Which clients a list or search returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Free text: every word must match the name, a phone, an e-mail or the city.
    pub text: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub city: Option<String>,
    pub group: Option<String>,
    pub status: Option<Status>,
    pub client_type: Option<String>,
    /// Archived clients are left out unless asked for.
    pub include_archived: bool,
}

/// A page of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: usize::MAX,
        }
    }
}

/// A summary prepared for matching (folded once, when indexed).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) summary: Summary,
    name: String,
    /// The folded words of the name, sorted: what duplicate detection compares.
    pub(crate) name_key: String,
    city: String,
    groups: Vec<String>,
    phone_digits: Vec<String>,
}

/// Folded words of a name, sorted, so "Dupont Marie" and "Marie Dupont" compare equal.
pub(crate) fn name_key(name: &str) -> String {
    let folded = fold(name);
    let mut words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words.join(" ")
}

/// The blocking keys of a name: the first three characters of each folded word. Two names
/// are compared for similarity only when they share one (a typo in the first three letters of
/// every word escapes the check; anything else does not need to be compared).
pub(crate) fn name_blocks(name_key: &str) -> impl Iterator<Item = String> + '_ {
    name_key
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(3).collect())
}

/// All client summaries of a store, in memory, kept in name order for listing, with lookup
/// tables for duplicate detection.
#[derive(Debug, Default)]
pub struct Index {
    entries: HashMap<DocumentId, Entry>,
    order: BTreeSet<(String, DocumentId)>,
    /// Name blocks, E.164 phones and lower-case e-mails → clients having them.
    lookup: HashMap<String, HashSet<DocumentId>>,
}

fn lookup_keys(e: &Entry) -> Vec<String> {
    let mut keys: Vec<String> = name_blocks(&e.name_key).map(|b| format!("n:{b}")).collect();
    keys.extend(e.summary.phones.iter().map(|p| format!("p:{p}")));
    keys.extend(e.summary.emails.iter().map(|m| format!("e:{m}")));
    keys
}

impl Index {
    pub fn insert(&mut self, s: Summary) {
        let entry = Entry {
            name: fold(&s.name),
            name_key: name_key(&s.name),
            city: fold(&s.city),
            groups: s.groups.iter().map(|g| fold(g)).collect(),
            phone_digits: s.phones.iter().map(|p| digits(p)).collect(),
            summary: s,
        };
        let id = entry.summary.id;
        self.remove(&id);
        self.order.insert((entry.name.clone(), id));
        for k in lookup_keys(&entry) {
            self.lookup.entry(k).or_default().insert(id);
        }
        self.entries.insert(id, entry);
    }

    pub fn remove(&mut self, id: &DocumentId) {
        let Some(old) = self.entries.remove(id) else {
            return;
        };
        self.order.remove(&(old.name.clone(), *id));
        for k in lookup_keys(&old) {
            if let Some(set) = self.lookup.get_mut(&k) {
                set.remove(id);
                if set.is_empty() {
                    self.lookup.remove(&k);
                }
            }
        }
    }

    /// Clients sharing a name block, a phone or an e-mail with the given values.
    pub(crate) fn candidates<'a>(
        &'a self,
        name_key: &str,
        phones: &[&str],
        emails: &[String],
    ) -> impl Iterator<Item = &'a Entry> {
        let mut keys: Vec<String> = name_blocks(name_key).map(|b| format!("n:{b}")).collect();
        keys.extend(phones.iter().map(|p| format!("p:{p}")));
        keys.extend(emails.iter().map(|m| format!("e:{m}")));
        let ids: HashSet<DocumentId> = keys
            .iter()
            .filter_map(|k| self.lookup.get(k))
            .flatten()
            .copied()
            .collect();
        ids.into_iter().filter_map(|id| self.entries.get(&id))
    }

    pub fn get(&self, id: &DocumentId) -> Option<&Summary> {
        self.entries.get(id).map(|e| &e.summary)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Matching clients, sorted by name then id, paged.
    pub fn search(&self, filter: &Filter, page: Page) -> Vec<Summary> {
        let words: Vec<String> = filter
            .text
            .as_deref()
            .map(|t| fold(t).split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        // "06 12 34 56" is one phone number, not four words.
        let phone_text = filter.text.as_deref().filter(|t| {
            t.chars().filter(char::is_ascii_digit).count() >= 3
                && t.chars()
                    .all(|c| c.is_ascii_digit() || " +.-()/".contains(c))
        });
        let folded = Folded {
            group: filter.group.as_deref().map(fold),
            city: filter.city.as_deref().map(fold),
            email: filter.email.as_deref().map(|m| m.trim().to_lowercase()),
        };
        self.order
            .iter()
            .filter_map(|(_, id)| self.entries.get(id))
            .filter(|e| match phone_text {
                Some(p) => matches(e, filter, &folded, &[]) && phone_matches(e, p),
                None => matches(e, filter, &folded, &words),
            })
            .skip(page.offset)
            .take(page.limit)
            .map(|e| e.summary.clone())
            .collect()
    }
}

/// Filter values folded once per search, not once per entry.
struct Folded {
    group: Option<String>,
    city: Option<String>,
    email: Option<String>,
}

fn phone_matches(e: &Entry, query: &str) -> bool {
    let q = digits(query);
    // A national number typed with its trunk 0 ("06 12…") matches the E.164 form ("+336 12…").
    let q = q.trim_start_matches('0');
    q.len() >= 3 && e.phone_digits.iter().any(|p| p.contains(q))
}

fn word_matches(e: &Entry, w: &str) -> bool {
    e.name.split_whitespace().any(|n| n.starts_with(w))
        || e.name.contains(w)
        || e.city.starts_with(w)
        || e.summary.emails.iter().any(|m| m.contains(w))
        || (w.chars().any(|c| c.is_ascii_digit()) && phone_matches(e, w))
}

fn matches(e: &Entry, f: &Filter, folded: &Folded, words: &[String]) -> bool {
    let s = &e.summary;
    (f.include_archived || !s.archived)
        && f.status.is_none_or(|st| s.status == st)
        && f.client_type.as_ref().is_none_or(|t| &s.client_type == t)
        && folded.group.as_ref().is_none_or(|g| e.groups.contains(g))
        && folded.city.as_ref().is_none_or(|c| &e.city == c)
        && folded
            .email
            .as_ref()
            .is_none_or(|m| s.emails.iter().any(|x| x.contains(m.as_str())))
        && f.phone.as_ref().is_none_or(|p| phone_matches(e, p))
        && words.iter().all(|w| word_matches(e, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Email, Phone};

    fn client(name: &str, city: &str, phone: &str, email: &str, group: &str) -> Client {
        let mut c = Client::default();
        c.name.display = name.to_string();
        c.address.city = city.to_string();
        c.phones.insert(
            "p".into(),
            Phone {
                label: "mobile".into(),
                number: phone.into(),
            },
        );
        c.emails.insert(
            "e".into(),
            Email {
                label: "".into(),
                address: email.into(),
            },
        );
        c.groups.insert(group.to_string());
        c
    }

    fn index() -> (Index, Vec<DocumentId>) {
        let mut ix = Index::default();
        let rows = [
            client(
                "Ștefan Popescu",
                "București",
                "+40722123456",
                "stefan@example.ro",
                "vip",
            ),
            client(
                "Marie Dupont",
                "Lyon",
                "+33612345678",
                "marie.dupont@example.fr",
                "newsletter",
            ),
            client(
                "Giulia Rossi",
                "Milano",
                "+393331234567",
                "giulia@example.it",
                "vip",
            ),
        ];
        let mut ids = Vec::new();
        for c in rows {
            let id = DocumentId::random();
            ids.push(id);
            ix.insert(Summary::of(id, &c, 0));
        }
        (ix, ids)
    }

    fn check(filter: Filter, expected: &[&str]) {
        let (ix, _) = index();
        let names: Vec<_> = ix
            .search(&filter, Page::default())
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, expected, "{filter:?}");
    }

    fn text(t: &str) -> Filter {
        Filter {
            text: Some(t.to_string()),
            ..Filter::default()
        }
    }

    #[test]
    fn search_table() {
        check(
            Filter::default(),
            &["Giulia Rossi", "Marie Dupont", "Ștefan Popescu"],
        );
        check(text("stefan"), &["Ștefan Popescu"]);
        check(text("DUP"), &["Marie Dupont"]);
        check(text("bucuresti"), &["Ștefan Popescu"]);
        check(text("06 12 34"), &["Marie Dupont"]);
        check(text("example.it"), &["Giulia Rossi"]);
        check(text("marie lyon"), &["Marie Dupont"]);
        check(text("marie milano"), &[]);
        check(
            Filter {
                group: Some("VIP".into()),
                ..Filter::default()
            },
            &["Giulia Rossi", "Ștefan Popescu"],
        );
        check(
            Filter {
                city: Some("lyon".into()),
                ..Filter::default()
            },
            &["Marie Dupont"],
        );
        check(
            Filter {
                status: Some(Status::Client),
                ..Filter::default()
            },
            &[],
        );
        check(
            Filter {
                phone: Some("0722 123 456".into()),
                ..Filter::default()
            },
            &["Ștefan Popescu"],
        );
        check(
            Filter {
                email: Some("MARIE.DUPONT@".into()),
                ..Filter::default()
            },
            &["Marie Dupont"],
        );
    }

    #[test]
    fn archived_are_hidden_unless_asked_and_pages_cut() {
        let (mut ix, ids) = index();
        let mut s = ix.get(&ids[0]).unwrap().clone();
        s.archived = true;
        ix.insert(s);
        assert_eq!(ix.search(&Filter::default(), Page::default()).len(), 2);
        let all = Filter {
            include_archived: true,
            ..Filter::default()
        };
        assert_eq!(ix.search(&all, Page::default()).len(), 3);
        let page = ix.search(
            &all,
            Page {
                offset: 1,
                limit: 1,
            },
        );
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].name, "Marie Dupont");
    }
}
