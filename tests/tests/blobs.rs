//! Photos and attached files against the real `fiche-server`: offline capture reaching another
//! device, uploads cut and resumed, refused uploads, content stored once.

use std::path::Path;

use anyhow::{Context, Result};
use fiche_core::blob::transfer::{Transfer, UPLOAD_PIECE};
use fiche_core::blob::BlobHash;
use fiche_tests::{fiche, sync, Server};

/// A "photo": a JPEG header then `len` bytes that do not compress.
fn photo(len: usize, seed: u32) -> Vec<u8> {
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec();
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    bytes.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    bytes
}

/// The blobs the server holds, complete and partial.
fn server_blobs(data_dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let list = |dir: &Path| -> Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    };
    let dir = data_dir.join("fiche-blobs");
    Ok((list(&dir)?, list(&dir.join("partial"))?))
}

/// A client record with only a display name.
fn named(display: &str) -> fiche_core::model::Client {
    let mut client = fiche_core::model::Client::default();
    client.name.display = display.to_string();
    client
}

fn new_client(store: &Path, name: &str) -> Result<String> {
    Ok(fiche(store, &["add", "--name", name])?.trim().to_string())
}

#[test]
fn a_photo_taken_while_the_server_is_down_reaches_another_device() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let bytes = photo(5 << 20, 1);
    let file = tmp.path().join("walk-in.jpg");
    std::fs::write(&file, &bytes)?;
    // The front desk files the client and its photo with no server running.
    let id = new_client(&a, "Ioana Popescu")?;
    let said = fiche(&a, &["photo", "set", &id, &file.to_string_lossy()])?;
    let hash = BlobHash::of(&bytes).to_string();
    assert!(said.contains(&hash), "{said}");

    let server = Server::start(&tmp.path().join("server"), None)?;
    let report = sync(&a, &server.url())?;
    assert_eq!(report["uploaded"], 1, "{report}");
    assert_eq!(server_blobs(&server.data_dir)?.0, vec![hash.clone()]);
    sync(&b, &server.url())?;

    let shown = fiche(&b, &["show", &id, "--json"])?;
    assert!(
        shown.contains(&hash),
        "device B's record lacks the photo: {shown}"
    );
    let out = tmp.path().join("from-b.jpg");
    let got = fiche(
        &b,
        &[
            "blob",
            "get",
            &hash,
            "-o",
            &out.to_string_lossy(),
            "--server",
            &server.url(),
        ],
    )?;
    assert!(got.contains("image/jpeg"), "{got}");
    assert_eq!(std::fs::read(&out)?, bytes, "device B saved other bytes");
    // Now held on B: no server needed to read it again.
    drop(server);
    let again = tmp.path().join("again.jpg");
    fiche(&b, &["blob", "get", &hash, "-o", &again.to_string_lossy()])?;
    assert_eq!(std::fs::read(&again)?, bytes);
    Ok(())
}

#[test]
fn an_upload_cut_halfway_resumes_and_is_never_served_partial() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let bytes = photo(3 * UPLOAD_PIECE, 2);
    let hash = BlobHash::of(&bytes);
    let path = format!("/blobs/{hash}");
    // A first piece whose connection drops halfway through.
    let piece = &bytes[..UPLOAD_PIECE];
    let range = format!("bytes 0-{}/{}", UPLOAD_PIECE - 1, bytes.len());
    server.http(
        "PUT",
        &path,
        &[("Content-Range", &range)],
        piece,
        Some(UPLOAD_PIECE / 2),
    )?;
    let head = server.http("HEAD", &path, &[], &[], None)?;
    assert_eq!(head.status, 404, "a partial blob is not a blob");
    let offset: u64 = head
        .header("upload-offset")
        .context("the server does not say how much it has")?
        .parse()?;
    assert!(
        offset > 0 && offset < UPLOAD_PIECE as u64,
        "offset {offset}"
    );
    assert_eq!(server.http("GET", &path, &[], &[], None)?.status, 404);

    // The device's uploader picks up from there: its first progress is the server's offset.
    let device = tmp.path().join("device");
    let book = fiche_tests::device(&device);
    let file = tmp.path().join("site.jpg");
    std::fs::write(&file, &bytes)?;
    book.add_file(&file)?;
    let transfer = Transfer::new(&server.url(), None, None)?;
    let mut first = None;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let done = runtime.block_on(transfer.upload_queued(book.store().as_ref(), |p| {
        first.get_or_insert(p.done);
    }))?;
    assert_eq!(done.sent, 1);
    assert_eq!(
        first,
        Some(offset),
        "the upload started over instead of resuming"
    );
    let whole = server.http("GET", &path, &[], &[], None)?;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-type"), Some("image/jpeg"));
    assert_eq!(BlobHash::of(&whole.body), hash);
    assert!(book.queued_uploads()?.is_empty());
    // Ranges, as a download resuming would ask.
    let tail = server.http("GET", &path, &[("Range", "bytes=100-")], &[], None)?;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, bytes[100..]);
    Ok(())
}

