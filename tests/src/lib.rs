//! Helpers shared by the end-to-end tests: the real `fiche-server` and `fiche` binaries run as
//! child processes, and the official JavaScript automerge-repo peer (`tests/js/peer.mjs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

mod memory;
pub mod org;
pub mod raw;

pub use memory::Memory;

/// Where cargo put the workspace's binaries: beside this executable, or beside the `deps/`
/// folder a test executable runs from. Missing ones are built first (once per test process,
/// `cargo build --workspace --bins` into the same target directory), so a plain
/// `cargo test --workspace` on a fresh clone finds them.
pub fn bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("no target directory")?;
    if dir.ends_with("deps") {
        dir = dir.parent().context("no target directory")?;
    }
    let path = dir.join(name);
    if !path.exists() {
        build_binaries(dir)?;
    }
    if !path.exists() {
        bail!(
            "{} is missing after building the workspace's binaries (cargo build --workspace --bins)",
            path.display()
        );
    }
    Ok(path)
}

/// Builds the workspace's binaries into the profile directory `profile_dir` (`…/debug` or
/// `…/release`), once per process; later callers get the first build's outcome.
fn build_binaries(profile_dir: &Path) -> Result<()> {
    static BUILT: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    let outcome = BUILT.get_or_init(|| {
        let target = profile_dir.parent().ok_or("no target directory")?;
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .current_dir(root())
            .args(["build", "--workspace", "--bins"])
            .env("CARGO_TARGET_DIR", target);
        if profile_dir.ends_with("release") {
            command.arg("--release");
        }
        eprintln!("building the workspace's binaries for the end-to-end tests: {command:?}");
        match command.status() {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("cargo build --workspace --bins failed ({s})")),
            Err(e) => Err(format!("cannot run cargo to build the binaries: {e}")),
        }
    });
    outcome.clone().map_err(anyhow::Error::msg)
}

