//! Memory: the server's resident memory with many stored records and many connections. The
//! records are pushed through the protocol (fiche-server) or imported into the store by
//! automerge-repo itself (the reference, which takes hours to receive 100,000 through its
//! socket), the server is (re)started on its store (so what is measured is what it holds for
//! its connections, not what a burst of writes left behind), then every device fetches one
//! record and stays connected.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use automerge::Automerge;
use tokio::task::JoinSet;

use crate::peer::Peer;
use crate::seed;
use crate::servers::{Memory, Running, Target};

/// What the server held.
#[derive(Debug, Clone)]
pub struct Held {
    pub stored: usize,
    pub connections: usize,
    /// The time the push took, and the server's peak memory during it; `None` when the
    /// records were imported into the store instead.
    pub push: Option<(Duration, Memory)>,
    /// After the restart, before any connection: what the stored records cost alone.
    pub started: Memory,
    /// After the restart, with every connection open and its record fetched.
    pub connected: Memory,
}

/// Pushes `stored` records, restarts the server, connects `devices` devices that each fetch a
/// record, and reads the server's memory.
pub fn run(target: &Target, dir: &Path, stored: usize, devices: usize) -> Result<Held> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (ids, push) = if *target == Target::Reference {
        (seed::import(target, dir, stored, false)?, None)
    } else {
        let server = Running::start(target, dir)?;
        let pushed = runtime
            .block_on(seed::push(&server.url(), stored, false))
            .context("pushing the records")?;
        let pushing = server
            .memory()?
            .context("the server's process is unknown: give --pid")?;
        server.stop()?;
        (pushed.ids, Some((pushed.elapsed, pushing)))
    };

    let server = Running::start(target, dir)?;
    // Let it settle from its start (the reference loads lazily, fiche-server too).
    std::thread::sleep(Duration::from_secs(1));
    let started = server
        .memory()?
        .context("the server's process is unknown")?;
    let url = server.url();
    let peers = runtime
        .block_on(async {
            let mut tasks = JoinSet::new();
            for n in 0..devices {
                let (url, id) = (url.clone(), ids[n % ids.len()]);
                tasks.spawn(async move {
                    let mut peer = Peer::connect(&url, format!("bench-device-{n}")).await?;
                    peer.open(id, Automerge::new()).await?;
                    peer.settle(&[id]).await?;
                    anyhow::Ok(peer)
                });
            }
            let mut peers = Vec::new();
            while let Some(peer) = tasks.join_next().await {
                peers.push(peer??);
            }
            anyhow::Ok(peers)
        })
        .context("connecting the devices after the restart")?;
    // Let the server finish whatever the burst of connections started.
    std::thread::sleep(Duration::from_secs(1));
    let connected = server
        .memory()?
        .context("the server's process is unknown")?;
    runtime.block_on(async {
        for peer in peers {
            peer.leave().await;
        }
    });
    server.stop()?;
    Ok(Held {
        stored,
        connections: devices,
        push,
        started,
        connected,
    })
}
