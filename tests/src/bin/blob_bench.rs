//! Blob benchmark against the real `fiche-server`: a photo of SIZE bytes (default 5 MiB)
//! uploaded from one device and fetched by another over loopback; prints the times and the
//! peak memory of the device process and of the server.
//!
//! `cargo run --release -p fiche-tests --bin blob-bench -- [SIZE]`

use std::time::Instant;

use anyhow::Result;
use fiche_core::blob::transfer::Transfer;
use fiche_tests::{device, Memory, Server};

fn main() -> Result<()> {
    let size: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5 << 20);
    let tmp = tempfile::tempdir()?;
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    let mut x = 0x9E37_79B9u32;
    bytes.extend((0..size).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    let file = tmp.path().join("photo.jpg");
    std::fs::write(&file, &bytes)?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let transfer = Transfer::new(&server.url(), None, None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let before = Memory::own()?.peak;

    let a = device(&tmp.path().join("a"));
    let started = Instant::now();
    let photo = a.add_file(&file)?;
    let stored = started.elapsed();
    let started = Instant::now();
    let done = runtime.block_on(transfer.upload_queued(a.store().as_ref(), |_| {}))?;
    if let Some((hash, e)) = done.refused.first() {
        anyhow::bail!("the server refused {hash}: {e}");
    }
    let up = started.elapsed();

    let b = device(&tmp.path().join("b"));
    let hash = photo.hash.parse()?;
    let started = Instant::now();
    runtime.block_on(transfer.fetch(b.store().as_ref(), &hash, |_| {}))?;
    let down = started.elapsed();
    let mut back = Vec::new();
    b.read_blob(&hash, &mut back)?;
    anyhow::ensure!(back == bytes, "device B read other bytes");
    let mib = size as f64 / (1 << 20) as f64;
    println!("photo of {mib:.1} MiB:");
    println!("  stored on device A (hashed, chunked): {stored:.2?}");
    println!(
        "  uploaded A -> server: {up:.2?} ({:.0} MiB/s)",
        mib / up.as_secs_f64()
    );
    println!(
        "  fetched server -> B: {down:.2?} ({:.0} MiB/s)",
        mib / down.as_secs_f64()
    );
    println!(
        "  peak memory: devices' process {} MiB (was {} MiB before), server {} MiB",
        Memory::own()?.peak >> 20,
        before >> 20,
        Memory::of(server.pid())?.peak >> 20
    );
    Ok(())
}
