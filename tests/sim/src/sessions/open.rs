//! Opening and closing an online session: the form code, the client's wrapped AES key
//! (`unwrap_key`, shared with batch sessions) and `POST /sessions/online[/{ref}/close]`.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::keys::Usage;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::upo::Authentication;
use crate::util::{self, rfc3339};

use super::{OnlineSession, SESSION_TTL, WRITE, no_session};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormCodeIn {
    system_code: String,
    schema_version: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionIn {
    pub encrypted_symmetric_key: String,
    pub initialization_vector: String,
    pub public_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    form_code: FormCodeIn,
    encryption: EncryptionIn,
}

/// The client's AES-256 key and CBC IV.
pub type SessionKey = ([u8; 32], [u8; 16]);

/// Unwraps the client's AES key: `Err` for request errors (21405/21470), `Ok(None)` when
/// the RSA decryption fails or gives no 32-byte key (KSeF reports that asynchronously).
pub fn unwrap_key(state: &AppState, enc: &EncryptionIn) -> Result<Option<SessionKey>, ApiError> {
    let wrapped = util::b64_decode(&enc.encrypted_symmetric_key).ok_or_else(|| {
        ApiError::validation("encryptedSymmetricKey nie jest poprawnym Base64. / Not valid Base64.")
    })?;
    let iv = util::b64_decode(&enc.initialization_vector)
        .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| {
            ApiError::validation(
                "initializationVector musi mieć 16 bajtów w Base64. / The IV must be 16 bytes, Base64.",
            )
        })?;
    match state.keys.decrypt(
        Usage::SymmetricKeyEncryption,
        enc.public_key_id.as_deref(),
        &wrapped,
    ) {
        Ok(key) => Ok(<[u8; 32]>::try_from(key.as_slice()).ok().map(|k| (k, iv))),
        Err(crate::keys::KeyError::UnknownKey) => Err(ApiError::unknown_key()),
        Err(crate::keys::KeyError::DecryptionFailed) => Ok(None),
    }
}

/// `POST /sessions/online` → 201.
async fn open(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<Response, ApiError> {
    auth.require(&WRITE)?;
    let fc = &req.form_code;
    // Only FA(3) is simulated (FA(2) is TEST-only in KSeF, PEF/FA_RR are out of scope).
    let supported = [("FA (3)", "1-0E", "FA")];
    if !supported
        .iter()
        .any(|(s, v, val)| fc.system_code == *s && fc.schema_version == *v && fc.value == *val)
    {
        return Err(ApiError::validation(format!(
            "Wskazany kod formularza nie jest wspierany ({} {} {}). / Unsupported formCode; use FA (3), 1-0E, FA.",
            fc.system_code, fc.schema_version, fc.value
        )));
    }
    let key = unwrap_key(&state, &req.encryption)?;
    let now = util::now();
    let reference = util::reference_number("SO");
    let authentication = match (&auth.ksef_token_ref, &auth.auth_document_hash) {
        (Some(r), _) => Authentication::KsefToken(r.clone()),
        (None, Some(h)) => Authentication::SignedDocumentHash(h.clone()),
        (None, None) => {
            Authentication::SignedDocumentHash(util::sha256_b64(auth.auth_reference.as_bytes()))
        }
    };
    let session = OnlineSession {
        reference: reference.clone(),
        context_kind: upo_context_kind(&auth.context.kind).into(),
        context_nip: auth.context.value.clone(),
        authentication,
        auth_reference: auth.auth_reference.clone(),
        key,
        system_code: fc.system_code.clone(),
        created: now,
        updated: now,
        valid_until: now + SESSION_TTL,
        closed: None,
        invoices: Vec::new(),
        upo_pages: Vec::new(),
        batch: None,
    };
    state
        .lock()
        .invoices
        .sessions
        .insert(reference.clone(), session);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"referenceNumber": reference, "validUntil": rfc3339(now + SESSION_TTL)})),
    )
        .into_response())
}

pub(crate) fn upo_context_kind(kind: &str) -> &'static str {
    match kind {
        "InternalId" => "IdWewnetrzny",
        "NipVatUe" => "IdZlozonyVatUE",
        "PeppolId" => "IdDostawcyUslugPeppol",
        _ => "Nip",
    }
}

/// `POST /sessions/online/{referenceNumber}/close` → 204.
async fn close(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(&WRITE)?;
    let mut st = state.lock();
    let s = st
        .invoices
        .sessions
        .get_mut(&reference)
        .filter(|s| s.context_nip == auth.context.value && s.batch.is_none())
        .ok_or_else(|| no_session(&reference))?;
    if s.closed.is_some() {
        let code = s.status(util::now()).0;
        return Err(ApiError::bad(
            21180,
            "Status sesji nie pozwala na wykonanie operacji.",
            vec![format!("Status sesji {code} uniemożliwia jej zamknięcie.")],
        ));
    }
    let now = util::now();
    s.closed = Some(now);
    s.updated = now;
    Ok(StatusCode::NO_CONTENT)
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/online", post(open))
        .route("/sessions/online/{referenceNumber}/close", post(close))
}
