//! What no client may do to the real `fiche-server` process: hold its descriptors with silent
//! or slow sockets, guess enrolment codes past the slow-down, lock out the other clients
//! behind its address, keep unfinished uploads past the organisation's cap, or fetch the
//! files of records it may not see.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fiche_core::blob::BlobHash;
use fiche_core::Book;
use fiche_tests::{admin, device, sync_book, Server};

/// A member of `org` with `role`, and a one-time enrolment code for a device of theirs.
fn member(data: &Path, org: &str, name: &str, role: &str) -> (String, String) {
    let id = admin(data, &["member-add", org, name, "--role", role]).unwrap();
    let code = admin(data, &["device-enrol", &id]).unwrap();
    (id, code)
}

/// A secured server whose organisation `acme` has these members (name, role): the server and
/// each member's id and enrolment code.
fn acme(
    data: &Path,
    members: &[(&str, &str)],
    options: &[&str],
) -> (Server, Vec<(String, String)>) {
    admin(data, &["org-create", "acme", "--name", "Acme Travel"]).unwrap();
    let made = members
        .iter()
        .map(|(name, role)| member(data, "acme", name, role))
        .collect();
    (Server::start_secured(data, None, options).unwrap(), made)
}

/// `POST /api/enrol` with `code`: the status and the body.
fn enrol(server: &Server, code: &str) -> fiche_tests::Response {
    let body = serde_json::json!({ "code": code, "name": "test" }).to_string();
    let json = [("Content-Type", "application/json")];
    server
        .http("POST", "/api/enrol", &json, body.as_bytes(), None)
        .unwrap()
}

/// A device in `dir` enrolled with `code`, and its token.
fn enrolled(dir: &Path, server: &Server, code: &str) -> (Arc<Book>, String) {
    let book = device(dir);
    let url = server.url();
    let done = fiche_core::sync::enrol(&book, &url, code, "test device", None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let token = runtime.block_on(done).unwrap().token;
    (book, token)
}

/// `GET path` with a token.
fn get(server: &Server, path: &str, token: &str) -> u16 {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str())];
    server
        .http("GET", path, &headers, b"", None)
        .unwrap()
        .status
}

/// `GET /health` on a fresh connection, waiting at most `limit`: its status, if it answered.
fn health_within(port: u16, limit: Duration) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), limit).ok()?;
    s.set_read_timeout(Some(limit)).ok()?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the server closed `s` (end of stream or reset) within `limit`.
fn closed_within(mut s: &TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            // The reserve's 503, or the beginning of one: the close comes next.
            Ok(_) => continue,
            Err(e) => {
                return !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                )
            }
        }
    }
}

#[test]
fn silent_and_slow_header_sockets_neither_exhaust_descriptors_nor_stop_health() {
    let tmp = tempfile::tempdir().unwrap();
    // 256 descriptors: the server allows (256 - 64) / 2 = 96 connections, 6 of them reserve.
    let server = Server::start_wrapped(
        &["prlimit", "--nofile=256:256"],
        &tmp.path().join("server"),
        None,
        // The default header timeout: 15 s.
        &["--no-auth"],
    )
    .unwrap();
    let opened = Instant::now();
    let flood: Vec<TcpStream> = (0..600)
        .map(|n| {
            let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            if n % 2 == 1 {
                // A request head that never ends.
                let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            }
            s
        })
        .collect();
    // While the limit is reached (the first 90 stay open until their 15 s run out), /health
    // answers through the reserve once the reserve's own sockets (2 s) are gone.
    let mut answered = None;
    while answered.is_none() && opened.elapsed() < Duration::from_secs(12) {
        answered = health_within(server.port, Duration::from_secs(2))
            .filter(|s| *s == 200)
            .map(|_| opened.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    let answered = answered.expect("/health did not answer during the flood");
    assert!(answered < Duration::from_secs(12), "{answered:?}");
    let descriptors = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .count();
    assert!(descriptors < 200, "{descriptors} descriptors open");
    eprintln!("600 sockets: /health answered after {answered:?}, {descriptors} descriptors open");
    // Every socket of the flood is closed by the server: at once past the reserve, after the
    // header timeout otherwise.
    let still_open = flood
        .iter()
        .filter(|s| !closed_within(s, Duration::from_secs(30)))
        .count();
    assert_eq!(still_open, 0, "sockets of the flood still open");
    // The server serves as before.
    assert_eq!(
        health_within(server.port, Duration::from_secs(5)),
        Some(200)
    );
    let logs = server.kill().unwrap();
    assert!(!logs.contains("Too many open files"), "{logs}");
    let reached = logs.matches("connection limit reached").count();
    assert_eq!(reached, 1, "the limit is logged once per burst: {logs}");
    assert!(logs.contains("back under the connection limit"), "{logs}");
}

#[test]
fn a_good_code_does_not_reset_the_slow_down_of_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let (server, made) = acme(&data, &[("Carla", "staff")], &[]);
    let good = &made[0].1;
    let mut statuses: Vec<u16> = (0..4)
        .map(|n| enrol(&server, &format!("bad-{n}")).status)
        .collect();
    statuses.push(enrol(&server, good).status);
    statuses.extend((4..6).map(|n| enrol(&server, &format!("bad-{n}")).status));
    // Five failures, then a wait; the good code between them changes nothing.
    assert_eq!(statuses, [403, 403, 403, 403, 200, 403, 429]);
    // Guessing as fast as it can for 3 s: no code is even tried.
    let start = Instant::now();
    let mut tried = 0;
    let mut refused = 0;
    while start.elapsed() < Duration::from_secs(3) {
        match enrol(&server, "guess").status {
            429 => refused += 1,
            _ => tried += 1,
        }
    }
    assert_eq!(
        tried, 0,
        "{tried} codes tried after the burst ({refused} refused)"
    );
    assert!(refused > 10, "{refused}");
    eprintln!("3 s of guessing after the burst: {tried} codes tried, {refused} refused");
    let wait = enrol(&server, "guess");
    let retry: u64 = wait.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "Retry-After: {retry}");
}

