//! Test helpers: an independent KSeF client (reqwest + rsa), not ksef-core.
#![allow(dead_code)]

pub mod flows;
pub mod schema;
pub mod xades;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ksef_sim::{RunningSim, SimConfig};
use reqwest::{Client, Method, StatusCode};
use rsa::Oaep;
use rsa::pkcs8::DecodePublicKey;
use serde_json::{Value, json};
use sha2::Sha256;
use x509_cert::der::{Decode, Encode};

/// Anything that serves the simulator API: an in-process [`RunningSim`] or a sim binary.
pub trait SimUrl {
    /// `http://host:port` (no trailing slash, no `/v2`).
    fn base_url(&self) -> &str;
}

impl SimUrl for RunningSim {
    fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// A simulator for a handler test: generous limits (see [`SimConfig::for_tests_generous`]).
pub async fn start() -> RunningSim {
    start_with(SimConfig::for_tests_generous()).await
}

/// A simulator with the PRD rate limits (the binary's default), for tests about them.
#[allow(dead_code)]
pub async fn start_prd() -> RunningSim {
    start_with(SimConfig::for_tests()).await
}

pub async fn start_with(config: SimConfig) -> RunningSim {
    ksef_sim::spawn(config).await.expect("simulator starts")
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A response: status, headers, parsed JSON (or the raw text as a JSON string).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub content_type: String,
}

impl Resp {
    pub fn code(&self) -> u64 {
        exception_code(&self.body)
    }
}

/// Sends a request and checks the response body against the open-api.json schema for
/// `template` (the documented path) and the status, when the spec documents one.
pub async fn call(
    sim: &impl SimUrl,
    method: Method,
    template: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Resp {
    let body = body.map(|b| RawBody::json(&b));
    call_raw(sim, method, template, path, bearer, body, extra).await
}

/// A request body as sent on the wire: XML documents, deliberately broken JSON.
pub struct RawBody {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl RawBody {
    pub fn json(value: &Value) -> Self {
        RawBody::new("application/json", value.to_string())
    }
    pub fn new(content_type: &str, bytes: impl Into<Vec<u8>>) -> Self {
        RawBody {
            content_type: content_type.to_string(),
            bytes: bytes.into(),
        }
    }
}

/// [`call`] with a raw body; the answer is checked against open-api.json the same way.
pub async fn call_raw(
    sim: &impl SimUrl,
    method: Method,
    template: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<RawBody>,
    extra: &[(&str, &str)],
) -> Resp {
    let mut req = client().request(method.clone(), format!("{}/v2{path}", sim.base_url()));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", b.content_type).body(b.bytes);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().await.expect("body");
    let body = if content_type.contains("json") {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: invalid JSON {e}: {text}"))
    } else {
        Value::String(text)
    };
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let template = template.split('?').next().unwrap_or(template);
    if let Some(schema) = schema::response_schema(method.as_str(), template, status.as_u16(), &ct) {
        let errors = schema::validate(schema, &body);
        assert!(
            errors.is_empty(),
            "{method} {path} → {status}: body violates open-api.json: {errors:?}\n{body}"
        );
    }
    Resp {
        status,
        headers,
        body,
        content_type,
    }
}

/// `exceptionCode` of an `ExceptionResponse` body, or the first `errors[].code` of a
/// problem-details body; 0 when there is none.
pub fn exception_code(body: &Value) -> u64 {
    body["exception"]["exceptionDetailList"][0]["exceptionCode"]
        .as_u64()
        .or_else(|| body["errors"][0]["code"].as_u64())
        .unwrap_or(0)
}

/// `POST /auth/token/redeem` with an `authenticationToken`.
pub async fn redeem_call(sim: &impl SimUrl, auth_token: &str) -> Resp {
    post(
        sim,
        "/auth/token/redeem",
        "/auth/token/redeem",
        Some(auth_token),
        None,
    )
    .await
}

/// `POST /auth/token/refresh` with a token (normally the refresh token).
pub async fn refresh_call(sim: &impl SimUrl, token: &str) -> Resp {
    post(
        sim,
        "/auth/token/refresh",
        "/auth/token/refresh",
        Some(token),
        None,
    )
    .await
}

/// [`wait_auth`] for the operation a 202 `AuthenticationInitResponse` body started.
pub async fn wait_started(sim: &impl SimUrl, init: &Value) -> Value {
    wait_auth(
        sim,
        init["referenceNumber"].as_str().expect("referenceNumber"),
        init["authenticationToken"]["token"]
            .as_str()
            .expect("authenticationToken"),
    )
    .await
}

pub async fn get(sim: &impl SimUrl, template: &str, path: &str, bearer: Option<&str>) -> Resp {
    call(sim, Method::GET, template, path, bearer, None, &[]).await
}

pub async fn post(
    sim: &impl SimUrl,
    template: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> Resp {
    call(sim, Method::POST, template, path, bearer, body, &[]).await
}

/// The KSeF-token key: `(publicKeyId, RSA public key)` picked as a client does (latest validFrom).
pub async fn token_key(sim: &impl SimUrl) -> (String, rsa::PublicKey) {
    pick_key(sim, "KsefTokenEncryption").await
}

pub async fn pick_key(sim: &impl SimUrl, usage: &str) -> (String, rsa::PublicKey) {
    let r = get(
        sim,
        "/security/public-key-certificates",
        "/security/public-key-certificates",
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let mut certs: Vec<&Value> = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["usage"].as_array().unwrap().iter().any(|u| u == usage))
        .collect();
    certs.sort_by_key(|c| c["validFrom"].as_str().unwrap().to_string());
    let c = certs.last().expect("a key for the usage");
    let der = STANDARD.decode(c["certificate"].as_str().unwrap()).unwrap();
    let cert = x509_cert::Certificate::from_der(&der).expect("X.509 DER");
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let key = rsa::PublicKey::from_public_key_der(&spki).expect("RSA key");
    (c["publicKeyId"].as_str().unwrap().to_string(), key)
}

pub fn oaep_encrypt(key: &rsa::PublicKey, data: &[u8]) -> String {
    let ct = key
        .encrypt(&mut getrandom::SysRng, Oaep::<Sha256>::new(), data)
        .expect("encrypt");
    STANDARD.encode(ct)
}

/// Opens an online FA (3) session with the AES `key` and `iv` (wrapped with the simulator's
/// symmetric-key certificate); returns its reference number.
pub async fn open_online_session(
    sim: &impl SimUrl,
    access: &str,
    key: &[u8; 32],
    iv: &[u8; 16],
) -> String {
    let (key_id, rsa_key) = pick_key(sim, "SymmetricKeyEncryption").await;
    let r = post(
        sim,
        "/sessions/online",
        "/sessions/online",
        Some(access),
        Some(json!({
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {"encryptedSymmetricKey": oaep_encrypt(&rsa_key, key),
                "initializationVector": STANDARD.encode(iv), "publicKeyId": key_id}
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["referenceNumber"].as_str().unwrap().to_string()
}

/// Starts a KSeF-token login; returns `(referenceNumber, authenticationToken)`.
pub async fn start_token_login(sim: &impl SimUrl, token: &str, nip: &str) -> (String, String) {
    let (key_id, key) = token_key(sim).await;
    let ch = post(sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(ch.status, 200);
    let ts = ch.body["timestampMs"].as_i64().unwrap();
    let enc = oaep_encrypt(&key, format!("{token}|{ts}").as_bytes());
    let r = post(
        sim,
        "/auth/ksef-token",
        "/auth/ksef-token",
        None,
        Some(json!({"challenge": ch.body["challenge"], "contextIdentifier": {"type":"Nip","value":nip},
            "encryptedToken": enc, "publicKeyId": key_id})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    (
        r.body["referenceNumber"].as_str().unwrap().to_string(),
        r.body["authenticationToken"]["token"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// Polls `/auth/{ref}` until the status is final, at most 10 times a second as KSeF's
/// PRD limits allow (the simulator's default profile).
pub async fn wait_auth(sim: &impl SimUrl, reference: &str, auth_token: &str) -> Value {
    tokio::time::sleep(Duration::from_millis(20)).await;
    for _ in 0..100 {
        let r = get(
            sim,
            "/auth/{referenceNumber}",
            &format!("/auth/{reference}"),
            Some(auth_token),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"]["code"] != 100 {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
    panic!("auth {reference} never finished");
}

/// Full token login → `(accessToken, refreshToken)`.
pub async fn login(sim: &impl SimUrl, token: &str, nip: &str) -> (String, String) {
    let (reference, auth_token) = start_token_login(sim, token, nip).await;
    let status = wait_auth(sim, &reference, &auth_token).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let r = redeem_call(sim, &auth_token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["accessToken"]["token"].as_str().unwrap().to_string(),
        r.body["refreshToken"]["token"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// Mints a token through the control API.
pub async fn mint(sim: &impl SimUrl, nip: &str, permissions: &[&str]) -> String {
    let r = client()
        .post(format!("{}/sim/tokens", sim.base_url()))
        .json(&json!({"nip": nip, "permissions": permissions}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

pub async fn fault(sim: &impl SimUrl, rule: Value) {
    let r = client()
        .post(format!("{}/sim/faults", sim.base_url()))
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

/// Polls a permission operation until it is final; returns its status code.
pub async fn wait_permission_operation(sim: &impl SimUrl, access: &str, reference: &str) -> u64 {
    for _ in 0..100 {
        let r = get(
            sim,
            "/permissions/operations/{referenceNumber}",
            &format!("/permissions/operations/{reference}"),
            Some(access),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let code = r.body["status"]["code"].as_u64().unwrap();
        if code != 100 {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
    panic!("operation {reference} never finished");
}
