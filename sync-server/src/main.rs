//! The `fiche-server` binary: parses options, sets up logging, serves until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fiche_sync_server::accounts::admin::{self, AdminCommand};
use fiche_sync_server::accounts::Accounts;
use fiche_sync_server::admin_socket::{self, AdminRequest};
use fiche_sync_server::blobs::{Cap, UploadCaps};
use fiche_sync_server::{serve, Config, Connections};

/// Fiche's sync server: devices and automerge-repo clients sync client records through it
/// over WebSocket (the automerge-repo protocol, version 1); it keeps every document in a sled
/// store under the data directory.
///
/// Every peer needs a device token: create an organisation and its members with
/// `fiche-server admin`, give each device a one-time enrolment code (`admin device-enrol`),
/// and the device exchanges it for its token (`fiche enrol`).
///
/// Endpoints: WebSocket sync at `/` (and `/sync`); `GET /health`; `GET /api/directory` (the
/// URL of the document that lists every record); `GET /api/clients` (the caller's clients as
/// index entries); `POST /api/enrol`; `/blobs/{hash}`; the web client at `/` in a browser.
#[derive(Debug, Parser)]
#[command(name = "fiche-server", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address and port to listen on (port 0 picks a free port; the address actually used is
    /// printed on standard output as `fiche-server listening on ADDR`).
    #[arg(long, env = "FICHE_LISTEN", default_value = "127.0.0.1:3030")]
    listen: String,

    /// Directory of the sled store holding every document (created if missing).
    #[arg(
        long,
        env = "FICHE_DATA_DIR",
        default_value = "./fiche-data",
        global = true
    )]
    data_dir: PathBuf,

    /// Let every peer in without a token, all in one open organisation. For development and
    /// benchmarks only: anyone who reaches the server reads and writes everything.
    #[arg(long, env = "FICHE_NO_AUTH")]
    no_auth: bool,

    /// Seconds a document stays in memory after its last use before it is dropped (it stays
    /// on disk and is loaded again when needed).
    #[arg(long, env = "FICHE_IDLE_SECONDS", default_value_t = 60)]
    idle_seconds: u64,

    /// The most documents held in memory at once: past it, the least recently used are dropped
    /// (written first), so that importing a large client base does not need memory for all of
    /// it. About 20 KB each.
    #[arg(long, env = "FICHE_MAX_DOCUMENTS_IN_MEMORY", default_value_t = 10_000)]
    max_documents_in_memory: usize,

    /// MiB of the store's pages kept in memory once read (sled's page cache). Documents in use
    /// are held apart from it, so a small cache mostly costs re-reading a page on a miss.
    #[arg(long, env = "FICHE_STORE_CACHE_MIB", default_value_t = 16)]
    store_cache_mib: u64,

    /// Largest WebSocket message accepted, in bytes; a peer sending more is disconnected.
    #[arg(long, env = "FICHE_MAX_MESSAGE_BYTES", default_value_t = 32 * 1024 * 1024)]
    max_message_bytes: usize,

    /// Largest blob (photo, signature, attached file) accepted, in bytes; larger uploads get
    /// 413.
    #[arg(long, env = "FICHE_MAX_BLOB_BYTES", default_value_t = fiche_core::blob::DEFAULT_MAX_BYTES)]
    max_blob_bytes: u64,

    /// A blob no stored record refers to is removed once untouched this many days; it must
    /// exceed how long a device may stay offline with a record referring to it.
    #[arg(long, env = "FICHE_BLOB_GRACE_DAYS", default_value_t = 90.0)]
    blob_grace_days: f64,

    /// Certificate chain (PEM) to serve HTTPS and WSS; needs --tls-key.
    #[arg(long, env = "FICHE_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "FICHE_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// The most unfinished uploads one device may have; a new one past it gets 429.
    #[arg(
        long,
        env = "FICHE_MAX_UNFINISHED_UPLOADS_PER_DEVICE",
        default_value_t = 16
    )]
    max_unfinished_uploads_per_device: usize,

    /// The most MiB one device's unfinished uploads may declare (their totals).
    #[arg(
        long,
        env = "FICHE_MAX_UNFINISHED_UPLOAD_MIB_PER_DEVICE",
        default_value_t = 256
    )]
    max_unfinished_upload_mib_per_device: u64,

    /// The most unfinished uploads in one organisation; a new one past it gets 507.
    #[arg(
        long,
        env = "FICHE_MAX_UNFINISHED_UPLOADS_PER_ORG",
        default_value_t = 256
    )]
    max_unfinished_uploads_per_org: usize,

    /// The most MiB one organisation's unfinished uploads may declare.
    #[arg(
        long,
        env = "FICHE_MAX_UNFINISHED_UPLOAD_MIB_PER_ORG",
        default_value_t = 2048
    )]
    max_unfinished_upload_mib_per_org: u64,

    /// An unfinished upload untouched this many hours is removed.
    #[arg(
        long,
        env = "FICHE_UNFINISHED_UPLOAD_EXPIRY_HOURS",
        default_value_t = 24.0
    )]
    unfinished_upload_expiry_hours: f64,

    /// The most open connections (HTTP and WebSocket). By default, what the descriptor limit
    /// allows with room to spare (the soft limit is raised to the hard one first); a larger
    /// number is lowered to that. Past it, a few more connections get `/health` or 503.
    #[arg(long, env = "FICHE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,

    /// Seconds a connection has to send a whole request head (after it opens, or after the
    /// last response); the WebSocket upgrade is such a request.
    #[arg(long, env = "FICHE_HEADER_TIMEOUT_SECONDS", default_value_t = 15)]
    header_timeout_seconds: u64,

    /// A connection on which nothing is read or written this many seconds is closed
    /// (WebSockets, pinged every 30 s, are dropped after 75 s without an answer).
    #[arg(long, env = "FICHE_CONNECTION_IDLE_SECONDS", default_value_t = 120)]
    connection_idle_seconds: u64,

    /// How often, in seconds, unreferenced blobs are looked for.
    #[arg(long, env = "FICHE_GC_EVERY_SECONDS", default_value_t = 86_400)]
    gc_every_seconds: u64,

    /// Log filter (`error`, `warn`, `info`, `debug`, `trace`, or per module, as RUST_LOG).
    #[arg(long, env = "FICHE_LOG", default_value = "info")]
    log: String,

    /// Serve the web client from this directory (e.g. `web/dist`) instead of the copy built
    /// into the server.
    #[arg(long, env = "FICHE_WEB_DIR")]
    web_dir: Option<PathBuf>,

    /// Log as JSON lines instead of text.
    #[arg(long, env = "FICHE_LOG_JSON")]
    log_json: bool,

    /// Crash tests only: abort in the Nth round that relays a change to other connections,
    /// after relaying it and before writing it.
    #[arg(long, hide = true)]
    die_before_write: Option<u32>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Administer organisations, members and devices, and read the audit log. Works on a
    /// running server (through `<data-dir>/admin.sock`) or on a stopped one.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Admin { command }) = args.command {
        return administer(&args.data_dir, command);
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .with_context(|| format!("bad --log filter {:?}", args.log))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let config = Config {
        data_dir: args.data_dir,
        idle: Duration::from_secs(args.idle_seconds),
        most_loaded: args.max_documents_in_memory.max(1),
        store_cache: args.store_cache_mib.max(1) << 20,
        max_message: args.max_message_bytes,
        max_blob: args.max_blob_bytes,
        blob_grace: Duration::from_secs_f64(args.blob_grace_days.max(0.0) * 86_400.0),
        gc_every: Duration::from_secs(args.gc_every_seconds.max(1)),
        no_auth: args.no_auth,
        web_dir: args.web_dir,
        die_before_write: args.die_before_write,
        connections: Connections {
            max: args.max_connections,
            headers: Duration::from_secs(args.header_timeout_seconds.max(1)),
            idle: Duration::from_secs(args.connection_idle_seconds.max(1)),
        },
        uploads: UploadCaps {
            device: Cap {
                count: args.max_unfinished_uploads_per_device,
                bytes: args.max_unfinished_upload_mib_per_device << 20,
            },
            org: Cap {
                count: args.max_unfinished_uploads_per_org,
                bytes: args.max_unfinished_upload_mib_per_org << 20,
            },
            expiry: Duration::from_secs_f64(args.unfinished_upload_expiry_hours.max(0.0) * 3600.0),
        },
        tls: match args.tls_cert.zip(args.tls_key) {
            Some((cert, key)) => Some(fiche_sync_server::tls::server_config(&cert, &key)?),
            None => None,
        },
    };
    // Said once it serves (store open, hub running), so that whoever waits for the line can
    // connect at once; a store that cannot be opened ends the process before it.
    let ready = move || println!("fiche-server listening on {addr}");
    serve(listener, config, stop_signal(), ready).await?;
    Ok(())
}

