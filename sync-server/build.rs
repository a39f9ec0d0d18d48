//! Builds the web client (`web/`) when it is stale and embeds `web/dist` in the server, so
//! `cargo run -p fiche-sync-server --bin fiche-server` serves it with no other step.
//!
//! `npm ci` (only when `web/node_modules` is missing) and `npm run build` run when `npm` is on
//! the PATH and `web/dist` is older than the web sources. Without npm, or when the build fails,
//! the server is still built: it embeds whatever `web/dist` holds, or nothing, and then serves
//! a page that says how to build the client. `FICHE_WEB_BUILD=0` skips npm altogether (the
//! dist present is embedded as it is).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// What the web build reads; a change to any of them makes `dist` stale.
const SOURCES: [&str; 8] = [
    "src",
    "public",
    "schema",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let web = manifest.join("../web");
    let dist = web.join("dist");
    println!("cargo:rerun-if-env-changed=FICHE_WEB_BUILD");
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", web.join(source).display());
    }
    println!("cargo:rerun-if-changed={}", dist.display());

    let wanted = std::env::var("FICHE_WEB_BUILD").map_or(true, |v| v != "0");
    if wanted && web.join("package.json").exists() && stale(&web, &dist) {
        if let Err(e) = build(&web) {
            println!("cargo:warning=web client not built ({e}); the server will serve a page saying how to build it");
        }
    }

    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    files.sort();
    let mut out = String::from("/// The built web client: (path under `web/dist`, bytes).\npub static ASSETS: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        out.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("web_assets.rs");
    if let Err(e) = std::fs::write(&target, out) {
        panic!("cannot write {}: {e}", target.display());
    }
}

/// Whether `dist` is missing or older than any web source.
fn stale(web: &Path, dist: &Path) -> bool {
    let Some(built) = modified(&dist.join("index.html")) else {
        return true;
    };
    SOURCES
        .iter()
        .any(|s| newest(&web.join(s)).is_some_and(|m| m > built))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of anything under a directory.
fn newest(path: &Path) -> Option<SystemTime> {
    let own = modified(path);
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .chain(own)
        .max()
}

fn build(web: &Path) -> Result<(), String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        return Err("npm is not on the PATH".into());
    }
    if !web.join("node_modules").exists() {
        // Only `npm ci`: it installs exactly the lock and never rewrites it (a tracked file).
        println!(
            "cargo:warning=building the web client: npm ci in {}",
            web.display()
        );
        run(Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(web))?;
    }
    println!(
        "cargo:warning=building the web client: npm run build in {}",
        web.display()
    );
    run(Command::new(npm).args(["run", "build"]).current_dir(web))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = err.lines().rev().take(5).collect();
    Err(format!(
        "{:?} failed: {}",
        command.get_args().collect::<Vec<_>>(),
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    ))
}

/// Every file under `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = std::fs::canonicalize(&path).unwrap_or(path);
            out.push((name, absolute.display().to_string()));
        }
    }
}
