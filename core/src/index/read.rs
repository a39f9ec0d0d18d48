//! A client's summary read straight from its document, in one pass over each map it needs:
//! reading the record field by field costs one lookup per field, and a fresh device indexes
//! thousands of received records at once.
//!
//! It reads the indexed fields as `Client`'s `Hydrate` does: a missing field is its default,
//! an indexed field of the wrong type is refused.

use std::collections::BTreeSet;

use automerge::{Automerge, ObjType, ReadDoc, ScalarValueRef, ValueRef, ROOT};

use super::Summary;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::model::{Name, Status};

/// One map entry: its key, value and object id (for nested maps).
type Entry<'a> = automerge::iter::MapRangeItem<'a>;

pub(super) fn summary(id: DocumentId, doc: &Automerge, conflicts: usize) -> Result<Summary> {
    let mut s = Summary {
        id,
        name: String::new(),
        client_type: String::new(),
        status: Status::default(),
        archived: false,
        manager: None,
        city: String::new(),
        country: String::new(),
        groups: BTreeSet::new(),
        phones: Vec::new(),
        emails: Vec::new(),
        contacts: Vec::new(),
        conflicts,
    };
    let mut name = Name::default();
    let mut company = String::new();
    for e in doc.map_range(ROOT, ..) {
        match e.key.as_ref() {
            "client_type" => s.client_type = text(&e, "client_type")?,
            "status" => s.status = status(&e)?,
            "archived" => s.archived = boolean(&e, "archived")?,
            "manager" => s.manager = optional_text(&e, "manager")?,
            "name" => texts(
                doc,
                &e,
                "name",
                &mut [
                    ("display", &mut name.display),
                    ("first", &mut name.first),
                    ("last", &mut name.last),
                ],
            )?,
            "address" => texts(
                doc,
                &e,
                "address",
                &mut [("city", &mut s.city), ("country", &mut s.country)],
            )?,
            "invoice" => texts(doc, &e, "invoice", &mut [("company_name", &mut company)])?,
            "phones" => each(doc, &e, "phones", |p| {
                let mut number = String::new();
                texts(doc, p, "phones", &mut [("number", &mut number)])?;
                s.phones.push(number);
                Ok(())
            })?,
            "emails" => each(doc, &e, "emails", |m| {
                let mut address = String::new();
                texts(doc, m, "emails", &mut [("address", &mut address)])?;
                s.emails.push(address.to_lowercase());
                Ok(())
            })?,
            "contacts" => each(doc, &e, "contacts", |c| {
                each(doc, c, "contacts", |_| Ok(()))?;
                s.contacts.push(c.key.to_string());
                Ok(())
            })?,
            "groups" => each(doc, &e, "groups", |g| {
                if boolean(g, "groups")? {
                    s.groups.insert(g.key.to_string());
                }
                Ok(())
            })?,
            _ => {}
        }
    }
    s.name = name.shown(&company);
    Ok(s)
}

/// Calls `f` on every entry of the map held at `e`; refuses anything but a map.
fn each(
    doc: &Automerge,
    e: &Entry<'_>,
    what: &str,
    mut f: impl FnMut(&Entry<'_>) -> Result<()>,
) -> Result<()> {
    match e.value {
        ValueRef::Object(ObjType::Map) => {
            for inner in doc.map_range(e.id(), ..) {
                f(&inner)?;
            }
            Ok(())
        }
        _ => Err(wrong(what, "a map", e)),
    }
}

/// Reads the texts of the map held at `e` into `slots` by key (a slot left as it is when its
/// key is absent); other keys are ignored.
fn texts(
    doc: &Automerge,
    e: &Entry<'_>,
    what: &str,
    slots: &mut [(&str, &mut String)],
) -> Result<()> {
    each(doc, e, what, |f| {
        if let Some((key, slot)) = slots.iter_mut().find(|(k, _)| f.key == *k) {
            **slot = text(f, &format!("{what}.{key}"))?;
        }
        Ok(())
    })
}

fn text(e: &Entry<'_>, what: &str) -> Result<String> {
    match &e.value {
        ValueRef::Scalar(ScalarValueRef::Str(s)) => Ok(s.to_string()),
        _ => Err(wrong(what, "a string", e)),
    }
}

fn optional_text(e: &Entry<'_>, what: &str) -> Result<Option<String>> {
    match &e.value {
        ValueRef::Scalar(ScalarValueRef::Null) => Ok(None),
        _ => text(e, what).map(Some),
    }
}

fn boolean(e: &Entry<'_>, what: &str) -> Result<bool> {
    match &e.value {
        ValueRef::Scalar(ScalarValueRef::Boolean(b)) => Ok(*b),
        _ => Err(wrong(what, "a boolean", e)),
    }
}

fn status(e: &Entry<'_>) -> Result<Status> {
    match text(e, "status")?.as_str() {
        "prospect" => Ok(Status::Prospect),
        "client" => Ok(Status::Client),
        other => Err(Error::Shape(format!(
            "status: {other:?} is neither \"prospect\" nor \"client\""
        ))),
    }
}

fn wrong(what: &str, expected: &str, e: &Entry<'_>) -> Error {
    Error::Shape(format!("{what}: expected {expected}, found {:?}", e.value))
}
