//! Forwarding `/ksef/{env}/v2/{path}` and `/ksef/{env}/storage/{path}` to a fixed host.
//!
//! The raw (still percent-encoded) request path is parsed here instead of trusting the
//! router's decoding: every segment must be plain unreserved characters, so encoded
//! slashes or dots, `..`, `@`, `:` and absolute URLs can never reach the upstream URL.
//! Bodies are streamed both ways; nothing of the request or response is logged.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use crate::AppState;
use crate::config::Environment;
use crate::error::RelayError;

/// Longest accepted path (after `/ksef/{env}/`) and query, in bytes.
pub(crate) const MAX_PATH_LEN: usize = 1024;
pub(crate) const MAX_QUERY_LEN: usize = 4096;

/// Request headers KSeF (and its storage) needs; everything else — cookies,
/// hop-by-hop headers, `Host`, `Origin`, `X-Forwarded-*` — stays behind.
/// (ksef-guide.md §1.1 and §12.)
const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "accept",
    "accept-encoding",
    "accept-language",
    "x-continuation-token",
    "x-error-format",
    "x-ksef-feature",
    "x-test-system-warning",
    "x-ms-blob-type",
    "x-ms-version",
    "x-ms-date",
];

/// Response headers that must not be passed back: hop-by-hop ones, cookies, and
/// headers the relay sets itself.
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "set-cookie2",
    "alt-svc",
    "strict-transport-security",
    "content-security-policy",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-expose-headers",
    "access-control-max-age",
];

/// Which upstream tree a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tree {
    /// The API (`/v2/...`).
    Api,
    /// SAS storage links (`/storage/...`): UPO, batch parts, export parts.
    Storage,
}

impl Tree {
    fn segment(self) -> &'static str {
        match self {
            Self::Api => "v2",
            Self::Storage => "storage",
        }
    }
}

/// What the access log may say about a forwarded request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteLabel {
    pub(crate) route: &'static str,
    pub(crate) env: Option<Environment>,
}

/// A parsed relay path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub(crate) env: Environment,
    pub(crate) tree: Tree,
    /// Validated rest of the path, without a leading slash.
    pub(crate) rest: &'a str,
}

/// Splits and validates `/ksef/{env}/{v2|storage}/{rest}` from the raw path.
pub(crate) fn parse_target(raw_path: &str) -> Result<Target<'_>, RelayError> {
    if raw_path.len() > MAX_PATH_LEN + "/ksef/storage/storage/".len() {
        return Err(RelayError::UriTooLong);
    }
    let after = raw_path
        .strip_prefix("/ksef/")
        .ok_or(RelayError::UnknownRoute)?;
    let (env_seg, after) = after.split_once('/').ok_or(RelayError::UnknownRoute)?;
    let env = Environment::from_segment(env_seg).ok_or(RelayError::UnknownRoute)?;
    let (tree_seg, rest) = after.split_once('/').ok_or(RelayError::UnknownRoute)?;
    let tree = match tree_seg {
        "v2" => Tree::Api,
        "storage" => Tree::Storage,
        _ => return Err(RelayError::UnknownRoute),
    };
    if rest.is_empty() {
        return Err(RelayError::UnknownRoute);
    }
    validate_rest(rest)?;
    Ok(Target { env, tree, rest })
}

/// Every segment non-empty, not a dot segment, and made of RFC 3986 unreserved
/// characters only (no `%`, so no encoded slash, dot, `@` or CRLF can sneak in).
fn validate_rest(rest: &str) -> Result<(), RelayError> {
    for segment in rest.split('/') {
        let plain = segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if segment.is_empty() || segment == "." || segment == ".." || !plain {
            return Err(RelayError::ForbiddenPath);
        }
    }
    Ok(())
}

/// The client's address for rate limiting.
fn client_ip(req: &Request, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let last_hop = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(ip) = last_hop {
            return ip;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip())
}

