//! `fiche photo set`, `fiche attach` and `fiche blob get`: a client's photo and files.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use fiche_core::blob::transfer::Transfer;
use fiche_core::blob::{sniff, BlobHash};
use fiche_core::{Book, DocumentId};

#[derive(Debug, Subcommand)]
pub enum PhotoCommand {
    /// Make FILE (JPEG, PNG, HEIC, WebP, GIF) the client's photo; it goes to the server on
    /// the next sync.
    Set { client: String, file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum BlobCommand {
    /// Save a photo or file by its hash: from this device's store, or fetched from the
    /// server (and kept here) when `--server` is given and the device lacks it.
    Get {
        hash: String,
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, env = "FICHE_SERVER")]
        server: Option<String>,
        #[command(flatten)]
        ca: crate::sync::CaArg,
    },
    /// Remove the photos and files this device holds that no record refers to any more
    /// (never one still waiting to go to the server).
    Gc {
        /// Keep those stored here more recently than this many days.
        #[arg(long, default_value_t = 30.0)]
        grace_days: f64,
    },
}

pub fn photo(book: &Book, client: &DocumentId, file: &Path) -> Result<()> {
    let mut head = Vec::new();
    std::fs::File::open(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .take(sniff::SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    if !sniff::media_type(&head).is_some_and(|t| t.starts_with("image/")) {
        anyhow::bail!(
            "{} is not a photo (JPEG, PNG, HEIC, WebP or GIF)",
            file.display()
        );
    }
    let photo = book
        .add_file(file)
        .with_context(|| format!("cannot take {} as a photo", file.display()))?;
    book.set_photo(client, photo.clone())?;
    println!(
        "photo {} ({} bytes, {})",
        photo.hash, photo.size, photo.media_type
    );
    Ok(())
}

pub fn attach(book: &Book, client: &DocumentId, file: &Path) -> Result<()> {
    let attached = book
        .add_file(file)
        .with_context(|| format!("cannot attach {}", file.display()))?;
    book.attach(client, attached.clone())?;
    println!(
        "attached {} as {} ({} bytes, {})",
        attached.name, attached.hash, attached.size, attached.media_type
    );
    Ok(())
}

pub fn blob(book: &Book, command: BlobCommand) -> Result<()> {
    let (hash, output, server, ca) = match command {
        BlobCommand::Get {
            hash,
            output,
            server,
            ca,
        } => (hash, output, server, ca),
        BlobCommand::Gc { grace_days } => {
            let grace = std::time::Duration::from_secs_f64(grace_days.max(0.0) * 86_400.0);
            let done = book.collect_blobs(grace)?;
            println!("removed {} files ({} bytes)", done.blobs, done.bytes);
            return Ok(());
        }
    };
    let hash: BlobHash = hash.parse()?;
    if book.blob(&hash)?.is_none() {
        let Some(server) = server else {
            anyhow::bail!("this device does not have {hash}; pass --server to fetch it");
        };
        let token = fiche_core::sync::enrol::token(book.store().as_ref())?;
        let transfer = Transfer::new(&server, ca.load()?.as_deref(), token.as_deref())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(transfer.fetch(book.store().as_ref(), &hash, |_| {}))?;
    }
    // Written beside the target first, so a failure never leaves half a file under its name.
    let partial = output.with_extension("part");
    let mut file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    let meta = book.read_blob(&hash, &mut file)?;
    file.sync_all()?;
    std::fs::rename(&partial, &output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "{} ({} bytes, {})",
        output.display(),
        meta.size,
        meta.media_type
    );
    Ok(())
}