#[test]
fn bad_uploads_are_refused_with_a_reason_and_leave_nothing() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start_with(
        &tmp.path().join("server"),
        None,
        &["--max-blob-bytes", "1000000"],
    )?;
    let good = photo(1000, 3);
    let other = photo(1000, 4);
    // Content that does not match its hash.
    let r = server.http(
        "PUT",
        &format!("/blobs/{}", BlobHash::of(&other)),
        &[],
        &good,
        None,
    )?;
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.text().contains("hashes to"), "{}", r.text());
    // Larger than the limit, said up front.
    let big = photo(1_500_000, 5);
    let r = server.http(
        "PUT",
        &format!("/blobs/{}", BlobHash::of(&big)),
        &[],
        &big,
        None,
    )?;
    assert_eq!(r.status, 413, "{}", r.text());
    // An executable renamed .jpg: the bytes say what it is.
    let exe = [b"MZ\x90\x00\x03\x00\x00\x00".as_slice(), &[0u8; 500]].concat();
    let r = server.http(
        "PUT",
        &format!("/blobs/{}", BlobHash::of(&exe)),
        &[],
        &exe,
        None,
    )?;
    assert_eq!(r.status, 415, "{}", r.text());
    // Names that are not hashes, paths included.
    for path in [
        "/blobs/..%2F..%2Fetc%2Fpasswd",
        "/blobs/photo.jpg",
        &format!("/blobs/{}", "g".repeat(64)),
        &format!("/blobs/{}..", "a".repeat(62)),
    ] {
        let r = server.http("PUT", path, &[], &good, None)?;
        assert!(r.status == 400 || r.status == 404, "{path}: {}", r.status);
    }
    // A piece that does not start where the server is.
    let h = BlobHash::of(&good);
    let r = server.http(
        "PUT",
        &format!("/blobs/{h}"),
        &[("Content-Range", &format!("bytes 10-19/{}", good.len()))],
        &good[10..20],
        None,
    )?;
    assert_eq!(r.status, 409);
    assert_eq!(r.header("upload-offset"), Some("0"));
    assert_eq!(
        server_blobs(&server.data_dir)?,
        (vec![], vec![]),
        "something was kept"
    );
    // The same photo sent properly is taken.
    let r = server.http("PUT", &format!("/blobs/{h}"), &[], &good, None)?;
    assert_eq!(r.status, 201, "{}", r.text());
    // The device refuses the same kinds before anything is queued.
    let book = fiche_tests::device(&tmp.path().join("device"));
    let err = book.add_bytes(&exe, "invoice.jpg").unwrap_err();
    assert!(err.to_string().contains("not accepted"), "{err}");
    assert!(book.queued_uploads()?.is_empty());
    Ok(())
}

