//! Who is calling: the device token of a WebSocket upgrade or an HTTP request, checked
//! against the accounts. Browsers, which cannot set headers on a WebSocket, put it in the
//! query (`?token=`); it is never logged. Repeated failures from one address are slowed down.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::accounts::{Access, AccountError, Accounts, Enrolled};
pub use crate::listen::PeerAddr;

/// Failures allowed from one address before it must wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait imposed after repeated failures.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct Failures {
    count: u32,
    last: Instant,
    /// No attempt is looked at before this.
    until: Instant,
}

/// The gate in front of sync and blobs.
#[derive(Debug)]
pub struct Auth {
    /// `None`: the server runs with `--no-auth`; everyone is let in.
    accounts: Option<Accounts>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

/// Why a caller is turned away: the HTTP status and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait before trying again (429).
    pub retry_after: Option<u64>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut r = (self.status, format!("{}\n", self.message)).into_response();
        if let Some(wait) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        r
    }
}

fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal {
        status,
        message: message.to_string(),
        retry_after: None,
    }
}

/// The token of a request: `Authorization: Bearer TOKEN`, or `token=TOKEN` in the query.
fn token<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        return v.to_str().ok()?.strip_prefix("Bearer ").map(str::trim);
    }
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
}

impl Auth {
    pub fn new(accounts: Option<Accounts>) -> Self {
        Self {
            accounts,
            failures: Mutex::new(HashMap::new()),
        }
    }

    pub fn accounts(&self) -> Option<&Accounts> {
        self.accounts.as_ref()
    }

    /// How long `ip` must still wait after earlier failures.
    fn wait(&self, ip: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let f = failures.get(&ip)?;
        f.until.checked_duration_since(Instant::now())
    }

    fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        failures.retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        let f = failures.entry(ip).or_insert(Failures {
            count: 0,
            last: now,
            until: now,
        });
        f.count += 1;
        f.last = now;
        if f.count > FREE_FAILURES {
            let doublings = (f.count - FREE_FAILURES - 1).min(6);
            f.until = now + (Duration::from_secs(1) * (1 << doublings)).min(MAX_WAIT);
        }
    }

    fn succeeded(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.remove(&ip);
    }

    fn too_many(wait: Duration) -> Refusal {
        Refusal {
            retry_after: Some(wait.as_secs().max(1)),
            ..refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "too many bad tokens or codes from this address: wait and try again",
            )
        }
    }

    /// Who is calling, or the response that refuses them.
    pub fn check(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        from: IpAddr,
    ) -> Result<Access, Refusal> {
        let Some(accounts) = &self.accounts else {
            return Ok(Access::open());
        };
        if let Some(wait) = self.wait(from) {
            return Err(Self::too_many(wait));
        }
        let Some(token) = token(headers, query) else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "a device token is needed (Authorization: Bearer TOKEN): enrol this device first",
            ));
        };
        match accounts.authenticate(token) {
            Ok(Some(access)) => {
                self.succeeded(from);
                Ok(access)
            }
            Ok(None) => {
                self.failed(from);
                tracing::warn!(%from, "refused an unknown or revoked device token");
                Err(refuse(
                    StatusCode::UNAUTHORIZED,
                    "this device token is unknown or revoked: enrol the device again",
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check a token");
                Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot check the token now",
                ))
            }
        }
    }

    /// Exchanges an enrolment code for a device token.
    pub fn enrol(&self, code: &str, name: &str, from: IpAddr) -> Result<Enrolled, Refusal> {
        let Some(accounts) = &self.accounts else {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "this server runs without accounts (--no-auth): nothing to enrol in",
            ));
        };
        if let Some(wait) = self.wait(from) {
            return Err(Self::too_many(wait));
        }
        match accounts.redeem(code, name) {
            Ok(enrolled) => {
                self.succeeded(from);
                tracing::info!(device = %enrolled.device, member = %enrolled.member, "device enrolled");
                Ok(enrolled)
            }
            Err(AccountError::BadCode) => {
                self.failed(from);
                Err(refuse(
                    StatusCode::FORBIDDEN,
                    &AccountError::BadCode.to_string(),
                ))
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot enrol a device");
                Err(refuse(StatusCode::SERVICE_UNAVAILABLE, "cannot enrol now"))
            }
        }
    }
}

/// Middleware: lets through only requests with a valid token, with their [`Access`] in the
/// request's extensions.
pub async fn require(
    State(auth): State<Arc<Auth>>,
    ConnectInfo(PeerAddr(from)): ConnectInfo<PeerAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = auth.check(request.headers(), request.uri().query(), from.ip());
    match access {
        Ok(access) => {
            request.extensions_mut().insert(access);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
    }
}
