//! Revoking grants: `DELETE /permissions/common|authorizations/grants/{permissionId}`
//! (202 + an operation).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::delete;

use crate::auth::{Auth, Permission};
use crate::error::ApiError;
use crate::state::AppState;

use super::{GrantKind, accepted, same, start_operation};

fn no_permission(id: &str) -> ApiError {
    ApiError::validation(format!(
        "Uprawnienie {id} nie istnieje w bieżącym kontekście. / No such permission in this context."
    ))
}

/// Removes a grant made in the caller's context (`authorization`: the authorizations endpoint).
fn revoke_grant(
    state: &AppState,
    auth: &Auth,
    id: &str,
    authorization: bool,
) -> Result<Response, ApiError> {
    if id.len() != 36 {
        return Err(ApiError::validation(
            "permissionId musi mieć 36 znaków. / permissionId must be 36 characters.",
        ));
    }
    let delay = crate::sessions::processing_delay(state);
    let mut st = state.lock();
    let grant = st
        .permissions
        .grants
        .get(id)
        .filter(|g| (g.kind == GrantKind::Authorization) == authorization)
        .filter(|g| g.granted_in == auth.context || same(&g.authorized, &auth.subject))
        .ok_or_else(|| no_permission(id))?
        .clone();
    let reference = start_operation(&mut st, &auth.context, delay);
    st.permissions.grants.remove(&grant.id);
    Ok(accepted(reference))
}

/// `DELETE /permissions/common/grants/{permissionId}` → 202.
async fn revoke_common(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&[
        Permission::CredentialsManage,
        Permission::VatUeManage,
        Permission::SubunitManage,
    ])?;
    revoke_grant(&state, &auth, &id, false)
}

/// `DELETE /permissions/authorizations/grants/{permissionId}` → 202.
async fn revoke_authorization(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    revoke_grant(&state, &auth, &id, true)
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/permissions/common/grants/{permissionId}",
            delete(revoke_common),
        )
        .route(
            "/permissions/authorizations/grants/{permissionId}",
            delete(revoke_authorization),
        )
}