#[test]
fn the_same_photo_from_two_devices_is_stored_once() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let bytes = photo(300_000, 6);
    let file = tmp.path().join("same.jpg");
    std::fs::write(&file, &bytes)?;
    let mut clients = Vec::new();
    for device in ["a", "b"] {
        let store = tmp.path().join(device);
        let id = new_client(&store, &format!("Client of {device}"))?;
        fiche(&store, &["attach", &id, &file.to_string_lossy()])?;
        // Attached twice on one device: still one blob there.
        fiche(&store, &["attach", &id, &file.to_string_lossy()])?;
        clients.push((store, id));
    }
    for (store, _) in &clients {
        sync(store, &server.url())?;
    }
    let hash = BlobHash::of(&bytes).to_string();
    assert_eq!(server_blobs(&server.data_dir)?, (vec![hash], vec![]));
    Ok(())
}

#[test]
fn another_device_shows_a_photo_by_its_preview_without_fetching_the_photo() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let face = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let file = tmp.path().join("face.png");
    image::DynamicImage::ImageRgb8(face).save(&file)?;
    let id = new_client(&a, "Luca Rossi")?;
    fiche(&a, &["photo", "set", &id, &file.to_string_lossy()])?;
    let report = sync(&a, &server.url())?;
    assert_eq!(report["uploaded"], 2, "the photo and its preview: {report}");
    sync(&b, &server.url())?;
    let record: serde_json::Value = serde_json::from_str(&fiche(&b, &["show", &id, "--json"])?)?;
    let photo = &record["client"]["photo"];
    let thumbnail = photo["thumbnail"]
        .as_str()
        .with_context(|| format!("no preview in {photo}"))?;
    let out = tmp.path().join("thumb.jpg");
    let args = [
        "blob",
        "get",
        thumbnail,
        "-o",
        &out.to_string_lossy(),
        "--server",
        &server.url(),
    ];
    fiche(&b, &args)?;
    let preview = image::open(&out)?;
    assert_eq!((preview.width(), preview.height()), (256, 192));
    // The full photo stays on the server until someone opens it.
    let book = fiche_tests::device(&b);
    let full: BlobHash = photo["hash"].as_str().context("no hash")?.parse()?;
    assert!(book.blob(&full)?.is_none());
    Ok(())
}

#[test]
fn the_server_removes_unreferenced_blobs_and_keeps_referenced_ones() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    // No grace period, a collection every second: what the defaults do over 90 days.
    let server = Server::start_with(
        &tmp.path().join("server"),
        None,
        &["--blob-grace-days", "0", "--gc-every-seconds", "1"],
    )?;
    let a = tmp.path().join("a");
    let kept = photo(50_000, 7);
    let file = tmp.path().join("kept.jpg");
    std::fs::write(&file, &kept)?;
    let id = new_client(&a, "Piotr Nowak")?;
    fiche(&a, &["attach", &id, &file.to_string_lossy()])?;
    sync(&a, &server.url())?;
    // A blob no record refers to (an upload whose record never came).
    let orphan = photo(50_000, 8);
    let orphan_hash = BlobHash::of(&orphan).to_string();
    let r = server.http("PUT", &format!("/blobs/{orphan_hash}"), &[], &orphan, None)?;
    assert_eq!(r.status, 201, "{}", r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while server_blobs(&server.data_dir)?.0.contains(&orphan_hash) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the unreferenced blob is still there"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(
        server_blobs(&server.data_dir)?.0,
        vec![BlobHash::of(&kept).to_string()],
        "the referenced blob went too"
    );
    Ok(())
}

