//! Protocol flows against canned responses (oauth2-rs style closures): no server,
//! but real crypto — the fake KSeF decrypts what the flows encrypt.
//!
//! One test binary; the tests are grouped as `ksef_core::flow` is (auth, keys, sessions, …),
//! sharing the fake KSeF helpers below.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::error::Error;
use ksef_core::flow::KsefClient;
use ksef_core::transport::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

mod auth;
mod auth_sessions;
mod certificates;
mod client;
mod invoices;
mod keys;
mod permissions;
mod sessions;
mod tokens;

#[path = "../support/ksef_keys.rs"]
mod ksef_keys;
use ksef_keys::ksef_keys;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The OpenSSL certificate is valid from now for 2 days, so tests use the real clock.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn response(status: u16, body: Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        })
        .unwrap()
}

type AesKeyIv = ([u8; 32], [u8; 16]);
type ErrorCase = (HttpResponse, fn(&Error) -> bool, &'static str);
type Log = Rc<RefCell<Vec<(String, String, Option<String>, Vec<u8>)>>>;

/// A client whose transport answers with `handler` and records requests and sleeps.
#[allow(clippy::type_complexity)]
fn client(
    handler: impl Fn(&HttpRequest, usize) -> HttpResponse + 'static,
) -> (
    KsefClient<impl ksef_core::transport::Transport, impl ksef_core::transport::Sleep>,
    Log,
    Rc<RefCell<Vec<u64>>>,
) {
    let log: Log = Rc::default();
    let sleeps: Rc<RefCell<Vec<u64>>> = Rc::default();
    let (l, s) = (log.clone(), sleeps.clone());
    let transport = move |req: HttpRequest| {
        let n = l.borrow().len();
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        l.borrow_mut().push((
            req.method().to_string(),
            req.uri().to_string(),
            auth,
            req.body().clone(),
        ));
        let resp = handler(&req, n);
        async move { Ok::<_, String>(resp) }
    };
    let sleep = move |ms: u64| {
        s.borrow_mut().push(ms);
        async {}
    };
    (
        KsefClient::new(transport, sleep, "https://ksef.example/v2"),
        log,
        sleeps,
    )
}

fn certs_json(cert_b64: &str) -> Value {
    json!([
        {"certificate": cert_b64, "usage": ["KsefTokenEncryption"], "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"},
        {"certificate": cert_b64, "usage": ["SymmetricKeyEncryption"], "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}
    ])
}

fn path(req: &HttpRequest) -> String {
    req.uri().path().trim_start_matches("/v2").to_owned()
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body()).unwrap()
}