/// Runs one admin command: through the running server if there is one, else on the store.
fn administer(data_dir: &std::path::Path, command: AdminCommand) -> anyhow::Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let request = AdminRequest {
        actor: format!("admin-cli as {user}"),
        command,
    };
    // A server starting up holds the store before its admin socket listens: try again a
    // little while.
    let mut tries = 0;
    let accounts = loop {
        #[cfg(unix)]
        if let Some(reply) = admin_socket::send(data_dir, &request)
            .context("cannot reach the running server's admin socket")?
        {
            let reply = reply.map_err(anyhow::Error::msg)?;
            println!("{}", reply.text);
            return Ok(());
        }
        match fiche_core::store::SledStore::open(data_dir) {
            Ok(store) => break Accounts::new(std::sync::Arc::new(store)),
            Err(_) if tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot open the data directory {}", data_dir.display())
                })
            }
        }
    };
    if let AdminCommand::RecordErase { id, reason } = &request.command {
        let id = id.parse()?;
        let store = accounts.shared_store();
        let text = fiche_sync_server::erase_offline(data_dir, store, id, &request.actor, reason)?;
        println!("{text}");
        return Ok(());
    }
    let reply = admin::run(&accounts, &request.actor, request.command)?;
    println!("{}", reply.text);
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are set now, before the server says it is
/// ready, so that a stop sent right after that line is a clean stop, not the default death.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let wait = |kind: SignalKind, name: &'static str| {
            let registered = signal(kind);
            async move {
                match registered {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        let (term, int) = (
            wait(SignalKind::terminate(), "SIGTERM"),
            wait(SignalKind::interrupt(), "Ctrl-C"),
        );
        async move {
            tokio::select! {
                _ = term => {}
                _ = int => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}
