//! The fixtures shared with the web client (`web/fixtures/`), so the two cannot drift:
//!
//! - `validation.json`: every validator's answer (normalised value or exact message) for a
//!   table of inputs; the web client's validators are checked against the same file
//!   (`web/test/unit/validation.test.ts`);
//! - `records/core-client.*`: a record with every section, written by fiche-core; the web
//!   client reads it (`web/test/unit/records.test.ts`);
//! - `records/web-client.*`: a record written by the web client's own writer; fiche-core reads
//!   it and it passes the whole-record check unchanged.
//!
//! `FICHE_BLESS=1` rewrites the expected values of `validation.json` and the core-written
//! record from fiche-core (review the diff: the web client must then follow).

use std::collections::BTreeMap;
use std::path::PathBuf;

use automerge::{ActorId, Automerge};
use fiche_core::model::*;
use fiche_core::record::{self, Author};
use fiche_core::schema::{self, Kind, SCHEMA_VERSION};
use fiche_core::validate::{self, FieldError};
use fiche_core::{Book, Options};
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures")
}

fn bless() -> bool {
    std::env::var("FICHE_BLESS").is_ok_and(|v| v == "1")
}

fn read_json(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(name: &str, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    std::fs::write(fixtures().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// Runs one case of `validation.json` through fiche-core.
fn validate_case(
    check: &str,
    field: &str,
    input: &str,
    region: &str,
) -> Result<String, FieldError> {
    match check {
        "phone" => validate::phone(field, input, region),
        "email" => validate::email(field, input),
        "iban" => validate::iban(field, input),
        "bic" => validate::bic(field, input),
        "vat" => validate::vat_number(field, input),
        "country" => validate::country(field, input),
        "date" => validate::date(field, input),
        other => panic!("unknown check {other:?} in validation.json"),
    }
}

#[test]
fn validation_fixtures_match_the_core() {
    let mut fx = read_json("validation.json");
    let fields = fx["fields"].clone();
    let mut wrong = Vec::new();
    let cases = fx["cases"].as_array_mut().expect("cases is a list");
    for case in cases.iter_mut() {
        let check = case["check"].as_str().unwrap_or_default().to_string();
        let input = case["input"].as_str().unwrap_or_default().to_string();
        let region = case["region"].as_str().unwrap_or("FR").to_string();
        let field = fields[&check].as_str().unwrap_or_default();
        let got = match validate_case(&check, field, &input, &region) {
            Ok(value) => json!({ "ok": value }),
            Err(e) => {
                assert_eq!(e.field, field, "{check} {input:?}");
                json!({ "error": e.reason })
            }
        };
        let expected = json!({ "ok": case.get("ok"), "error": case.get("error") });
        let got_full = json!({ "ok": got.get("ok"), "error": got.get("error") });
        if bless() {
            let obj = case.as_object_mut().expect("a case is an object");
            obj.remove("ok");
            obj.remove("error");
            for (k, v) in got.as_object().into_iter().flatten() {
                obj.insert(k.clone(), v.clone());
            }
        } else if expected != got_full {
            wrong.push(format!(
                "{check} {input:?}: expected {expected}, core gives {got_full}"
            ));
        }
    }
    if bless() {
        write_json("validation.json", &fx);
    }
    assert!(
        wrong.is_empty(),
        "{} cases differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

fn key(n: u8) -> String {
    format!("00000000-0000-4000-8000-0000000000{n:02x}")
}

/// A client with something in every section of design.md §1.
fn full_client() -> Client {
    let file = |n: u8, name: &str, media: &str| FileRef {
        hash: format!("{n:02x}").repeat(32),
        size: 1000 + u64::from(n),
        media_type: media.into(),
        name: name.into(),
        thumbnail: None,
    };
    let mut c = Client {
        client_type: "company".into(),
        status: Status::Client,
        manager: None,
        name: Name {
            display: "Chaudières Dupont SARL".into(),
            first: "Marie".into(),
            last: "Dupont".into(),
        },
        birthday: Some("1980-02-29".into()),
        notes: "Prefers calls after 14:00.\nGate code 4521.".into(),
        photo: Some(file(1, "marie.jpg", "image/jpeg")),
        ..Client::default()
    };
    c.phones.insert(
        key(1),
        Phone {
            label: "mobile".into(),
            number: "+33612345678".into(),
        },
    );
    c.phones.insert(
        key(2),
        Phone {
            label: "office".into(),
            number: "+33142685300".into(),
        },
    );
    c.emails.insert(
        key(3),
        Email {
            label: "work".into(),
            address: "marie@dupont.example".into(),
        },
    );
    c.address = Address {
        street: "12 rue des Lilas".into(),
        city: "Lyon".into(),
        region: "Auvergne-Rhône-Alpes".into(),
        postal_code: "69003".into(),
        country: "FR".into(),
    };
    c.groups = ["vip", "newsletter"].map(String::from).into();
    c.invoice = Invoice {
        company_name: "Chaudières Dupont".into(),
        legal_form: "SARL".into(),
        vat_number: Some("FR40303265045".into()),
    };
    c.payment_methods = ["transfer", "card"].map(String::from).into();
    c.banks.insert(
        key(4),
        BankAccount {
            label: "main".into(),
            holder: "Chaudières Dupont".into(),
            iban: "FR7630006000011234567890189".into(),
            bic: Some("BNPAFRPP".into()),
        },
    );
    c.bonuses.insert(
        key(5),
        Bonus {
            label: "loyalty".into(),
            kind: ValueKind::Percent,
            value: 250,
        },
    );
    c.discounts.insert(
        key(6),
        Discount {
            label: "volume".into(),
            kind: ValueKind::Amount,
            value: 5000,
            minimum: 100_000,
        },
    );
    c.contacts.insert(
        "3sxpCRgbyX4F8JHHmCCeJ4MBTAYj".into(),
        ContactLink {
            role: "accountant".into(),
        },
    );
    c.sites.insert(
        key(7),
        Site {
            label: "Warehouse".into(),
            address: Address {
                city: "Villeurbanne".into(),
                country: "FR".into(),
                ..Address::default()
            },
        },
    );
    c.activities.insert(
        key(8),
        Activity {
            kind: ActivityKind::Call,
            date: "2024-03-31".into(),
            title: "Yearly check-up call".into(),
            description: "Confirm the date of the visit".into(),
            done: true,
        },
    );
    c.installations.insert(
        key(9),
        Installation {
            site: Some(key(7)),
            kind: "boiler".into(),
            brand: "Viessmann".into(),
            model: "Vitodens 100".into(),
            serial: "7720-55".into(),
            installed_on: Some("2019-10-01".into()),
        },
    );
    let mut photos = BTreeMap::new();
    photos.insert(key(11), file(2, "boiler.jpg", "image/jpeg"));
    c.interventions.insert(
        key(10),
        Intervention {
            installation: Some(key(9)),
            date: "2024-04-02".into(),
            technician: Some("tech-1".into()),
            report: "Cleaned the burner.".into(),
            photos,
            signature: None,
            status: InterventionStatus::Done,
        },
    );
    c.contracts.insert(
        key(12),
        Contract {
            number: "C-2024-001".into(),
            starts_on: "2024-01-01".into(),
            ends_on: Some("2026-12-31".into()),
            amount: Some(129_900),
            currency: "EUR".into(),
            file: Some(file(3, "contract.pdf", "application/pdf")),
        },
    );
    c.interests.insert(
        key(13),
        Interest {
            product: "heat pump".into(),
            contact: None,
            on: "2024-02-10".into(),
        },
    );
    let mut purchases = BTreeMap::new();
    purchases.insert(key(15), "2023-05-01".to_string());
    c.renewables.insert(
        key(14),
        Renewable {
            product: "maintenance plan".into(),
            purchases,
            period_months: 12,
            next_due: Some("2025-05-01".into()),
        },
    );
    c.links.insert(
        key(16),
        Link {
            kind: LinkKind::Quote,
            reference: "Q-77".into(),
            title: "Heat pump quote".into(),
        },
    );
    c.files
        .insert(key(17), file(4, "mail.eml", "message/rfc822"));
    c.consent = Some(Consent {
        given: true,
        on: "2024-01-15".into(),
        method: ConsentMethod::Paper,
        recorded_by: "me".into(),
    });
    c
}

/// A record's JSON as the web client reads it: sets as maps to `true`.
fn as_document_json(c: &Client) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    for set in ["groups", "payment_methods"] {
        let members: serde_json::Map<String, Value> = v[set]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().map(|m| (m.to_string(), Value::Bool(true))))
            .collect();
        v[set] = Value::Object(members);
    }
    v
}

/// The web client's JSON of a record, back into the core's type.
fn from_document_json(mut v: Value) -> Client {
    for set in ["groups", "payment_methods"] {
        let members: Vec<Value> = v[set]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, on)| on.as_bool() == Some(true))
            .map(|(m, _)| Value::String(m.clone()))
            .collect();
        v[set] = Value::Array(members);
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("not a Client: {e}"))
}

fn load(name: &str) -> Automerge {
    let path = fixtures().join("records").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Automerge::load(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_record_written_by_the_core_is_the_fixture_the_web_reads() {
    let client = full_client();
    if bless() {
        let author = Author {
            member: "me".into(),
            device: "fixtures".into(),
            action: "create".into(),
        };
        let doc = record::create(ActorId::random(), Kind::Client, &client, &author)
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = fixtures().join("records");
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("core-client.automerge"), doc.save()).unwrap_or_default();
        let mut expected = as_document_json(&client);
        expected["kind"] = json!("client");
        expected["schema"] = json!(SCHEMA_VERSION);
        write_json("records/core-client.json", &expected);
    }
    let doc = load("core-client.automerge");
    let read: Client = record::read(&doc).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        read, client,
        "the committed core-client.automerge is stale: bless it"
    );
    let mut expected = read_json("records/core-client.json");
    assert_eq!(expected["kind"], "client");
    assert_eq!(expected["schema"], SCHEMA_VERSION);
    let obj = expected.as_object_mut().expect("an object");
    obj.remove("kind");
    obj.remove("schema");
    assert_eq!(
        expected,
        as_document_json(&client),
        "core-client.json is stale: bless it"
    );
}

#[test]
fn a_record_written_by_the_web_client_reads_and_passes_the_check() {
    let doc = load("web-client.automerge");
    assert_eq!(schema::kind_of(&doc), Some(Kind::Client));
    assert_eq!(schema::version_of(&doc), SCHEMA_VERSION);
    let read: Client =
        record::read(&doc).unwrap_or_else(|e| panic!("the core cannot read it: {e}"));
    let intended = from_document_json(read_json("records/web-client.json"));
    assert_eq!(
        read, intended,
        "the document does not hold what the web client meant"
    );

    // The whole-record check accepts it and has nothing left to normalise.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let book = Book::open(dir.path(), Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let created = book
        .create_client(read.clone())
        .unwrap_or_else(|e| panic!("the core's check refuses it: {e}"));
    let stored = book.client(&created.id).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        stored, read,
        "the core's check would have normalised it differently"
    );
}
