//! The servers under test: `fiche-server` (release build beside this binary) and the reference,
//! the official automerge-repo 2.x sync server on Node 20 (`Repo` + `NodeWSServerAdapter` +
//! `NodeFSStorageAdapter`, tests/js/peer.mjs), each on a loopback port with its own data
//! directory; or any server already running at a URL.

use std::path::{Path, PathBuf};

use anyhow::Result;
pub use fiche_tests::Memory;
use fiche_tests::{JsServer, Server};

/// Which server a run measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Fiche,
    Reference,
    /// A server someone else started; `pid`, when given, is read for its memory.
    External {
        url: String,
        pid: Option<u32>,
    },
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Fiche => "fiche-server",
            Target::Reference => "reference (JS)",
            Target::External { .. } => "server",
        }
    }
}

/// The reference's heap may grow to this (MiB): node's default limit would stop it before it
/// holds 100,000 documents, and we measure its memory, not its limit.
const NODE_HEAP_MIB: &str = "--max-old-space-size=20000";

/// Under the initial push of 10,000 records, a document handle of the reference can wait more
/// than automerge-repo's 60 s `whenReady` limit; the rejection goes unhandled inside
/// automerge-repo and would stop the process (node's default). Warned instead, it keeps serving.
const NODE_REJECTIONS: &str = "--unhandled-rejections=warn";

/// A running server under test.
pub enum Running {
    Fiche(Server),
    Reference(JsServer),
    External { url: String, pid: Option<u32> },
}

impl Running {
    /// Starts `target` on a data directory of its own under `dir` (kept across restarts).
    pub fn start(target: &Target, dir: &Path) -> Result<Self> {
        let data = data_dir(target, dir);
        Ok(match target {
            Target::Fiche => Running::Fiche(Server::start(&data, None)?),
            Target::Reference => Running::Reference(JsServer::start_with(
                &data,
                &[NODE_HEAP_MIB, NODE_REJECTIONS],
            )?),
            Target::External { url, pid } => Running::External {
                url: url.clone(),
                pid: *pid,
            },
        })
    }

    pub fn url(&self) -> String {
        match self {
            Running::Fiche(s) => s.url(),
            Running::Reference(s) => s.url(),
            Running::External { url, .. } => url.clone(),
        }
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Running::Fiche(s) => Some(s.pid()),
            Running::Reference(s) => Some(s.pid()),
            Running::External { pid, .. } => *pid,
        }
    }

    /// The server's memory now, if its process is known.
    pub fn memory(&self) -> Result<Option<Memory>> {
        self.pid().map(Memory::of).transpose()
    }

    /// Stops the server cleanly (it writes everything out).
    pub fn stop(self) -> Result<()> {
        match self {
            Running::Fiche(s) => {
                let (status, logs) = s.stop()?;
                anyhow::ensure!(
                    status.success(),
                    "fiche-server exited with {status}: {logs}"
                );
            }
            Running::Reference(s) => {
                let status = s.stop()?;
                anyhow::ensure!(status.success(), "the reference exited with {status}");
            }
            Running::External { .. } => {}
        }
        Ok(())
    }
}

pub fn data_dir(target: &Target, dir: &Path) -> PathBuf {
    dir.join(match target {
        Target::Fiche => "fiche",
        Target::Reference => "reference",
        Target::External { .. } => "external",
    })
}
