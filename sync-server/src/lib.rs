//! `fiche-server`: the sync server. Peers speak the automerge-repo WebSocket protocol; the
//! documents live in a sled store under the data directory.
//!
//! - [`routes`]: HTTP and WebSocket routes; sockets only move frames;
//! - [`auth`]: device tokens on every request; [`accounts`]: organisations, members,
//!   devices, the admin commands and the audit log; [`admin_socket`]: admin of a live server;
//! - [`hub`]: the thread that owns the protocol state and the documents, and
//!   [`access`]: what each connection may send and receive;
//! - [`docs`]: documents loaded on demand, written in batches, dropped when idle;
//! - [`erase`]: erasure of a record (GDPR) and the tombstones that keep it gone;
//! - [`fresh`]: what a fresh device gets, kept beside each record; [`listing`]: `/api/clients`;
//! - [`web`]: the web client's files;
//! - [`http`]: the HTTP loop and its timeouts; [`listen`]: the connection limit;
//!   [`guard`]: each socket's idle limit.

pub mod access;
pub mod accounts;
pub mod admin_socket;
pub mod assign;
pub mod auth;
pub mod blobs;
pub mod docs;
pub mod erase;
pub mod error;
pub mod fresh;
pub mod guard;
pub mod http;
pub mod hub;
pub mod link;
pub mod listen;
pub mod listing;
pub mod me;
pub mod routes;
pub mod tls;
pub mod web;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use automerge::ActorId;
use fiche_core::protocol::{Hub, PeerMetadata};
use fiche_core::store::{SledStore, Store};
use fiche_core::{key, DocumentId};
use tokio::net::TcpListener;

pub use error::ServerError;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Documents unused this long are dropped from memory.
    pub idle: Duration,
    /// The most documents kept in memory (the least recently used are dropped first).
    pub most_loaded: usize,
    /// sled's page cache, in bytes.
    pub store_cache: u64,
    /// The largest WebSocket message accepted, in bytes.
    pub max_message: usize,
    /// The largest blob (photo, attachment) accepted, in bytes.
    pub max_blob: u64,
    /// Unreferenced blobs are removed once untouched this long.
    pub blob_grace: Duration,
    /// How often unreferenced blobs are looked for.
    pub gc_every: Duration,
    /// Serve HTTPS and WSS instead of HTTP (see [`tls::server_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Let every peer in without a token, all in one open organisation (development and
    /// benchmarks only).
    pub no_auth: bool,
    /// Serve the web client from this directory instead of the copy built in.
    pub web_dir: Option<PathBuf>,
    /// Crash tests only: abort in the Nth round that relays a change, before writing it.
    pub die_before_write: Option<u32>,
    /// How many connections, and how long they may take.
    pub connections: Connections,
    /// The caps on unfinished uploads.
    pub uploads: blobs::UploadCaps,
}

/// Connection limits.
#[derive(Debug, Clone)]
pub struct Connections {
    /// The most open connections (`None`: what the descriptor limit allows, see
    /// [`listen::connection_limit`]).
    pub max: Option<usize>,
    /// Time to send a whole request head (after connecting, or after the last response).
    pub headers: Duration,
    /// A connection on which nothing moves this long is closed.
    pub idle: Duration,
}

/// The server's stable identity, kept in the store: its peer id and its Automerge actor.
fn identity(store: &dyn Store) -> Result<(String, ActorId), ServerError> {
    let stored = store.get(&key!["_meta", "server"])?;
    let id = match stored.as_deref().map(uuid::Uuid::from_slice) {
        Some(Ok(id)) => id,
        other => {
            if other.is_some() {
                tracing::warn!("the stored server identity is damaged: making a new one");
            }
            let id = uuid::Uuid::new_v4();
            store.put(key!["_meta", "server"], id.as_bytes().to_vec())?;
            id
        }
    };
    let peer = format!("fiche-server-{}", id.simple());
    Ok((peer, ActorId::from(id.as_bytes().as_slice())))
}

/// Removes unreferenced blobs every `every`, on a thread of its own (it reads every stored
/// record; the hub goes on meanwhile).
fn collect_blobs(
    files: Arc<blobs::BlobFiles>,
    store: Arc<dyn Store>,
    grace: Duration,
    every: Duration,
) -> Result<(), ServerError> {
    std::thread::Builder::new()
        .name("fiche-blob-gc".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            match files.collect(store.as_ref(), grace) {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "blob collection done"),
                Err(e) => tracing::error!(error = %e, "blob collection failed"),
            }
        })?;
    Ok(())
}

/// The hub over a store: its documents (the open directory created if missing), their
/// owners, assignments and tombstones.
fn hub_thread(
    store: &Arc<dyn Store>,
    idle: Duration,
    most_loaded: usize,
) -> Result<hub::HubThread, ServerError> {
    let (peer, actor) = identity(store.as_ref())?;
    let mut docs = docs::ServerDocs::new(store.clone(), actor)?;
    docs.ensure_directory()?;
    let unlisted = docs.unlisted()?;
    let metadata = PeerMetadata {
        storage_id: Some(peer.clone()),
        is_ephemeral: false,
    };
    Ok(hub::HubThread {
        hub: Hub::new(peer.clone(), metadata, docs),
        local: peer,
        stats: Arc::default(),
        idle,
        most_loaded,
        owners: access::Owners::load(store.clone())?,
        assignments: assign::Assignments::load(store.clone())?,
        unlisted,
        tombstones: erase::Tombstones::load(store.as_ref())?,
        die_before_write: None,
    })
}

