//! HTTP to KSeF from the worker: ksef-core's [`Transport`] over fetch (gloo-net uses the
//! worker's global `fetch`) and its [`Sleep`] over `setTimeout`, so the certificate login and
//! enrollment flows (and their endpoint code) live in the worker and not in the first load.

use ksef_core::flow::KsefClient;
use ksef_core::transport::{HttpRequest, HttpResponse, Sleep, Transport};
use wasm_bindgen::JsCast as _;

/// The worker's clock, in Unix seconds.
pub fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Fetch through the relay (same origin).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fetch;

/// Response headers ksef-core reads (`Retry-After` for 429 back-off).
const RESPONSE_HEADERS: [http::HeaderName; 1] = [http::header::RETRY_AFTER];

impl Transport for Fetch {
    type Error = String;

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        let (parts, body) = request.into_parts();
        let mut builder =
            gloo_net::http::RequestBuilder::new(&parts.uri.to_string()).method(parts.method);
        for (name, value) in &parts.headers {
            if let Ok(v) = value.to_str() {
                builder = builder.header(name.as_str(), v);
            }
        }
        let request = if body.is_empty() {
            builder.build()
        } else {
            builder.body(js_sys::Uint8Array::from(&body[..]))
        }
        .map_err(|e| e.to_string())?;
        let response = request.send().await.map_err(|e| e.to_string())?;
        let mut out = http::Response::builder().status(response.status());
        for name in RESPONSE_HEADERS {
            if let Some(value) = response.headers().get(name.as_str()) {
                out = out.header(name, value);
            }
        }
        let bytes = response.binary().await.map_err(|e| e.to_string())?;
        out.body(bytes).map_err(|e| e.to_string())
    }
}

/// `setTimeout` of the worker's global scope.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl Sleep for Timer {
    async fn sleep(&self, ms: u64) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let global = js_sys::global();
            if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into()) {
                let set_timeout: js_sys::Function = set_timeout.unchecked_into();
                let _ = set_timeout.call2(&global, &resolve, &(ms as f64).into());
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

/// A ksef-core client for the API at `base_url` (`/ksef/{env}/v2` on the relay).
pub fn client(base_url: String) -> KsefClient<Fetch, Timer> {
    KsefClient::new(Fetch, Timer, base_url)
}
