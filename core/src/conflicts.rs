//! Conflicts: fields that two devices wrote concurrently. Automerge picks a winner
//! deterministically; the other values stay visible here until someone picks one.

use automerge::transaction::Transactable;
use automerge::{hydrate, Automerge, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::Serialize;

use crate::error::{Error, Result};

/// One field with concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    /// Dotted path, e.g. `address.city` or `phones.<key>.number`.
    pub path: String,
    /// The value the document shows now.
    pub winner: serde_json::Value,
    /// The values that lost, in a stable order; pick one by its position (1 = first loser).
    pub others: Vec<serde_json::Value>,
}

/// Renders a document value as JSON (objects recursively, text as a string).
pub fn to_json(doc: &Automerge, value: &Value<'_>, id: &ObjId) -> serde_json::Value {
    match value {
        Value::Scalar(s) => scalar_json(s),
        Value::Object(_) => ReadDoc::hydrate(doc, id, None)
            .map(|v| hydrated_json(&v))
            .unwrap_or_default(),
    }
}

fn scalar_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    match s {
        ScalarValue::Str(s) => J::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => J::from(*i),
        ScalarValue::Uint(u) => J::from(*u),
        ScalarValue::F64(f) => J::from(*f),
        ScalarValue::Counter(c) => J::from(i64::from(c)),
        ScalarValue::Boolean(b) => J::Bool(*b),
        ScalarValue::Bytes(b) => J::Array(b.iter().map(|x| J::from(*x)).collect()),
        ScalarValue::Unknown { .. } | ScalarValue::Null => J::Null,
    }
}

fn hydrated_json(v: &hydrate::Value) -> serde_json::Value {
    match v {
        hydrate::Value::Scalar(s) => scalar_json(s),
        hydrate::Value::Text(t) => serde_json::Value::String(String::from(t)),
        hydrate::Value::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, mv)| (k.clone(), hydrated_json(&mv.value)))
                .collect(),
        ),
        hydrate::Value::List(l) => {
            serde_json::Value::Array(l.iter().map(|lv| hydrated_json(&lv.value)).collect())
        }
    }
}

/// Every conflicted field of the document, in path order.
pub fn list(doc: &Automerge) -> Vec<Conflict> {
    let mut out = Vec::new();
    if linear(doc) {
        return out;
    }
    walk(doc, &ROOT, String::new(), &mut out);
    out
}

/// Whether the history is one chain of changes (one root, one head, one parent each): then no
/// two writes were concurrent and there can be no conflict, so the walk is skipped.
fn linear(doc: &Automerge) -> bool {
    if doc.get_heads().len() > 1 {
        return false;
    }
    let mut roots = 0;
    for change in doc.get_changes_meta(&[]) {
        match change.deps.len() {
            0 => roots += 1,
            1 => {}
            _ => return false,
        }
    }
    roots <= 1
}

fn walk(doc: &Automerge, obj: &ObjId, prefix: String, out: &mut Vec<Conflict>) {
    let keys: Vec<String> = doc.keys(obj).collect();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Ok(all) = doc.get_all(obj, key.as_str()) else {
            continue;
        };
        let Ok(Some((winner, winner_id))) = doc.get(obj, key.as_str()) else {
            continue;
        };
        if all.len() > 1 {
            let winner_json = to_json(doc, &winner, &winner_id);
            let others: Vec<_> = all
                .iter()
                .filter(|(_, id)| *id != winner_id)
                .map(|(v, id)| to_json(doc, v, id))
                .collect();
            // Two devices writing the same value is agreement, not a conflict.
            if others.iter().any(|o| *o != winner_json) {
                out.push(Conflict {
                    path: path.clone(),
                    winner: winner_json,
                    others,
                });
            }
        }
        if matches!(winner, Value::Object(ObjType::Map | ObjType::Table)) {
            walk(doc, &winner_id, path, out);
        }
    }
}

/// Settles the conflict at `path` by writing the value picked (0 = keep the winner, n = the
/// n-th other value) over all of them.
pub fn resolve<T: Transactable + ReadDoc>(tx: &mut T, path: &str, pick: usize) -> Result<()> {
    let mut obj = ROOT;
    let parts: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return Err(Error::NoConflict(path.to_string()));
    };
    for part in parents {
        match tx.get(&obj, *part)? {
            Some((Value::Object(ObjType::Map | ObjType::Table), id)) => obj = id,
            _ => return Err(Error::NoConflict(path.to_string())),
        }
    }
    let all = tx.get_all(&obj, *last)?;
    let winner = tx.get(&obj, *last)?;
    let (Some((_, winner_id)), true) = (winner, all.len() > 1) else {
        return Err(Error::NoConflict(path.to_string()));
    };
    let mut ordered: Vec<_> = all.iter().filter(|(_, id)| *id == winner_id).collect();
    ordered.extend(all.iter().filter(|(_, id)| *id != winner_id));
    let Some((value, id)) = ordered.get(pick) else {
        return Err(Error::NoConflict(format!(
            "{path} (there are {} values; pick 0 to {})",
            ordered.len(),
            ordered.len() - 1
        )));
    };
    match value {
        Value::Scalar(s) => tx.put(&obj, *last, s.as_ref().clone())?,
        Value::Object(ObjType::Text) => {
            let text = tx.text(id)?;
            let new = tx.put_object(&obj, *last, ObjType::Text)?;
            tx.splice_text(&new, 0, 0, &text)?;
        }
        Value::Object(_) => {
            let tree = tx.hydrate(id, None)?;
            tx.batch_create_object(&obj, *last, &tree, false)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;

    #[test]
    fn a_conflict_under_a_single_head_is_still_found() {
        let mut a = Automerge::new().with_actor(ActorId::random());
        let mut tx = a.transaction();
        tx.put(ROOT, "city", "Lyon").unwrap();
        tx.commit();
        assert!(linear(&a) && list(&a).is_empty());
        let mut b = a.fork().with_actor(ActorId::random());
        for (doc, city) in [(&mut a, "Paris"), (&mut b, "Nice")] {
            let mut tx = doc.transaction();
            tx.put(ROOT, "city", city).unwrap();
            tx.commit();
        }
        a.merge(&mut b).unwrap();
        // A later change on top leaves one head, yet the history forked.
        let mut tx = a.transaction();
        tx.put(ROOT, "name", "Dupont").unwrap();
        tx.commit();
        assert_eq!(a.get_heads().len(), 1);
        assert!(!linear(&a));
        assert_eq!(list(&a).len(), 1);
    }
}
