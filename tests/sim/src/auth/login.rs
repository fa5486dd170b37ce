//! Logging in with a KSeF token: `POST /auth/challenge`, `POST /auth/ksef-token`, the status
//! `GET /auth/{ref}`, and the JWTs: `POST /auth/token/redeem` and `/auth/token/refresh`.
//! The XAdES login (`xades.rs`) shares [`start_operation`].

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::keys::Usage;
use crate::state::AppState;
use crate::tokens::TokenStatus;
use crate::util;

use super::bearer::token_info;
use super::{
    AuthMethod, AuthOperation, AuthOutcome, ChallengeRecord, ClientIp, ContextId, SubjectId,
    bearer_claims, issue,
};

/// `POST /auth/challenge` → 200 (no body required).
async fn challenge(State(state): State<AppState>, ClientIp(ip): ClientIp) -> Json<Value> {
    let now = util::now();
    let challenge = util::reference_number("CR");
    let timestamp_ms = util::unix_ms(now);
    state.lock().auth.challenges.insert(
        challenge.clone(),
        ChallengeRecord {
            issued: now,
            timestamp_ms,
            used: false,
        },
    );
    Json(json!({
        "challenge": challenge,
        "timestamp": util::rfc3339(now),
        "timestampMs": timestamp_ms,
        "clientIp": ip.to_string(),
    }))
}

/// `InitTokenAuthenticationRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KsefTokenRequest {
    challenge: String,
    context_identifier: ContextId,
    encrypted_token: String,
    #[serde(default)]
    public_key_id: Option<String>,
    #[serde(default)]
    authorization_policy: Option<Value>,
}

/// `POST /auth/ksef-token` → 202 with an operation token; the outcome is read via `/auth/{ref}`.
async fn ksef_token(
    State(state): State<AppState>,
    body: crate::server::JsonBody<KsefTokenRequest>,
) -> Result<Response, ApiError> {
    let req = body.0;
    req.context_identifier.validate()?;
    let policy = crate::policy::AllowedIps::from_json(req.authorization_policy.as_ref())?;
    let ciphertext = util::b64_decode(&req.encrypted_token)
        .ok_or_else(|| ApiError::validation("Pole encryptedToken nie jest poprawnym Base64."))?;
    if let Some(id) = &req.public_key_id
        && !state
            .keys
            .keys
            .iter()
            .any(|k| &k.public_key_id == id && k.usage == Usage::KsefTokenEncryption)
    {
        return Err(ApiError::unknown_key());
    }
    let challenge = state
        .lock()
        .auth
        .consume_challenge(&req.challenge, state.config.challenge_ttl)?;

    // Decrypt `{token}|{timestampMs}` (guide §3.3); failures end the operation with 450.
    let plaintext = state
        .keys
        .decrypt(
            Usage::KsefTokenEncryption,
            req.public_key_id.as_deref(),
            &ciphertext,
        )
        .ok()
        .and_then(|p| String::from_utf8(p).ok());
    let bad = |detail: &str| {
        AuthOutcome::failed(
            450,
            "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu",
            detail,
        )
    };
    let now = util::now();
    let mut st = state.lock();
    let mut permissions = vec![];
    let mut token_ref = None;
    let mut subject = SubjectId {
        kind: "Token".into(),
        value: String::new(),
    };
    let outcome = match plaintext.as_deref().and_then(|p| p.rsplit_once('|')) {
        None => bad("Nieprawidłowy token"),
        Some((token, ts)) if ts.parse::<i64>().ok() != Some(challenge.timestamp_ms) => {
            let _ = token;
            bad("Nieprawidłowy czas tokena")
        }
        Some((token, _)) => match st.tokens.find_by_secret_mut(token) {
            None => bad("Nieprawidłowy token"),
            Some(t) => {
                token_ref = Some(t.reference_number.clone());
                subject = SubjectId {
                    kind: t.author.kind.clone(),
                    value: t.author.value.clone(),
                };
                match t.status(now) {
                    TokenStatus::Pending => bad("Token nieaktywny"),
                    TokenStatus::Revoking | TokenStatus::Revoked => bad("Token unieważniony"),
                    TokenStatus::Failed => bad("Token nieaktywny"),
                    TokenStatus::Active if t.context != req.context_identifier => {
                        AuthOutcome::failed(
                            415,
                            "Uwierzytelnianie zakończone niepowodzeniem",
                            "Brak przypisanych uprawnień",
                        )
                    }
                    TokenStatus::Active => {
                        t.last_use = Some(now);
                        permissions = t.permissions.clone();
                        AuthOutcome::success()
                    }
                }
            }
        },
    };
    let op = AuthOperation {
        reference_number: util::reference_number("AU"),
        start_date: now,
        ready_at: now + state.config.auth_processing_delay,
        method: AuthMethod::Token,
        context: req.context_identifier,
        subject,
        permissions,
        outcome,
        redeemed: false,
        last_refresh: None,
        refresh_valid_until: None,
        revoked: false,
        ksef_token_ref: token_ref,
        auth_document_hash: None,
        cert_fingerprint: None,
    };
    if let Some(policy) = policy {
        st.auth.policies.insert(op.reference_number.clone(), policy);
    }
    Ok(start_operation(&state, &mut st, op))
}

