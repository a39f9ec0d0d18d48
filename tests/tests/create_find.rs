//! A record asked for the moment another client created it is not "unavailable": the official
//! automerge-repo client (`tests/js/create_find.mjs`) creates a document on one connection and
//! finds it at once on another, through `fiche-server` with device tokens, while a peer of
//! another organisation asks for the same id and gets nothing of it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Instant;

use fiche_tests::{admin, root, Server};

/// A device token for a new member of `org`, through `/api/enrol`.
fn token(server: &Server, data: &Path, org: &str, name: &str) -> String {
    let member = admin(data, &["member-add", org, name, "--role", "staff"]).unwrap();
    let code = admin(data, &["device-enrol", &member]).unwrap();
    let body = serde_json::json!({ "code": code, "name": name }).to_string();
    let headers = [("Content-Type", "application/json")];
    let answer = server
        .http("POST", "/api/enrol", &headers, body.as_bytes(), None)
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let enrolled: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    enrolled["token"].as_str().unwrap().to_string()
}

/// How many create-then-find runs: 100 by default, `FICHE_CREATE_FIND_RUNS` to change it.
fn runs() -> String {
    std::env::var("FICHE_CREATE_FIND_RUNS").unwrap_or_else(|_| "100".into())
}

#[test]
fn a_record_found_right_after_it_was_created_is_there_and_only_for_its_organisation() {
    let js = root().join("tests/js");
    assert!(
        js.join("node_modules/@automerge/automerge-repo").exists(),
        "run npm ci --prefix tests/js"
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    admin(&data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    admin(&data, &["org-create", "beta", "--name", "Beta Heating"]).unwrap();
    let server = Server::start_secured(&data, None, &[]).unwrap();
    let url = |token: &str| format!("{}/?token={token}", server.url());
    let (a, b) = (
        token(&server, &data, "acme", "Anne"),
        token(&server, &data, "acme", "Bruno"),
    );
    let other = token(&server, &data, "beta", "Eve");
    let runs = runs();
    let started = Instant::now();
    let out = std::process::Command::new("node")
        .arg(js.join("create_find.mjs"))
        .args(["--a", &url(&a), "--b", &url(&b), "--other", &url(&other)])
        .args(["--runs", &runs])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    println!("{report} in {:?}", started.elapsed());
    let runs: u64 = runs.parse().unwrap();
    assert_eq!(report["found"], runs, "{report}");
    assert_eq!(report["otherGot"], 0, "{report}");
}
