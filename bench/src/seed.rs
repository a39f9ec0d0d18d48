//! Filling a server with records through the protocol, as devices would: one connection
//! pushes documents with a window of them in flight, each done once the server's sync state
//! shows it holds the document's heads.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use fiche_core::DocumentId;

use crate::peer::Peer;
use crate::records;

/// Documents in flight at once.
const WINDOW: usize = 256;

/// What a push took.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The documents, in order, with their saved bytes when asked to keep them.
    pub ids: Vec<DocumentId>,
    pub saved: Vec<Vec<u8>>,
    pub elapsed: Duration,
}

/// Pushes `count` benchmark clients to the server at `url`; keeps their bytes when `keep`
/// (for peers that start with a copy). Prints progress every tenth of the way.
pub async fn push(url: &str, count: usize, keep: bool) -> Result<Pushed> {
    let started = Instant::now();
    let mut peer = Peer::connect(url, format!("bench-seeder-{}", DocumentId::random())).await?;
    let mut ids = Vec::with_capacity(count);
    let mut saved = Vec::new();
    let mut flying = HashSet::new();
    let mut done = 0;
    let tenth = (count / 10).max(1);
    while done < count {
        while flying.len() < WINDOW && ids.len() < count {
            let id = DocumentId::random();
            peer.open(id, records::document(ids.len())?).await?;
            ids.push(id);
            flying.insert(id);
        }
        let got = peer.receive().await?;
        if let Some(id) = got.unavailable.first() {
            anyhow::bail!("the server refused {id}");
        }
        let Some(id) = got
            .about
            .filter(|id| flying.contains(id) && peer.in_step(id))
        else {
            continue;
        };
        flying.remove(&id);
        if keep {
            saved.push((id, peer.docs.get_mut(&id).map(|d| d.save())));
        }
        peer.close(&id);
        done += 1;
        if done % tenth == 0 && count >= 10_000 {
            eprintln!("  pushed {done} of {count} in {:.1?}", started.elapsed());
        }
    }
    peer.leave().await;
    // Keep the bytes in push order, whatever order the server answered in.
    let mut saved_in_order = Vec::new();
    if keep {
        let mut by_id: std::collections::HashMap<_, _> = saved.into_iter().collect();
        for id in &ids {
            saved_in_order.push(by_id.remove(id).flatten().unwrap_or_default());
        }
    }
    Ok(Pushed {
        ids,
        saved: saved_in_order,
        elapsed: started.elapsed(),
    })
}
