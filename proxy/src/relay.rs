//! Forwarding `/ksef/{env}/v2/{path}` and `/ksef/{env}/storage/{path}` to a fixed host,
//! once `allow_list.rs` has passed the request: the headers that may go up and come
//! back, the upstream URL, and the failures as problems. Bodies are streamed both ways;
//! nothing of the request or response is logged.
//!
//! Requests go out on the worker's upstream pool (`upstream.rs`): the request body is
//! the client's own body (length-limited, no re-framing into a stream), the response
//! body goes back as it arrived, and the per-connection read buffer is capped so a
//! thousand parallel downloads do not each hold 400 KiB.

use std::net::IpAddr;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{LengthLimitError, Limited};

use crate::allow_list::{FORWARDED_METHODS, MAX_QUERY_LEN, Tree, origin_allowed, parse_target};
use crate::config::{Config, Environment};
use crate::error::RelayError;
use crate::idle_timeout::{IdleTimeout, IdleTimeoutElapsed};
use crate::upstream::{PooledBody, SendError, UpstreamBody};
use crate::{AppState, limit};

/// Request headers KSeF (and its storage) needs; everything else — cookies,
/// hop-by-hop headers, `Host`, `Origin`, `X-Forwarded-*` — stays behind.
/// `Content-Length` is not copied: hyper sets it from the body's real framing (the
/// client's own `Content-Length`, or chunked when the client sent chunked).
/// (ksef-guide.md §1.1 and §12.) A `match`, as for the response headers below.
pub(crate) fn is_forwarded_request_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "authorization"
            | "content-type"
            | "accept"
            | "accept-encoding"
            | "accept-language"
            | "x-continuation-token"
            | "x-error-format"
            | "x-ksef-feature"
            | "x-test-system-warning"
            | "x-ms-blob-type"
            | "x-ms-version"
            | "x-ms-date"
    )
}

/// Response headers that must not be passed back: hop-by-hop ones, cookies, and
/// headers the relay sets itself. A `match` on the name: comparing each header with a
/// list of `HeaderName`s cost more than all the rest of handling the answer.
fn is_dropped_response_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "set-cookie"
            | "set-cookie2"
            | "alt-svc"
            | "strict-transport-security"
            | "content-security-policy"
            | "access-control-allow-origin"
            | "access-control-allow-credentials"
            | "access-control-allow-headers"
            | "access-control-allow-methods"
            | "access-control-expose-headers"
            | "access-control-max-age"
    )
}

const USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("kwit-relay/", env!("CARGO_PKG_VERSION")));

/// An enabled environment's upstream, parsed once at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    /// Scheme and host, for connecting.
    origin: Uri,
    /// The `Host` header sent.
    host: HeaderValue,
    /// The path the service is under on that host (the simulator's Latarnia: `/latarnia`).
    prefix: &'static str,
}

/// Upstreams by environment; `None` when the environment is not enabled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Upstreams {
    by_env: [Option<Upstream>; 4],
    /// Latarnia (KSeF availability) per environment: another host (none for DEMO).
    latarnia: [Option<Upstream>; 4],
}

impl Upstreams {
    pub(crate) fn new(config: &Config) -> Self {
        let mut by_env: [Option<Upstream>; 4] = Default::default();
        let mut latarnia: [Option<Upstream>; 4] = Default::default();
        for env in config.enabled_environments() {
            by_env[env_index(env)] = config
                .upstream(env)
                .and_then(|base| Upstream::parse(base, ""));
            latarnia[env_index(env)] = config
                .latarnia_upstream(env)
                .and_then(|(base, prefix)| Upstream::parse(base, prefix));
        }
        Self { by_env, latarnia }
    }

    fn get(&self, env: Environment, tree: Tree) -> Option<&Upstream> {
        match tree {
            Tree::Latarnia => self.latarnia[env_index(env)].as_ref(),
            Tree::Api | Tree::Storage => self.by_env[env_index(env)].as_ref(),
        }
    }
}

