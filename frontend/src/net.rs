//! HTTP to KSeF through the relay (`/ksef/{env}/v2/...`, same origin) with the browser's fetch
//! (gloo-net): ksef-core's [`Transport`](ksef_core::transport::Transport) and
//! [`Sleep`](ksef_core::transport::Sleep), so every KSeF call the app makes is one of
//! ksef-core's typed endpoints and flows ([`ksef_client`]). Tokens in `Authorization`
//! headers are never logged.

use gloo_net::http::RequestBuilder;
use http::header::CONTENT_TYPE;

use crate::api::{Env, NetError};

/// The response headers Kwit looks at: `Retry-After` (429 back-off, `api::error_from_response`),
/// `x-ms-meta-hash` (storage downloads, `api::RawDocument`) and `Content-Type` (the relay's own
/// errors, [`crate::api::classify_error`]).
const RESPONSE_HEADERS: [http::HeaderName; 3] = [
    http::header::RETRY_AFTER,
    CONTENT_TYPE,
    http::HeaderName::from_static("x-ms-meta-hash"),
];

/// ksef-core's [`Transport`](ksef_core::transport::Transport) over the browser's fetch: the
/// flows in `ksef_core::flow` run through the relay with it (see [`ksef_client`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct FetchTransport;

impl ksef_core::transport::Transport for FetchTransport {
    type Error = NetError;

    async fn send(
        &self,
        request: ksef_core::transport::HttpRequest,
    ) -> Result<ksef_core::transport::HttpResponse, NetError> {
        let (parts, body) = request.into_parts();
        let mut builder = RequestBuilder::new(&parts.uri.to_string()).method(parts.method);
        for (name, value) in &parts.headers {
            if let Ok(v) = value.to_str() {
                builder = builder.header(name.as_str(), v);
            }
        }
        let req = if body.is_empty() {
            builder.build()
        } else {
            builder.body(js_sys::Uint8Array::from(&body[..]))
        }
        .map_err(|e| NetError::BadResponse(e.to_string()))?;
        let resp = req
            .send()
            .await
            .map_err(|e| NetError::Unreachable(e.to_string()))?;
        let mut out = http::Response::builder().status(resp.status());
        // Only the headers ksef-core reads, by constant name: copying every header by its
        // string name pulls in `HeaderName::from_bytes` (about 17 KB of wasm).
        let headers = resp.headers();
        for name in RESPONSE_HEADERS {
            if let Some(value) = headers.get(name.as_str()) {
                out = out.header(name, value);
            }
        }
        let bytes = resp
            .binary()
            .await
            .map_err(|e| NetError::Unreachable(e.to_string()))?;
        out.body(bytes)
            .map_err(|e| NetError::BadResponse(e.to_string()))
    }
}

/// ksef-core's [`Sleep`](ksef_core::transport::Sleep) with `setTimeout`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserSleep;

impl ksef_core::transport::Sleep for BrowserSleep {
    async fn sleep(&self, ms: u64) {
        sleep_ms(ms).await;
    }
}

/// Waits `ms` milliseconds on the browser's timer (`setTimeout`).
pub async fn sleep_ms(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(ms).unwrap_or(i32::MAX),
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A ksef-core client for `env` through the relay: API at `/ksef/{env}/v2`, storage links
/// rewritten to `/ksef/{env}/storage`.
pub fn ksef_client(env: Env) -> ksef_core::flow::KsefClient<FetchTransport, BrowserSleep> {
    ksef_core::flow::KsefClient::new(
        FetchTransport,
        BrowserSleep,
        format!("/ksef/{}/v2", env.slug()),
    )
    .with_storage_base(format!("/ksef/{}/storage", env.slug()))
}
