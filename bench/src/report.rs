//! The figures of a run, side by side: the table printed at the end, and `bench/RESULTS.md`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::fleet::Step;
use crate::initial::Initial;
use crate::memory::Held;

/// p99 latency above which a rate is no longer sustained.
pub const SUSTAINED_P99: Duration = Duration::from_millis(100);

/// Everything measured against one server.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub initial: Option<Initial>,
    pub propagation: Option<Step>,
    pub throughput: Vec<Step>,
    pub memory: Option<Held>,
}

impl Figures {
    /// The highest rate whose step kept p99 within [`SUSTAINED_P99`] and lost nothing.
    pub fn sustained(&self) -> Option<f64> {
        self.throughput
            .iter()
            .filter(|s| sustains(s))
            .map(|s| s.rate)
            .reduce(f64::max)
    }
}

/// Whether a step kept up.
pub fn sustains(step: &Step) -> bool {
    step.lost() == 0 && percentile(&step.latencies, 0.99) <= SUSTAINED_P99
}

/// The `p`-quantile of latencies (nearest rank), zero when there are none.
pub fn percentile(latencies: &[Duration], p: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// One line of the table: a figure for both servers, and which way is better.
pub struct Row {
    pub scenario: String,
    pub metric: &'static str,
    pub ours: Option<f64>,
    pub theirs: Option<f64>,
    pub unit: &'static str,
    pub lower_is_better: bool,
    /// The goal for fiche-server's figure, if it has one.
    pub goal: Option<f64>,
}

impl Row {
    /// How many times better fiche-server did (above 1: better).
    pub fn ratio(&self) -> Option<f64> {
        let (ours, theirs) = (self.ours?, self.theirs?);
        let ratio = if self.lower_is_better {
            theirs / ours
        } else {
            ours / theirs
        };
        ratio.is_finite().then_some(ratio)
    }

    /// Whether the goal (absolute, and 5× the reference when it was measured) is met.
    pub fn met(&self) -> Option<bool> {
        let goal = self.goal?;
        let ours = self.ours?;
        let absolute = if self.lower_is_better {
            ours <= goal
        } else {
            ours >= goal
        };
        Some(absolute && self.ratio().is_none_or(|r| r >= 5.0))
    }

    fn goal_text(&self) -> String {
        match self.goal {
            Some(0.0) => "5× ref".into(),
            Some(g) => format!(
                "{} {} {}, 5× ref",
                if self.lower_is_better { "≤" } else { "≥" },
                number(g),
                self.unit
            ),
            None => String::new(),
        }
    }
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(v: Option<f64>, unit: &str) -> String {
    v.map(|v| format!("{} {unit}", number(v)))
        .unwrap_or_else(|| "—".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The rows comparing two runs (either may be missing).
pub fn rows(ours: &Figures, theirs: &Figures) -> Vec<Row> {
    let mut rows = Vec::new();
    let both = |f: &dyn Fn(&Figures) -> Option<f64>| (f(ours), f(theirs));
    let mut row = |scenario: String,
                   metric: &'static str,
                   (o, t): (Option<f64>, Option<f64>),
                   unit: &'static str,
                   lower_is_better: bool,
                   goal: Option<f64>| {
        rows.push(Row {
            scenario,
            metric,
            ours: o,
            theirs: t,
            unit,
            lower_is_better,
            goal,
        })
    };
    if let Some(i) = ours.initial.as_ref().or(theirs.initial.as_ref()) {
        let s = format!("initial sync, {} records", i.records);
        row(
            s.clone(),
            "fresh device filled",
            both(&|f| f.initial.as_ref().map(|i| i.fresh.as_secs_f64())),
            "s",
            true,
            Some(1.0),
        );
        row(
            s.clone(),
            "first push (device A)",
            both(&|f| f.initial.as_ref().and_then(|i| Some(i.push?.as_secs_f64()))),
            "s",
            true,
            None,
        );
        row(
            s.clone(),
            "records the fresh device got",
            both(&|f| f.initial.as_ref().map(|i| i.fresh_records as f64)),
            "",
            false,
            None,
        );
        row(
            s.clone(),
            "records the device after a restart got",
            both(&|f| f.initial.as_ref().map(|i| i.cold_records as f64)),
            "",
            false,
            None,
        );
        row(
            s.clone(),
            "fresh device, server just restarted",
            both(&|f| f.initial.as_ref().map(|i| i.cold.as_secs_f64())),
            "s",
            true,
            None,
        );
        row(
            s.clone(),
            "fresh device again, nothing new",
            both(&|f| f.initial.as_ref().map(|i| i.again.as_secs_f64())),
            "s",
            true,
            None,
        );
        row(
            s,
            "bytes exchanged by that sync",
            both(&|f| f.initial.as_ref().map(|i| i.again_bytes as f64 / 1024.0)),
            "KiB",
            true,
            None,
        );
    }
    if let Some(p) = ours.propagation.as_ref().or(theirs.propagation.as_ref()) {
        let s = format!("propagation, {:.0} edits/s", p.rate);
        let q = |p: f64| {
            both(&|f| {
                f.propagation
                    .as_ref()
                    .map(|s| ms(percentile(&s.latencies, p)))
            })
        };
        row(s.clone(), "p50", q(0.5), "ms", true, None);
        row(s.clone(), "p99", q(0.99), "ms", true, Some(10.0));
        row(s.clone(), "max", q(1.0), "ms", true, None);
        row(
            s,
            "lost arrivals",
            both(&|f| f.propagation.as_ref().map(|s| s.lost() as f64)),
            "",
            true,
            None,
        );
    }
    if let Some(m) = ours.memory.as_ref().or(theirs.memory.as_ref()) {
        let s = format!(
            "memory, {} records, {} connections",
            m.stored, m.connections
        );
        row(
            s.clone(),
            "server RSS",
            both(&|f| f.memory.as_ref().map(|m| mib(m.connected.rss))),
            "MiB",
            true,
            Some(300.0),
        );
        row(
            s.clone(),
            "server RSS, restarted, no connection yet",
            both(&|f| f.memory.as_ref().map(|m| mib(m.started.rss))),
            "MiB",
            true,
            None,
        );
        row(
            s.clone(),
            "peak RSS while pushing",
            both(&|f| f.memory.as_ref().and_then(|m| Some(mib(m.push?.1.peak)))),
            "MiB",
            true,
            None,
        );
        row(
            s,
            "push time",
            both(&|f| {
                f.memory
                    .as_ref()
                    .and_then(|m| Some(m.push?.0.as_secs_f64()))
            }),
            "s",
            true,
            None,
        );
    }
    if !ours.throughput.is_empty() || !theirs.throughput.is_empty() {
        row(
            "throughput".into(),
            "edits/s with p99 ≤ 100 ms",
            both(&|f| f.sustained()),
            "/s",
            false,
            Some(0.0),
        );
    }
    rows
}

/// The table as Markdown (it reads as plain text too).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | metric | fiche-server | reference | ratio | goal | met |\n|---|---|---:|---:|---:|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.metric,
            cell(r.ours, r.unit),
            cell(r.theirs, r.unit),
            r.ratio()
                .map(|x| format!("{}×", number(x)))
                .unwrap_or_else(|| "—".into()),
            r.goal_text(),
            match r.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            }
        );
    }
    out
}

/// Every throughput step of a run, as Markdown.
pub fn steps(name: &str, figures: &Figures) -> String {
    let mut out = format!(
        "\n{name}:\n\n| rate (edits/s) | edits | arrivals | lost | p50 | p99 | max | sustained |\n|---:|---:|---:|---:|---:|---:|---:|---|\n"
    );
    for s in &figures.throughput {
        let _ = writeln!(
            out,
            "| {:.0} | {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            s.rate,
            s.edits,
            s.latencies.len(),
            s.lost(),
            ms(percentile(&s.latencies, 0.5)),
            ms(percentile(&s.latencies, 0.99)),
            ms(percentile(&s.latencies, 1.0)),
            if sustains(s) { "yes" } else { "no" }
        );
    }
    out
}
