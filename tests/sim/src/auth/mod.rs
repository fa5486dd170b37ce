//! Authentication (ksef-guide §3): challenge, KSeF-token and XAdES login, status polling,
//! redeem/refresh of JWTs, auth session list and revocation — plus the [`Auth`] extractor
//! every protected handler uses and the [`Permission`] model.
//!
//! This file holds the model (permissions, identities, operations, [`AuthStore`]) and the paging
//! helpers; `bearer.rs` the JWTs and the extractor, `login.rs` the token login and JWT endpoints,
//! `sessions.rs` the auth session list and revocation.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

mod bearer;
mod login;
mod sessions;

pub(crate) use bearer::issue;
pub use bearer::{Auth, Claims, ClientIp, bearer_claims, peer_ip};
pub use login::start_operation;

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

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(login::routes())
        .merge(sessions::routes())
}
