//! One client's data as JSON: what the GDPR's right of access and portability ask for.
//!
//! The object holds the client's id and `automerge:` URL, the schema version, the whole client
//! record, and every linked contact this device holds (with its role for this client).

use serde::Serialize;

use crate::book::Book;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::model::{Client, Contact};

#[derive(Debug, Serialize)]
struct Export {
    id: String,
    url: String,
    schema: u64,
    client: Client,
    contacts: Vec<LinkedContact>,
}

#[derive(Debug, Serialize)]
struct LinkedContact {
    id: String,
    role: String,
    contact: Contact,
}

/// The client `id` and its linked contacts, as pretty-printed JSON. Contacts that are linked but
/// not on this device (or whose link is not a document id) are left out.
pub fn export(book: &Book, id: &DocumentId) -> Result<String> {
    let client = book.client(id)?;
    let mut contacts = Vec::new();
    for (key, link) in &client.contacts {
        let Ok(contact_id) = key.parse::<DocumentId>() else {
            continue;
        };
        match book.contact(&contact_id) {
            Ok(contact) => contacts.push(LinkedContact {
                id: contact_id.to_string(),
                role: link.role.clone(),
                contact,
            }),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let export = Export {
        id: id.to_string(),
        url: id.url(),
        schema: crate::schema::SCHEMA_VERSION,
        client,
        contacts,
    };
    serde_json::to_string_pretty(&export)
        .map_err(|e| Error::Exchange(format!("cannot write the JSON export: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Options;
    use crate::model::{ContactLink, Phone};
    use serde_json::Value;

    #[test]
    fn exports_the_client_and_its_contacts() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(dir.path(), Options::default()).unwrap();
        let mut draft = Client::default();
        draft.name.display = "Dupont SARL".into();
        draft.notes = "line \"one\"\nline two".into();
        draft.phones.insert(
            "p".into(),
            Phone {
                label: "work".into(),
                number: "+33140000000".into(),
            },
        );
        let id = book.create_client(draft).unwrap().id;
        let mut contact = Contact::default();
        contact.name.first = "Marie".into();
        let contact_id = book.create_contact(contact).unwrap();
        book.link_contact(&id, &contact_id, "accountant").unwrap();
        // A link to a contact this device does not hold, and one that is not an id.
        let elsewhere = DocumentId::random();
        book.edit_client(&id, |c| {
            c.contacts
                .insert(elsewhere.to_string(), ContactLink::default());
            c.contacts
                .insert("not an id".into(), ContactLink::default());
        })
        .unwrap();

        let text = export(&book, &id).unwrap();
        assert!(text.contains("\n  \"id\""), "pretty: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let check = |pointer: &str, want: Value| {
            assert_eq!(v.pointer(pointer), Some(&want), "{pointer} in {text}");
        };
        check("/id", Value::from(id.to_string()));
        check("/url", Value::from(format!("automerge:{id}")));
        check("/schema", Value::from(crate::schema::SCHEMA_VERSION));
        check("/client/name/display", Value::from("Dupont SARL"));
        check("/client/notes", Value::from("line \"one\"\nline two"));
        check("/client/phones/p/number", Value::from("+33140000000"));
        check("/contacts/0/id", Value::from(contact_id.to_string()));
        check("/contacts/0/role", Value::from("accountant"));
        check("/contacts/0/contact/name/first", Value::from("Marie"));
        assert_eq!(v["contacts"].as_array().unwrap().len(), 1);
        let client: Client = serde_json::from_value(v["client"].clone()).unwrap();
        assert_eq!(client, book.client(&id).unwrap());
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  \""))
            .filter_map(|l| l.split('"').next())
            .collect();
        assert_eq!(keys, vec!["id", "url", "schema", "client", "contacts"]);
    }

    #[test]
    fn a_missing_client_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(dir.path(), Options::default()).unwrap();
        let id = DocumentId::random();
        assert!(matches!(export(&book, &id), Err(Error::NotFound(x)) if x == id));
    }
}
