//! What a device trusts when it reaches its server over TLS (`wss://`, `https://`): the
//! public certificate authorities, and the organisation's own CA when it runs its server with
//! a certificate of its own; and which server URLs ask for TLS.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// A server URL read as whether it asks for TLS and what follows the scheme (`host:port/…`):
/// `ws://` and `http://` are plain, `wss://` and `https://` are TLS; `None` for anything else.
pub fn server_url(url: &str) -> Option<(bool, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let secure = match scheme {
        "ws" | "http" => false,
        "wss" | "https" => true,
        _ => return None,
    };
    (!rest.is_empty()).then_some((secure, rest))
}

/// The HTTP(S) base of a server (`http://host:port`) from its sync or HTTP URL.
pub fn http_base(url: &str) -> Option<String> {
    let (secure, rest) = server_url(url)?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    let scheme = if secure { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}

/// An HTTP client trusting the public roots and the CAs of `ca` (PEM), sending the device
/// token (if any) on every request.
pub fn http_client(ca: Option<&[u8]>, token: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(120));
    if let Some(bundle) = ca {
        for der in certificates(bundle)? {
            let cert = reqwest::Certificate::from_der(&der).map_err(|e| e.to_string())?;
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(token) = token {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the device token has characters a header cannot carry".to_string())?;
        value.set_sensitive(true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, value);
        builder = builder.default_headers(headers);
    }
    builder.build().map_err(|e| e.to_string())
}

/// The CA certificates in PEM `bundle`, or why they cannot be read.
pub fn certificates(bundle: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bundle)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the CA file is not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("the CA file holds no certificate".into());
    }
    Ok(certs)
}

/// A rustls client configuration trusting the public roots and the CAs of `extra` (PEM).
pub fn client_config(extra: Option<&[u8]>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(bundle) = extra {
        for cert in certificates(bundle)? {
            roots
                .add(cert)
                .map_err(|e| format!("the CA certificate is not usable: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