/// The official JavaScript peers' folder (`tests/js`), its pinned packages installed first
/// (`npm ci`, once per process) when missing.
pub fn js_dir() -> Result<PathBuf> {
    static INSTALLED: std::sync::OnceLock<std::result::Result<(), String>> =
        std::sync::OnceLock::new();
    let dir = root().join("tests/js");
    let outcome = INSTALLED.get_or_init(|| {
        if dir.join("node_modules/@automerge/automerge-repo").exists() {
            return Ok(());
        }
        eprintln!("installing the JavaScript peers: npm ci --prefix tests/js");
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .output()
            .map_err(|e| format!("cannot run npm (is Node.js installed?): {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci --prefix tests/js failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    });
    outcome.clone().map_err(anyhow::Error::msg)?;
    Ok(dir)
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A `fiche-server` process on a loopback port, killed when dropped.
/// An HTTP response as [`Server::http`] reads it.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Debug)]
pub struct Server {
    child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts the server on a free port (or `port` when given), waits until it listens. It
    /// runs with `--no-auth`: every peer is let in (the tests of accounts use
    /// [`Server::start_secured`]).
    pub fn start(data_dir: &Path, port: Option<u16>) -> Result<Self> {
        Self::start_with(data_dir, port, &[])
    }

    /// [`Server::start`] with extra command-line options.
    pub fn start_with(data_dir: &Path, port: Option<u16>, extra: &[&str]) -> Result<Self> {
        let mut options = vec!["--no-auth"];
        options.extend_from_slice(extra);
        Self::start_secured(data_dir, port, &options)
    }

    /// A server that lets in only enrolled devices (see [`admin`]).
    pub fn start_secured(data_dir: &Path, port: Option<u16>, extra: &[&str]) -> Result<Self> {
        Self::start_wrapped(&[], data_dir, port, extra)
    }

    /// [`Server::start_secured`] run through `wrapper`, a command that runs the one after it
    /// (as `prlimit --nofile=256:256`); [`Server::pid`] is then still the server's.
    pub fn start_wrapped(
        wrapper: &[&str],
        data_dir: &Path,
        port: Option<u16>,
        extra: &[&str],
    ) -> Result<Self> {
        let listen = format!("127.0.0.1:{}", port.unwrap_or(0));
        let server = bin("fiche-server")?;
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(server);
                c
            }
            None => Command::new(server),
        };
        let mut child = command
            .args(["--listen", &listen, "--data-dir"])
            .arg(data_dir)
            .args(["--log", "info"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start fiche-server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let line = first_line(stdout)?;
        if line.is_empty() {
            // It ended before serving: say why.
            let status = child.wait()?;
            let logs = stderr.join().unwrap_or_default();
            bail!("fiche-server ended before it listened ({status}): {logs}");
        }
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("fiche-server did not say where it listens: {line:?}"))?;
        Ok(Self {
            child,
            port,
            data_dir: data_dir.to_path_buf(),
            stderr: Some(stderr),
        })
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /health`, parsed (it must answer 200).
    pub fn health(&self) -> Result<serde_json::Value> {
        let (status, body) = self.get("/health")?;
        anyhow::ensure!(status == 200, "/health answered {status}: {body}");
        Ok(serde_json::from_str(&body)?)
    }

    /// `GET path` over plain HTTP/1.1: the status code and the body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("no HTTP status")?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// One HTTP/1.1 request; sends `body`, or only its first `cut_at` bytes before closing
    /// the connection (as a phone losing the network mid-upload). The status, the headers
    /// (names in lower case) and the body; status 0 when the connection was cut.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        cut_at: Option<usize>,
    ) -> Result<Response> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        if let Some(cut) = cut_at {
            stream.write_all(&body[..cut])?;
            stream.flush()?;
            // Give the server time to take what was sent, then drop the connection.
            std::thread::sleep(Duration::from_millis(300));
            stream.shutdown(std::net::Shutdown::Both)?;
            return Ok(Response::default());
        }
        // A server refusing early (413) answers and closes without reading the body.
        let early = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
        };
        if let Err(e) = stream.write_all(body) {
            if !early(&e) {
                return Err(e.into());
            }
        }
        let mut raw = Vec::new();
        if let Err(e) = stream.read_to_end(&mut raw) {
            if !early(&e) || raw.is_empty() {
                return Err(e.into());
            }
        }
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("no end of HTTP headers")?;
        let text = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = text.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .context("no HTTP status")?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Response {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        })
    }

    /// SIGKILL: no chance to flush or close anything.
    pub fn kill(mut self) -> Result<String> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(self.logs())
    }

    /// SIGTERM, then waits for a clean exit; returns the logs.
    pub fn stop(mut self) -> Result<(std::process::ExitStatus, String)> {
        let status = terminate(&mut self.child, "fiche-server")?;
        Ok((status, self.logs()))
    }

    /// Stops the server (SIGTERM), which must exit cleanly; returns its logs.
    pub fn stop_cleanly(self) -> Result<String> {
        let (status, logs) = self.stop()?;
        anyhow::ensure!(
            status.success(),
            "fiche-server exited with {status}: {logs}"
        );
        Ok(logs)
    }

    /// Stops the server (SIGTERM), which must exit cleanly, and starts it again on the same
    /// data directory (on a free port).
    pub fn restart(self) -> Result<Server> {
        let data = self.data_dir.clone();
        self.stop_cleanly()?;
        Server::start(&data, None)
    }

    fn logs(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `fiche --store STORE ARGS…`; fails with its stderr if it fails.
pub fn fiche(store: &Path, args: &[&str]) -> Result<String> {
    let out = fiche_output(store, args)?;
    if !out.status.success() {
        bail!(
            "fiche {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// Runs `fiche --store STORE ARGS…` and returns whatever happened.
pub fn fiche_output(store: &Path, args: &[&str]) -> Result<Output> {
    Ok(Command::new(bin("fiche")?)
        .arg("--store")
        .arg(store)
        .args(args)
        .output()?)
}

/// `fiche sync --json`: the report.
pub fn sync(store: &Path, server: &str) -> Result<serde_json::Value> {
    let out = fiche(store, &["sync", "--server", server, "--json"])?;
    Ok(serde_json::from_str(out.trim())?)
}

/// Runs the official JavaScript peer: `node tests/js/peer.mjs ARGS…`.
pub fn js(args: &[&str]) -> Result<Output> {
    let dir = js_dir()?;
    Command::new("node")
        .arg(dir.join("peer.mjs"))
        .args(args)
        .output()
        .context("cannot run node")
}

/// Like [`js`], failing unless it exits 0; returns its stdout.
pub fn js_ok(args: &[&str]) -> Result<String> {
    let out = js(args)?;
    if !out.status.success() {
        bail!(
            "node peer.mjs {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

/// The official JavaScript sync server (`Repo` + `NodeWSServerAdapter` + `NodeFSStorageAdapter`).
#[derive(Debug)]
pub struct JsServer {
    child: Child,
    pub port: u16,
}

impl JsServer {
    pub fn start(dir: &Path) -> Result<Self> {
        Self::start_with(dir, &[])
    }

    /// [`JsServer::start`] with options for node itself (`--max-old-space-size=…`).
    pub fn start_with(dir: &Path, node_options: &[&str]) -> Result<Self> {
        let script = js_dir()?.join("peer.mjs");
        let mut command = Command::new("node");
        command
            .args(node_options)
            .arg(script)
            .args(["server", "--port", "0", "--timeout", "0", "--dir"])
            .arg(dir);
        if std::env::var_os("FICHE_JS_TRACE").is_some() {
            command.arg("--trace");
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start the JavaScript server")?;
        let errors = echo_stderr(&mut child);
        let stdout = child.stdout.take().context("no stdout")?;
        let line = first_line(stdout)?;
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            // It said something else, or died: what it wrote to stderr says why.
            let _ = child.kill();
            let _ = child.wait();
            let said = errors.join().unwrap_or_default();
            bail!("the JavaScript server did not start: it printed {line:?}; stderr: {said}");
        };
        Ok(Self { child, port })
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The node process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (the server flushes its documents), then waits for it to exit.
    pub fn stop(mut self) -> Result<std::process::ExitStatus> {
        terminate(&mut self.child, "the JavaScript server")
    }
}

/// Copies a child's stderr to ours as it comes, and keeps its first 64 KiB to quote if the
/// child fails.
fn echo_stderr(child: &mut Child) -> std::thread::JoinHandle<String> {
    let stderr = child.stderr.take();
    std::thread::spawn(move || {
        let mut kept = String::new();
        let Some(stderr) = stderr else {
            return kept;
        };
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            eprintln!("{line}");
            if kept.len() < 64 * 1024 {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
        kept
    })
}

/// Sends SIGTERM to a server process and waits (60 s at most) for it to exit.
fn terminate(child: &mut Child, name: &str) -> Result<std::process::ExitStatus> {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("{name} did not stop within 60 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for JsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line a child prints; the rest is drained in the background so it never blocks.
fn first_line(stdout: std::process::ChildStdout) -> Result<String> {
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    Ok(line)
}

/// `fiche-server admin --data-dir DATA_DIR ARGS…` (through the running server's admin
/// socket, or on the stopped server's store): what it printed, trimmed.
pub fn admin(data_dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin("fiche-server")?)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("admin")
        .args(args)
        .output()
        .context("cannot run fiche-server admin")?;
    if !out.status.success() {
        bail!(
            "fiche-server admin {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A device: a book in `dir`, shared with sync engines. Panics if it cannot be opened (a
/// test helper).
pub fn device(dir: &Path) -> std::sync::Arc<fiche_core::Book> {
    let book = fiche_core::Book::open(dir, fiche_core::Options::default());
    std::sync::Arc::new(book.expect("cannot open the device store"))
}

/// One sync of a device with the server at `url`, in the engine (no `fiche` process). Panics
/// if it fails (a test helper).
pub fn sync_book(
    book: &std::sync::Arc<fiche_core::Book>,
    url: &str,
) -> fiche_core::sync::SyncReport {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("no runtime");
    let options = fiche_core::sync::SyncOptions::new(url);
    rt.block_on(fiche_core::sync::sync_once(book.clone(), &options, |_| {}))
        .expect("sync failed")
}

/// `fiche --store STORE watch --server URL` and the lines it prints.
pub fn watch(store: &Path, url: &str) -> Result<(Child, impl Iterator<Item = String>)> {
    let mut child = Command::new(bin("fiche")?)
        .arg("--store")
        .arg(store)
        .args(["watch", "--server", url])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    Ok((child, BufReader::new(stdout).lines().map_while(Result::ok)))
}

/// Whether `lines` shows `needle` within `wait` (read on a thread, so a silent process cannot
/// hang the test).
pub fn shows(
    lines: impl Iterator<Item = String> + Send + 'static,
    needle: &str,
    wait: std::time::Duration,
) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    std::thread::spawn(move || {
        let mut lines = lines;
        let found = lines.any(|l| l.contains(&needle));
        let _ = tx.send(found);
    });
    rx.recv_timeout(wait).unwrap_or(false)
}
