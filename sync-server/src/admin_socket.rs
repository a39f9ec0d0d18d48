//! The admin socket of a running server: `<data-dir>/admin.sock`, a Unix socket that only
//! the server's user may open. `fiche-server admin …` sends one command as a JSON line and
//! reads the reply, so that administration works while the server holds the store (and a
//! revoked device is disconnected at once).

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::accounts::admin::{self, AdminCommand, AdminReply};
use crate::accounts::Accounts;
use crate::blobs::BlobFiles;
use crate::routes::AppState;

/// One request on the socket.
#[derive(Debug, Serialize, Deserialize)]
pub struct AdminRequest {
    /// Who runs it (for the audit log).
    pub actor: String,
    pub command: AdminCommand,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// Serves the admin socket until the server stops.
#[cfg(unix)]
pub fn listen(
    data_dir: &Path,
    accounts: Accounts,
    state: AppState,
    files: Arc<BlobFiles>,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = path(data_dir);
    // A socket file left by a server that did not stop cleanly.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (accounts, state, files) = (accounts.clone(), state.clone(), files.clone());
            tokio::spawn(async move {
                if let Err(e) = answer(stream, accounts, state, files).await {
                    tracing::warn!(error = %e, "admin socket request failed");
                }
            });
        }
    });
    Ok(())
}

#[cfg(unix)]
async fn answer(
    stream: tokio::net::UnixStream,
    accounts: Accounts,
    state: AppState,
    files: Arc<BlobFiles>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::io::BufReader::new(read).read_line(&mut line).await?;
    let reply: Result<AdminReply, String> = match serde_json::from_str::<AdminRequest>(&line) {
        Ok(AdminRequest {
            actor,
            command: AdminCommand::RecordErase { id, reason },
        }) => {
            tracing::info!(%actor, %id, "admin command: erase a record");
            erase(&accounts, &state, files, &id, actor, reason).await
        }
        Ok(request) => {
            let actor = request.actor.clone();
            tracing::info!(%actor, command = ?request.command, "admin command");
            let done = tokio::task::spawn_blocking(move || {
                admin::run(&accounts, &request.actor, request.command)
            })
            .await;
            match done {
                Ok(Ok(reply)) => {
                    state.send_revoke(reply.disconnect.clone());
                    Ok(reply)
                }
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            }
        }
        Err(e) => Err(format!("bad admin request: {e}")),
    };
    let mut out = serde_json::to_vec(&reply).map_err(std::io::Error::other)?;
    out.push(b'\n');
    write.write_all(&out).await
}

/// Erases a record through the hub, then removes its files that nothing else refers to.
#[cfg(unix)]
async fn erase(
    accounts: &Accounts,
    state: &AppState,
    files: Arc<BlobFiles>,
    id: &str,
    actor: String,
    reason: String,
) -> Result<AdminReply, String> {
    let id: fiche_core::DocumentId = id.parse().map_err(|e| format!("{e}"))?;
    let erasure = state.erase(id, actor, reason).await?;
    let store = accounts.shared_store();
    let (org, names) = (erasure.org.clone(), erasure.files.clone());
    let removed = tokio::task::spawn_blocking(move || files.forget(store.as_ref(), &org, &names))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(AdminReply {
        text: crate::erase::report(&erasure, removed),
        disconnect: Vec::new(),
    })
}

/// Sends a command to the server running on `data_dir`; `Ok(None)` when none is running.
#[cfg(unix)]
pub fn send(
    data_dir: &Path,
    request: &AdminRequest,
) -> std::io::Result<Option<Result<AdminReply, String>>> {
    use std::io::ErrorKind;
    let mut stream = match std::os::unix::net::UnixStream::connect(path(data_dir)) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    serde_json::from_str(&reply)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("bad reply from the server: {e}")))
}
