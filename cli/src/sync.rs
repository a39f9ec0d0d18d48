//! `fiche sync` (one-shot, with a progress bar) and `fiche watch` (live, a line per change).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use fiche_core::sync::{sync_live, sync_once, Status, SyncOptions};
use fiche_core::Book;
use indicatif::{ProgressBar, ProgressStyle};

/// `--ca FILE`: the organisation's CA certificate, for a `wss://` server it signed.
#[derive(Debug, clap::Args)]
pub struct CaArg {
    /// CA certificate (PEM) that signed the server's certificate, when it is not a public CA
    #[arg(long, env = "FICHE_CA")]
    ca: Option<std::path::PathBuf>,
}

impl CaArg {
    pub fn load(&self) -> Result<Option<Vec<u8>>> {
        use anyhow::Context;
        self.ca
            .as_ref()
            .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
            .transpose()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Enrols this device; prints who it now acts for.
pub fn enrol(book: &Book, server: &str, code: &str, name: &str, ca: Option<Vec<u8>>) -> Result<()> {
    let done = fiche_core::sync::enrol(book, server, code, name, ca.as_deref());
    let enrolled = runtime()?.block_on(done)?;
    println!(
        "enrolled as device {} of member {} ({}) in organisation {}",
        enrolled.device, enrolled.member, enrolled.role, enrolled.org
    );
    Ok(())
}

/// Syncs once with the server; prints what happened.
pub fn once(book: Book, server: &str, ca: Option<Vec<u8>>, json: bool) -> Result<()> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} documents")?
            .progress_chars("=> "),
    );
    bar.set_message(format!("syncing with {server}"));
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let book = Arc::new(book);
    let shown = book.clone();
    let options = SyncOptions {
        ca,
        ..SyncOptions::new(server)
    };
    let report = runtime()?.block_on(sync_once(book, &options, |status| match status {
        Status::Syncing { done, total } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Status::Offline { reason, retry_in } => {
            bar.set_message(format!("offline ({reason}); retrying in {retry_in:.1?}"));
        }
        Status::Connecting { attempt } if attempt > 1 => {
            bar.set_message(format!("connecting to {server} (attempt {attempt})"));
        }
        Status::Skipped { id, reason } => bar.println(format!("skipped {id}: {reason}")),
        Status::Erased { id } => bar.println(format!("erased {id} (deleted here)")),
        // Printed whether or not the bar is drawn (it is not when output is not a terminal);
        // `--json` lists them in its report instead.
        Status::Refused { id, reason } if !json => {
            bar.suspend(|| println!("{}", crate::refused::line(&shown, &id, &reason)))
        }
        Status::Uploading { hash, done, total } => {
            let percent = done * 100 / total.max(1);
            bar.set_message(format!(
                "uploading {}… {percent}%",
                &hash[..12.min(hash.len())]
            ));
        }
        Status::UploadRefused { hash, reason } => {
            bar.println(format!("the server refused {hash}: {reason}"))
        }
        Status::UploadsWaiting { reason } => {
            bar.println(format!("photos and files wait for the next sync: {reason}"))
        }
        _ => {}
    }));
    bar.finish_and_clear();
    let report = report?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "documents": report.documents,
                "received": report.received,
                "created": report.created,
                "skipped": report.skipped,
                "uploaded": report.uploaded,
                "refused": report.refused.iter().map(|(id, reason)| {
                    serde_json::json!({ "id": id.to_string(), "reason": reason })
                }).collect::<Vec<_>>(),
                "bytes_in": report.bytes_in,
                "bytes_out": report.bytes_out,
                "seconds": report.elapsed.as_secs_f64(),
            })
        );
    } else if !report.refused.is_empty() {
        println!(
            "synced with {server}, but {} refused change(s) stay on this device: `fiche refused` lists them, `fiche drop ID` returns a record to the organisation's version",
            report.refused.len()
        );
    } else {
        println!(
            "up to date with {server}: {} documents, {} received ({} new), {} skipped, {} files sent, {:.2} s",
            report.documents,
            report.received,
            report.created,
            report.skipped,
            report.uploaded,
            report.elapsed.as_secs_f64()
        );
    }
    Ok(())
}

/// Syncs live until Ctrl-C or until its output is closed (`fiche watch | head`); prints each
/// change as it arrives and each status change.
pub fn watch(book: Book, server: &str, ca: Option<Vec<u8>>) -> Result<()> {
    let book = Arc::new(book);
    let options = SyncOptions {
        attempts: None,
        ca,
        ..SyncOptions::new(server)
    };
    let shown = book.clone();
    let closed = Arc::new(tokio::sync::Notify::new());
    let stop = {
        let closed = closed.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = closed.notified() => {}
            }
        }
    };
    runtime()?.block_on(sync_live(
        book,
        &options,
        |status| {
            let line = match status {
                Status::Received { id, kind, created } => {
                    let what = if created { "new" } else { "changed" };
                    let name = shown
                        .summary(&id)
                        .map(|s| format!(" {}", s.name))
                        .unwrap_or_default();
                    format!("{what} {} {id}{name}", kind.as_str())
                }
                Status::Connecting { attempt } => {
                    format!("connecting to {server} (attempt {attempt})")
                }
                Status::Offline { reason, retry_in } => {
                    format!(
                        "offline: {reason}; retrying in {:.1?}",
                        retry_in.max(Duration::ZERO)
                    )
                }
                Status::Syncing { done, total } => format!("syncing {done} of {total}"),
                Status::UpToDate { documents } => format!("up to date ({documents} documents)"),
                Status::Held { documents, refused } => format!(
                    "not up to date: {refused} refused change(s) held here ({documents} documents synced); see `fiche refused`"
                ),
                Status::Skipped { id, reason } => format!("skipped {id}: {reason}"),
                Status::Erased { id } => format!("erased client {id} (deleted here)"),
                Status::Refused { id, reason } => crate::refused::line(&shown, &id, &reason),
                // One line per file, when it is all there.
                Status::Uploading { hash, done, total } if done == total => {
                    format!("uploaded {hash} ({total} bytes)")
                }
                Status::Uploading { .. } => return,
                Status::UploadRefused { hash, reason } => {
                    format!("the server refused {hash}: {reason}")
                }
                Status::UploadsWaiting { reason } => {
                    format!("photos and files wait for the next sync: {reason}")
                }
            };
            if writeln!(std::io::stdout(), "{line}").is_err() {
                closed.notify_one();
            }
        },
        stop,
    ))?;
    Ok(())
}
