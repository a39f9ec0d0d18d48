//! Realistic client records for the benchmarks: a name, a phone, an e-mail, an address, a site,
//! a linked contact, an activity and notes, varied by index so no two are alike.

use automerge::{ActorId, Automerge, ChangeHash};
use fiche_core::model::{
    new_key, Activity, ActivityKind, Address, Client, ContactLink, Email, Phone, Site,
};
use fiche_core::record::{self, Author};
use fiche_core::schema::Kind;
use fiche_core::DocumentId;

const FIRST: [&str; 8] = [
    "Marie", "Jean", "Ana", "Luca", "Zofia", "Pablo", "Ioana", "Piotr",
];
const LAST: [&str; 8] = [
    "Dupont", "Martin", "Popescu", "Rossi", "Nowak", "García", "Ionescu", "Kowalski",
];
const CITY: [(&str, &str); 6] = [
    ("Lyon", "FR"),
    ("Cluj-Napoca", "RO"),
    ("Torino", "IT"),
    ("Kraków", "PL"),
    ("Sevilla", "ES"),
    ("Nantes", "FR"),
];

/// The `i`-th benchmark client.
pub fn client(i: usize) -> Client {
    let (city, country) = CITY[i % CITY.len()];
    let (first, last) = (FIRST[i % 8], LAST[(i / 8) % 8]);
    let mut c = Client::default();
    c.name.display = format!("{first} {last} {i}");
    c.address = Address {
        street: format!("{} rue des Lilas", i % 200 + 1),
        city: city.into(),
        postal_code: format!("{:05}", 10_000 + i % 89_999),
        country: country.into(),
        ..Address::default()
    };
    c.phones.insert(
        new_key(),
        Phone {
            label: "mobile".into(),
            number: format!("+336{:08}", i % 100_000_000),
        },
    );
    c.emails.insert(
        new_key(),
        Email {
            label: "work".into(),
            address: format!("{}.{}{i}@example.com", first.to_lowercase(), i % 97),
        },
    );
    c.sites.insert(
        new_key(),
        Site {
            label: "Workshop".into(),
            address: Address {
                street: format!("{} avenue du Port", i % 90 + 1),
                city: city.into(),
                country: country.into(),
                ..Address::default()
            },
        },
    );
    c.contacts.insert(
        DocumentId::random().to_string(),
        ContactLink {
            role: "site manager".into(),
        },
    );
    c.activities.insert(
        new_key(),
        Activity {
            kind: ActivityKind::Call,
            date: format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1),
            title: "Annual service reminder".into(),
            description: "Called about the boiler service; call back after the holidays.".into(),
            done: i % 3 == 0,
        },
    );
    c.notes = format!(
        "Client since {}. Prefers calls in the morning; ask about the annual service contract.",
        2000 + i % 25
    );
    c
}

/// The `i`-th benchmark client as a new Automerge document, as a Fiche device writes it.
pub fn document(i: usize) -> anyhow::Result<Automerge> {
    let author = Author {
        member: "bench".into(),
        device: "fiche-bench".into(),
        action: "import".into(),
    };
    Ok(record::create(
        ActorId::random(),
        Kind::Client,
        &client(i),
        &author,
    )?)
}

/// A technician's edit: the `n`-th new city on the client's address, as one change.
pub fn edit(doc: &mut Automerge, n: u64) -> anyhow::Result<ChangeHash> {
    use automerge::transaction::Transactable;
    use automerge::{ReadDoc, Value, ROOT};
    let address = match doc.get(ROOT, "address")? {
        Some((Value::Object(_), id)) => id,
        _ => anyhow::bail!("the record has no address"),
    };
    let mut tx = doc.transaction();
    tx.put(&address, "city", format!("City {n}"))?;
    tx.commit()
        .0
        .ok_or_else(|| anyhow::anyhow!("the edit made no change"))
}
