//! `bench/RESULTS.md`: the date, the machine, the command, the table, the steps of the
//! throughput ramp and the plots of a run, with how each figure was measured.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::report::{self, Figures, Row};
use crate::Sizes;

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map_or_else(
            || "unknown".into(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    format!("{cpu}, {cores} cores, {memory} memory")
}

fn node() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "not found".into())
}

/// Writes the report to `path`.
pub fn write(
    path: &Path,
    sizes: &Sizes,
    rows: &[Row],
    series: &[(&str, &Figures)],
    plots: &[PathBuf],
) -> Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let mut out = String::from("# Benchmark results\n\n");
    let _ = writeln!(out, "- Date: {} (UTC)", now.date());
    let _ = writeln!(out, "- Machine: {}", machine());
    let _ = writeln!(
        out,
        "- Servers: fiche-server {} (release build, `--no-auth`, defaults otherwise); reference: \
         `@automerge/automerge-repo` 2.5.6 `Repo` + `NodeWSServerAdapter` + `NodeFSStorageAdapter` \
         (tests/js/peer.mjs `server`) on Node {}",
        env!("CARGO_PKG_VERSION"),
        node()
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(
        out,
        "- Command: `cargo build --release --workspace --bins && target/release/fiche-bench {}`",
        args.join(" ")
    );
    let _ = writeln!(
        out,
        "- Sizes: {} records for the initial sync; {} devices (each record shared by {}); \
         {:.0} edits/s for {} s; ramp steps of {} s up to {:.0} edits/s; {} stored records",
        sizes.records,
        sizes.devices,
        crate::fleet::SHARING,
        sizes.rate,
        sizes.seconds,
        sizes.step_seconds,
        sizes.max_rate,
        sizes.stored
    );
    let _ = writeln!(
        out,
        "\nBoth servers and the load generator share this machine. Ratio: how many times better \
         fiche-server did (reference ÷ fiche-server for times and memory, the other way for \
         throughput). \"met\": the issue's goal for fiche-server and at least 5× the reference.\n"
    );
    out.push_str(&report::table(rows));
    out.push_str("\n## Throughput ramp\n");
    for (name, figures) in series {
        if !figures.throughput.is_empty() {
            out.push_str(&report::steps(name, figures));
        }
    }
    if !plots.is_empty() {
        out.push_str("\n## Plots\n\n");
        let base = path.parent().unwrap_or(Path::new("."));
        for p in plots {
            let shown = p.strip_prefix(base).unwrap_or(p);
            let _ = writeln!(out, "![{}]({})\n", shown.display(), shown.display());
        }
    }
    out.push_str(METHOD);
    std::fs::write(path, out)?;
    Ok(())
}

const METHOD: &str = "
## How each figure is measured

- **Initial sync.** On fiche-server, device A (fiche-core's `Book` on sled, its real sync
  engine) files the records and pushes them to the empty server (\"first push\"); the
  reference's store is filled beforehand (see below). Then a fresh device B runs one
  `sync_once`: from connecting to the last record stored in its sled store, with the directory
  document telling it what exists; then B syncs again with nothing new (its sync states were
  kept). The server is then restarted and another fresh device C fills up from a server with
  nothing in memory. The same devices and the same code run against both servers. A Fiche
  server prepares, with each version of a record it writes, what a fresh device will ask of
  it (the answer to its request and the record's index entry) and keeps it in its store: the
  first push pays for that.
- **Propagation.** `fiche-bench` pushes one record per 10 devices, then connects the devices
  (one WebSocket each, fiche-core's sans-IO protocol `Connection`, documents in memory), each
  syncing one record with the 9 others that share it. Edits (a new city on the client's
  address) are issued at a steady rate to devices in turn; the latency of an arrival runs from
  the moment the edit was issued to the moment another device applied it. Every arrival at
  every other interested device counts; an arrival missing 3 s after the last edit is lost.
- **The reference** runs with `--max-old-space-size=20000` (node's default heap would stop it
  before it holds 100,000 documents) and `--unhandled-rejections=warn`: under the initial push,
  a document handle can wait past automerge-repo's 60 s `whenReady` limit, and that rejection,
  unhandled inside automerge-repo, would otherwise stop the process.
- **Filling the reference.** The reference cannot take these sizes through its socket: in
  one run 10,000 records pushed by a device took 194 s; in later runs, once the device listed
  all 10,000 in the directory at once, its event loop stalled long enough for the device to
  drop and fail to reconnect, or a handle passed automerge-repo's 60 s limit; 100,000 would take
  hours. So its store is filled by automerge-repo itself: `Repo.import` of each record under
  its id on `NodeFSStorageAdapter` (`peer.mjs import`, no server running), with a directory
  document (made by fiche-core) listing them, as a device would have. fiche-server gets the
  records through the protocol, pushed by a device (initial sync) or by one connection with
  256 in flight (memory); its push time and peak RSS are shown.
- **Memory.** The server is stopped (SIGTERM) after the push and started (again) on its store;
  its RSS (`/proc/PID/status`, VmRSS) is read one second later (\"restarted, no connection
  yet\"). Then every device connects and fetches one record, and the RSS is read again one second
  after the last one arrived. No record is added meanwhile: fiche-server loads a directory only
  to add to it (100,000 entries hold about 70 MiB while loaded, and glibc keeps most of that
  from the system once it is dropped).
- **Throughput.** On the same connected devices, the edit rate doubles from 50 per second,
  each rate for a few seconds, until p99 passes 100 ms or an arrival is lost; then the rate half
  way between the last good and the first bad one is tried. The figure is the highest rate that
  kept up.
";
