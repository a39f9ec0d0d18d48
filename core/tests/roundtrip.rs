//! Property: any record written into a document reads back equal, after a save and a load too.
#![allow(clippy::type_complexity)]
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use fiche_core::index::Summary;
use fiche_core::model::*;
use fiche_core::record::{self, Author};
use fiche_core::schema::Kind;
use proptest::collection::{btree_map, btree_set};
use proptest::option;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 ,.'-]{1,24}",
        any::<String>(),
        "[ăâîșțéèçñłśźżüöß 漢字🙂\n]{0,12}",
    ]
}

fn keyed<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = BTreeMap<String, T>> {
    btree_map("[0-9a-f]{8}-[0-9a-f]{4}", s, 0..3)
}

fn tags() -> impl Strategy<Value = BTreeSet<String>> {
    btree_set("[a-z]{1,8}", 0..4)
}

fn name() -> impl Strategy<Value = Name> {
    (text(), text(), text()).prop_map(|(display, first, last)| Name {
        display,
        first,
        last,
    })
}

fn address() -> impl Strategy<Value = Address> {
    (text(), text(), text(), text(), "[A-Z]{2}").prop_map(
        |(street, city, region, postal_code, country)| Address {
            street,
            city,
            region,
            postal_code,
            country,
        },
    )
}

fn file() -> impl Strategy<Value = FileRef> {
    (
        "[0-9a-f]{64}",
        any::<u64>(),
        "[a-z]+/[a-z]+",
        text(),
        option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(hash, size, media_type, name, thumbnail)| FileRef {
            hash,
            size,
            media_type,
            name,
            thumbnail,
        })
}

fn kind() -> impl Strategy<Value = ValueKind> {
    prop_oneof![Just(ValueKind::Percent), Just(ValueKind::Amount)]
}

fn billing() -> impl Strategy<
    Value = (
        Invoice,
        BTreeMap<String, BankAccount>,
        BTreeMap<String, Bonus>,
        BTreeMap<String, Discount>,
    ),
> {
    (
        (text(), text(), option::of(text())).prop_map(|(company_name, legal_form, vat_number)| {
            Invoice {
                company_name,
                legal_form,
                vat_number,
            }
        }),
        keyed((text(), text(), text(), option::of(text())).prop_map(
            |(label, holder, iban, bic)| BankAccount {
                label,
                holder,
                iban,
                bic,
            },
        )),
        keyed(
            (text(), kind(), any::<i64>()).prop_map(|(label, kind, value)| Bonus {
                label,
                kind,
                value,
            }),
        ),
        keyed((text(), kind(), any::<i64>(), any::<i64>()).prop_map(
            |(label, kind, value, minimum)| Discount {
                label,
                kind,
                value,
                minimum,
            },
        )),
    )
}

fn work() -> impl Strategy<
    Value = (
        BTreeMap<String, Activity>,
        BTreeMap<String, Installation>,
        BTreeMap<String, Intervention>,
        BTreeMap<String, Contract>,
    ),
> {
    let activity = (
        prop_oneof![
            Just(ActivityKind::Task),
            Just(ActivityKind::Call),
            Just(ActivityKind::Meeting)
        ],
        text(),
        text(),
        text(),
        any::<bool>(),
    )
        .prop_map(|(kind, date, title, description, done)| Activity {
            kind,
            date,
            title,
            description,
            done,
        });
    let installation = (
        option::of(text()),
        text(),
        text(),
        text(),
        text(),
        option::of(text()),
    )
        .prop_map(
            |(site, kind, brand, model, serial, installed_on)| Installation {
                site,
                kind,
                brand,
                model,
                serial,
                installed_on,
            },
        );
    let signature = (file(), text(), text(), "[0-9a-f]{64}").prop_map(
        |(image, signed_by, signed_at, report_hash)| Signature {
            image,
            signed_by,
            signed_at,
            report_hash,
        },
    );
    let intervention = (
        option::of(text()),
        text(),
        option::of(text()),
        text(),
        keyed(file()),
        option::of(signature),
        prop_oneof![
            Just(InterventionStatus::Planned),
            Just(InterventionStatus::Done),
            Just(InterventionStatus::Cancelled)
        ],
    )
        .prop_map(
            |(installation, date, technician, report, photos, signature, status)| Intervention {
                installation,
                date,
                technician,
                report,
                photos,
                signature,
                status,
            },
        );
    let contract = (
        text(),
        text(),
        option::of(text()),
        option::of(any::<i64>()),
        text(),
        option::of(file()),
    )
        .prop_map(
            |(number, starts_on, ends_on, amount, currency, file)| Contract {
                number,
                starts_on,
                ends_on,
                amount,
                currency,
                file,
            },
        );
    (
        keyed(activity),
        keyed(installation),
        keyed(intervention),
        keyed(contract),
    )
}

fn more() -> impl Strategy<
    Value = (
        BTreeMap<String, Interest>,
        BTreeMap<String, Renewable>,
        BTreeMap<String, Link>,
        BTreeMap<String, FileRef>,
        Option<Consent>,
        BTreeMap<String, ContactLink>,
        BTreeMap<String, Site>,
    ),
