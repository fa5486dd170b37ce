//! The HTTP server: router assembly ([`app`]), request-body extractor, error rendering
//! middleware, and the accept loop ([`spawn`]) that can drop connections on purpose.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Request};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::config::SimConfig;
use crate::control::{self, DropConnection};
use crate::error::ApiError;
use crate::state::{AppState, DemoInfo};

/// JSON request body: requires `Content-Type: application/json` (415 otherwise), the body
/// limit (413), and valid JSON for `T` (400 / 21405 with the parser's message).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::validation(format!("Nieprawidłowe dane JSON: {e}.")))
    }
}

/// Reads the whole body within the configured limit (413 if larger).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::validation("Nie udało się odczytać treści żądania.")
        }
    })
}

/// Re-renders `ApiError` responses with the request's `X-Error-Format` and path.
async fn render_errors(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    match response.extensions().get::<ApiError>() {
        Some(err) => err.render(&headers, &path),
        None => response,
    }
}

/// Echo of `X-Test-System-Warning` as `X-System-Warning` (TEST behaviour, guide §12.3).
async fn system_warning(req: Request, next: Next) -> Response {
    let echo = req.headers().get("x-test-system-warning").cloned();
    let mut response = next.run(req).await;
    if let Some(v) = echo.as_ref().and_then(crate::system_warning::echo) {
        response.headers_mut().insert("x-system-warning", v);
    }
    response
}

async fn fallback(req: Request) -> Response {
    ApiError::NotFound.render(req.headers(), req.uri().path())
}

/// A known path called with a method it does not take: a KSeF-shaped 405 body.
async fn method_not_allowed(req: Request) -> Response {
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    ApiError::MethodNotAllowed.render(req.headers(), &path)
}

/// Every `/v2` route (paths as in open-api.json). Other modules add theirs here.
fn api_routes() -> Router<AppState> {
    Router::new()
        .merge(crate::keys::routes())
        .merge(crate::auth::routes())
        .merge(crate::xades::routes())
        .merge(crate::tokens::routes())
        .merge(crate::limits::routes())
        .merge(crate::certificates::routes())
        .merge(crate::sessions::routes())
        .merge(crate::upo::routes())
        .merge(crate::invoices::routes())
        .merge(crate::permissions::routes())
        .merge(crate::testdata::routes())
        .merge(crate::batch::routes())
        .merge(crate::collective::routes())
}

/// `/storage/...` routes (UPO, export parts): no auth, no rate limits.
fn storage_routes() -> Router<AppState> {
    Router::new()
        .merge(crate::upo::storage_routes())
        .merge(crate::invoices::storage_routes())
        .merge(crate::batch::storage_routes())
}

/// The complete router for `state`.
pub fn app(state: AppState) -> Router {
    let limited = middleware::from_fn_with_state(state.clone(), control::faults_and_limits);
    let v2 = api_routes()
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(limited.clone());
    let storage = storage_routes().method_not_allowed_fallback(method_not_allowed);
    // route_layer panics on an empty router.
    let storage = if storage.has_routes() {
        storage.route_layer(limited)
    } else {
        storage
    };
    Router::new()
        .nest("/v2", v2)
        .merge(storage)
        .merge(control::routes())
        .merge(crate::invoices::control_routes())
        .merge(crate::testdata::control_routes())
        .merge(crate::latarnia::routes())
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(state.clone(), mark_dirty))
        .layer(middleware::from_fn(render_errors))
        .layer(middleware::from_fn(system_warning))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state)
}

/// Requests that may change data mark the state for the state-file saver (`persist.rs`).
async fn mark_dirty(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let reads_only = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let response = next.run(req).await;
    if !reads_only {
        state.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    response
}

/// How long a graceful shutdown waits for requests in flight before closing connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running simulator (see [`spawn`]).
pub struct RunningSim {
    pub addr: SocketAddr,
    /// `http://{addr}` (no trailing slash, no `/v2`).
    pub base_url: String,
    pub demo: DemoInfo,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    saver: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    /// Graceful shutdown: stops accepting, lets requests in flight finish (at most
    /// [`SHUTDOWN_GRACE`]), closes idle connections, then saves the state file if one is set.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        if let Some(saver) = self.saver {
            saver.abort();
            let _ = saver.await;
        }
        if let Some(path) = self.state.config.state_file.clone() {
            crate::persist::save_logged(self.state.clone(), path).await;
        }
    }
}

/// Binds `config.listen`, seeds the demo company and serves until [`RunningSim::shutdown`].
pub async fn spawn(config: SimConfig) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| base_url.clone());
    let seed = config.seed_demo;
    let state_file = config.state_file.clone();
    // Key generation is CPU-bound (first call per process): keep it off the async workers.
    // A state file brings its own keys, installed before any are generated.
    let (mut state, loaded) = tokio::task::spawn_blocking(move || {
        let loaded = match &config.state_file {
            Some(path) => crate::persist::load(path)?,
            None => None,
        };
        Ok::<_, std::io::Error>((AppState::new(config, public_url), loaded))
    })
    .await
    .map_err(std::io::Error::other)??;
    match loaded {
        Some(loaded) => crate::persist::restore(&mut state, loaded),
        None if seed => control::seed_demo(&state),
        None => {}
    }
    let saver = state_file.map(|path| {
        state.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
        crate::persist::spawn_saver(state.clone(), path)
    });
    let router = app(state.clone());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, router, rx));
    Ok(RunningSim {
        addr,
        base_url,
        demo: state.demo(),
        state,
        shutdown: tx,
        task,
        saver,
    })
}

async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let router = router.clone();
                connections.spawn(serve_connection(stream, peer, router, shutdown.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Connections saw the same signal: each finishes its request in flight and closes.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// Serves one HTTP/1.1 connection; a response marked [`DropConnection`] closes the socket
/// without sending anything.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let drop_now = Arc::new(Notify::new());
    let signal = drop_now.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        let signal = signal.clone();
        async move {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let response = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                signal.notify_one();
                std::future::pending::<()>().await;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let stopping = async {
        if !*shutdown.borrow_and_update() {
            let _ = shutdown.changed().await;
        }
    };
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = drop_now.notified() => return,
        _ = stopping => {}
    }
    // Graceful: a request in flight is answered, then the connection closes (idle ones at once).
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn => {}
        _ = drop_now.notified() => {}
    }
}
