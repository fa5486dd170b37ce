//! KSeF 2.0 endpoints as plain request/response types (ruma style): one module per
//! endpoint, shaped 1:1 after /work/shared/ksef-docs/open-api.json, no I/O.
//! [`Endpoint`] turns a request into an [`HttpRequest`](crate::transport::HttpRequest)
//! and parses the successful response; failures are mapped by [`error_from_response`].

use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::transport::HttpResponse;

pub mod auth;
pub mod batch;
pub mod certificates;
pub mod invoices;
pub mod permissions;
pub mod security;
pub mod sessions;
pub mod tokens;

/// Request body of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/json`.
    Json(Vec<u8>),
    /// `application/xml`.
    Xml(Vec<u8>),
}

impl Body {
    /// Serialises `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> Result<Self> {
        serde_json::to_vec(value)
            .map(Self::Json)
            .map_err(|e| Error::InvalidInput(e.to_string()))
    }
}

/// One KSeF endpoint: how to build the request and read the successful response.
pub trait Endpoint {
    /// Parsed successful response.
    type Response;
    /// HTTP method.
    const METHOD: Method;
    /// Path after `/v2`, starting with `/`, including the query string if any.
    fn path(&self) -> String;
    /// Request body.
    fn body(&self) -> Result<Body> {
        Ok(Body::Empty)
    }
    /// Extra request headers (e.g. [`CONTINUATION_TOKEN`]), by constant name: naming a header
    /// by a string pulls `HeaderName::from_bytes` (about 17 KB) into the browser's wasm.
    fn headers(&self) -> Vec<(http::HeaderName, String)> {
        Vec::new()
    }
    /// Parses a 2xx response.
    fn parse(response: HttpResponse) -> Result<Self::Response>;
}

/// The request header carrying the next page's token (token and session invoice lists).
pub const CONTINUATION_TOKEN: http::HeaderName =
    http::HeaderName::from_static("x-continuation-token");

/// Parses a JSON body.
pub fn json_body<T: DeserializeOwned>(response: &HttpResponse) -> Result<T> {
    serde_json::from_slice(response.body()).map_err(|e| Error::Decode(e.to_string()))
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved kept).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `StatusInfo` used by auth, session, invoice and export statuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Status code (100 in progress, 200 ok, ≥ 400 failure).
    pub code: i64,
    /// Polish description.
    #[serde(default)]
    pub description: String,
    /// Additional messages.
    #[serde(default)]
    pub details: Vec<String>,
}

/// `{type, value}` context identifier (`Nip`, `InternalId`, `NipVatUe`, `PeppolId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextIdentifier {
    /// Identifier type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Identifier value.
    pub value: String,
}

impl ContextIdentifier {
    /// A NIP context.
    pub fn nip(nip: &str) -> Self {
        Self {
            kind: "Nip".into(),
            value: nip.into(),
        }
    }
}

/// `{type, value}` identifier of a person, entity or certificate (`Nip`, `Pesel`,
/// `Fingerprint`, …) as the credential endpoints use it; `value` is absent for `System`
/// (grants KSeF made itself) and `AllPartners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// Identifier type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Identifier value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Identifier {
    /// `{type, value}`.
    pub fn new(kind: &str, value: &str) -> Self {
        Self {
            kind: kind.into(),
            value: Some(value.into()),
        }
    }

    /// A NIP.
    pub fn nip(nip: &str) -> Self {
        Self::new("Nip", nip)
    }

    /// A PESEL.
    pub fn pesel(pesel: &str) -> Self {
        Self::new("Pesel", pesel)
    }
}

/// `formCode` of session opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FormCode {
    /// e.g. `FA (3)` (with the space).
    pub system_code: String,
    /// e.g. `1-0E`.
    pub schema_version: String,
    /// e.g. `FA`.
    pub value: String,
}

impl FormCode {
    /// FA(3), the only form Kwit sends.
    pub fn fa3() -> Self {
        Self {
            system_code: "FA (3)".into(),
            schema_version: "1-0E".into(),
            value: "FA".into(),
        }
    }
}

/// `{token, validUntil}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// Opaque JWT — a secret, never log it.
    pub token: String,
    /// ISO-8601 expiry.
    pub valid_until: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExceptionResponse {
    exception: ExceptionBody,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExceptionBody {
    #[serde(default)]
    exception_detail_list: Vec<ExceptionDetail>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExceptionDetail {
    exception_code: i64,
    #[serde(default)]
    exception_description: String,
    #[serde(default)]
    details: Option<Vec<String>>,
}
#[derive(Deserialize)]
struct ProblemDetails {
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "reasonCode")]
    reason_code: Option<String>,
    #[serde(default)]
    errors: Vec<ProblemError>,
}
#[derive(Deserialize)]
struct ProblemError {
    code: i64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    details: Option<Vec<String>>,
}

/// Seconds from a `Retry-After` header (integer form; KSeF sends seconds).
pub fn retry_after_secs(response: &HttpResponse) -> u64 {
    response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1)
}

/// Maps a non-2xx response to the user-facing [`Error`] (guide §12.2).
pub fn error_from_response(response: &HttpResponse) -> Error {
    let status = response.status().as_u16();
    let body = response.body();
    match status {
        401 => Error::Unauthorized,
        403 => {
            let p: Option<ProblemDetails> = serde_json::from_slice(body).ok();
            Error::Forbidden {
                reason: p
                    .as_ref()
                    .and_then(|p| p.reason_code.clone())
                    .unwrap_or_else(|| "forbidden".into()),
                detail: p.and_then(|p| p.detail).unwrap_or_default(),
            }
        }
        410 => Error::Gone,
        429 => Error::RateLimited {
            retry_after_secs: retry_after_secs(response),
        },
        400 => {
            if let Ok(e) = serde_json::from_slice::<ExceptionResponse>(body)
                && let Some(d) = e.exception.exception_detail_list.into_iter().next()
            {
                return Error::from_exception(
                    d.exception_code,
                    d.exception_description,
                    d.details.unwrap_or_default(),
                );
            }
            if let Ok(p) = serde_json::from_slice::<ProblemDetails>(body)
                && let Some(e) = p.errors.into_iter().next()
            {
                return Error::from_exception(e.code, e.description, e.details.unwrap_or_default());
            }
            http_error(status, body)
        }
        _ => http_error(status, body),
    }
}

fn http_error(status: u16, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body);
    Error::Http {
        status,
        body: text.chars().take(300).collect(),
    }
}

/// Generates the boilerplate of a JSON endpoint.
macro_rules! json_response {
    () => {
        fn parse(
            response: $crate::transport::HttpResponse,
        ) -> $crate::error::Result<Self::Response> {
            $crate::api::json_body(&response)
        }
    };
}
pub(crate) use json_response;

/// Response of endpoints with no body (204).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoContent;

/// Response of endpoints returning raw bytes (XML invoices, UPO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDocument {
    /// Document bytes.
    pub bytes: Vec<u8>,
    /// `x-ms-meta-hash` header (Base64 SHA-256) when present.
    pub meta_hash: Option<String>,
}

impl RawDocument {
    /// Reads body and hash header.
    pub fn from_response(response: HttpResponse) -> Self {
        let meta_hash = response
            .headers()
            .get("x-ms-meta-hash")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Self {
            bytes: response.into_body(),
            meta_hash,
        }
    }
}
