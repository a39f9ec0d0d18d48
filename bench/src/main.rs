//! `fiche-bench`: a load generator that speaks the automerge-repo protocol and simulates many
//! devices against `fiche-server` and the reference JavaScript server in the same run (or
//! against any compatible server at a URL), then prints one table with both figures and their
//! ratio. See bench/RESULTS.md for a full run.

mod fleet;
mod initial;
mod memory;
mod peer;
mod plot;
mod records;
mod report;
mod results;
mod seed;
mod servers;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};

use crate::report::Figures;
use crate::servers::{Running, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// A fresh device receives every record (fiche-core's real sync engine and sled store).
    Initial,
    /// Connected devices; edits at a steady rate; latency to every other interested device.
    Propagation,
    /// Server memory with many stored records and many connections.
    Memory,
    /// Edit rates doubled until p99 latency passes 100 ms.
    Throughput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Only {
    Fiche,
    Reference,
}

/// Benchmarks fiche-server side by side with the reference automerge-repo server (Node 20,
/// `Repo` + `NodeWSServerAdapter` + `NodeFSStorageAdapter`), both started here on loopback
/// ports with fresh data directories.
#[derive(Debug, Parser)]
#[command(name = "fiche-bench", version)]
struct Args {
    /// A small run of every scenario (CI keeps the benchmark working with it).
    #[arg(long)]
    quick: bool,
    /// Records a fresh device receives (initial sync).
    #[arg(long)]
    records: Option<usize>,
    /// Connected devices (propagation, throughput, memory); each record is shared by 10.
    #[arg(long)]
    devices: Option<usize>,
    /// Records stored on the server for the memory scenario.
    #[arg(long)]
    stored: Option<usize>,
    /// Edits per second in the propagation scenario.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of edits in the propagation scenario.
    #[arg(long)]
    seconds: Option<f64>,
    /// Seconds per rate of the throughput ramp.
    #[arg(long)]
    step_seconds: Option<f64>,
    /// Highest rate the throughput ramp tries.
    #[arg(long)]
    max_rate: Option<f64>,
    /// The scenarios to run (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Measure only one of the two servers.
    #[arg(long)]
    only: Option<Only>,
    /// Measure the server already running at this URL instead (no comparison).
    #[arg(long)]
    url: Option<String>,
    /// That server's process id, to read its memory.
    #[arg(long, requires = "url")]
    pid: Option<u32>,
    /// Write the results (date, machine, command, table, plots) to this Markdown file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Draw PNG plots of the latency distributions into this folder.
    #[arg(long)]
    plots: Option<PathBuf>,
}

/// The sizes of a run, with the defaults of a full or a quick one.
#[derive(Debug, Clone)]
pub struct Sizes {
    records: usize,
    devices: usize,
    stored: usize,
    rate: f64,
    seconds: f64,
    step_seconds: f64,
    max_rate: f64,
}

impl Sizes {
    fn of(args: &Args) -> Self {
        let q = args.quick;
        Self {
            records: args.records.unwrap_or(if q { 300 } else { 10_000 }),
            devices: args.devices.unwrap_or(if q { 50 } else { 1_000 }),
            stored: args.stored.unwrap_or(if q { 2_000 } else { 100_000 }),
            rate: args.rate,
            seconds: args.seconds.unwrap_or(if q { 2.0 } else { 10.0 }),
            step_seconds: args.step_seconds.unwrap_or(if q { 1.0 } else { 3.0 }),
            max_rate: args.max_rate.unwrap_or(if q { 400.0 } else { 25_600.0 }),
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let sizes = Sizes::of(&args);
    let scenarios = if args.scenarios.is_empty() {
        vec![
            Scenario::Initial,
            Scenario::Propagation,
            Scenario::Memory,
            Scenario::Throughput,
        ]
    } else {
        args.scenarios.clone()
    };
    let targets = match (&args.url, args.only) {
        (Some(url), _) => vec![Target::External {
            url: url.clone(),
            pid: args.pid,
        }],
        (None, Some(Only::Fiche)) => vec![Target::Fiche],
        (None, Some(Only::Reference)) => vec![Target::Reference],
        (None, None) => vec![Target::Fiche, Target::Reference],
    };
    let dir = tempfile::tempdir()?;
    let mut runs = Vec::new();
    for (n, target) in targets.iter().enumerate() {
        let figures = measure(target, &dir.path().join(n.to_string()), &sizes, &scenarios)?;
        runs.push((target.clone(), figures));
    }
    let none = Figures::default();
    let ours = runs
        .iter()
        .find(|(t, _)| *t != Target::Reference)
        .map_or(&none, |(_, f)| f);
    let theirs = runs
        .iter()
        .find(|(t, _)| *t == Target::Reference)
        .map_or(&none, |(_, f)| f);
    let rows = report::rows(ours, theirs);
    println!("\n{}", report::table(&rows));
    for (target, figures) in &runs {
        if !figures.throughput.is_empty() {
            println!("{}", report::steps(target.name(), figures));
        }
    }
    let series: Vec<(&str, &Figures)> = runs.iter().map(|(t, f)| (t.name(), f)).collect();
    let plots = match &args.plots {
        Some(dir) => plot::draw(dir, &series)?,
        None => Vec::new(),
    };
    for p in &plots {
        println!("plot: {}", p.display());
    }
    if let Some(path) = &args.report {
        results::write(path, &sizes, &rows, &series, &plots)?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// Runs the scenarios against one server, each on a fresh data directory.
fn measure(
    target: &Target,
    dir: &std::path::Path,
    sizes: &Sizes,
    scenarios: &[Scenario],
) -> Result<Figures> {
    let name = target.name();
    let mut figures = Figures::default();
    if scenarios.contains(&Scenario::Initial) {
        eprintln!("{name}: initial sync of {} records…", sizes.records);
        let initial = initial::run(target, &dir.join("initial"), sizes.records)?;
        if let Some(push) = initial.push {
            eprintln!("{name}:   pushed in {push:.2?}");
        }
        eprintln!(
            "{name}:   fresh device filled in {:.2?} ({} KiB in), again in {:.2?}, after a \
             restart {:.2?}",
            initial.fresh,
            initial.bytes_in / 1024,
            initial.again,
            initial.cold
        );
        figures.initial = Some(initial);
    }
    let propagation = scenarios.contains(&Scenario::Propagation);
    let throughput = scenarios.contains(&Scenario::Throughput);
    if propagation || throughput {
        let server = Running::start(target, &dir.join("fleet"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(async {
            eprintln!("{name}: connecting {} devices…", sizes.devices);
            let mut fleet = fleet::Fleet::gather(&server.url(), sizes.devices).await?;
            eprintln!("{name}:   connected in {:.2?}", fleet.gathered_in);
            let grace = Duration::from_secs(3);
            if propagation {
                let step = fleet.step(sizes.rate, sizes.seconds, grace).await?;
                eprintln!(
                    "{name}: propagation at {} edits/s: {}",
                    sizes.rate,
                    summary(&step)
                );
                figures.propagation = Some(step);
            }
            if throughput {
                figures.throughput = ramp(name, &mut fleet, sizes, grace).await?;
            }
            fleet.disperse().await
        })?;
        server.stop()?;
    }
    if scenarios.contains(&Scenario::Memory) {
        eprintln!(
            "{name}: memory with {} stored records and {} connections…",
            sizes.stored, sizes.devices
        );
        let held = memory::run(target, &dir.join("memory"), sizes.stored, sizes.devices)?;
        if let Some((took, peak)) = held.push {
            eprintln!(
                "{name}:   pushed in {took:.1?} (peak RSS {} MiB)",
                peak.peak >> 20
            );
        }
        eprintln!(
            "{name}:   RSS restarted {} MiB, with the connections {} MiB",
            held.started.rss >> 20,
            held.connected.rss >> 20
        );
        figures.memory = Some(held);
    }
    Ok(figures)
}

/// Doubles the edit rate from 50 per second until a step no longer keeps up, then tries half
/// way between the last good rate and the first bad one.
async fn ramp(
    name: &str,
    fleet: &mut fleet::Fleet,
    sizes: &Sizes,
    grace: Duration,
) -> Result<Vec<fleet::Step>> {
    let mut steps = Vec::new();
    let mut rate = 50.0;
    let mut good = None;
    while rate <= sizes.max_rate {
        let step = fleet.step(rate, sizes.step_seconds, grace).await?;
        eprintln!("{name}: throughput at {rate} edits/s: {}", summary(&step));
        let kept_up = report::sustains(&step);
        steps.push(step);
        if !kept_up {
            if let Some(good) = good {
                let mid: f64 = (good + rate) / 2.0;
                let step = fleet.step(mid.round(), sizes.step_seconds, grace).await?;
                eprintln!(
                    "{name}: throughput at {} edits/s: {}",
                    mid.round(),
                    summary(&step)
                );
                steps.push(step);
            }
            break;
        }
        good = Some(rate);
        rate *= 2.0;
    }
    Ok(steps)
}

fn summary(step: &fleet::Step) -> String {
    format!(
        "{} edits, {} of {} arrivals, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        step.edits,
        step.latencies.len(),
        step.expected,
        report::percentile(&step.latencies, 0.5),
        report::percentile(&step.latencies, 0.99),
        report::percentile(&step.latencies, 1.0)
    )
}
