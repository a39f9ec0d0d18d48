//! Many simulated devices connected at once, each syncing one client record with the others
//! that share it; edits are issued at a steady rate and every arrival at another interested
//! device is timed (from the moment the edit was issued to the moment the receiving device
//! applied it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use automerge::{Automerge, ChangeHash, ReadDoc};
use fiche_core::DocumentId;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::peer::Peer;
use crate::seed;

/// Devices that share each record (so an edit reaches this many minus one others).
pub const SHARING: usize = 10;

/// Connections opened at once while the fleet gathers.
const CONNECTING: usize = 64;

/// An edit issued to a device.
#[derive(Debug, Clone, Copy)]
struct Order {
    n: u64,
    step: u32,
    at: Instant,
}

/// An edit made, as the receivers look for it.
#[derive(Debug, Clone, Copy)]
struct Made {
    hash: ChangeHash,
    by: usize,
    step: u32,
    at: Instant,
}

/// Every edit made, per document, in the order made.
#[derive(Default)]
struct Log(Mutex<HashMap<DocumentId, Vec<Made>>>);

impl Log {
    fn push(&self, id: DocumentId, made: Made) {
        if let Ok(mut log) = self.0.lock() {
            log.entry(id).or_default().push(made);
        }
    }

    /// The edits of `id` from `cursor` on, moving the cursor past them.
    fn since(&self, id: &DocumentId, cursor: &mut usize) -> Vec<Made> {
        let Ok(log) = self.0.lock() else {
            return Vec::new();
        };
        let made = log
            .get(id)
            .map(|v| v[*cursor..].to_vec())
            .unwrap_or_default();
        *cursor += made.len();
        made
    }
}

/// The latencies of one step of edits.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub rate: f64,
    pub edits: u64,
    /// Arrivals expected (each edit at every other device sharing its record).
    pub expected: u64,
    pub latencies: Vec<Duration>,
}

impl Step {
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.latencies.len() as u64)
    }
}

/// A connected fleet of devices.
pub struct Fleet {
    orders: Vec<mpsc::UnboundedSender<Order>>,
    arrivals: mpsc::UnboundedReceiver<(u32, Duration)>,
    tasks: JoinSet<Result<()>>,
    records: usize,
    next: u64,
    steps: u32,
    /// How long the fleet took to seed its records and connect.
    pub gathered_in: Duration,
}

impl Fleet {
    /// Pushes `devices / SHARING` records to the server, then connects `devices` devices, each
    /// syncing one of them; returns once every device is in step with the server.
    pub async fn gather(url: &str, devices: usize) -> Result<Self> {
        let started = Instant::now();
        let records = devices.div_ceil(SHARING).max(1);
        let pushed = seed::push(url, records, true).await?;
        let log = Arc::new(Log::default());
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let (ready_tx, mut ready) = mpsc::unbounded_channel::<()>();
        let gate = Arc::new(Semaphore::new(CONNECTING));
        let mut tasks = JoinSet::new();
        let mut orders = Vec::new();
        for device in 0..devices {
            let (order_tx, order_rx) = mpsc::unbounded_channel();
            orders.push(order_tx);
            let id = pushed.ids[device % records];
            let doc = Automerge::load(&pushed.saved[device % records])?;
            let task = Device {
                index: device,
                id,
                log: log.clone(),
                arrived: arrived.clone(),
            };
            let (url, gate, ready) = (url.to_string(), gate.clone(), ready_tx.clone());
            tasks.spawn(async move {
                let permit = gate.acquire_owned().await?;
                let mut peer = Peer::connect(&url, format!("bench-device-{device}")).await?;
                peer.open(id, doc).await?;
                peer.settle(&[id]).await?;
                drop(permit);
                let _ = ready.send(());
                task.run(peer, order_rx).await
            });
        }
        for n in 0..devices {
            tokio::select! {
                r = ready.recv() => { r.context("the devices stopped")?; }
                Some(failed) = tasks.join_next() => {
                    failed??;
                    anyhow::bail!("a device stopped after {n} were ready");
                }
            }
        }
        Ok(Self {
            orders,
            arrivals,
            tasks,
            records,
            next: 0,
            steps: 0,
            gathered_in: started.elapsed(),
        })
    }

