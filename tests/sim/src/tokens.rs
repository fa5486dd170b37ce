//! KSeF tokens (ksef-guide §8): `POST/GET /tokens`, `GET/DELETE /tokens/{ref}`.
//! Only the SHA-256 of a token's secret is stored; the secret is shown once at creation.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, ContextId, Permission, SubjectId, next_token, paging};
use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

/// `AuthenticationTokenStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStatus {
    Pending,
    Active,
    Revoking,
    Revoked,
    Failed,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KsefToken {
    pub reference_number: String,
    pub secret_sha256: [u8; 32],
    pub author: SubjectId,
    pub context: ContextId,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub created: OffsetDateTime,
    pub active_from: OffsetDateTime,
    pub last_use: Option<OffsetDateTime>,
    /// When revocation was requested; `Revoking` until `revoked_at`.
    pub revoke_requested: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl KsefToken {
    /// Status now: `Pending → Active` after the activation delay, `Revoking → Revoked` likewise.
    pub fn status(&self, now: OffsetDateTime) -> TokenStatus {
        match (self.revoke_requested, self.revoked_at) {
            (Some(_), Some(done)) if now >= done => TokenStatus::Revoked,
            (Some(_), _) => TokenStatus::Revoking,
            _ if now < self.active_from => TokenStatus::Pending,
            _ => TokenStatus::Active,
        }
    }

    fn to_json(&self, now: OffsetDateTime) -> Value {
        json!({
            "referenceNumber": self.reference_number,
            "authorIdentifier": {"type": self.author.kind, "value": self.author.value},
            "contextIdentifier": {"type": self.context.kind, "value": self.context.value},
            "description": self.description,
            "requestedPermissions": self.permissions.iter().map(|p| p.name()).collect::<Vec<_>>(),
            "dateCreated": util::rfc3339(self.created),
            "lastUseDate": self.last_use.map(util::rfc3339),
            "status": self.status(now),
            "statusDetails": [],
        })
    }
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct TokenStore {
    pub tokens: HashMap<String, KsefToken>,
}

impl TokenStore {
    /// Creates a token and returns `(referenceNumber, secret)`.
    /// Secret format: `{referenceNumber}|{contextType-contextValue}|{64 hex}` (guide §8).
    pub fn create(
        &mut self,
        author: SubjectId,
        context: ContextId,
        description: String,
        permissions: Vec<Permission>,
        activation_delay: Duration,
    ) -> (String, String) {
        let reference_number = util::reference_number("EC");
        let ctx_prefix = match context.kind.as_str() {
            "Nip" => "nip",
            "InternalId" => "internalId",
            "NipVatUe" => "nipVatUe",
            _ => "peppolId",
        };
        let secret = format!(
            "{reference_number}|{ctx_prefix}-{}|{}",
            context.value,
            util::random_hex(32)
        );
        let now = util::now();
        self.tokens.insert(
            reference_number.clone(),
            KsefToken {
                reference_number: reference_number.clone(),
                secret_sha256: util::sha256(secret.as_bytes()),
                author,
                context,
                description,
                permissions,
                created: now,
                active_from: now + activation_delay,
                last_use: None,
                revoke_requested: None,
                revoked_at: None,
            },
        );
        (reference_number, secret)
    }

    pub fn find_by_secret_mut(&mut self, secret: &str) -> Option<&mut KsefToken> {
        let hash = util::sha256(secret.as_bytes());
        self.tokens.values_mut().find(|t| t.secret_sha256 == hash)
    }

    pub fn get(&self, reference: &str) -> Option<&KsefToken> {
        self.tokens.get(reference)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateTokenRequest {
    permissions: Vec<String>,
    description: String,
}

fn parse_permission(name: &str) -> Option<Permission> {
    Permission::TOKEN.into_iter().find(|p| p.name() == name)
}

/// `POST /tokens` → 202. Needs a certificate (XAdES) login in a Nip/InternalId context.
async fn generate(
    State(state): State<AppState>,
    auth: Auth,
    body: crate::server::JsonBody<GenerateTokenRequest>,
) -> Result<Response, ApiError> {
    let req = body.0;
    auth.require(&[Permission::CredentialsManage])?;
    if !matches!(auth.context.kind.as_str(), "Nip" | "InternalId") {
        return Err(ApiError::bad(
            26002,
            "Nie można wygenerować tokena dla obecnego typu kontekstu.",
            vec![format!(
                "Typ kontekstu {} nie pozwala na tokeny.",
                auth.context.kind
            )],
        ));
    }
    if !auth.method.is_certificate() {
        return Err(ApiError::Forbidden {
            reason_code: "auth-method-not-allowed",
            detail: "Generowanie tokenów wymaga uwierzytelnienia podpisem XAdES (certyfikatem)."
                .into(),
            required_any_of: vec![],
            present: auth
                .permissions
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        });
    }
    let len = req.description.chars().count();
    if !(5..=256).contains(&len) {
        return Err(ApiError::validation(
            "Opis tokena musi mieć od 5 do 256 znaków.",
        ));
    }
    if req.permissions.is_empty() {
        return Err(ApiError::validation(
            "Lista uprawnień tokena nie może być pusta.",
        ));
    }
    let mut permissions = Vec::new();
    for name in &req.permissions {
        let p = parse_permission(name)
            .ok_or_else(|| ApiError::validation(format!("Nieznane uprawnienie: {name}.")))?;
        if !auth.has(p) {
            return Err(ApiError::bad(
                26001,
                "Nie można nadać tokenowi uprawnień których nie posiadasz.",
                vec![format!("Brak uprawnienia {name}.")],
            ));
        }
        if !permissions.contains(&p) {
            permissions.push(p);
        }
    }
    let (reference, secret) = state.lock().tokens.create(
        auth.subject.clone(),
        auth.context.clone(),
        req.description,
        permissions,
        state.config.token_activation_delay,
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"referenceNumber": reference, "token": secret})),
    )
        .into_response())
}

