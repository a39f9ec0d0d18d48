//! `GET /api/me` (signed in with the device token, as for sync): who this device acts for,
//! `{"member", "name", "org", "role", "device"}`, so that a device keeps its member's role
//! current and refuses locally what the server would refuse.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};

use crate::accounts::Access;
use crate::auth::{self, Auth};
use crate::routes::AppState;

/// The route, behind the device-token check every signed-in route shares ([`auth::require`]).
pub fn router(auth: Arc<Auth>) -> Router<AppState> {
    Router::new()
        .route("/api/me", get(me))
        .layer(axum::middleware::from_fn_with_state(auth, auth::require))
}

async fn me(State(state): State<AppState>, Extension(access): Extension<Access>) -> Response {
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
