//! Kwit's relay: a blind, allow-listed CORS relay to the KSeF 2.0 API, which sends no
//! CORS headers of its own, plus the static server for the Trunk-built web app.
//!
//! It holds no secret and logs none: access logs carry method, route template,
//! environment, status and latency only.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};

use crate::access_log::AccessLog;

mod access_log;
mod allow_list;
pub mod config;
mod error;
mod headers;
mod idle_timeout;
mod limit;
mod relay;
mod server;
mod spa;
mod upstream;

pub use config::{Config, Environment, LogFormat, ShutdownFlag};
pub use error::RelayError;
pub use server::serve;

/// Shared by all handlers.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) pool: Arc<upstream::Pool>,
    pub(crate) upstreams: relay::Upstreams,
    pub(crate) limiter: Arc<limit::RateLimiter>,
}

/// Builds the relay. Handlers share one pooled upstream client (rustls for HTTPS).
///
/// # Panics
/// Only if the TLS backend cannot be initialised at all (a broken build, not input).
pub fn app(config: Config) -> Router {
    let limiter = limit::RateLimiter::new(config.rate_limit_per_sec, config.rate_burst);
    Relay::new(config, Arc::new(limiter)).router
}

/// Builds `n` relays for `n` worker threads: one rate limiter for all of them (a client
/// is limited whichever thread serves it), but an upstream pool each, so a request
/// and its upstream connection stay on one thread.
///
/// # Panics
/// Only if the TLS backend cannot be initialised at all (a broken build, not input).
pub fn apps(config: &Config, n: usize) -> Vec<Relay> {
    let limiter = Arc::new(limit::RateLimiter::new(
        config.rate_limit_per_sec,
        config.rate_burst,
    ));
    (0..n.max(1))
        .map(|_| Relay::new(config.clone(), Arc::clone(&limiter)))
        .collect()
}

/// One worker's relay: the router for everything, and a direct way in for `/ksef/...`
/// requests, which [`serve`] takes without routing or a middleware stack (see
/// [`handle_ksef`]; the router sends the same paths to the same function).
#[derive(Clone)]
pub struct Relay {
    pub(crate) router: Router,
    pub(crate) state: Arc<AppState>,
}

impl Relay {
    fn new(config: Config, limiter: Arc<limit::RateLimiter>) -> Self {
        let pool = Arc::new(upstream::Pool::new(&config));
        let upstreams = relay::Upstreams::new(&config);
        let hsts = config.behind_tls;
        let spa_dir = config.spa_dir.clone();
        let state = Arc::new(AppState {
            config,
            pool,
            upstreams,
            limiter,
        });

        let mut router = Router::new()
            .route(
                "/relay/environments",
                get(environments).options(environments_options),
            )
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz));
        router = match spa_dir {
            Some(dir) => router.fallback(move |req: Request| spa::serve(dir.clone(), req)),
            None => router.fallback(|| async { RelayError::UnknownRoute }),
        };
        let router = router
            .layer(middleware::from_fn(move |req, next| {
                around(hsts, req, next)
            }))
            // Added after the layer: the KSeF routes do their own CORS, and `finish`.
            .route("/ksef", any(ksef_route))
            .route("/ksef/", any(ksef_route))
            .route("/ksef/{*rest}", any(ksef_route))
            // KSeF's availability service: two fixed read-only paths, forwarded the same way.
            .route("/latarnia/{*rest}", any(ksef_route))
            .with_state(Arc::clone(&state));
        Self { router, state }
    }
}

async fn ksef_route(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    handle_ksef(&state, req, peer).await
}

/// Whether the accept loop may hand `path` straight to [`handle_ksef`].
pub(crate) fn is_ksef_path(path: &str) -> bool {
    path == "/ksef" || path.starts_with("/ksef/")
}