impl Upstream {
    fn parse(base: &str, prefix: &'static str) -> Option<Self> {
        let parts = base.parse::<Uri>().ok()?.into_parts();
        let authority = parts.authority?;
        Some(Upstream {
            host: HeaderValue::from_str(authority.as_str()).ok()?,
            origin: Uri::builder()
                .scheme(parts.scheme?)
                .authority(authority)
                .path_and_query("/")
                .build()
                .ok()?,
            prefix,
        })
    }
}

fn env_index(env: Environment) -> usize {
    match env {
        Environment::Sim => 0,
        Environment::Test => 1,
        Environment::Demo => 2,
        Environment::Prod => 3,
    }
}

/// What the access log may say about a forwarded request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteLabel {
    pub(crate) route: &'static str,
    pub(crate) env: Option<Environment>,
}

/// The `/ksef/...` handler: the answer, and what the access log may say about it.
/// `peer` is the client's address, for its rate limit.
pub(crate) async fn forward(
    state: &AppState,
    req: Request,
    peer: Option<IpAddr>,
) -> (Response, RouteLabel) {
    let started = Instant::now();
    let mut label = RouteLabel {
        route: "/ksef",
        env: None,
    };
    let result = match prepare(state, req, peer, &mut label) {
        Ok(outgoing) => send(state, outgoing).await,
        Err(err) => Err(err),
    };
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            if matches!(
                err,
                RelayError::UpstreamUnreachable(_)
                    | RelayError::UpstreamTimeout
                    | RelayError::UpstreamHtml(_)
            ) {
                // Only the classification: client errors can carry the URL.
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
    (response, label)
}

fn err_code(err: &RelayError) -> &'static str {
    match err {
        RelayError::UpstreamUnreachable(why) => why,
        RelayError::UpstreamTimeout => "timeout",
        RelayError::UpstreamHtml(_) => "html",
        _ => "other",
    }
}

/// A checked request, ready to go upstream.
struct Outgoing<'a> {
    key: usize,
    origin: &'a Uri,
    request: http::Request<UpstreamBody>,
}