/// What the login may do in its context: a blocked context ends with 480; someone who is
/// not the context's owner needs grants there (permissions.rs) — a token keeps only the
/// permissions its author still holds, a certificate gets what was granted to its subject.
fn apply_access(st: &crate::state::SimState, op: &mut AuthOperation) {
    if st.testdata.is_blocked(&op.context) {
        op.outcome = AuthOutcome::failed(
            480,
            "Uwierzytelnienie zablokowane",
            "Podejrzenie incydentu bezpieczeństwa. Skontaktuj się z Ministerstwem Finansów przez formularz zgłoszeniowy.",
        );
        op.permissions.clear();
        return;
    }
    if crate::permissions::is_owner(st, &op.context, &op.subject) {
        return;
    }
    let now = util::now();
    match op.method {
        AuthMethod::Token if op.outcome.code == 200 => {
            op.permissions = crate::permissions::current_permissions(
                st,
                &op.context,
                &op.subject,
                &op.permissions,
                now,
            );
            if op.permissions.is_empty() {
                op.outcome = AuthOutcome::failed(
                    415,
                    "Uwierzytelnianie zakończone niepowodzeniem z powodu braku przypisanych uprawnień",
                    &format!(
                        "Autor tokena {} nie ma już uprawnień w kontekście {}.",
                        op.subject.value, op.context.value
                    ),
                );
            }
        }
        AuthMethod::Token => {}
        _ if op.outcome.code == 415 => {
            let granted = crate::permissions::effective(st, &op.context, &op.subject, now);
            if !granted.is_empty() {
                op.permissions = granted;
                op.outcome = AuthOutcome::success();
            }
        }
        _ => {}
    }
}

/// Stores a new auth operation and answers `202 AuthenticationInitResponse`.
pub fn start_operation(
    state: &AppState,
    st: &mut crate::state::SimState,
    mut op: AuthOperation,
) -> Response {
    apply_access(st, &mut op);
    let token = issue(
        state,
        "OperationToken",
        &op,
        state.config.authentication_token_ttl,
    );
    let body =
        json!({"referenceNumber": op.reference_number, "authenticationToken": token_info(token)});
    st.auth.operations.insert(op.reference_number.clone(), op);
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

pub(super) fn status_json(op: &AuthOperation, now: OffsetDateTime) -> Value {
    let status = if now < op.ready_at {
        json!({"code": 100, "description": "Uwierzytelnianie w toku"})
    } else if op.revoked {
        json!({"code": 425, "description": "Uwierzytelnienie unieważnione",
            "details": ["Uwierzytelnienie i powiązane refresh tokeny zostały unieważnione przez użytkownika"]})
    } else {
        let mut s = json!({"code": op.outcome.code, "description": op.outcome.description});
        if !op.outcome.details.is_empty() {
            s["details"] = json!(op.outcome.details);
        }
        s
    };
    json!({
        "startDate": util::rfc3339(op.start_date),
        // `authenticationMethod` was removed on 2026-11-16 as 2.1.0 scheduled (deprecated
        // since); `authenticationMethodInfo` replaces it.
        "authenticationMethodInfo": op.method.info(),
        "status": status,
        "isTokenRedeemed": op.redeemed,
        "lastTokenRefreshDate": op.last_refresh.map(util::rfc3339),
        "refreshTokenValidUntil": op.refresh_valid_until.map(util::rfc3339),
    })
}

pub(super) fn not_found(reference: &str) -> ApiError {
    ApiError::bad(
        21304,
        "Brak uwierzytelnienia.",
        vec![format!(
            "Operacja uwierzytelniania {reference} nie została znaleziona."
        )],
    )
}

/// `GET /auth/{referenceNumber}` (Bearer authenticationToken of that operation).
async fn auth_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let claims = bearer_claims(&state, &headers, &["OperationToken", "ContextToken"])?;
    let st = state.lock();
    let op = st
        .auth
        .operations
        .get(&reference)
        .ok_or_else(|| not_found(&reference))?;
    // An operation token sees only its own operation; an access token those of its context.
    let visible = if claims.typ == "OperationToken" {
        claims.arn == reference
    } else {
        claims.cit.as_deref() == Some(op.context.kind.as_str())
            && claims.civ.as_deref() == Some(op.context.value.as_str())
    };
    if !visible {
        return Err(not_found(&reference));
    }
    let now = util::now();
    if op.start_date + state.config.auth_retention < now {
        return Err(ApiError::Gone);
    }
    Ok(Json(status_json(op, now)))
}

