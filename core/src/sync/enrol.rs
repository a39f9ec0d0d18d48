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
    book.set_role(enrolled.role.parse().ok())?;
    Ok(enrolled)
}

/// Who the server says this device acts for (`GET /api/me`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Me {
    pub member: String,
    pub name: String,
    pub org: String,
    pub role: String,
    pub device: String,
}

/// Refreshes the member's role from the server (`GET /api/me`), so that the book refuses
/// locally what the server would refuse. Only an enrolled device asks; a server that does
/// not answer leaves the role known as it was (`Ok(None)`).
pub async fn refresh_role(book: &Book, url: &str, ca: Option<&[u8]>) -> crate::Result<Option<Me>> {
    let Some(token) = token(book.store().as_ref())? else {
        return Ok(None);
    };
    let (Some(base), Ok(client)) = (
        crate::tls::http_base(url),
        crate::tls::http_client(ca, Some(&token)),
    ) else {
        return Ok(None);
    };
    let me = match client.get(format!("{base}/api/me")).send().await {
        Ok(r) if r.status().is_success() => r.json::<Me>().await.ok(),
        _ => None,
    };
    if let Some(me) = &me {
        book.set_role(me.role.parse().ok())?;
    }
    Ok(me)
}
