//! The TEST environment's limit endpoints (open-api.json tag "Limity i ograniczenia",
//! limity.md, limity-api.md): session limits and certificate limits of the current
//! context/subject, and its API rate limits. All need an access token; all answer
//! `200` with no body. `/sim/rate-limits` stays for simulator-wide profiles.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use std::collections::HashMap;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::limits::{ContextLimits, GROUPS, Limit, RateProfile, SessionLimits};
use crate::server::JsonBody;
use crate::state::AppState;

fn check_session(name: &str, l: &SessionLimits) -> Result<(), ApiError> {
    if l.max_invoice_size_in_mb > 5
        || l.max_invoice_with_attachment_size_in_mb > 10
        || l.max_invoices > 100_000
    {
        return Err(ApiError::validation(format!(
            "{name}: maxInvoiceSizeInMB ≤ 5, maxInvoiceWithAttachmentSizeInMB ≤ 10, maxInvoices ≤ 100000."
        )));
    }
    Ok(())
}

/// `POST /testdata/limits/context/session` (`SetSessionLimitsRequest`).
async fn set_session(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<ContextLimits>,
) -> Result<StatusCode, ApiError> {
    check_session("onlineSession", &req.online_session)?;
    check_session("batchSession", &req.batch_session)?;
    state
        .lock()
        .limits
        .context
        .insert(auth.context.value.clone(), req);
    Ok(StatusCode::OK)
}

/// `DELETE /testdata/limits/context/session` — back to the defaults.
async fn reset_session(State(state): State<AppState>, auth: Auth) -> StatusCode {
    state.lock().limits.context.remove(&auth.context.value);
    StatusCode::OK
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollmentOverride {
    max_enrollments: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateOverride {
    max_certificates: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectLimitsRequest {
    #[serde(default)]
    #[allow(dead_code)]
    subject_identifier_type: Option<String>,
    enrollment: Option<EnrollmentOverride>,
    certificate: Option<CertificateOverride>,
}

/// `POST /testdata/limits/subject/certificate` (`SetSubjectLimitsRequest`).
async fn set_subject(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<SubjectLimitsRequest>,
) -> Result<StatusCode, ApiError> {
    let value = (
        req.enrollment.and_then(|e| e.max_enrollments),
        req.certificate.and_then(|c| c.max_certificates),
    );
    state
        .lock()
        .limits
        .subject
        .insert(auth.subject.value.clone(), value);
    Ok(StatusCode::OK)
}

/// `DELETE /testdata/limits/subject/certificate`.
async fn reset_subject(State(state): State<AppState>, auth: Auth) -> StatusCode {
    state.lock().limits.subject.remove(&auth.subject.value);
    StatusCode::OK
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitsRequest {
    rate_limits: HashMap<String, Limit>,
}

/// `POST /testdata/rate-limits` (`SetRateLimitsRequest`): own values for the context.
async fn set_rates(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<RateLimitsRequest>,
) -> Result<StatusCode, ApiError> {
    let missing: Vec<&str> = GROUPS
        .iter()
        .map(|(g, _)| *g)
        .filter(|g| !req.rate_limits.contains_key(*g))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "rateLimits: brak wymaganych grup: {}.",
            missing.join(", ")
        )));
    }
    let own: HashMap<String, Limit> = req
        .rate_limits
        .into_iter()
        .filter(|(g, _)| {
            GROUPS
                .iter()
                .chain(crate::limits::LATER_GROUPS.iter())
                .any(|(k, _)| k == g)
        })
        .collect();
    state
        .lock()
        .rate
        .overrides
        .insert(auth.context.value.clone(), own);
    Ok(StatusCode::OK)
}

/// `DELETE /testdata/rate-limits` — the environment's defaults again.
async fn reset_rates(State(state): State<AppState>, auth: Auth) -> StatusCode {
    state.lock().rate.overrides.remove(&auth.context.value);
    StatusCode::OK
}

/// `POST /testdata/rate-limits/production` — PROD's values for the context (whatever the
/// simulator-wide profile).
async fn production_rates(State(state): State<AppState>, auth: Auth) -> StatusCode {
    let prod: HashMap<String, Limit> = GROUPS
        .iter()
        .chain(crate::limits::LATER_GROUPS.iter())
        .filter_map(|(g, _)| RateProfile::Production.limit(g).map(|l| (g.to_string(), l)))
        .collect();
    state
        .lock()
        .rate
        .overrides
        .insert(auth.context.value.clone(), prod);
    StatusCode::OK
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/testdata/limits/context/session",
            post(set_session).delete(reset_session),
        )
        .route(
            "/testdata/limits/subject/certificate",
            post(set_subject).delete(reset_subject),
        )
        .route("/testdata/rate-limits", post(set_rates).delete(reset_rates))
        .route("/testdata/rate-limits/production", post(production_rates))
}
