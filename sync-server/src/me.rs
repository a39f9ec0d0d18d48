//! `GET /api/me` (signed in with the device token, as for sync): who this device acts for,
//! `{"member", "name", "org", "role", "device"}`, so that a device keeps its member's role
//! current and refuses locally what the server would refuse.

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::PeerAddr;
use crate::routes::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/me", get(me))
}

async fn me(
    State(state): State<AppState>,
    ConnectInfo(from): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let access = match state.auth.check(&headers, uri.query(), from.0.ip()) {
        Ok(access) => access,
        Err(refusal) => return refusal.into_response(),
    };
    // The member's display name; an open (`--no-auth`) server has no accounts.
    let name = match state.auth.accounts() {
        Some(accounts) => match accounts.member(&access.member) {
            Ok(m) => m.name,
            Err(e) => {
                tracing::error!(error = %e, "cannot read a member");
                let status = StatusCode::SERVICE_UNAVAILABLE;
                return (status, "cannot read the member now\n").into_response();
            }
        },
        None => access.member.clone(),
    };
    Json(serde_json::json!({
        "member": access.member,
        "name": name,
        "org": &*access.org,
        "role": access.role,
        "device": access.device,
    }))
    .into_response()
}
