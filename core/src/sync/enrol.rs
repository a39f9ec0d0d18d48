//! Enrolment: a device exchanges the one-time code an administrator gave it for a device token
//! of its own, kept in the device's store and sent on every connection to the server.

use serde::{Deserialize, Serialize};

use super::SyncError;
use crate::store::Store;
use crate::{key, Book};

/// What the server answers to an enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The device's secret; the server keeps only its hash.
    pub token: String,
    pub device: String,
    pub member: String,
    pub org: String,
    pub role: String,
}

fn token_key() -> crate::store::Key {
    key!["_meta", "device_token"]
}

/// This device's token, once enrolled.
pub fn token(store: &dyn Store) -> crate::Result<Option<String>> {
    Ok(store
        .get(&token_key())?
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// Enrols this device at the server `url` with an administrator's one-time `code`; the token
/// received is stored, replacing any earlier one. `name` tells the device apart in the list of
/// devices; `ca`: the organisation's CA (PEM) for a server whose certificate it signed.
pub async fn enrol(
    book: &Book,
    url: &str,
    code: &str,
    name: &str,
    ca: Option<&[u8]>,
) -> Result<Enrolled, SyncError> {
    let bad_url = || SyncError::BadUrl { url: url.into() };
    let base = crate::tls::http_base(url).ok_or_else(bad_url)?;
    let client = crate::tls::http_client(ca, None).map_err(SyncError::Tls)?;
    let unreachable = |e: reqwest::Error| SyncError::Unreachable {
        url: url.into(),
        reason: e.to_string(),
    };
    let response = client
        .post(format!("{base}/api/enrol"))
        .json(&serde_json::json!({ "code": code, "name": name }))
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(SyncError::Unauthorised(format!(
            "{status}: {}",
            text.trim()
        )));
    }
    let enrolled: Enrolled = response.json().await.map_err(unreachable)?;
    book.store()
        .put(token_key(), enrolled.token.clone().into_bytes())
        .map_err(crate::Error::from)?;
    Ok(enrolled)
}
