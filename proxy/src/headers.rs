//! The headers the relay itself puts on its answers, each defined here once: CORS for
//! the configured origins (on `/ksef/...` and `/relay/environments`; preflights are
//! answered here), and the security headers every response carries, whether it came
//! by the `/ksef` fast path or through the router.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::config::Config;

/// Response headers the SPA must be able to read cross-origin (ksef-guide.md §1.1).
const EXPOSED_HEADERS: &str =
    "retry-after,x-system-warning,x-ms-meta-hash,content-type,content-length";

/// Request headers a cross-origin SPA may send.
const ALLOWED_HEADERS: &str = "authorization,content-type,accept,x-continuation-token,x-error-format,x-ksef-feature,x-ms-blob-type";

/// Methods a cross-origin SPA may use: those the relay forwards.
const ALLOWED_METHODS: &str = "GET,HEAD,POST,PUT,DELETE";

/// The request's `Origin` if it is one of the configured CORS origins. The relay's own
/// origin (the SPA it serves) needs no CORS; any other gets no CORS headers.
pub(crate) fn cors_origin(config: &Config, headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(header::ORIGIN)
        .filter(|origin| {
            config
                .allowed_origins
                .iter()
                .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
        })
        .cloned()
}

/// Whether a request is a CORS preflight, which the relay answers itself: an `OPTIONS`
/// with `Access-Control-Request-Method`. A plain `OPTIONS` is an ordinary request.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// CORS headers on an answer to a configured origin's request.
pub(crate) fn allow_cors(origin: Option<HeaderValue>, headers: &mut HeaderMap) {
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// The answer to a CORS preflight: permission for a configured origin, nothing for others
/// (the browser then refuses the request itself).
pub(crate) fn preflight(origin: Option<&HeaderValue>) -> Response {
    let mut response = StatusCode::OK.into_response();
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOWED_METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    );
    response
}

/// The CSP for everything the relay serves. No inline scripts, no `eval` except
/// WebAssembly compilation, and the app may only talk to its own origin. `index.html`
/// gets this plus the hashes of its inline loader (`spa::csp_with_inline_hashes`).
pub(crate) const BASE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

// Named once: a `&str` name is parsed again on every insert.
static CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");
static PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// Adds the security headers to every response (SPA, API and errors alike). A CSP
/// already there (`index.html`'s, with its script hashes) is kept.
pub(crate) fn set_security_headers(headers: &mut HeaderMap, hsts: bool) {
    // One growth step instead of several while inserting.
    headers.reserve(7);
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(BASE_CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        CROSS_ORIGIN_OPENER_POLICY.clone(),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        PERMISSIONS_POLICY.clone(),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allow_list::FORWARDED_METHODS;
    use crate::relay::is_forwarded_request_header;

    /// A preflight grants the methods and request headers the relay forwards, no more.
    #[test]
    fn a_preflight_grants_what_is_forwarded() {
        let forwarded: Vec<&str> = FORWARDED_METHODS.iter().map(Method::as_str).collect();
        assert_eq!(ALLOWED_METHODS, forwarded.join(","));
        for name in ALLOWED_HEADERS.split(',') {
            assert!(
                is_forwarded_request_header(&HeaderName::from_static(name)),
                "{name}"
            );
        }
    }
}
