//! Fiche's sync server. Empty for now: the automerge-repo WebSocket server arrives with the
//! "Sync" issue; until then devices keep their records in their own store (see `fiche-core`).
