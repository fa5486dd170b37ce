//! Authentication (ksef-guide §3): challenge, KSeF-token and XAdES login, status polling,
//! redeem/refresh of JWTs, auth session list and revocation — plus the [`Auth`] extractor
//! every protected handler uses and the [`Permission`] model.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::jwt;
use crate::keys::Usage;
use crate::state::AppState;
use crate::tokens::TokenStatus;
use crate::util;

/// KSeF permissions (`TokenPermissionType` + the rest of ksef-guide §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Permission {
    InvoiceRead,
    InvoiceWrite,
    CredentialsRead,
    CredentialsManage,
    SubunitManage,
    EnforcementOperations,
    Introspection,
    VatUeManage,
    PefInvoiceWrite,
    /// 2.7.0: operations on collective identifiers (collective.rs).
    CollectiveIdentifierManage,
}

impl Permission {
    /// What an Owner (authenticated with the context's own NIP) holds implicitly (guide §9).
    pub const OWNER: [Permission; 7] = [
        Permission::InvoiceRead,
        Permission::InvoiceWrite,
        Permission::CredentialsRead,
        Permission::CredentialsManage,
        Permission::SubunitManage,
        Permission::Introspection,
        Permission::CollectiveIdentifierManage,
    ];
    /// Permissions a KSeF token may carry (`TokenPermissionType`).
    pub const TOKEN: [Permission; 7] = [
        Permission::InvoiceRead,
        Permission::InvoiceWrite,
        Permission::CredentialsRead,
        Permission::CredentialsManage,
        Permission::SubunitManage,
        Permission::EnforcementOperations,
        Permission::Introspection,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Permission::InvoiceRead => "InvoiceRead",
            Permission::InvoiceWrite => "InvoiceWrite",
            Permission::CredentialsRead => "CredentialsRead",
            Permission::CredentialsManage => "CredentialsManage",
            Permission::SubunitManage => "SubunitManage",
            Permission::EnforcementOperations => "EnforcementOperations",
            Permission::Introspection => "Introspection",
            Permission::VatUeManage => "VatUeManage",
            Permission::PefInvoiceWrite => "PefInvoiceWrite",
            Permission::CollectiveIdentifierManage => "CollectiveIdentifierManage",
        }
    }
}

/// `contextIdentifier` (`AuthenticationContextIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextId {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl ContextId {
    pub fn nip(nip: &str) -> Self {
        ContextId {
            kind: "Nip".into(),
            value: nip.into(),
        }
    }
    /// Checks type and value format (guide §3.2).
    pub fn validate(&self) -> Result<(), ApiError> {
        let v = self.value.as_str();
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let ok = match self.kind.as_str() {
            "Nip" => nip_format_ok(v),
            "InternalId" => {
                v.len() == 16 && nip_format_ok(&v[..10]) && &v[10..11] == "-" && digits(&v[11..])
            }
            "NipVatUe" => {
                v.len() > 13
                    && nip_format_ok(&v[..10])
                    && &v[10..11] == "-"
                    && v[11..13].bytes().all(|b| b.is_ascii_uppercase())
            }
            "PeppolId" => {
                v.len() == 9
                    && v.starts_with('P')
                    && v[1..3].bytes().all(|b| b.is_ascii_uppercase())
                    && digits(&v[3..])
            }
            other => {
                return Err(ApiError::validation(format!(
                    "Nieznany typ identyfikatora kontekstu: {other}."
                )));
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::validation(format!(
                "Nieprawidłowa wartość identyfikatora kontekstu {}: {}.",
                self.kind, self.value
            )))
        }
    }
}

/// NIP regex `[1-9]((\d[1-9])|([1-9]\d))\d{7}` (checksum not enforced at auth, as on TEST).
pub fn nip_format_ok(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b.iter().all(u8::is_ascii_digit)
        && b[0] != b'0'
        && !(b[1] == b'0' && b[2] == b'0')
}

/// Who authenticated (`subject-details`): NIP/PESEL from a certificate, a fingerprint, or
/// (token login) the token's author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectId {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// How the user authenticated (`AuthenticationMethod` + `AuthenticationMethodInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthMethod {
    Token,
    /// XAdES with a self-signed certificate (TEST), reported as a qualified seal/signature.
    SelfSignedSeal,
    SelfSignedSignature,
    /// XAdES with a KSeF certificate issued by this simulator.
    InternalCertificate,
}

impl AuthMethod {
    fn legacy_name(self) -> &'static str {
        match self {
            AuthMethod::Token => "Token",
            AuthMethod::SelfSignedSeal => "QualifiedSeal",
            AuthMethod::SelfSignedSignature => "QualifiedSignature",
            AuthMethod::InternalCertificate => "InternalCertificate",
        }
    }
    fn info(self) -> Value {
        let (category, code, name) = match self {
            AuthMethod::Token => ("Token", "token.ksef", "Token KSeF"),
            AuthMethod::SelfSignedSeal => (
                "XadesSignature",
                "xades.qualified-seal",
                "Pieczęć kwalifikowana",
            ),
            AuthMethod::SelfSignedSignature => (
                "XadesSignature",
                "xades.qualified-signature",
                "Podpis kwalifikowany",
            ),
            AuthMethod::InternalCertificate => (
                "XadesSignature",
                "xades.internal-certificate",
                "Certyfikat KSeF",
            ),
        };
        json!({"category": category, "code": code, "displayName": name})
    }
    /// XAdES logins (certificate-based) may create KSeF tokens; token logins may not.
    pub fn is_certificate(self) -> bool {
        !matches!(self, AuthMethod::Token)
    }
}