/// Whether `auth` may see/revoke `token` (guide §8 visibility rules).
fn visible(auth: &Auth, token: &KsefToken) -> bool {
    if token.context != auth.context {
        return false;
    }
    if auth.has(Permission::CredentialsManage) || auth.has(Permission::CredentialsRead) {
        return true;
    }
    match auth.method {
        // A token-authenticated caller sees only the token it logged in with.
        crate::auth::AuthMethod::Token => {
            auth.ksef_token_ref.as_deref() == Some(token.reference_number.as_str())
        }
        _ => token.author == auth.subject,
    }
}

/// `GET /tokens?status=&description=&authorIdentifier=&authorIdentifierType=&pageSize=`.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs: Vec<(String, String)> = raw
        .as_deref()
        .map(|q| {
            q.split('&')
                .filter(|s| !s.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (percent_decode(k), percent_decode(v))
                })
                .collect()
        })
        .unwrap_or_default();
    let get_one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut statuses = Vec::new();
    for (k, v) in &pairs {
        if k == "status" {
            let s: TokenStatus = serde_json::from_value(json!(v))
                .map_err(|_| ApiError::validation(format!("Nieznany status tokena: {v}.")))?;
            statuses.push(s);
        }
    }
    let description = get_one("description");
    let author = get_one("authorIdentifier");
    for v in [&description, &author].into_iter().flatten() {
        if v.chars().count() < 3 {
            return Err(ApiError::validation(
                "Filtr tekstowy musi mieć co najmniej 3 znaki.",
            ));
        }
    }
    let author_type = get_one("authorIdentifierType");
    let (size, offset) = paging(&headers, get_one("pageSize").as_deref(), 10, 100, 10)?;
    let now = util::now();
    let st = state.lock();
    let mut tokens: Vec<&KsefToken> = st
        .tokens
        .tokens
        .values()
        .filter(|t| visible(&auth, t))
        .filter(|t| statuses.is_empty() || statuses.contains(&t.status(now)))
        .filter(|t| {
            description
                .as_ref()
                .is_none_or(|d| t.description.to_lowercase().contains(&d.to_lowercase()))
        })
        .filter(|t| {
            author
                .as_ref()
                .is_none_or(|a| t.author.value.contains(a.as_str()))
        })
        .filter(|t| author_type.as_ref().is_none_or(|a| &t.author.kind == a))
        .collect();
    tokens.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then(b.reference_number.cmp(&a.reference_number))
    });
    let total = tokens.len();
    let page: Vec<Value> = tokens
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|t| t.to_json(now))
        .collect();
    Ok(Json(
        json!({"continuationToken": next_token(offset, size, total), "tokens": page}),
    ))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn token_not_found(reference: &str) -> ApiError {
    ApiError::validation(format!("Token {reference} nie został znaleziony."))
}

/// `GET /tokens/{referenceNumber}` → `TokenStatusResponse`.
async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = state.lock();
    let token = st
        .tokens
        .get(&reference)
        .filter(|t| visible(&auth, t))
        .ok_or_else(|| token_not_found(&reference))?;
    Ok(Json(token.to_json(util::now())))
}

/// `DELETE /tokens/{referenceNumber}` → 204; the token goes `Revoking`, then `Revoked`.
async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = util::now();
    let delay = state.config.token_activation_delay;
    let mut st = state.lock();
    let token = st
        .tokens
        .tokens
        .get_mut(&reference)
        .filter(|t| visible(&auth, t))
        .ok_or_else(|| token_not_found(&reference))?;
    let may_revoke = auth.has(Permission::CredentialsManage)
        || auth.ksef_token_ref.as_deref() == Some(reference.as_str())
        || (auth.method.is_certificate() && token.author == auth.subject);
    if !may_revoke {
        return Err(ApiError::missing_permissions(
            &["CredentialsManage"],
            auth.permissions
                .iter()
                .map(|p| p.name().to_string())
                .collect(),
        ));
    }
    if token.revoke_requested.is_none() {
        token.revoke_requested = Some(now);
        token.revoked_at = Some(now + delay);
    }
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(generate))
        .route("/tokens/{referenceNumber}", get(get_one).delete(revoke))
}