    /// Issues edits at `rate` per second for `seconds`, spread over the devices, then waits
    /// (at most `grace`) for every arrival.
    pub async fn step(&mut self, rate: f64, seconds: f64, grace: Duration) -> Result<Step> {
        self.steps += 1;
        let step = self.steps;
        let total = (rate * seconds).round().max(1.0) as u64;
        let devices = self.orders.len();
        let mut result = Step {
            rate,
            ..Step::default()
        };
        let started = Instant::now();
        while result.edits < total {
            let due = ((started.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
            while result.edits < due {
                self.next += 1;
                let device = (self.next * 7919) as usize % devices;
                let order = Order {
                    n: self.next,
                    step,
                    at: Instant::now(),
                };
                self.orders[device]
                    .send(order)
                    .context("a device stopped")?;
                result.edits += 1;
                result.expected += self.sharing(device) as u64 - 1;
            }
            self.collect(step, &mut result, Duration::from_millis(1))
                .await?;
        }
        let deadline = Instant::now() + grace;
        while (result.latencies.len() as u64) < result.expected && Instant::now() < deadline {
            self.collect(step, &mut result, Duration::from_millis(20))
                .await?;
        }
        Ok(result)
    }

    /// How many devices share the record of `device`.
    fn sharing(&self, device: usize) -> usize {
        let devices = self.orders.len();
        let record = device % self.records;
        (devices - record).div_ceil(self.records)
    }

    /// Gathers arrivals for up to `wait`.
    async fn collect(&mut self, step: u32, into: &mut Step, wait: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                got = self.arrivals.recv() => {
                    let (s, latency) = got.context("every device stopped")?;
                    if s == step {
                        into.latencies.push(latency);
                    }
                }
                Some(failed) = self.tasks.join_next() => {
                    failed??;
                    anyhow::bail!("a device stopped");
                }
                _ = tokio::time::sleep_until(deadline) => return Ok(()),
            }
        }
    }

    /// Disconnects every device.
    pub async fn disperse(mut self) -> Result<()> {
        self.orders.clear();
        while let Some(done) = self.tasks.join_next().await {
            done??;
        }
        Ok(())
    }
}

/// One device's loop: carry out edits, apply what arrives, time the others' edits.
struct Device {
    index: usize,
    id: DocumentId,
    log: Arc<Log>,
    arrived: mpsc::UnboundedSender<(u32, Duration)>,
}

impl Device {
    async fn run(self, mut peer: Peer, mut orders: mpsc::UnboundedReceiver<Order>) -> Result<()> {
        let mut cursor = 0;
        let mut pending: Vec<Made> = Vec::new();
        loop {
            tokio::select! {
                order = orders.recv() => {
                    let Some(order) = order else { break };
                    let hash = peer.edit(&self.id, order.n)?;
                    self.log.push(self.id, Made { hash, by: self.index, step: order.step, at: order.at });
                    peer.announce(&self.id).await?;
                }
                got = peer.receive() => {
                    let got = got?;
                    let now = Instant::now();
                    if !got.changed.contains(&self.id) {
                        continue;
                    }
                    pending.extend(self.log.since(&self.id, &mut cursor).into_iter().filter(|m| m.by != self.index));
                    let doc = peer.docs.get(&self.id).context("the record went away")?;
                    pending.retain(|m| {
                        let here = doc.get_change_by_hash(&m.hash).is_some();
                        if here {
                            let _ = self.arrived.send((m.step, now - m.at));
                        }
                        !here
                    });
                }
            }
        }
        peer.leave().await;
        Ok(())
    }
}