/// Everything decided before anything is sent: the target, the origin, the method,
/// the rate limit, the body limit, the upstream URL and the headers that may go.
/// Plain code, not part of the awaited future, which stays small (it is moved while
/// the server sets it up).
fn prepare<'a>(
    state: &'a AppState,
    req: Request,
    peer: Option<IpAddr>,
    label: &mut RouteLabel,
) -> Result<Outgoing<'a>, RelayError> {
    let target = parse_target(req.uri().path())?;
    label.route = match target.tree {
        Tree::Api => "/ksef/{env}/v2/{*path}",
        Tree::Storage => "/ksef/{env}/storage/{*path}",
        Tree::Latarnia => "/latarnia/{env}/{status|messages}",
    };
    label.env = Some(target.env);
    let upstream = state
        .upstreams
        .get(target.env, target.tree)
        .ok_or_else(|| RelayError::EnvironmentDisabled(target.env.as_str().to_owned()))?;

    let query = req.uri().query();
    if query.is_some_and(|q| q.len() > MAX_QUERY_LEN) {
        return Err(RelayError::UriTooLong);
    }
    if !origin_allowed(req.headers(), &state.config.allowed_origins) {
        return Err(RelayError::ForbiddenOrigin);
    }
    let method = req.method().clone();
    let read_only = target.tree != Tree::Latarnia || matches!(method, Method::GET | Method::HEAD);
    if !FORWARDED_METHODS.contains(&method) || !read_only {
        return Err(RelayError::MethodNotAllowed);
    }
    let client = limit::client_ip(req.headers(), peer, state.config.trust_forwarded_for);
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

    let tree = target.tree;
    // Latarnia's hosts get connections of their own in the pool.
    let key = env_index(target.env) + if tree == Tree::Latarnia { 4 } else { 0 };
    let mut path = String::with_capacity(
        upstream.prefix.len()
            + target.rest.len()
            + query.map_or(0, |q| q.len() + 1)
            + "/storage/".len(),
    );
    path.push_str(upstream.prefix);
    path.push('/');
    if tree != Tree::Latarnia {
        path.push_str(tree.segment());
        path.push('/');
    }
    path.push_str(target.rest);
    if let Some(q) = query {
        path.push('?');
        path.push_str(q);
    }
    // The scheme and host come from the configuration only; the client controls
    // nothing but the validated path and the query.
    let uri = Uri::from(PathAndQuery::try_from(path).map_err(|_| RelayError::ForbiddenPath)?);

    let (parts, body) = req.into_parts();
    // One pass over what the client sent (a browser sends a dozen headers, KSeF needs a
    // few) instead of a lookup per allowed name.
    let mut headers = HeaderMap::with_capacity(UPSTREAM_HEADER_ROOM);
    for (name, value) in &parts.headers {
        // Storage links are pre-signed and Latarnia is public: the bearer token must never
        // travel there.
        if is_forwarded_request_header(name)
            && !(tree != Tree::Api && name == header::AUTHORIZATION)
        {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(header::HOST, upstream.host.clone());
    headers.insert(header::USER_AGENT, USER_AGENT);
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut request = http::Request::new(Limited::new(body, limit_usize));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    Ok(Outgoing {
        key,
        origin: &upstream.origin,
        request,
    })
}

/// Sends the request and waits for the answer's head, within `--upstream-timeout`.
async fn send(state: &AppState, out: Outgoing<'_>) -> Result<Response, RelayError> {
    let response = match tokio::time::timeout(
        state.config.upstream_timeout(),
        state.pool.send(out.key, out.origin, out.request),
    )
    .await
    {
        Err(_) => return Err(RelayError::UpstreamTimeout),
        Ok(Err(err)) => return Err(classify(&err, state.config.max_body_mib)),
        Ok(Ok(response)) => response,
    };
    answer(state, response)
}

/// The upstream's answer as the client gets it: HTML error pages become a problem,
/// hop-by-hop, cookie and CORS/security headers of the upstream's stay behind.
fn answer(state: &AppState, response: http::Response<PooledBody>) -> Result<Response, RelayError> {
    let (mut parts, body) = response.into_parts();
    let is_html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct.trim_start().as_bytes();
            starts_with_ignore_case(ct, b"text/html")
                || starts_with_ignore_case(ct, b"application/xhtml")
        });
    if is_html {
        return Err(RelayError::UpstreamHtml(parts.status.as_u16()));
    }
    // Usually only `Connection` is there to drop: look for what is present rather than
    // look up every listed name.
    while let Some(name) = parts
        .headers
        .keys()
        .find(|name| is_dropped_response_header(name))
        .cloned()
    {
        parts.headers.remove(name);
    }
    // The relay's answers are per-user; never let a shared cache keep them.
    if !parts.headers.contains_key(header::CACHE_CONTROL) {
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let body = Body::new(IdleTimeout::new(body, state.config.idle_timeout()));
    Ok(Response::from_parts(parts, body))
}

/// Room in the map of headers sent upstream. hyper parses the answer on that
/// connection into the same map, and the relay then adds up to 11 headers (cache, CORS,
/// security) to it: with room for them, the map never grows (a rehash) per request.
const UPSTREAM_HEADER_ROOM: usize = 24;

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack.len() >= prefix.len() && haystack[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Maps a client error to a problem without ever looking at its URL.
fn classify(err: &SendError, limit_mib: u64) -> RelayError {
    let (first, is_connect): (&(dyn std::error::Error + 'static), bool) = match err {
        SendError::Connect(e) => (e.as_ref(), true),
        SendError::Http(e) => (e, false),
    };
    let mut hyper_error = None;
    let mut source = Some(first);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return RelayError::BodyTooLarge { limit_mib };
        }
        if e.is::<IdleTimeoutElapsed>()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return RelayError::UpstreamTimeout;
        }
        if hyper_error.is_none() {
            hyper_error = e.downcast_ref::<hyper::Error>();
        }
        source = e.source();
    }
    if is_connect {
        RelayError::UpstreamUnreachable("connect")
    } else if hyper_error.is_some_and(hyper::Error::is_parse) {
        RelayError::UpstreamUnreachable("protocol")
    } else {
        RelayError::UpstreamUnreachable("connection-reset")
    }
}
