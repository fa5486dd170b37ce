//! Forwarding `/ksef/{env}/v2/{path}` and `/ksef/{env}/storage/{path}` to a fixed host.
//!
//! The raw (still percent-encoded) request path is parsed here instead of trusting the
//! router's decoding: every segment must be plain unreserved characters, so encoded
//! slashes or dots, `..`, `@`, `:` and absolute URLs can never reach the upstream URL.
//! Bodies are streamed both ways; nothing of the request or response is logged.
//!
//! Requests go out on the worker's upstream pool (`upstream.rs`): the request body is
//! the client's own body (length-limited, no re-framing into a stream), the response
//! body goes back as it arrived, and the per-connection read buffer is capped so a
//! thousand parallel downloads do not each hold 400 KiB.

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{LengthLimitError, Limited};
use hyper::body::{Frame, SizeHint};

use crate::AppState;
use crate::config::{Config, Environment};
use crate::error::RelayError;
use crate::upstream::{PooledBody, SendError, UpstreamBody};

/// Longest accepted path (after `/ksef/{env}/`) and query, in bytes.
pub(crate) const MAX_PATH_LEN: usize = 1024;
pub(crate) const MAX_QUERY_LEN: usize = 4096;

/// Request headers KSeF (and its storage) needs; everything else — cookies,
/// hop-by-hop headers, `Host`, `Origin`, `X-Forwarded-*` — stays behind.
/// `Content-Length` is not copied: hyper sets it from the body's real framing (the
/// client's own `Content-Length`, or chunked when the client sent chunked).
/// (ksef-guide.md §1.1 and §12.) A `match`, as for the response headers below.
fn is_forwarded_request_header(name: &HeaderName) -> bool {
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
}

/// Upstreams by environment; `None` when the environment is not enabled.
#[derive(Debug, Clone, Default)]
pub(crate) struct Upstreams {
    by_env: [Option<Upstream>; 4],
}

impl Upstreams {
    pub(crate) fn new(config: &Config) -> Self {
        let mut by_env: [Option<Upstream>; 4] = Default::default();
        for env in config.enabled_environments() {
            let parsed = config
                .upstream(env)
                .and_then(|base| base.parse::<Uri>().ok())
                .and_then(|uri| {
                    let parts = uri.into_parts();
                    let authority = parts.authority?;
                    Some(Upstream {
                        host: HeaderValue::from_str(authority.as_str()).ok()?,
                        origin: Uri::builder()
                            .scheme(parts.scheme?)
                            .authority(authority)
                            .path_and_query("/")
                            .build()
                            .ok()?,
                    })
                });
            by_env[env_index(env)] = parsed;
        }
        Self { by_env }
    }

    fn get(&self, env: Environment) -> Option<&Upstream> {
        self.by_env[env_index(env)].as_ref()
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

/// The client's address for rate limiting: the connection's peer (`None` in tests that
/// call the router directly), or the last `X-Forwarded-For` hop when told to trust it.
fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let last_hop = headers
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
    peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))
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
    };
    label.env = Some(target.env);
    let upstream = state
        .upstreams
        .get(target.env)
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
    let client = client_ip(req.headers(), peer, state.config.trust_forwarded_for);
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

    let (tree, key) = (target.tree, env_index(target.env));
    let mut path = String::with_capacity(
        target.rest.len() + query.map_or(0, |q| q.len() + 1) + "/storage/".len(),
    );
    path.push('/');
    path.push_str(tree.segment());
    path.push('/');
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
        // Storage links are pre-signed: the bearer token must never travel there.
        if is_forwarded_request_header(name)
            && !(tree == Tree::Storage && name == header::AUTHORIZATION)
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

/// The response body stalled for longer than `--idle-timeout`.
#[derive(Debug)]
struct IdleTimeoutElapsed;

impl std::fmt::Display for IdleTimeoutElapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream body transfer stalled")
    }
}

impl std::error::Error for IdleTimeoutElapsed {}

/// The upstream response body, abandoned when no data arrives for `timeout`. The
/// timer is only armed when the body is actually waiting, so a small answer that came
/// with its headers costs nothing.
struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl<B> IdleTimeout<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: None,
            armed: false,
        }
    }
}

impl<B> hyper::body::Body for IdleTimeout<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = tokio::time::Instant::now() + this.timeout;
        let sleep = match &mut this.sleep {
            Some(sleep) => {
                if !this.armed {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => this
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        this.armed = true;
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(IdleTimeoutElapsed)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