> {
    let interest =
        (text(), option::of(text()), text()).prop_map(|(product, contact, on)| Interest {
            product,
            contact,
            on,
        });
    let renewable = (text(), keyed(text()), any::<u32>(), option::of(text())).prop_map(
        |(product, purchases, period_months, next_due)| Renewable {
            product,
            purchases,
            period_months,
            next_due,
        },
    );
    let link = (
        prop_oneof![
            Just(LinkKind::Opportunity),
            Just(LinkKind::Quote),
            Just(LinkKind::Trip),
            Just(LinkKind::Incident)
        ],
        text(),
        text(),
    )
        .prop_map(|(kind, reference, title)| Link {
            kind,
            reference,
            title,
        });
    let consent = (
        any::<bool>(),
        text(),
        prop_oneof![
            Just(ConsentMethod::Form),
            Just(ConsentMethod::Paper),
            Just(ConsentMethod::Verbal)
        ],
        text(),
    )
        .prop_map(|(given, on, method, recorded_by)| Consent {
            given,
            on,
            method,
            recorded_by,
        });
    let contact = text().prop_map(|role| ContactLink { role });
    let site = (text(), address()).prop_map(|(label, address)| Site { label, address });
    (
        keyed(interest),
        keyed(renewable),
        keyed(link),
        keyed(file()),
        option::of(consent),
        keyed(contact),
        keyed(site),
    )
}

fn client() -> impl Strategy<Value = Client> {
    let identity = (
        "[a-z]{1,10}",
        prop_oneof![Just(Status::Prospect), Just(Status::Client)],
        any::<bool>(),
        option::of(text()),
        name(),
        option::of(text()),
        keyed((text(), text()).prop_map(|(label, number)| Phone { label, number })),
        keyed((text(), text()).prop_map(|(label, address)| Email { label, address })),
        address(),
        tags(),
        text(),
        option::of(file()),
    );
    (identity, billing(), tags(), work(), more()).prop_map(
        |(
            (
                client_type,
                status,
                archived,
                manager,
                name,
                birthday,
                phones,
                emails,
                address,
                groups,
                notes,
                photo,
            ),
            (invoice, banks, bonuses, discounts),
            payment_methods,
            (activities, installations, interventions, contracts),
            (interests, renewables, links, files, consent, contacts, sites),
        )| Client {
            client_type,
            status,
            archived,
            manager,
            name,
            birthday,
            phones,
            emails,
            address,
            groups,
            notes,
            photo,
            invoice,
            payment_methods,
            banks,
            bonuses,
            discounts,
            contacts,
            sites,
            activities,
            installations,
            interventions,
            contracts,
            interests,
            renewables,
            links,
            files,
            consent,
        },
    )
}

fn author() -> Author {
    Author {
        member: "m".into(),
        device: "d".into(),
        action: "test".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn record_document_record_is_lossless(c in client()) {
        let doc = record::create(automerge::ActorId::random(), Kind::Client, &c, &author()).unwrap();
        let back: Client = record::read(&doc).unwrap();
        prop_assert_eq!(&back, &c);
        let loaded = automerge::Automerge::load(&doc.save()).unwrap();
        let back: Client = record::read(&loaded).unwrap();
        prop_assert_eq!(&back, &c);
    }

    #[test]
    fn rewriting_a_record_over_another_reads_back_the_new_one(a in client(), b in client()) {
        let mut doc = record::create(automerge::ActorId::random(), Kind::Client, &a, &author()).unwrap();
        record::write(&mut doc, &b, &author()).unwrap();
        let back: Client = record::read(&doc).unwrap();
        prop_assert_eq!(&back, &b);
        // Writing the same record again changes nothing.
        prop_assert!(record::write(&mut doc, &b, &author()).unwrap().is_none());
    }

    /// The index summary read straight from a document is the one made from the record.
    #[test]
    fn the_summary_read_from_a_document_is_the_records(a in client(), b in client()) {
        let id = fiche_core::DocumentId::random();
        let mut doc = record::create(automerge::ActorId::random(), Kind::Client, &a, &author()).unwrap();
        prop_assert_eq!(Summary::read(id, &doc, 0).unwrap(), Summary::of(id, &a, 0));
        record::write(&mut doc, &b, &author()).unwrap();
        prop_assert_eq!(Summary::read(id, &doc, 3).unwrap(), Summary::of(id, &b, 3));
    }
}

/// A document whose indexed fields have the wrong shape is refused, not indexed as empty.
#[test]
fn a_summary_of_a_misshapen_document_is_refused() {
    use automerge::transaction::Transactable;
    for (key, value) in [
        ("name", automerge::ScalarValue::Str("Marie".into())),
        ("status", automerge::ScalarValue::Str("vip".into())),
        ("archived", automerge::ScalarValue::Int(1)),
        ("client_type", automerge::ScalarValue::Boolean(true)),
    ] {
        let mut doc = record::create(
            automerge::ActorId::random(),
            Kind::Client,
            &Client::default(),
            &author(),
        )
        .unwrap();
        let mut tx = doc.transaction();
        tx.put(automerge::ROOT, key, value).unwrap();
        tx.commit();
        let err = Summary::read(fiche_core::DocumentId::random(), &doc, 0).unwrap_err();
        assert!(err.to_string().contains(key), "{key}: {err}");
        assert!(
            record::read::<Client>(&doc).is_err(),
            "{key}: the whole read accepts it"
        );
    }
}
