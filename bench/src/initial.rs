//! Initial sync: a fresh device (fiche-core's real sync engine and sled store) receives every
//! record an organisation has. Device A files the records and pushes them first (fiche-server);
//! the reference's store is filled by automerge-repo itself, with a directory listing them
//! (see [`crate::seed`]).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use fiche_core::sync::{sync_once, SyncOptions};
use fiche_core::{Book, Options};

use crate::records;
use crate::servers::{Running, Target};

/// What a fresh device took to fill up.
#[derive(Debug, Clone)]
pub struct Initial {
    pub records: usize,
    /// Device A pushing every record to the empty server (`None`: imported instead).
    pub push: Option<Duration>,
    /// The fresh device receiving them all (connect to last record stored).
    pub fresh: Duration,
    /// How many records the fresh device got (all of them, unless a sync ended short).
    pub fresh_records: usize,
    pub bytes_in: u64,
    /// The same device syncing again with nothing new (its sync states were kept).
    pub again: Duration,
    pub again_bytes: u64,
    /// Another fresh device once the server was restarted (nothing of it in memory), and how
    /// many records it got.
    pub cold: Duration,
    pub cold_records: usize,
}

/// With `FICHE_BENCH_PAUSE=SECONDS`, announces a phase and waits, so a profiler can be
/// attached to this process and the server for exactly that phase.
fn profiling_window(phase: &str) -> Result<()> {
    if let Ok(secs) = std::env::var("FICHE_BENCH_PAUSE") {
        println!("pause: {phase} (pid {})", std::process::id());
        std::thread::sleep(Duration::from_secs_f64(secs.parse()?));
    }
    Ok(())
}

/// Files `records` clients on device A, pushes them, then times a fresh device B, B again,
/// and, once the server was restarted, a fresh device C.
pub fn run(target: &Target, dir: &Path, records: usize) -> Result<Initial> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if *target == Target::Reference {
        crate::seed::import(target, &dir.join("server"), records, true)?;
    }
    let server = Running::start(target, &dir.join("server"))?;
    let options = SyncOptions::new(server.url());
    let push = if *target == Target::Reference {
        None
    } else {
        Some(push(&options, dir, records, &runtime)?)
    };
    let b = Arc::new(Book::open(dir.join("device-b"), Options::default())?);
    profiling_window("fresh device B")?;
    let down = runtime.block_on(sync_once(b.clone(), &options, |_| {}))?;
    profiling_window("end of fresh device B")?;
    let fresh_records = b.count();
    let again = runtime.block_on(sync_once(b.clone(), &options, |_| {}))?;
    server.stop()?;

    let server = Running::start(target, &dir.join("server"))?;
    let options = SyncOptions::new(server.url());
    let c = Arc::new(Book::open(dir.join("device-c"), Options::default())?);
    let cold = runtime.block_on(sync_once(c.clone(), &options, |_| {}))?;
    let cold_records = c.count();
    server.stop()?;
    Ok(Initial {
        records,
        push,
        fresh: down.elapsed,
        fresh_records,
        bytes_in: down.bytes_in,
        again: again.elapsed,
        again_bytes: again.bytes_in + again.bytes_out,
        cold: cold.elapsed,
        cold_records,
    })
}

/// Files `records` clients on device A and times their push to the server.
fn push(
    options: &SyncOptions,
    dir: &Path,
    records: usize,
    runtime: &tokio::runtime::Runtime,
) -> Result<Duration> {
    let a = Arc::new(Book::open(dir.join("device-a"), Options::default())?);
    let drafts: Vec<_> = (0..records).map(records::client).collect();
    for chunk in drafts.chunks(500) {
        a.create_clients(chunk.to_vec(), "import")?;
    }
    let started = Instant::now();
    runtime.block_on(sync_once(a, options, |_| {}))?;
    Ok(started.elapsed())
}
