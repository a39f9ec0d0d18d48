//! Sync benchmark against the real `fiche-server`: how fast a fresh device receives N records,
//! and how fast an edit on one device reaches a watching one. Prints figures.
//!
//! `cargo run --release -p fiche-tests --bin sync-bench -- [RECORDS] [EDITS]` (defaults 10000, 50);
//! uses the `fiche-server` binary built beside it.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fiche_core::directory::directory_id;
use fiche_core::model::{Client, Phone};
use fiche_core::sync::{sync_live, sync_once, Status, SyncOptions};
use fiche_core::{Book, DocumentId, Options};
use fiche_tests::Server;

fn realistic(i: usize) -> Client {
    const FIRST: [&str; 8] = [
        "Marie", "Jean", "Ana", "Luca", "Zofia", "Pablo", "Ioana", "Piotr",
    ];
    const LAST: [&str; 8] = [
        "Dupont", "Martin", "Popescu", "Rossi", "Nowak", "García", "Ionescu", "Kowalski",
    ];
    const CITY: [&str; 6] = [
        "Lyon",
        "Cluj-Napoca",
        "Torino",
        "Kraków",
        "Sevilla",
        "Nantes",
    ];
    let mut c = Client::default();
    c.name.display = format!("{} {} {i}", FIRST[i % 8], LAST[(i / 8) % 8]);
    c.address.city = CITY[i % 6].to_string();
    c.address.street = format!("{} rue des Lilas", i % 200 + 1);
    c.phones.insert(
        fiche_core::model::new_key(),
        Phone {
            label: "mobile".into(),
            number: format!("+336{:08}", i),
        },
    );
    c.notes = format!(
        "Client since {}. Prefers calls in the morning; ask about the annual service contract.",
        2000 + i % 25
    );
    c
}

/// With `FICHE_BENCH_PAUSE=SECONDS`, announces a phase and waits, so that a profiler can be
/// attached to this process and the server for exactly that phase.
fn profiling_window(phase: &str) -> Result<()> {
    if let Ok(secs) = std::env::var("FICHE_BENCH_PAUSE") {
        println!("pause: {phase} (pid {})", std::process::id());
        std::thread::sleep(Duration::from_secs_f64(secs.parse()?));
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let records: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let edits: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let url = server.url();
    let options = SyncOptions::new(url.clone());

    let a = Arc::new(Book::open(tmp.path().join("a"), Options::default())?);
    let started = Instant::now();
    let drafts: Vec<Client> = (0..records).map(realistic).collect();
    let mut ids = Vec::new();
    for chunk in drafts.chunks(500) {
        ids.extend(a.create_clients(chunk.to_vec(), "import")?);
    }
    println!(
        "filed {records} records on device A in {:.2?}",
        started.elapsed()
    );
    let up = runtime()?.block_on(sync_once(a.clone(), &options, |_| {}))?;
    println!(
        "device A -> server: {} documents in {:.2?} ({} KiB out)",
        up.documents,
        up.elapsed,
        up.bytes_out / 1024
    );

    let b = Arc::new(Book::open(tmp.path().join("b"), Options::default())?);
    profiling_window("fresh device B")?;
    let down = runtime()?.block_on(sync_once(b.clone(), &options, |_| {}))?;
    anyhow::ensure!(
        b.count() == records,
        "device B has {} of {records}",
        b.count()
    );
    println!(
        "fresh device B <- server: {} records in {:.2?} ({} KiB in, {} KiB out)",
        b.count(),
        down.elapsed,
        down.bytes_in / 1024,
        down.bytes_out / 1024
    );
    profiling_window("end of fresh device B")?;
    let again = runtime()?.block_on(sync_once(b.clone(), &options, |_| {}))?;
    println!(
        "device B again, nothing new: {:.2?} ({} KiB in, {} KiB out)",
        again.elapsed,
        again.bytes_in / 1024,
        again.bytes_out / 1024
    );

    // Propagation: A and W both sync live; A edits; time until W has the change.
    let (seen, arrivals) = mpsc::channel::<(char, DocumentId, Instant)>();
    let mut stops = Vec::new();
    let mut threads = Vec::new();
    let w = Arc::new(Book::open(tmp.path().join("w"), Options::default())?);
    for (name, book) in [('a', a.clone()), ('w', w.clone())] {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        stops.push(stop);
        let (options, seen) = (options.clone(), seen.clone());
        threads.push(std::thread::spawn(move || -> Result<()> {
            runtime()?.block_on(sync_live(
                book,
                &options,
                |status| match status {
                    Status::Received { id, .. } => {
                        let _ = seen.send((name, id, Instant::now()));
                    }
                    Status::UpToDate { .. } => {
                        let _ = seen.send((name, directory_id(), Instant::now()));
                    }
                    _ => {}
                },
                async {
                    let _ = stopped.await;
                },
            ))?;
            Ok(())
        }));
    }
    let mut ready = 0;
    while ready < 2 {
        let (_, id, _) = arrivals
            .recv_timeout(Duration::from_secs(120))
            .context("a live device never got up to date")?;
        ready += usize::from(id == directory_id());
    }
    let mut latencies = Vec::new();
    for n in 0..edits {
        let id = ids[n * 7919 % ids.len()];
        let t0 = Instant::now();
        a.edit_client(&id, |c| c.address.city = format!("City {n}"))?;
        loop {
            let (who, got, at) = arrivals
                .recv_timeout(Duration::from_secs(10))
                .context("edit never arrived")?;
            if who == 'w' && got == id {
                latencies.push(at - t0);
                break;
            }
        }
    }
    for stop in stops {
        let _ = stop.send(());
    }
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a live device panicked"))??;
    }
    latencies.sort();
    println!(
        "edit on live device A -> live device W ({} edits, via the server): p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    let (status, _) = server.stop()?;
    anyhow::ensure!(status.success(), "fiche-server exited with {status}");
    Ok(())
}