#[test]
fn a_valid_token_behind_an_address_that_sent_bad_ones_still_gets_in() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let (server, made) = acme(&data, &[("Dora", "staff")], &[]);
    let (_, token) = enrolled(&tmp.path().join("d"), &server, &made[0].1);
    // Someone else behind the same address guesses tokens.
    let bad: Vec<u16> = (0..8)
        .map(|n| get(&server, "/api/clients", &format!("fiche_{n:064}")))
        .collect();
    assert_eq!(&bad[..5], &[401; 5]);
    assert!(bad[6..].iter().all(|s| *s == 429), "{bad:?}");
    // The valid token is let in, again and again, and the guesser stays slowed down.
    let good: Vec<u16> = (0..3)
        .map(|_| get(&server, "/api/clients", &token))
        .collect();
    assert_eq!(good, [200; 3]);
    assert_eq!(get(&server, "/api/clients", "fiche_guess"), 429);
}

/// A JPEG "photo" of `len` bytes.
fn photo(len: usize, marker: u8) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    bytes.extend((0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ marker));
    bytes
}

/// The first half of an upload of `bytes`: its status.
fn half_upload(server: &Server, token: &str, bytes: &[u8]) -> u16 {
    let hash = BlobHash::of(bytes).to_string();
    let half = bytes.len() / 2;
    let range = format!("bytes 0-{}/{}", half - 1, bytes.len());
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("Content-Range", &range)];
    let path = format!("/blobs/{hash}");
    let r = server.http("PUT", &path, &headers, &bytes[..half], None);
    r.unwrap().status
}

#[test]
fn unfinished_uploads_stop_at_the_organisations_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let caps = [
        "--max-unfinished-uploads-per-device",
        "3",
        "--max-unfinished-uploads-per-org",
        "4",
    ];
    let (server, made) = acme(&data, &[("Ana", "staff"), ("Bo", "staff")], &caps);
    let (_, a) = enrolled(&tmp.path().join("a"), &server, &made[0].1);
    let (_, b) = enrolled(&tmp.path().join("b"), &server, &made[1].1);
    let mut statuses: Vec<u16> = (0..4)
        .map(|n| half_upload(&server, &a, &photo(64 << 10, n)))
        .collect();
    statuses.extend((10..12).map(|n| half_upload(&server, &b, &photo(64 << 10, n))));
    // Device A: three, then 429; device B: the organisation's fourth, then 507.
    assert_eq!(statuses, [202, 202, 202, 429, 202, 507]);
    let shelf = std::fs::read_dir(data.join("fiche-blobs").join("orgs")).unwrap();
    let partial = shelf.flatten().next().unwrap().path().join("partial");
    assert_eq!(std::fs::read_dir(partial).unwrap().count(), 4);
}

#[test]
fn a_technician_gets_only_the_files_of_the_clients_assigned_to_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("server");
    let members = [("Mia", "manager"), ("Tom", "technician")];
    let (server, made) = acme(&data, &members, &[]);
    let tech = made[1].0.clone();
    let (mia, token_m) = enrolled(&tmp.path().join("m"), &server, &made[0].1);
    let (tom, token_t) = enrolled(&tmp.path().join("t"), &server, &made[1].1);
    let add_photo = |book: &Book, id: &fiche_core::DocumentId, marker: u8| {
        let file = tmp.path().join(format!("{marker}.jpg"));
        std::fs::write(&file, photo(4096, marker)).unwrap();
        let photo = book.add_file(&file).unwrap();
        let hash = photo.hash.clone();
        book.set_photo(id, photo).unwrap();
        hash
    };
    let client = |name: &str, manager: Option<&str>| {
        let mut client = fiche_core::model::Client::default();
        client.name.display = name.into();
        client.manager = manager.map(str::to_string);
        mia.create_client(client).unwrap().id
    };
    let with_photo = |name: &str, manager: Option<&str>, marker: u8| {
        add_photo(&mia, &client(name, manager), marker)
    };
    let assigned = with_photo("Assigned", Some(&tech), 1);
    let other = with_photo("Not Assigned", None, 2);
    assert_eq!(sync_book(&mia, &server.url()).uploaded, 2);

    let blob = |hash: &str| format!("/blobs/{hash}");
    assert_eq!(get(&server, &blob(&assigned), &token_t), 200);
    assert_eq!(get(&server, &blob(&other), &token_t), 404);
    // Other roles: every file of the organisation.
    assert_eq!(get(&server, &blob(&other), &token_m), 200);
    // A technician uploads what goes with their records only...
    let stray = photo(4096, 3);
    assert_eq!(half_upload(&server, &token_t, &stray), 403);
    // ...such as the photo they take on site for a client assigned to them.
    let on_site = client("On Site", Some(&tech));
    sync_book(&mia, &server.url());
    sync_book(&tom, &server.url());
    let walk_in = add_photo(&tom, &on_site, 4);
    assert_eq!(sync_book(&tom, &server.url()).uploaded, 1);
    assert_eq!(get(&server, &blob(&walk_in), &token_t), 200);
}
