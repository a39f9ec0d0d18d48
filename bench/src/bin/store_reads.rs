//! What reading records from a fiche-server store costs a process in resident memory: the
//! store's own share of the memory benchmark. It opens a store (its server stopped), reads
//! some records as the server answers a fresh device (their stored heads, then every chunk),
//! and prints the process's RSS after each step. The records' ids are listed by a child
//! process, so that listing 100,000 of them leaves nothing behind in this one.
//!
//! `store-reads --data-dir DIR [--records 1000] [--every 100] [--cache-mib 16]`

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use fiche_core::store::{SledStore, Store};
use fiche_core::{docstore, key, DocumentId};
use fiche_tests::Memory;

#[derive(Parser)]
#[command(about = "RSS of a process that reads records from a fiche-server store")]
struct Args {
    /// A fiche-server data directory (its server stopped).
    #[arg(long)]
    data_dir: PathBuf,
    /// How many records to read.
    #[arg(long, default_value_t = 1_000)]
    records: usize,
    /// Read every Nth stored record (in key order), so that each read finds its own pages.
    #[arg(long, default_value_t = 100)]
    every: usize,
    /// sled's page cache, as fiche-server's `--store-cache-mib`.
    #[arg(long, default_value_t = 16)]
    cache_mib: u64,
    /// Only print the ids of the stored records, one per line (what the child does).
    #[arg(long)]
    list: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.list {
        let store = SledStore::open_with_cache(&args.data_dir, args.cache_mib << 20)?;
        for k in store.keys(&key!["_docs"])? {
            if let Some(id) = k.get(1) {
                println!("{id}");
            }
        }
        return Ok(());
    }
    let ids = list(&args)?;
    let before = own_kib()?;
    let store = SledStore::open_with_cache(&args.data_dir, args.cache_mib << 20)
        .context("opening the store")?;
    let opened = own_kib()?;
    let (mut read, mut bytes) = (0usize, 0usize);
    for id in &ids {
        docstore::heads(&store, id)?.context("a listed record without heads")?;
        let chunks = docstore::chunks(&store, id)?.context("a listed record without chunks")?;
        bytes += chunks.iter().map(Vec::len).sum::<usize>();
        read += 1;
    }
    let after = own_kib()?;
    println!("sled cache {} MiB", args.cache_mib);
    println!("RSS before opening the store: {before:>7} KiB");
    println!(
        "RSS after opening it:         {opened:>7} KiB (+{} KiB)",
        opened - before
    );
    println!(
        "RSS after reading {read} records ({} KiB of chunks): {after} KiB (+{} KiB, {} bytes per record)",
        bytes / 1024,
        after - opened,
        (after - opened) * 1024 / read.max(1)
    );
    Ok(())
}

/// Every `--every`th stored record, `--records` of them, listed by a child process.
fn list(args: &Args) -> Result<Vec<DocumentId>> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--list")
        .arg("--data-dir")
        .arg(&args.data_dir)
        .output()
        .context("listing the stored records")?;
    anyhow::ensure!(
        out.status.success(),
        "listing the stored records failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)?
        .lines()
        .step_by(args.every.max(1))
        .take(args.records)
        .map(|l| {
            l.parse()
                .map_err(|e| anyhow::anyhow!("a stored id {l:?}: {e}"))
        })
        .collect()
}

/// The resident memory of this process, in KiB.
fn own_kib() -> Result<usize> {
    Ok((Memory::own()?.rss >> 10) as usize)
}