/// `POST /auth/token/redeem` (Bearer authenticationToken) → access + refresh, once only.
async fn redeem(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let claims = bearer_claims(&state, &headers, &["OperationToken"])?;
    let now = util::now();
    let mut st = state.lock();
    let op = st
        .auth
        .operations
        .get_mut(&claims.arn)
        .ok_or_else(|| not_found(&claims.arn))?;
    if op.redeemed {
        return Err(ApiError::bad(
            21301,
            "Brak autoryzacji.",
            vec!["Tokeny zostały już pobrane.".into()],
        ));
    }
    if now < op.ready_at || op.outcome.code != 200 || op.revoked {
        let code = if op.revoked { 425 } else { op.outcome.code };
        return Err(ApiError::bad(
            21301,
            "Brak autoryzacji.",
            vec![format!(
                "Status uwierzytelniania ({code}) nie pozwala na pobranie tokenów."
            )],
        ));
    }
    let op = op.clone();
    // The KSeF token may have been revoked between the login and the redeem.
    if let Some(reference) = &op.ksef_token_ref
        && !st
            .tokens
            .get(reference)
            .is_some_and(|t| t.status(now) == TokenStatus::Active)
    {
        return Err(ApiError::bad(
            21301,
            "Brak autoryzacji.",
            vec!["Token KSeF został unieważniony.".into()],
        ));
    }
    if let Some(o) = st.auth.operations.get_mut(&claims.arn) {
        o.redeemed = true;
    }
    let access = issue(&state, "ContextToken", &op, state.config.access_token_ttl);
    let refresh = issue(&state, "RefreshToken", &op, state.config.refresh_token_ttl);
    if let Some(o) = st.auth.operations.get_mut(&claims.arn) {
        o.refresh_valid_until = Some(refresh.1);
    }
    Ok(Json(
        json!({"accessToken": token_info(access), "refreshToken": token_info(refresh)}),
    ))
}

/// `POST /auth/token/refresh` (Bearer refreshToken) → a new access token.
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let claims = bearer_claims(&state, &headers, &["RefreshToken"])?;
    let now = util::now();
    let mut st = state.lock();
    let token_usable = |st: &crate::state::SimState, r: &Option<String>| match r {
        None => true,
        Some(r) => st
            .tokens
            .get(r)
            .is_some_and(|t| t.status(now) == TokenStatus::Active),
    };
    let op = st
        .auth
        .operations
        .get(&claims.arn)
        .ok_or_else(|| not_found(&claims.arn))?
        .clone();
    if op.revoked {
        return Err(ApiError::bad(
            21301,
            "Brak autoryzacji.",
            vec!["Sesja uwierzytelnienia została unieważniona.".into()],
        ));
    }
    if !token_usable(&st, &op.ksef_token_ref) {
        return Err(ApiError::bad(
            21301,
            "Brak autoryzacji.",
            vec!["Token KSeF został unieważniony.".into()],
        ));
    }
    // Fresh permissions: what the subject holds in the context now (grants may have changed).
    let mut op = {
        let o = st
            .auth
            .operations
            .get_mut(&claims.arn)
            .ok_or_else(|| not_found(&claims.arn))?;
        o.last_refresh = Some(now);
        o.clone()
    };
    op.permissions = crate::permissions::current_permissions(
        &st,
        &op.context,
        &op.subject,
        &op.permissions,
        now,
    );
    let access = issue(&state, "ContextToken", &op, state.config.access_token_ttl);
    Ok(Json(json!({"accessToken": token_info(access)})))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/challenge", post(challenge))
        .route("/auth/ksef-token", post(ksef_token))
        .route("/auth/token/redeem", post(redeem))
        .route("/auth/token/refresh", post(refresh))
        .route("/auth/{referenceNumber}", get(auth_status))
}
