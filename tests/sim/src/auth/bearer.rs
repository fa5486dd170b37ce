//! The bearer side: the claims of the simulator JWTs, issuing and verifying them, and the
//! [`Auth`] extractor (with [`ClientIp`]) every protected handler takes.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::jwt;
use crate::state::AppState;
use crate::util;

use super::{AuthMethod, AuthOperation, ContextId, Permission, SubjectId};

// ---------------------------------------------------------------- JWT claims

/// Claims of all simulator JWTs. `typ`: `OperationToken` | `ContextToken` | `RefreshToken`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub typ: String,
    /// Auth operation reference number.
    pub arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub civ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aum: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per: Vec<Permission>,
    /// Unique id so two tokens issued in the same second differ.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

pub(crate) fn issue(
    state: &AppState,
    typ: &str,
    op: &AuthOperation,
    ttl: Duration,
) -> (String, OffsetDateTime) {
    let now = util::now();
    let exp = now + ttl;
    let access = typ == "ContextToken";
    let claims = Claims {
        typ: typ.into(),
        arn: op.reference_number.clone(),
        cit: access.then(|| op.context.kind.clone()),
        civ: access.then(|| op.context.value.clone()),
        aum: access.then(|| op.method.legacy_name().to_string()),
        per: if access {
            op.permissions.clone()
        } else {
            vec![]
        },
        jti: util::random_hex(8),
        iat: now.unix_timestamp(),
        exp: exp.unix_timestamp(),
        iss: "ksef-sim".into(),
        aud: "ksef-sim".into(),
    };
    (jwt::sign(&state.jwt_secret, &claims), exp)
}

pub(super) fn token_info((token, valid_until): (String, OffsetDateTime)) -> Value {
    json!({"token": token, "validUntil": util::rfc3339(valid_until)})
}

/// Reads and verifies the bearer token of type `typ` (one of several).
pub fn bearer_claims(
    state: &AppState,
    headers: &HeaderMap,
    types: &[&str],
) -> Result<Claims, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("Brak nagłówka Authorization.".into()))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::Unauthorized("Oczekiwano schematu Bearer.".into()))?
        .trim();
    let claims: Claims = jwt::verify(&state.jwt_secret, token)
        .ok_or_else(|| ApiError::Unauthorized("Nieprawidłowy token.".into()))?;
    if !types.contains(&claims.typ.as_str()) {
        return Err(ApiError::Unauthorized(
            "Token nie jest właściwego typu dla tej operacji.".into(),
        ));
    }
    if claims.exp <= util::now().unix_timestamp() {
        return Err(ApiError::Unauthorized("Token wygasł.".into()));
    }
    Ok(claims)
}

/// The authenticated caller of a protected endpoint, from `Authorization: Bearer <accessToken>`.
///
/// ```ignore
/// async fn handler(auth: Auth, State(state): State<AppState>) -> Result<Json<..>, ApiError> {
///     auth.require(&[Permission::InvoiceWrite])?;
///     let nip = &auth.context.value;
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    pub context: ContextId,
    pub permissions: Vec<Permission>,
    /// Reference number of the auth operation (`...-AU-...`).
    pub auth_reference: String,
    pub method: AuthMethod,
    pub subject: SubjectId,
    /// KSeF token reference (token logins), for UPO `NumerReferencyjnyTokenaKSeF`.
    pub ksef_token_ref: Option<String>,
    /// Hash of the XAdES auth document (certificate logins), for UPO.
    pub auth_document_hash: Option<String>,
}

impl Auth {
    /// `Ok` if the caller holds at least one of `any_of`, else `403 missing-permissions`.
    pub fn require(&self, any_of: &[Permission]) -> Result<(), ApiError> {
        if any_of.iter().any(|p| self.permissions.contains(p)) {
            Ok(())
        } else {
            let names: Vec<&str> = any_of.iter().map(|p| p.name()).collect();
            Err(ApiError::missing_permissions(
                &names,
                self.permissions
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect(),
            ))
        }
    }
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let claims = bearer_claims(state, &parts.headers, &["ContextToken"])?;
        let st = state.lock();
        let op = st
            .auth
            .operations
            .get(&claims.arn)
            .ok_or_else(|| ApiError::Unauthorized("Nieznana sesja uwierzytelnienia.".into()))?;
        // A revoked auth session (DELETE /auth/sessions/...) ends its access tokens too.
        if op.revoked {
            return Err(ApiError::Unauthorized(
                "Sesja uwierzytelnienia została unieważniona.".into(),
            ));
        }
        if let Some(policy) = st.auth.policies.get(&claims.arn) {
            let ip = peer_ip(parts);
            if !policy.allows(ip) {
                return Err(crate::policy::ip_not_allowed(ip));
            }
        }
        let context = ContextId {
            kind: claims.cit.unwrap_or_default(),
            value: claims.civ.unwrap_or_default(),
        };
        // Grants are checked on every request: a revoked grant stops its holder at once.
        let permissions = crate::permissions::current_permissions(
            &st,
            &context,
            &op.subject,
            &claims.per,
            util::now(),
        );
        Ok(Auth {
            context,
            permissions,
            auth_reference: claims.arn,
            method: op.method,
            subject: op.subject.clone(),
            ksef_token_ref: op.ksef_token_ref.clone(),
            auth_document_hash: op.auth_document_hash.clone(),
        })
    }
}

/// The TCP peer address of a request (`127.0.0.1` without connect info).
pub fn peer_ip(parts: &Parts) -> std::net::IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// The TCP peer address; `127.0.0.1` when the router runs without connect info (oneshot tests).
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
        ))
    }
}