/// `Origin` must be absent (non-browser or same-origin GET), the relay's own origin
/// (its host equals `Host`), or a configured one. Anything else is another website
/// trying to spend this relay's IP reputation with KSeF.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// The `/ksef/...` handler.
pub(crate) async fn forward(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let mut label = RouteLabel {
        route: "/ksef",
        env: None,
    };
    let mut response = match forward_inner(&state, req, &mut label).await {
        Ok(response) => response,
        Err(err) => {
            if matches!(
                err,
                RelayError::UpstreamUnreachable(_)
                    | RelayError::UpstreamTimeout
                    | RelayError::UpstreamHtml(_)
            ) {
                // Only the classification: reqwest errors would print the URL.
                tracing::warn!(
                    route = label.route,
                    env = label.env.map(Environment::as_str),
                    problem = ?err_code(&err),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "upstream failure"
                );
            }
            err.into_response()
        }
    };
    response.extensions_mut().insert(label);
    response
}

fn err_code(err: &RelayError) -> &'static str {
    match err {
        RelayError::UpstreamUnreachable(why) => why,
        RelayError::UpstreamTimeout => "timeout",
        RelayError::UpstreamHtml(_) => "html",
        _ => "other",
    }
}

async fn forward_inner(
    state: &AppState,
    req: Request,
    label: &mut RouteLabel,
) -> Result<Response, RelayError> {
    let target = parse_target(req.uri().path())?;
    label.route = match target.tree {
        Tree::Api => "/ksef/{env}/v2/{*path}",
        Tree::Storage => "/ksef/{env}/storage/{*path}",
    };
    label.env = Some(target.env);
    let base = state
        .config
        .upstream(target.env)
        .ok_or_else(|| RelayError::EnvironmentDisabled(target.env.as_str().to_owned()))?;

    let query = req.uri().query();
    if query.is_some_and(|q| q.len() > MAX_QUERY_LEN) {
        return Err(RelayError::UriTooLong);
    }
    if !origin_allowed(req.headers(), &state.config.allowed_origins) {
        return Err(RelayError::ForbiddenOrigin);
    }
    let method = req.method().clone();
    if ![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(&method)
    {
        return Err(RelayError::MethodNotAllowed);
    }
    let client = client_ip(&req, state.config.trust_forwarded_for);
    state
        .limiter
        .check(client, Instant::now())
        .map_err(|retry_after| RelayError::RateLimited { retry_after })?;

    let limit = state.config.max_body_bytes();
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > limit) {
        return Err(RelayError::BodyTooLarge {
            limit_mib: state.config.max_body_mib,
        });
    }

    let mut url = String::with_capacity(base.len() + target.rest.len() + 16);
    url.push_str(base);
    url.push('/');
    url.push_str(target.tree.segment());
    url.push('/');
    url.push_str(target.rest);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    let url = reqwest::Url::parse(&url).map_err(|_| RelayError::ForbiddenPath)?;
    // Defence in depth: the host can only be the configured one.
    if url.origin().ascii_serialization() != base {
        return Err(RelayError::ForbiddenPath);
    }

    let tree = target.tree;
    let (parts, body) = req.into_parts();
    // Content-Length is passed on only when it is the body's real framing (hyper
    // ignores it when the client also sent chunked encoding).
    let exact_len = axum::body::HttpBody::size_hint(&body).exact();
    let mut headers = HeaderMap::with_capacity(8);
    for name in FORWARDED_REQUEST_HEADERS {
        // Storage links are pre-signed: the bearer token must never travel there.
        if tree == Tree::Storage && *name == "authorization" {
            continue;
        }
        if *name == "content-length" {
            if let Some(len) = exact_len.filter(|len| Some(*len) == declared_len) {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            }
            continue;
        }
        for value in parts.headers.get_all(*name) {
            headers.append(HeaderName::from_static(name), value.clone());
        }
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let body = reqwest::Body::wrap_stream(Limited::new(body, limit_usize).into_data_stream());

    let request = state
        .client
        .request(method, url)
        .headers(headers)
        .body(body)
        .build()
        .map_err(|_| RelayError::ForbiddenPath)?;

    let upstream = match tokio::time::timeout(
        state.config.upstream_timeout(),
        state.client.execute(request),
    )
    .await
    {
        Err(_) => return Err(RelayError::UpstreamTimeout),
        Ok(Err(err)) => return Err(classify(&err, state.config.max_body_mib)),
        Ok(Ok(resp)) => resp,
    };

    let status = upstream.status();
    let is_html = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("text/html") || ct.starts_with("application/xhtml")
        });
    if is_html {
        return Err(RelayError::UpstreamHtml(status.as_u16()));
    }

    let mut builder = Response::builder().status(status);
    if let Some(out) = builder.headers_mut() {
        for (name, value) in upstream.headers() {
            if !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()) {
                out.append(name.clone(), value.clone());
            }
        }
        // The relay's answers are per-user; never let a shared cache keep them.
        if !out.contains_key(header::CACHE_CONTROL) {
            out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    builder
        .body(Body::from_stream(upstream.bytes_stream()))
        .map_err(|_| RelayError::UpstreamUnreachable("invalid-response"))
}

