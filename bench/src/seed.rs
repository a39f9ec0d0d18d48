//! Filling a server with records. Through the protocol, as devices would: one connection
//! pushes documents with a window of them in flight, each done once the server's sync state
//! shows it holds the document's heads. Or, for the reference, which cannot take 10,000 that
//! way (its event loop stalls for minutes and devices drop), into its store by automerge-repo
//! itself (`peer.mjs import`), with no server running.

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fiche_core::{directory, DocumentId};

use crate::peer::Peer;
use crate::records;
use crate::servers::{self, Target};

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

/// Makes `count` benchmark clients and has automerge-repo import them into the store `target`
/// will be started on under `dir` (with, when `listed`, a directory listing them all, as a
/// device would have made); returns their ids.
pub fn import(target: &Target, dir: &Path, count: usize, listed: bool) -> Result<Vec<DocumentId>> {
    let started = Instant::now();
    let ids: Vec<DocumentId> = (0..count).map(|_| DocumentId::random()).collect();
    let numbered: Vec<(usize, DocumentId)> = ids.iter().copied().enumerate().collect();
    let mut docs = fiche_core::par::map(numbered, |(i, id)| {
        records::document(i).map(|d| (id, d.save()))
    })
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    if listed {
        let mut dir_doc = directory::create(automerge::ActorId::random())?;
        let entries = ids.iter().map(|id| (*id, "client".to_string()));
        directory::add(&mut dir_doc, entries, "list")?;
        docs.push((directory::directory_id(), dir_doc.save()));
    }
    let mut bytes = Vec::new();
    for (id, doc) in docs {
        let id = id.to_string();
        bytes.extend_from_slice(&u32::try_from(id.len())?.to_le_bytes());
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&u32::try_from(doc.len())?.to_le_bytes());
        bytes.extend_from_slice(&doc);
    }
    std::fs::create_dir_all(dir)?;
    let file = dir.join("records.bin");
    std::fs::write(&file, bytes)?;
    let store = servers::data_dir(target, dir);
    let (store, file) = (store.to_string_lossy(), file.to_string_lossy());
    let out = fiche_tests::js_ok(&["import", "--dir", &store, "--file", &file, "--timeout", "0"])
        .context("importing the records into the reference's store")?;
    eprintln!("  {} in {:.1?}", out.trim(), started.elapsed());
    Ok(ids)
}
