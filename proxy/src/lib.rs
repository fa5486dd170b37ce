//! Kwit's relay: a blind, allow-listed CORS relay to the KSeF 2.0 API, which sends no
//! CORS headers of its own, plus the static server for the Trunk-built web app.
//!
//! It holds no secret and logs none: access logs carry method, route template,
//! environment, status and latency only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tower_http::cors::{AllowOrigin, CorsLayer};

pub mod config;
mod error;
mod limit;
mod relay;
mod server;
mod spa;

pub use config::{Config, Environment, LogFormat, ShutdownFlag};
pub use error::RelayError;
pub use server::serve;

/// Shared by all handlers.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) client: relay::UpstreamClient,
    pub(crate) upstreams: relay::Upstreams,
    pub(crate) limiter: Arc<limit::RateLimiter>,
}

/// Response headers the SPA must be able to read cross-origin (ksef-guide.md §1.1).
const EXPOSED_HEADERS: &[&str] = &[
    "retry-after",
    "x-system-warning",
    "x-ms-meta-hash",
    "content-type",
    "content-length",
];

/// Request headers a cross-origin SPA may send.
const ALLOWED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "x-continuation-token",
    "x-error-format",
    "x-ksef-feature",
    "x-ms-blob-type",
];

/// Builds the relay. Handlers share one pooled upstream client (rustls for HTTPS).
///
/// # Panics
/// Only if the TLS backend cannot be initialised at all (a broken build, not input).
pub fn app(config: Config) -> Router {
    let limiter = limit::RateLimiter::new(config.rate_limit_per_sec, config.rate_burst);
    app_with(config, Arc::new(limiter))
}

/// Builds `n` relays for `n` worker threads: one rate limiter for all of them (a client
/// is limited whichever thread serves it), but an upstream pool each, so a request
/// and its upstream connection stay on one thread.
///
/// # Panics
/// Only if the TLS backend cannot be initialised at all (a broken build, not input).
pub fn apps(config: &Config, n: usize) -> Vec<Router> {
    let limiter = Arc::new(limit::RateLimiter::new(
        config.rate_limit_per_sec,
        config.rate_burst,
    ));
    (0..n.max(1))
        .map(|_| app_with(config.clone(), Arc::clone(&limiter)))
        .collect()
}

fn app_with(config: Config, limiter: Arc<limit::RateLimiter>) -> Router {
    let client = relay::upstream_client(&config);
    let upstreams = relay::Upstreams::new(&config);
    let hsts = config.behind_tls;
    let spa_dir = config.spa_dir.clone();
    let cors = cors_layer(&config.allowed_origins);
    let state = Arc::new(AppState {
        config,
        client,
        upstreams,
        limiter,
    });

    let api = Router::new()
        .route("/ksef", any(relay::forward))
        .route("/ksef/", any(relay::forward))
        .route("/ksef/{*rest}", any(relay::forward))
        .route("/relay/environments", get(environments))
        .layer(cors);

    let mut router = Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    router = match spa_dir {
        Some(dir) => router.fallback(move |req: Request| spa::serve(dir.clone(), req)),
        None => router.fallback(|| async { RelayError::UnknownRoute }),
    };
    router
        .with_state(state)
        .layer(middleware::from_fn(move |req, next| {
            around(hsts, req, next)
        }))
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
        ])
        .allow_headers(
            ALLOWED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .expose_headers(
            EXPOSED_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .max_age(Duration::from_secs(600))
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
async fn environments(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let names: Vec<&str> = state
        .config
        .enabled_environments()
        .into_iter()
        .map(Environment::as_str)
        .collect();
    json_ok(StatusCode::OK, serde_json::json!({ "environments": names }))
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

/// Wraps every response: security headers, then the access log line. One middleware
/// instead of two saves a boxed future and a service clone per request.
async fn around(hsts: bool, req: Request, next: Next) -> Response {
    if !tracing::enabled!(target: "kwit_relay::access", tracing::Level::INFO) {
        let mut response = next.run(req).await;
        spa::set_security_headers(response.headers_mut(), hsts);
        return response;
    }
    access_log(hsts, req, next).await
}

/// The access log: method, route template, environment, status, latency. Never the
/// path itself (reference numbers), the query (SAS signatures) or any header.
async fn access_log(hsts: bool, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let mut response = next.run(req).await;
    spa::set_security_headers(response.headers_mut(), hsts);
    let label = response.extensions().get::<relay::RouteLabel>().copied();
    let route = match (label, matched.as_ref()) {
        (Some(label), _) => label.route,
        (None, Some(path)) => path.as_str(),
        (None, None) => "fallback",
    };
    tracing::info!(
        target: "kwit_relay::access",
        method = %method,
        route,
        env = label.and_then(|l| l.env).map(Environment::as_str),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}
