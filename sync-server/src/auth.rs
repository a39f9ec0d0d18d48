//! Who is calling: the device token of a WebSocket upgrade or an HTTP request, checked
//! against the accounts. Browsers, which cannot set headers on a WebSocket, put it in the
//! query (`?token=`); it is never logged.
//!
//! Failures are limited per address ([`throttle`]), tokens and enrolment codes apart. A valid
//! token is looked up first and always let in, so the bad tokens of others behind the same
//! address (NAT, a reverse proxy) lock no one out; tokens have 256 random bits, so letting
//! every token be looked up gives a guesser nothing. A code has 60 bits: from an address out
//! of failures, codes are not even tried until it may fail again, and a good code does not
//! refill its bucket.

mod throttle;

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use crate::accounts::{Access, AccountError, Accounts, Enrolled};
pub use crate::listen::PeerAddr;

/// Failures allowed from one address at once.
const BURST: u32 = 5;
/// Then one more failure allowed every this long (5 a minute).
const REFILL: Duration = Duration::from_secs(12);

/// The gate in front of sync and blobs.
#[derive(Debug)]
pub struct Auth {
    /// `None`: the server runs with `--no-auth`; everyone is let in.
    accounts: Option<Accounts>,
    bad_tokens: throttle::Throttle,
    bad_codes: throttle::Throttle,
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
            bad_tokens: throttle::Throttle::new(BURST, REFILL),
            bad_codes: throttle::Throttle::new(BURST, REFILL),
        }
    }

    pub fn accounts(&self) -> Option<&Accounts> {
        self.accounts.as_ref()
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
        let Some(token) = token(headers, query) else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "a device token is needed (Authorization: Bearer TOKEN): enrol this device first",
            ));
        };
        match accounts.authenticate(token) {
            Ok(Some(access)) => Ok(access),
            Ok(None) => {
                if let Some(wait) = self.bad_tokens.wait(from) {
                    return Err(Self::too_many(wait));
                }
                self.bad_tokens.failed(from);
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
        if let Some(wait) = self.bad_codes.wait(from) {
            return Err(Self::too_many(wait));
        }
        match accounts.redeem(code, name) {
            Ok(enrolled) => {
                tracing::info!(device = %enrolled.device, member = %enrolled.member, "device enrolled");
                Ok(enrolled)
            }
            Err(AccountError::BadCode) => {
                self.bad_codes.failed(from);
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
