//! History: who (member, device) changed what in a record, and when, read from the document's
//! own changes, so it travels with the record and merges with it.

use std::collections::BTreeSet;

use automerge::{Automerge, Prop};
use serde::Serialize;

use crate::record::Author;

/// One change of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// Hex hash of the Automerge change.
    pub change: String,
    /// Seconds since the Unix epoch, as the writing device's clock said.
    pub time: i64,
    /// Member id, or `unknown` for a change made by a peer that did not say.
    pub member: String,
    /// Device id (or the Automerge actor for a peer that did not say).
    pub device: String,
    pub action: String,
    /// The top-level fields and sub-records touched, e.g. `address.city`, `phones.<key>`.
    pub fields: Vec<String>,
}

/// The history of a document, oldest first.
pub fn of(doc: &Automerge) -> Vec<HistoryEntry> {
    doc.get_changes_meta(&[])
        .into_iter()
        .map(|meta| {
            let author = meta.message.as_deref().and_then(Author::from_message);
            let after = [meta.hash];
            let fields: BTreeSet<String> = doc
                .diff(&meta.deps, &after)
                .into_iter()
                .map(|patch| {
                    let mut parts: Vec<String> =
                        patch.path.iter().map(|(_, p)| prop_name(p)).collect();
                    if let Some(p) = patch_prop(&patch.action) {
                        parts.push(p);
                    }
                    // Keep two levels: `address.city`, `phones.<key>`, not every leaf.
                    parts.truncate(2);
                    parts.join(".")
                })
                .filter(|f| !f.is_empty() && f != "kind" && f != "schema")
                .collect();
            HistoryEntry {
                change: meta.hash.to_string(),
                time: meta.timestamp,
                member: author
                    .as_ref()
                    .map_or_else(|| "unknown".to_string(), |a| a.member.clone()),
                device: author
                    .as_ref()
                    .map_or_else(|| meta.actor.to_hex_string(), |a| a.device.clone()),
                action: author.map_or_else(|| "edit".to_string(), |a| a.action),
                fields: fields.into_iter().collect(),
            }
        })
        .collect()
}

fn prop_name(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.to_string(),
        Prop::Seq(i) => i.to_string(),
    }
}

fn patch_prop(action: &automerge::PatchAction) -> Option<String> {
    use automerge::PatchAction as A;
    match action {
        A::PutMap { key, .. } | A::DeleteMap { key } => Some(key.to_string()),
        A::Increment { prop, .. } | A::Conflict { prop } => Some(prop_name(prop)),
        _ => None,
    }
}