/// Final or pending result of an auth operation (`StatusInfo`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AuthOutcome {
    pub code: u16,
    pub description: String,
    pub details: Vec<String>,
}

impl AuthOutcome {
    pub fn success() -> Self {
        AuthOutcome {
            code: 200,
            description: "Uwierzytelnianie zakończone sukcesem".into(),
            details: vec![],
        }
    }
    pub fn failed(code: u16, description: &str, detail: &str) -> Self {
        AuthOutcome {
            code,
            description: description.into(),
            details: if detail.is_empty() {
                vec![]
            } else {
                vec![detail.into()]
            },
        }
    }
}

/// One `/auth/...` operation (`referenceNumber` `...-AU-...`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AuthOperation {
    pub reference_number: String,
    pub start_date: OffsetDateTime,
    pub ready_at: OffsetDateTime,
    pub method: AuthMethod,
    pub context: ContextId,
    pub subject: SubjectId,
    pub permissions: Vec<Permission>,
    pub outcome: AuthOutcome,
    pub redeemed: bool,
    pub last_refresh: Option<OffsetDateTime>,
    pub refresh_valid_until: Option<OffsetDateTime>,
    pub revoked: bool,
    /// Reference number of the KSeF token used (token logins).
    pub ksef_token_ref: Option<String>,
    /// SHA-256 (base64) of the signed XAdES document (certificate logins), for UPOs.
    pub auth_document_hash: Option<String>,
    /// SHA-256 fingerprint (hex, upper) of the signing certificate (certificate logins).
    pub cert_fingerprint: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChallengeRecord {
    pub issued: OffsetDateTime,
    pub timestamp_ms: i64,
    pub used: bool,
}

/// Auth data in [`crate::state::SimState`].
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct AuthStore {
    pub challenges: HashMap<String, ChallengeRecord>,
    pub operations: HashMap<String, AuthOperation>,
    /// `authorizationPolicy.allowedIps` of a login, by auth reference (policy.rs).
    #[serde(default)]
    pub policies: HashMap<String, crate::policy::AllowedIps>,
}

impl AuthStore {
    /// Marks a challenge used; `Err(21111)` if unknown, used or older than `ttl`.
    pub fn consume_challenge(
        &mut self,
        challenge: &str,
        ttl: Duration,
    ) -> Result<ChallengeRecord, ApiError> {
        let invalid = || {
            ApiError::bad(
                21111,
                "Nieprawidłowe wyzwanie autoryzacyjne.",
                vec![format!(
                    "Wyzwanie {challenge} jest nieznane, wygasło lub zostało już użyte."
                )],
            )
        };
        let rec = self.challenges.get_mut(challenge).ok_or_else(invalid)?;
        if rec.used || rec.issued + ttl < util::now() {
            return Err(invalid());
        }
        rec.used = true;
        Ok(rec.clone())
    }
}

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

fn token_info((token, valid_until): (String, OffsetDateTime)) -> Value {
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

// ---------------------------------------------------------------- handlers

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

fn status_json(op: &AuthOperation, now: OffsetDateTime) -> Value {
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

fn not_found(reference: &str) -> ApiError {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_size: Option<String>,
}

/// Parses `pageSize` within `min..=max` (21405 otherwise) and `x-continuation-token` as an
/// offset (21418 if malformed). Shared with other paged lists.
pub fn paging(
    headers: &HeaderMap,
    page_size: Option<&str>,
    min: usize,
    max: usize,
    default: usize,
) -> Result<(usize, usize), ApiError> {
    let size = match page_size {
        None => default,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                    "pageSize musi być liczbą z zakresu {min}..{max}."
                )));
            }
        },
    };
    let offset = match headers
        .get("x-continuation-token")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("") => 0,
        Some(t) => util::b64_decode(t)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| {
                ApiError::bad(
                    21418,
                    "Przekazany token kontynuacji ma nieprawidłowy format.",
                    vec![],
                )
            })?,
    };
    Ok((size, offset))
}

/// The continuation token for the next page, or `None` on the last page.
pub fn next_token(offset: usize, size: usize, total: usize) -> Option<String> {
    (offset + size < total).then(|| util::b64(format!("offset:{}", offset + size).as_bytes()))
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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/challenge", post(challenge))
        .route("/auth/ksef-token", post(ksef_token))
        .route("/auth/token/redeem", post(redeem))
        .route("/auth/token/refresh", post(refresh))
        .route("/auth/sessions", get(sessions))
        .route("/auth/sessions/current", delete(revoke_current))
        .route("/auth/sessions/{referenceNumber}", delete(revoke_one))
        .route("/auth/{referenceNumber}", get(auth_status))
}