/// Maps a reqwest error to a problem without ever looking at its URL.
fn classify(err: &reqwest::Error, limit_mib: u64) -> RelayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return RelayError::BodyTooLarge { limit_mib };
        }
        source = e.source();
    }
    if err.is_timeout() {
        RelayError::UpstreamTimeout
    } else if err.is_connect() {
        RelayError::UpstreamUnreachable("connect")
    } else if err.is_body() || err.is_request() {
        RelayError::UpstreamUnreachable("connection-reset")
    } else {
        RelayError::UpstreamUnreachable("protocol")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_and_storage_paths() {
        assert_eq!(
            parse_target("/ksef/test/v2/auth/challenge").ok(),
            Some(Target {
                env: Environment::Test,
                tree: Tree::Api,
                rest: "auth/challenge"
            })
        );
        assert_eq!(
            parse_target("/ksef/sim/storage/01/abc/session-upo/upo_00.xml")
                .map(|t| (t.env, t.tree))
                .ok(),
            Some((Environment::Sim, Tree::Storage))
        );
    }

    #[test]
    fn refuses_escapes() {
        for path in [
            "/ksef/test/v2/../../etc/passwd",
            "/ksef/test/v2/auth/..",
            "/ksef/test/v2/./auth",
            "/ksef/test/v2/auth//challenge",
            "/ksef/test/v2/%2e%2e/x",
            "/ksef/test/v2/a%2Fb",
            "/ksef/test/v2/a%252Fb",
            "/ksef/test/v2/@evil.example",
            "/ksef/test/v2/user@evil.example/x",
            "/ksef/test/v2/http:/evil.example",
            "/ksef/test/v2/[::1]/x",
            "/ksef/test/v2/a%0d%0aHost:%20evil",
            "/ksef/test/v2/a\\b",
            "/ksef/test/v2/",
        ] {
            assert!(parse_target(path).is_err(), "{path}");
        }
        for path in [
            "/ksef/evil.example/v2/x",
            "/ksef/test/v3/x",
            "/ksef//v2/x",
            "/ksef/test",
        ] {
            assert!(
                matches!(parse_target(path), Err(RelayError::UnknownRoute)),
                "{path}"
            );
        }
    }

    #[test]
    fn refuses_oversized_paths() {
        let long = format!("/ksef/test/v2/{}", "a".repeat(MAX_PATH_LEN + 10));
        assert!(matches!(parse_target(&long), Err(RelayError::UriTooLong)));
    }

    #[test]
    fn origin_rules() {
        let mut h = HeaderMap::new();
        assert!(origin_allowed(&h, &[]));
        h.insert(header::HOST, HeaderValue::from_static("kwit.example.com"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://kwit.example.com"),
        );
        assert!(origin_allowed(&h, &[]));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!origin_allowed(&h, &[]));
        assert!(origin_allowed(&h, &["https://evil.example".to_owned()]));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!origin_allowed(&h, &[]));
    }
}
