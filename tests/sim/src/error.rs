//! The one error type of the simulator and its two wire formats.
//!
//! KSeF answers `400` with an `ExceptionResponse` (`exceptionCode` list) unless the
//! client sends `X-Error-Format: problem-details`; `401`, `403`, `410` are always RFC 7807
//! and `429` follows the header too (ksef-guide §12.2, open-api.json `ExceptionResponse`,
//! `BadRequestProblemDetails`, `ForbiddenProblemDetails`, `TooManyRequestsResponse`).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::util;

/// Everything a handler can fail with. Each variant maps to exactly one KSeF answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// `400` with a documented `exceptionCode` (Appendix A of the guide).
    #[error("{code}: {description}")]
    BadRequest {
        code: u32,
        description: String,
        details: Vec<String>,
    },
    /// `401` — missing, malformed or expired bearer token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// `403` — authenticated but lacking a permission.
    #[error("forbidden")]
    Forbidden {
        reason_code: &'static str,
        detail: String,
        required_any_of: Vec<String>,
        present: Vec<String>,
    },
    /// `403` with a `reasonCode` whose `security` object is not the permission lists
    /// (`ip-not-allowed` → `clientIp`, `auth-method-not-allowed`, ...).
    #[error("forbidden: {reason_code}")]
    ForbiddenWith {
        reason_code: &'static str,
        detail: String,
        security: Value,
    },
    /// `404` — no such path (rare: KSeF uses 400 + code for unknown resources).
    #[error("Nie znaleziono zasobu o wskazanej ścieżce. / No such resource.")]
    NotFound,
    /// `405` — the path exists, the method does not (an SDK calling an endpoint this
    /// simulator does not serve with that method gets a KSeF-shaped body, never an empty one).
    #[error(
        "Metoda HTTP nie jest obsługiwana dla tej ścieżki. / Method not allowed for this path."
    )]
    MethodNotAllowed,
    /// `410` — an async operation outlived its retention.
    #[error("gone")]
    Gone,
    /// `415` — body sent with a content type the endpoint does not take.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// `413` — body larger than the endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// `429` — a rate limit tripped; `retry_after` seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64, detail: String },
    /// `500` — a bug or an internal failure; never carries secrets.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// A `400` with one exception code and free-form details.
    pub fn bad(code: u32, description: impl Into<String>, details: Vec<String>) -> Self {
        ApiError::BadRequest {
            code,
            description: description.into(),
            details,
        }
    }
    /// `21405` "Błąd walidacji danych wejściowych." with the validator's text.
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::bad(
            21405,
            "Błąd walidacji danych wejściowych.",
            vec![detail.into()],
        )
    }
    /// `21470` — unknown or withdrawn `publicKeyId`.
    pub fn unknown_key() -> Self {
        Self::bad(
            21470,
            "Przesłany identyfikator klucza jest nieznany lub wskazuje na wycofany klucz.",
            vec![],
        )
    }
    /// `403 missing-permissions` listing what would have been enough.
    pub fn missing_permissions(required_any_of: &[&str], present: Vec<String>) -> Self {
        ApiError::Forbidden {
            reason_code: "missing-permissions",
            detail: format!(
                "Brak wymaganych uprawnień. Wymagane jedno z: {}.",
                required_any_of.join(", ")
            ),
            required_any_of: required_any_of.iter().map(|s| s.to_string()).collect(),
            present,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::ForbiddenWith { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Gone => StatusCode::GONE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Renders the error for a request with the given headers and path.
    pub fn render(&self, request_headers: &HeaderMap, path: &str) -> Response {
        let problem = request_headers
            .get("x-error-format")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("problem-details"));
        let status = self.status();
        let now = util::now_rfc3339();
        let trace_id = util::random_hex(16);
        let (body, problem_json): (Value, bool) = match self {
            ApiError::BadRequest {
                code,
                description,
                details,
            } => {
                if problem {
                    (
                        json!({"title":"Bad Request","status":400,"instance":path,
                            "detail":"Żądanie jest nieprawidłowe.",
                            "errors":[{"code":code,"description":description,"details":details}],
                            "timestamp":now,"traceId":trace_id}),
                        true,
                    )
                } else {
                    (
                        json!({"exception":{
                            "exceptionDetailList":[{"exceptionCode":code,"exceptionDescription":description,"details":details}],
                            "referenceNumber": util::uuid_v4(),
                            "serviceCode": format!("00-{}-{}-00", util::random_hex(16), util::random_hex(8)),
                            "serviceCtx":"srvSIM01",
                            "serviceName":"ksef-sim",
                            "timestamp": util::now_local_naive()}}),
                        false,
                    )
                }
            }
            ApiError::Unauthorized(why) => (
                json!({"title":"Unauthorized","status":401,"instance":path,
                    "detail":format!("Wymagane jest uwierzytelnienie. {why}"),
                    "timestamp":now,"traceId":trace_id}),
                true,
            ),
            ApiError::Forbidden {
                reason_code,
                detail,
                required_any_of,
                present,
            } => (
                json!({"title":"Forbidden","status":403,"instance":path,"detail":detail,
                    "reasonCode":reason_code,
                    "security":{"requiredAnyOfPermissions":required_any_of,"presentPermissions":present},
                    "timestamp":now,"traceId":trace_id}),
                true,
            ),
            ApiError::ForbiddenWith {
                reason_code,
                detail,
                security,
            } => (
                json!({"title":"Forbidden","status":403,"instance":path,"detail":detail,
                    "reasonCode":reason_code,"security":security,
                    "timestamp":now,"traceId":trace_id}),
                true,
            ),
            ApiError::Gone => (
                json!({"title":"Gone","status":410,"instance":path,
                    "detail":"Operacja wygasła i nie jest już dostępna.",
                    "timestamp":now,"traceId":trace_id}),
                true,
            ),
            ApiError::TooManyRequests { detail, .. } => {
                if problem {
                    (
                        json!({"title":"Too Many Requests","status":429,"instance":path,
                            "detail":detail,"timestamp":now,"traceId":trace_id}),
                        true,
                    )
                } else {
                    (
                        json!({"status":{"code":429,"description":"Too Many Requests","details":[detail]}}),
                        false,
                    )
                }
            }
            other => (
                json!({"title": status.canonical_reason().unwrap_or("Error"),"status":status.as_u16(),
                    "instance":path,"detail":other.to_string(),"timestamp":now,"traceId":trace_id}),
                true,
            ),
        };
        let mut response = (status, body.to_string()).into_response();
        let content_type = if problem_json {
            "application/problem+json"
        } else {
            "application/json"
        };
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let ApiError::TooManyRequests { retry_after, .. } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Handlers return `ApiError` directly; the `errors` middleware (server.rs) re-renders it
/// with the request's `X-Error-Format` and path. This plain rendering is the fallback.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.render(&HeaderMap::new(), "");
        response.extensions_mut().insert(self);
        response
    }
}
