//! How Rust values that Automerge has no direct type for are laid out in a document.
//!
//! - a set of strings is a map `{ "vip": true }`, so two devices adding different tags both keep theirs;
//! - notes are Automerge text, so two people typing in the same notes both keep their words.

/// `BTreeSet<String>` as a map from member to `true`.
pub mod set {
    use std::collections::{BTreeMap, BTreeSet};

    use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconcile, Reconciler};

    pub fn reconcile<R: Reconciler>(set: &BTreeSet<String>, reconciler: R) -> Result<(), R::Error> {
        let map: BTreeMap<&str, bool> = set.iter().map(|s| (s.as_str(), true)).collect();
        map.reconcile(reconciler)
    }

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<BTreeSet<String>, HydrateError> {
        let map: Option<BTreeMap<String, bool>> = Hydrate::hydrate(doc, obj, prop)?;
        Ok(map
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, present)| present.then_some(k))
            .collect())
    }
}

/// `String` as an Automerge text object, edited by diff so concurrent typing merges.
pub mod text {
    use autosurgeon::{Hydrate, HydrateError, Prop, ReadDoc, Reconciler};

    pub fn reconcile<R: Reconciler>(value: &str, mut reconciler: R) -> Result<(), R::Error> {
        use autosurgeon::reconcile::TextReconciler;
        let mut text = reconciler.text()?;
        text.update(value)
    }

    pub fn hydrate<D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<String, HydrateError> {
        let text: Option<autosurgeon::Text> = Hydrate::hydrate(doc, obj, prop)?;
        Ok(text.map(|t| t.as_str().to_string()).unwrap_or_default())
    }
}
