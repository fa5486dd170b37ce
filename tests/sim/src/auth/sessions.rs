//! Auth sessions: `GET /auth/sessions` and their revocation
//! (`DELETE /auth/sessions/current|{referenceNumber}`).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

use super::login::{not_found, status_json};
use super::{Auth, AuthOperation, bearer_claims, next_token, paging};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_size: Option<String>,
}

/// `GET /auth/sessions` — successful, unrevoked auth operations of the caller's context.
async fn sessions(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    let (size, offset) = paging(&headers, q.page_size.as_deref(), 10, 100, 10)?;
    let now = util::now();
    let st = state.lock();
    let mut ops: Vec<&AuthOperation> = st
        .auth
        .operations
        .values()
        .filter(|o| o.context == auth.context && o.redeemed && !o.revoked && now >= o.ready_at)
        .collect();
    ops.sort_by(|a, b| {
        b.start_date
            .cmp(&a.start_date)
            .then(b.reference_number.cmp(&a.reference_number))
    });
    let total = ops.len();
    let items: Vec<Value> = ops
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|o| {
            let mut v = status_json(o, now);
            v["referenceNumber"] = json!(o.reference_number);
            v["isCurrent"] = json!(o.reference_number == auth.auth_reference);
            v
        })
        .collect();
    Ok(Json(
        json!({"continuationToken": next_token(offset, size, total), "items": items}),
    ))
}

/// `DELETE /auth/sessions/current` (access or refresh token) → 204.
async fn revoke_current(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let claims = bearer_claims(&state, &headers, &["ContextToken", "RefreshToken"])?;
    let mut st = state.lock();
    let op = st
        .auth
        .operations
        .get_mut(&claims.arn)
        .ok_or_else(|| not_found(&claims.arn))?;
    op.revoked = true;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /auth/sessions/{referenceNumber}` → 204 (only sessions of the caller's context).
async fn revoke_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut st = state.lock();
    match st.auth.operations.get_mut(&reference) {
        Some(op) if op.context == auth.context => {
            op.revoked = true;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(not_found(&reference)),
    }
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/sessions", get(sessions))
        .route("/auth/sessions/current", delete(revoke_current))
        .route("/auth/sessions/{referenceNumber}", delete(revoke_one))
}
