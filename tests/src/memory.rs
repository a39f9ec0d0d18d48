//! The resident memory of a process, read from `/proc/PID/status`: what the benchmarks report.

use anyhow::{Context, Result};

/// Resident memory of a process, now and at its peak, in bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
}

impl Memory {
    /// Of the process `pid`.
    pub fn of(pid: u32) -> Result<Self> {
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let field = |name: &str| -> Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("{path} has no {name}"))?;
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("cannot read {line:?}"))?;
            Ok(kib * 1024)
        };
        Ok(Self {
            rss: field("VmRSS:")?,
            peak: field("VmHWM:")?,
        })
    }

    /// Of this process.
    pub fn own() -> Result<Self> {
        Self::of(std::process::id())
    }
}
