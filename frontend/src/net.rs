//! HTTP to KSeF through the relay (`/ksef/{env}/v2/...`, same origin) with the browser's fetch
//! (gloo-net), all through one [`FetchTransport`].
//!
//! Small JSON helpers with an optional bearer token; every non-2xx answer becomes a
//! [`NetError`] that says what to do (the relay marks its own failures as
//! `application/problem+json` 502/504, see [`crate::api::classify_error`]). Tokens in
//! `Authorization` headers are never logged.

use gloo_net::http::RequestBuilder;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use ksef_core::transport::Transport;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{Env, NetError, classify_error};

/// One request through [`FetchTransport`] (the same code as ksef-core's flows), body as text.
/// Not generic: the typed helpers below share this one copy of the request code instead of
/// one per response type.
async fn call(
    method: http::Method,
    env: Env,
    path: &str,
    body: Option<Vec<u8>>,
    bearer: Option<&str>,
) -> Result<String, NetError> {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(env.api_url(path))
        .header(ACCEPT, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    if body.is_some() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    let request = builder
        .body(body.unwrap_or_default())
        .map_err(|e| NetError::BadResponse(e.to_string()))?;
    let response = FetchTransport.send(request).await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = String::from_utf8_lossy(response.body()).into_owned();
    if !(200..300).contains(&status) {
        return Err(classify_error(status, &content_type, &text));
    }
    Ok(text)
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<T, NetError> {
    // 204 answers have no body: let `()`-like types read `null`.
    let text = if body.trim().is_empty() { "null" } else { body };
    // `from_slice`, as ksef-core reads its answers: one serde_json reader in the wasm.
    serde_json::from_slice(text.as_bytes()).map_err(|e| NetError::BadResponse(e.to_string()))
}

/// `GET {env}/v2{path}`.
pub async fn get_json<T: DeserializeOwned>(
    env: Env,
    path: &str,
    bearer: Option<&str>,
) -> Result<T, NetError> {
    parse(&call(http::Method::GET, env, path, None, bearer).await?)
}

/// `POST {env}/v2{path}` with a JSON body (or none).
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    env: Env,
    path: &str,
    body: Option<&B>,
    bearer: Option<&str>,
) -> Result<T, NetError> {
    let body = body
        .map(serde_json::to_vec)
        .transpose()
        .map_err(|e| NetError::BadResponse(e.to_string()))?;
    parse(&call(http::Method::POST, env, path, body, bearer).await?)
}

/// `DELETE {env}/v2{path}`; success is any 2xx.
pub async fn delete(env: Env, path: &str, bearer: Option<&str>) -> Result<(), NetError> {
    call(http::Method::DELETE, env, path, None, bearer)
        .await
        .map(|_| ())
}

/// The response headers Kwit looks at: `Retry-After` (429 back-off, `api::error_from_response`),
/// `x-ms-meta-hash` (storage downloads, `api::RawDocument`) and `Content-Type` (the relay's own
/// errors, [`classify_error`]).
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
