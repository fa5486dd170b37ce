//! HTTP to KSeF through the relay (`/ksef/{env}/v2/...`, same origin) with gloo-net.
//!
//! Small JSON helpers with an optional bearer token; every non-2xx answer becomes a
//! [`NetError`] that says what to do (the relay marks its own failures as
//! `application/problem+json` 502/504, see [`crate::api::classify_error`]). Tokens in
//! `Authorization` headers are never logged.

use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{Env, NetError, classify_error};

fn with_auth(builder: RequestBuilder, bearer: Option<&str>) -> RequestBuilder {
    let builder = builder.header("Accept", "application/json");
    match bearer {
        Some(token) => builder.header("Authorization", &format!("Bearer {token}")),
        None => builder,
    }
}

async fn finish(resp: gloo_net::http::Response) -> Result<String, NetError> {
    let status = resp.status();
    let content_type = resp.headers().get("content-type").unwrap_or_default();
    let body = resp
        .text()
        .await
        .map_err(|e| NetError::Unreachable(e.to_string()))?;
    if !(200..300).contains(&status) {
        return Err(classify_error(status, &content_type, &body));
    }
    Ok(body)
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<T, NetError> {
    // 204 answers have no body: let `()`-like types read `null`.
    let text = if body.trim().is_empty() { "null" } else { body };
    // `from_slice`, as ksef-core reads its answers: one copy of serde_json's reader in the wasm
    // instead of a second one for `&str` input (about 3 KB brotli).
    serde_json::from_slice(text.as_bytes()).map_err(|e| NetError::BadResponse(e.to_string()))
}

/// `GET {env}/v2{path}`.
pub async fn get_json<T: DeserializeOwned>(
    env: Env,
    path: &str,
    bearer: Option<&str>,
) -> Result<T, NetError> {
    let resp = with_auth(Request::get(&env.api_url(path)), bearer)
        .send()
        .await
        .map_err(|e| NetError::Unreachable(e.to_string()))?;
    parse(&finish(resp).await?)
}

/// `POST {env}/v2{path}` with a JSON body (or none).
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    env: Env,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
) -> Result<T, NetError> {
    let builder = with_auth(Request::post(&env.api_url(path)), bearer);
    let request = match body {
        Some(b) => builder
            .json(b)
            .map_err(|e| NetError::BadResponse(e.to_string()))?,
        None => builder
            .build()
            .map_err(|e| NetError::BadResponse(e.to_string()))?,
    };
    let resp = request
        .send()
        .await
        .map_err(|e| NetError::Unreachable(e.to_string()))?;
    parse(&finish(resp).await?)
}

/// `DELETE {env}/v2{path}`; success is any 2xx.
pub async fn delete(env: Env, path: &str, bearer: Option<&str>) -> Result<(), NetError> {
    let resp = with_auth(Request::delete(&env.api_url(path)), bearer)
        .send()
        .await
        .map_err(|e| NetError::Unreachable(e.to_string()))?;
    finish(resp).await.map(|_| ())
}

/// The response headers ksef-core looks at: `Retry-After` (429 back-off, `api::error_from_response`)
/// and `x-ms-meta-hash` (storage downloads, `api::RawDocument`).
const RESPONSE_HEADERS: [http::HeaderName; 2] = [
    http::header::RETRY_AFTER,
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
        crate::session::sleep_ms(i32::try_from(ms).unwrap_or(i32::MAX)).await;
    }
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