/// All of a `/ksef/...` request: CORS (preflight answered here), forwarding, then
/// [`finish`], so the hot path of the relay is one function call.
/// `peer` is the client's address, for its rate limit.
pub(crate) async fn handle_ksef(
    state: &Arc<AppState>,
    req: Request,
    peer: Option<IpAddr>,
) -> Response {
    let log = AccessLog::begin(req.method());
    let cors_origin = headers::cors_origin(&state.config, req.headers());
    let (mut response, label) = if headers::is_preflight(req.method(), req.headers()) {
        (headers::preflight(cors_origin.as_ref()), None)
    } else {
        let (mut response, label) = relay::forward(state, req, peer).await;
        headers::allow_cors(cors_origin, response.headers_mut());
        (response, Some(label))
    };
    finish(
        &mut response,
        state.config.behind_tls,
        log,
        label.map_or("/ksef", |l| l.route),
        label.and_then(|l| l.env),
    );
    response
}

/// The last step of every answer, on the `/ksef` fast path ([`handle_ksef`]) and in the
/// router ([`around`]) alike: the security headers, then the access log line.
fn finish(
    response: &mut Response,
    hsts: bool,
    log: Option<AccessLog>,
    route: &str,
    env: Option<Environment>,
) {
    headers::set_security_headers(response.headers_mut(), hsts);
    if let Some(log) = log {
        log.write(route, env, response.status());
    }
}

/// `OPTIONS /relay/environments`, by the rule of `/ksef/...`: a CORS preflight is
/// answered, a plain `OPTIONS` is refused (with CORS, as an answer to any request).
async fn environments_options(
    State(state): State<Arc<AppState>>,
    req_headers: HeaderMap,
) -> Response {
    let cors_origin = headers::cors_origin(&state.config, &req_headers);
    if headers::is_preflight(&Method::OPTIONS, &req_headers) {
        return headers::preflight(cors_origin.as_ref());
    }
    let mut response = RelayError::MethodNotAllowed.into_response();
    headers::allow_cors(cors_origin, response.headers_mut());
    response
}

/// Liveness: the process answers.
async fn healthz() -> impl IntoResponse {
    json_ok(StatusCode::OK, serde_json::json!({"status": "ok"}))
}

/// Readiness: not draining after SIGTERM, and the SPA (if configured) is built.
async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    if state.config.shutdown.is_draining() {
        return json_ok(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "draining"}),
        );
    }
    if let Some(dir) = &state.config.spa_dir
        && tokio::fs::metadata(dir.join("index.html")).await.is_err()
    {
        return json_ok(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "spa-missing"}),
        );
    }
    json_ok(StatusCode::OK, serde_json::json!({"status": "ready"}))
}

/// `{"environments": [...]}`: what the SPA may offer.
async fn environments(State(state): State<Arc<AppState>>, req_headers: HeaderMap) -> Response {
    let names: Vec<&str> = state
        .config
        .enabled_environments()
        .into_iter()
        .map(Environment::as_str)
        .collect();
    let mut response = json_ok(StatusCode::OK, serde_json::json!({ "environments": names }));
    headers::allow_cors(
        headers::cors_origin(&state.config, &req_headers),
        response.headers_mut(),
    );
    response
}

fn json_ok(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Wraps every answer of the router (all but `/ksef/...`) in [`finish`]. The access
/// log's route is the template the router matched, or `fallback` (the SPA), never the
/// path itself.
async fn around(hsts: bool, req: Request, next: Next) -> Response {
    let log = AccessLog::begin(req.method());
    let matched = log
        .as_ref()
        .and_then(|_| req.extensions().get::<MatchedPath>().cloned());
    let mut response = next.run(req).await;
    let route = matched.as_ref().map_or("fallback", MatchedPath::as_str);
    finish(&mut response, hsts, log, route, None);
    response
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    /// hyper moves each request's future while it sets it up, so its size is copied per
    /// request: the upstream connection (hyper's buffers and state) and the rare path
    /// that opens one are boxed instead of carried inline (6,856 bytes before).
    #[test]
    fn a_request_future_stays_small() {
        let config = crate::Config::parse_from(["kwit-relay"]);
        let relay = crate::apps(&config, 1).remove(0);
        let request = axum::extract::Request::new(axum::body::Body::empty());
        let future = crate::handle_ksef(&relay.state, request, None);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 4 * 1024, "{size} bytes");
    }
}
