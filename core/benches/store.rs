//! Benchmarks of the device store: create + durable save of a walk-in client (p50/p99), list
//! summaries of 10,000 records, search among 10,000 records.
//!
//! `cargo bench -p fiche-core --bench store`; `FICHE_BENCH_QUICK=1` runs a small version.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use fiche_core::index::{Filter, Page};
use fiche_core::model::{Client, Email, Phone};
use fiche_core::{Book, Options};

const FIRST: [&str; 24] = [
    "Marie",
    "Jean",
    "Ioana",
    "Giulia",
    "Paweł",
    "Lucía",
    "Ștefan",
    "Anna",
    "Luc",
    "Sofia",
    "Mihai",
    "Chiara",
    "Tomasz",
    "Carmen",
    "Pierre",
    "Elena",
    "Marco",
    "Zofia",
    "Javier",
    "Claire",
    "Andrei",
    "Francesca",
    "Piotr",
    "Inès",
];
const SYLLABLE: [&str; 24] = [
    "du", "mar", "pop", "ros", "kow", "gar", "ion", "ber", "lan", "vel", "tes", "cor", "min",
    "sal", "fer", "nov", "bel", "rad", "cas", "tor", "lev", "pin", "mon", "zar",
];
const CITY: [&str; 6] = ["Lyon", "București", "Milano", "Kraków", "Sevilla", "Nantes"];

/// A realistic walk-in: varied names (24 first names × 13,824 three-syllable last names).
fn walk_in(i: usize) -> Client {
    let mut c = Client::default();
    c.name.first = FIRST[i % 24].to_string();
    let j = i.wrapping_mul(7919) % 13_824;
    let last: String = [j % 24, (j / 24) % 24, j / 576]
        .iter()
        .map(|&k| SYLLABLE[k])
        .collect();
    let mut chars = last.chars();
    c.name.last = chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    c.phones.insert(
        "p".into(),
        Phone {
            label: "mobile".into(),
            number: format!("+336{:08}", i),
        },
    );
    c.emails.insert(
        "e".into(),
        Email {
            label: "".into(),
            address: format!("client{i}@example.fr"),
        },
    );
    c.address.city = CITY[i % 6].to_string();
    c.address.country = "FR".into();
    c.groups
        .insert(if i % 3 == 0 { "vip" } else { "newsletter" }.into());
    c.notes = "Walk-in, prefers e-mail.".into();
    c
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn quick() -> bool {
    std::env::var_os("FICHE_BENCH_QUICK").is_some()
}

/// Creates timed one by one, to report p50 and p99 (criterion reports means and medians).
fn create_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    let book = Book::open(dir.path(), Options::default()).unwrap();
    let n = if quick() { 100 } else { 2_000 };
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        book.create_client(walk_in(i)).unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "create + durable save of a walk-in client ({n} samples): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&times, 0.50),
        percentile(&times, 0.99),
        times[n - 1]
    );
}

fn bench(c: &mut Criterion) {
    let records = if quick() { 1_000 } else { 10_000 };
    let dir = tempfile::tempdir().unwrap();
    let book = Book::open(dir.path(), Options::default()).unwrap();
    let start = Instant::now();
    for chunk in (0..records).collect::<Vec<_>>().chunks(500) {
        book.create_clients(chunk.iter().map(|&i| walk_in(i)).collect(), "bench")
            .unwrap();
    }
    println!(
        "filed {records} clients in {:?} (batches of 500)",
        start.elapsed()
    );
    let start = Instant::now();
    drop(book);
    let book = Book::open(dir.path(), Options::default()).unwrap();
    println!(
        "reopened the store with {records} clients (index loaded) in {:?}",
        start.elapsed()
    );

    let mut counter = 0;
    c.bench_function("create + durable save", |b| {
        b.iter(|| {
            counter += 1;
            book.create_client(walk_in(records + counter)).unwrap()
        })
    });
    let all = Filter::default();
    c.bench_function(&format!("list first page of {records}"), |b| {
        b.iter(|| {
            book.list(
                &all,
                Page {
                    offset: 0,
                    limit: 50,
                },
            )
        })
    });
    c.bench_function(&format!("list all {records} summaries"), |b| {
        b.iter(|| book.list(&all, Page::default()))
    });
    let by_name = Filter {
        text: Some("popescu".into()),
        ..Filter::default()
    };
    c.bench_function(&format!("search name among {records}"), |b| {
        b.iter(|| book.list(&by_name, Page::default()))
    });
    let by_phone = Filter {
        text: Some("06 00 00 12".into()),
        ..Filter::default()
    };
    c.bench_function(&format!("search phone among {records}"), |b| {
        b.iter(|| book.list(&by_phone, Page::default()))
    });
    let by_group = Filter {
        group: Some("vip".into()),
        city: Some("lyon".into()),
        ..Filter::default()
    };
    c.bench_function(&format!("filter group+city among {records}"), |b| {
        b.iter(|| book.list(&by_group, Page::default()))
    });
}

fn config() -> Criterion {
    let c = Criterion::default().configure_from_args();
    if quick() {
        c.sample_size(10)
            .measurement_time(Duration::from_millis(300))
            .warm_up_time(Duration::from_millis(100))
    } else {
        c
    }
}

criterion_group! { name = benches; config = config(); targets = bench }

fn main() {
    create_percentiles();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
