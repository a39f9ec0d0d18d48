//! Fiche's mobile bindings. Empty for now: the uniffi exports arrive with the "Mobile" issue.