#[test]
fn a_photo_taken_while_syncing_live_goes_up_at_once() -> Result<()> {
    use fiche_core::sync::{sync_live, SyncOptions};
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    let book = fiche_tests::device(&tmp.path().join("a"));
    let id = book.create_client(named("Zofia Kowalska"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (live, url) = (book.clone(), server.url());
    let engine = std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(sync_live(live, &SyncOptions::new(url), |_| {}, async {
            let _ = stopped.await;
        }))?;
        Ok(())
    });
    // Online and in sync: the front desk takes the photo now.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let bytes = photo(200_000, 9);
    let file = book.add_bytes(&bytes, "desk.jpg")?;
    book.set_photo(&id.id, file)?;
    let hash = BlobHash::of(&bytes).to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server_blobs(&server.data_dir)?.0.contains(&hash) {
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the photo did not reach the server while syncing live"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = stop.send(());
    engine
        .join()
        .map_err(|_| anyhow::anyhow!("the engine panicked"))??;
    assert!(book.queued_uploads()?.is_empty());
    Ok(())
}

#[test]
fn through_a_server_without_blob_endpoints_records_sync_and_photos_wait() -> Result<()> {
    // The official JavaScript automerge-repo server syncs documents but has no /blobs.
    let tmp = tempfile::tempdir()?;
    let js = fiche_tests::JsServer::start(&tmp.path().join("js"))?;
    let book = fiche_tests::device(&tmp.path().join("a"));
    let id = book.create_client(named("Pablo García"))?;
    let photo = book.add_bytes(&photo(10_000, 10), "p.jpg")?;
    book.set_photo(&id.id, photo)?;
    let report = fiche_tests::sync_book(&book, &js.url());
    assert_eq!(report.uploaded, 0);
    assert_eq!(
        book.queued_uploads()?.len(),
        1,
        "the photo must stay queued"
    );
    Ok(())
}

/// Sends the first half of `bytes` as a piece of its upload: the status.
fn half_upload(server: &Server, bytes: &[u8]) -> Result<u16> {
    let half = bytes.len() / 2;
    let range = format!("bytes 0-{}/{}", half - 1, bytes.len());
    let path = format!("/blobs/{}", BlobHash::of(bytes));
    let headers = [("Content-Range", range.as_str())];
    Ok(server
        .http("PUT", &path, &headers, &bytes[..half], None)?
        .status)
}

#[test]
fn unfinished_uploads_from_one_device_are_capped() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let server = Server::start(&tmp.path().join("server"), None)?;
    // 40 uploads of 2 MiB left halfway under random hashes, as the adversarial run did.
    let statuses: Vec<u16> = (0..40)
        .map(|n| half_upload(&server, &photo(2 << 20, 100 + n)))
        .collect::<Result<_>>()?;
    // The default cap: 16 unfinished uploads per device; the next ones get 429.
    assert_eq!(&statuses[..16], &[202; 16]);
    assert!(statuses[16..].iter().all(|s| *s == 429), "{statuses:?}");
    let (_, partial) = server_blobs(&server.data_dir)?;
    assert_eq!(partial.len(), 16);
    // The bytes held are 16 halves (16 MiB), not 40 (40 MiB).
    let held: u64 = partial
        .iter()
        .map(|name| std::fs::metadata(server.data_dir.join("fiche-blobs/partial").join(name)))
        .map(|m| m.map(|m| m.len()))
        .sum::<std::io::Result<u64>>()?;
    assert!(held <= 16 * (1 << 20) + 16 * 16, "{held} bytes held");
    // Declared bytes count too: with 5 MiB per device, a third 2 MiB upload waits.
    let tmp2 = tempfile::tempdir()?;
    let mib = ["--max-unfinished-upload-mib-per-device", "5"];
    let small = Server::start_with(&tmp2.path().join("server"), None, &mib)?;
    let statuses: Vec<u16> = (0..3)
        .map(|n| half_upload(&small, &photo(2 << 20, 200 + n)))
        .collect::<Result<_>>()?;
    assert_eq!(statuses, [202, 202, 429]);
    Ok(())
}

#[test]
fn an_unfinished_upload_untouched_past_its_expiry_is_removed() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    // Expiry: 0.0005 h = 1.8 s; one unfinished upload per device.
    let options = [
        "--unfinished-upload-expiry-hours",
        "0.0005",
        "--max-unfinished-uploads-per-device",
        "1",
    ];
    let server = Server::start_with(&tmp.path().join("server"), None, &options)?;
    let (first, second) = (photo(64 << 10, 1), photo(64 << 10, 2));
    assert_eq!(half_upload(&server, &first)?, 202);
    assert_eq!(half_upload(&server, &second)?, 429);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(half_upload(&server, &second)?, 202);
    let (_, partial) = server_blobs(&server.data_dir)?;
    assert_eq!(partial, vec![BlobHash::of(&second).to_string()]);
    Ok(())
}
