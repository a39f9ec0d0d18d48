//! The audit log: one entry per administrative action (and per enrolment), kept in the store
//! under `["_audit", time]`, written in the same atomic write as the action itself.

use std::sync::atomic::{AtomicU32, Ordering};

use fiche_core::key;
use fiche_core::store::{Store, StoreError, Write};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// Who did it: the administrator (`admin-cli as USER`) or the device.
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The write that logs one action.
pub fn entry(actor: &str, action: &str, detail: &str) -> Write {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    // Zero-padded so that key order is time order.
    let key = key!["_audit", format!("{:020}{:06}", now.as_nanos(), seq)];
    let e = AuditEntry {
        at: now.as_secs() as i64,
        actor: actor.to_string(),
        action: action.to_string(),
        detail: detail.to_string(),
    };
    Write::Put(key, serde_json::to_vec(&e).unwrap_or_default())
}

/// The last `limit` entries, oldest first.
pub fn last(store: &dyn Store, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
    let all = store.scan(&key!["_audit"])?;
    let skip = all.len().saturating_sub(limit);
    Ok(all
        .into_iter()
        .skip(skip)
        .filter_map(|(_, v)| serde_json::from_slice(&v).ok())
        .collect())
}
