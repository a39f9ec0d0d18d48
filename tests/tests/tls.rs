//! `fiche-server` over TLS (HTTPS and WSS, rustls) with a certificate from the organisation's
//! own CA: devices that are told of the CA sync records and photos; others refuse the server.

use std::path::Path;

use anyhow::Result;
use fiche_tests::{fiche, fiche_output, Server};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// Writes `ca.pem`, and `server.pem` / `server.key`: a certificate the CA signed for
/// localhost and 127.0.0.1.
fn certificates(dir: &Path) -> Result<()> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Fiche test organisation CA");
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    let key = KeyPair::generate()?;
    let cert = server.signed_by(&key, &ca_cert, &ca_key)?;
    std::fs::write(dir.join("ca.pem"), ca_cert.pem())?;
    std::fs::write(dir.join("server.pem"), cert.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    Ok(())
}

#[test]
fn devices_that_trust_the_organisations_ca_sync_over_tls_and_others_refuse() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    certificates(tmp.path())?;
    let path = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
    let server = Server::start_with(
        &tmp.path().join("server"),
        None,
        &[
            "--tls-cert",
            &path("server.pem"),
            "--tls-key",
            &path("server.key"),
        ],
    )?;
    let url = format!("wss://localhost:{}", server.port);
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let id = fiche(&a, &["add", "--name", "Ana Ionescu"])?
        .trim()
        .to_string();
    let photo = [b"\xFF\xD8\xFF\xE0".as_slice(), &[7u8; 3000]].concat();
    std::fs::write(tmp.path().join("p.jpg"), &photo)?;
    fiche(&a, &["attach", &id, &path("p.jpg")])?;
    let report = fiche(
        &a,
        &["sync", "--server", &url, "--ca", &path("ca.pem"), "--json"],
    )?;
    assert!(report.contains("\"uploaded\":1"), "{report}");
    fiche(&b, &["sync", "--server", &url, "--ca", &path("ca.pem")])?;
    assert!(fiche(&b, &["show", &id])?.contains("Ana Ionescu"));
    let hash = fiche_core::blob::BlobHash::of(&photo).to_string();
    let out = path("back.jpg");
    let args = [
        "blob",
        "get",
        &hash,
        "-o",
        &out,
        "--server",
        &url,
        "--ca",
        &path("ca.pem"),
    ];
    fiche(&b, &args)?;
    assert_eq!(std::fs::read(&out)?, photo);

    // A device not told of the CA refuses the server, and says why.
    let refused = fiche_output(&c, &["sync", "--server", &url])?;
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("certificate"), "{said}");
    assert!(
        !fiche(&c, &["list"])?.contains("Ana"),
        "a refused server's records arrived"
    );
    // Nor does plain WebSocket reach a TLS server.
    let plain = fiche_output(
        &c,
        &[
            "sync",
            "--server",
            &format!("ws://127.0.0.1:{}", server.port),
        ],
    )?;
    assert!(!plain.status.success());
    Ok(())
}
