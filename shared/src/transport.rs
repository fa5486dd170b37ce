//! The HTTP boundary. ksef-core never does I/O itself: flows hand an
//! `http::Request<Vec<u8>>` to a [`Transport`] and read status, headers and body
//! back (oauth2-rs style). The browser plugs in fetch via the relay; tests plug in
//! reqwest or a closure with canned responses; a later in-browser TLS transport
//! replaces either without touching the flows. No `Send` bound: wasm futures are `!Send`.

use std::fmt;
use std::future::Future;

/// Outgoing request: method, absolute or origin-relative URI, headers, body bytes.
pub type HttpRequest = http::Request<Vec<u8>>;
/// Incoming response: status, headers, body bytes.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Sends one HTTP request and returns the full response (any status).
///
/// Only failures to get *a* response (network down, relay unreachable) are errors;
/// 4xx/5xx are ordinary responses that the flows interpret.
pub trait Transport {
    /// The transport's own failure type; shown to the user as a network error.
    type Error: fmt::Display;

    /// Performs the request.
    fn send(&self, request: HttpRequest)
    -> impl Future<Output = Result<HttpResponse, Self::Error>>;
}

impl<F, Fut, E> Transport for F
where
    F: Fn(HttpRequest) -> Fut,
    Fut: Future<Output = Result<HttpResponse, E>>,
    E: fmt::Display,
{
    type Error = E;

    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, E>> {
        self(request)
    }
}

/// Waits for the given number of milliseconds (no clock in ksef-core: the caller
/// provides e.g. `gloo_timers` in the browser or `tokio::time::sleep` natively).
pub trait Sleep {
    /// Resolves after roughly `ms` milliseconds.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
}

impl<F, Fut> Sleep for F
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    fn sleep(&self, ms: u64) -> impl Future<Output = ()> {
        self(ms)
    }
}