fn open_blobs(
    data_dir: &Path,
    max_blob: u64,
    caps: blobs::UploadCaps,
) -> Result<blobs::BlobFiles, ServerError> {
    blobs::BlobFiles::open(data_dir, max_blob, caps).map_err(|e| ServerError::Open {
        path: data_dir.join("fiche-blobs").display().to_string(),
        source: fiche_core::store::StoreError::Backend(e.to_string()),
    })
}

/// Erases a record on a server that is not running (`fiche-server admin record-erase` then
/// works on the store itself); returns what to print.
pub fn erase_offline(
    data_dir: &Path,
    store: Arc<dyn Store>,
    id: DocumentId,
    actor: &str,
    reason: &str,
) -> Result<String, ServerError> {
    let mut hub = hub_thread(&store, Duration::from_secs(60), usize::MAX)?;
    let (erasure, _) = hub.erase(id, actor, reason)?;
    hub.write();
    let files = open_blobs(data_dir, u64::MAX, blobs::UploadCaps::default())?;
    let removed = files.forget(store.as_ref(), &erasure.org, &erasure.files)?;
    Ok(erase::report(&erasure, removed))
}

/// Serves on `listener` until `shutdown` completes; then closes every connection and writes
/// everything before returning. `ready` is called once the store is open and the hub runs,
/// just before the first connection is taken (an error before that returns instead).
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(),
) -> Result<(), ServerError> {
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open_with_cache(&config.data_dir, config.store_cache).map_err(|e| {
            ServerError::Open {
                path: config.data_dir.display().to_string(),
                source: e,
            }
        })?,
    );
    let accounts = accounts::Accounts::new(store.clone());
    if config.no_auth {
        tracing::warn!(
            "--no-auth: every peer is let in without a token, into one open organisation"
        );
    }
    let auth = Arc::new(auth::Auth::new((!config.no_auth).then(|| accounts.clone())));
    let mut hub_thread = hub_thread(&store, config.idle, config.most_loaded)?;
    hub_thread.die_before_write = config.die_before_write;
    // `/health` has its figures before the first connection, not after the hub's first round.
    hub_thread.publish(0);
    let peer = hub_thread.local.clone();
    let stats = hub_thread.stats.clone();
    let (events, receiver) = std::sync::mpsc::channel();
    // A hub that stops of itself (a panic) stops the server too: connections would stay open
    // with nothing to answer them, and /health would still say ok. The thread's result says
    // whether it panicked; `hub_gone` wakes the serve loop when it ends.
    let (hub_ended, mut hub_gone) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("fiche-hub".into())
        .spawn(move || {
            let run =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hub_thread.run(receiver)));
            let _ = hub_ended.send(());
            run.is_err()
        })?;
    let state = routes::AppState {
        events,
        next_conn: Arc::new(AtomicU64::new(1)),
        stats,
        max_message: config.max_message,
        auth: auth.clone(),
        web: Arc::new(web::Site::new(config.web_dir.clone(), !config.no_auth)),
        store: store.clone(),
    };
    let files = Arc::new(open_blobs(
        &config.data_dir,
        config.max_blob,
        config.uploads.clone(),
    )?);
    #[cfg(unix)]
    admin_socket::listen(&config.data_dir, accounts, state.clone(), files.clone())?;
    let (limit, reserve) = listen::connection_limit(config.connections.max);
    let gate = listen::Gate::new(limit, reserve);
    tracing::info!(%peer, data_dir = %config.data_dir.display(), max_connections = limit, "server ready");
    let closer = state.clone();
    collect_blobs(
        files.clone(),
        store.clone(),
        config.blob_grace,
        config.gc_every,
    )?;
    let app = routes::router(state).merge(blobs::router(files, auth, store.clone()));
    ready();
    let stop = async move {
        tokio::select! {
            () = shutdown => {
                tracing::info!("shutting down: closing connections and writing documents");
                let (done, finished) = tokio::sync::oneshot::channel();
                closer.send_shutdown(done);
                let _ = finished.await;
            }
            _ = &mut hub_gone => tracing::error!("the hub thread stopped: the server stops"),
        }
    };
    let reserved = http::reserve(app.clone());
    let Connections { headers, idle, .. } = config.connections;
    match &config.tls {
        Some(tls) => {
            let tls = tls::TlsListener::new(listener, tls.clone(), gate, idle)?;
            http::serve(tls, app, reserved, headers, stop).await;
        }
        None => {
            let plain = listen::PlainListener {
                listener,
                gate,
                idle,
            };
            http::serve(plain, app, reserved, headers, stop).await;
        }
    }
    let panicked = tokio::task::spawn_blocking(move || thread.join()).await;
    if matches!(panicked, Ok(Ok(true))) {
        return Err(ServerError::HubPanicked);
    }
    tracing::info!("stopped");
    Ok(())
}
