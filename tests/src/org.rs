//! Organisations on a secured server, for the tests of who sees and changes what: members
//! added with the admin command, devices enrolled with their one-time codes. Its functions
//! panic on failure: they are test helpers.

use std::path::Path;
use std::sync::Arc;

use fiche_core::Book;

use crate::{admin, device, Server};

/// A member of `org` with `role`, and a one-time enrolment code for a device of theirs.
pub fn member(data: &Path, org: &str, name: &str, role: &str) -> (String, String) {
    let id = admin(data, &["member-add", org, name, "--role", role]).expect("member-add failed");
    let code = admin(data, &["device-enrol", &id]).expect("device-enrol failed");
    (id, code)
}

/// A runtime for one async step of a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("no runtime")
}

/// A device in `dir` enrolled with `code`; returns it and its token.
pub fn enrolled(dir: &Path, server: &Server, code: &str) -> (Arc<Book>, String) {
    let book = device(dir);
    let url = server.url();
    let done = fiche_core::sync::enrol(&book, &url, code, "test device", None);
    let enrolled = runtime().block_on(done).expect("enrolment failed");
    (book, enrolled.token)
}

/// A client record with this display name and nothing else.
pub fn named(display: &str) -> fiche_core::model::Client {
    let mut client = fiche_core::model::Client::default();
    client.name.display = display.to_string();
    client
}

/// The names of the clients a device holds, sorted.
pub fn names(book: &Book) -> Vec<String> {
    let mut names: Vec<String> = book
        .list(&Default::default(), Default::default())
        .into_iter()
        .map(|s| s.name)
        .collect();
    names.sort();
    names
}
