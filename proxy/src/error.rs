//! The relay's one error type, answered as RFC 7807 `application/problem+json`.
//!
//! Messages are Polish first, English second. They never echo the request URL, its
//! query (storage links carry signatures), headers or bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why the relay answered instead of KSeF.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The path is not one the relay forwards.
    #[error("Nieznana ścieżka relay. / Unknown relay path.")]
    UnknownRoute,
    /// The `{env}` segment names an environment that is not enabled.
    #[error(
        "Środowisko KSeF „{0}” nie jest włączone w tym relay. / KSeF environment \"{0}\" is not enabled on this relay."
    )]
    EnvironmentDisabled(String),
    /// The path tries to escape the allow-list (encoded characters, dot segments, ...).
    #[error(
        "Niedozwolona ścieżka KSeF: dozwolone są tylko litery, cyfry oraz - . _ ~ /. / Forbidden KSeF path: only letters, digits and - . _ ~ / are allowed."
    )]
    ForbiddenPath,
    /// Path or query too long.
    #[error("Adres jest za długi. / The URL is too long.")]
    UriTooLong,
    /// A method KSeF never uses.
    #[error(
        "Metoda HTTP nie jest obsługiwana przez relay. / HTTP method not supported by the relay."
    )]
    MethodNotAllowed,
    /// A browser on another site tried to use this relay.
    #[error(
        "Ta strona nie może korzystać z tego relay (niedozwolony Origin). / This site may not use this relay (origin not allowed)."
    )]
    ForbiddenOrigin,
    /// The body exceeds the configured limit.
    #[error(
        "Treść żądania jest za duża (limit {limit_mib} MiB). / Request body too large (limit {limit_mib} MiB)."
    )]
    BodyTooLarge {
        /// The configured limit.
        limit_mib: u64,
    },
    /// The client exceeded its share of the relay's outgoing rate.
    #[error(
        "Za dużo żądań — spróbuj ponownie za {retry_after} s. / Too many requests — retry in {retry_after} s."
    )]
    RateLimited {
        /// Seconds until a request will be accepted again.
        retry_after: u64,
    },
    /// KSeF could not be reached (DNS, refused, TLS, reset).
    #[error(
        "Nie można połączyć się z KSeF ({0}). Spróbuj ponownie za chwilę. / Cannot reach KSeF ({0}). Try again shortly."
    )]
    UpstreamUnreachable(&'static str),
    /// KSeF did not answer in time.
    #[error(
        "KSeF nie odpowiedział w wyznaczonym czasie. Spróbuj ponownie później. / KSeF did not answer in time. Try again later."
    )]
    UpstreamTimeout,
    /// KSeF answered with something that is not the API (an HTML error page).
    #[error(
        "KSeF zwrócił stronę HTML zamiast odpowiedzi API (status {0}) — prawdopodobnie przerwa techniczna. / KSeF returned an HTML page instead of an API response (status {0}) — probably maintenance."
    )]
    UpstreamHtml(u16),
}

impl RelayError {
    fn status(&self) -> StatusCode {
        match self {
            Self::UnknownRoute | Self::EnvironmentDisabled(_) => StatusCode::NOT_FOUND,
            Self::ForbiddenPath => StatusCode::BAD_REQUEST,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::ForbiddenOrigin => StatusCode::FORBIDDEN,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UpstreamUnreachable(_) | Self::UpstreamHtml(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// A stable machine-readable code for the SPA.
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownRoute => "unknown-route",
            Self::EnvironmentDisabled(_) => "environment-disabled",
            Self::ForbiddenPath => "forbidden-path",
            Self::UriTooLong => "uri-too-long",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::ForbiddenOrigin => "forbidden-origin",
            Self::BodyTooLarge { .. } => "body-too-large",
            Self::RateLimited { .. } => "relay-rate-limited",
            Self::UpstreamUnreachable(_) => "upstream-unreachable",
            Self::UpstreamTimeout => "upstream-timeout",
            Self::UpstreamHtml(_) => "upstream-html",
        }
    }
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({
            "type": format!("urn:kwit:relay:{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
            "code": self.code(),
            "source": "kwit-relay",
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::RateLimited { retry_after } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
