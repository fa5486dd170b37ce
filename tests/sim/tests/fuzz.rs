//! Short fuzz run: random and mutated bodies to every POST/PUT endpoint of open-api.json
//! (plus the control API) through `oneshot`; no request may panic or answer 5xx.
//! Bounded: a fixed number of cases per endpoint with a fixed seed.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use common::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// xorshift64* — deterministic, no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    r#"{"challenge":"20250514-CR-226FB7B000-3ACF9BE4C0-10","contextIdentifier":{"type":"Nip","value":"5265877635"},"encryptedToken":"AAAA","publicKeyId":null}"#,
    r#"{"formCode":{"systemCode":"FA (3)","schemaVersion":"1-0E","value":"FA"},"encryption":{"encryptedSymmetricKey":"AAAA","initializationVector":"AAAAAAAAAAAAAAAAAAAAAA=="}}"#,
    r#"{"invoiceHash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","invoiceSize":1,"encryptedInvoiceHash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","encryptedInvoiceSize":16,"encryptedInvoiceContent":"AAAAAAAAAAAAAAAAAAAAAA=="}"#,
    r#"{"subjectType":"Subject2","dateRange":{"dateType":"Issue","from":"2025-01-01T00:00:00Z","to":"2025-02-01T00:00:00Z"}}"#,
    r#"{"permissions":["InvoiceRead"],"description":"opis tokena"}"#,
    r#"{"nip":"5265877635","permissions":["InvoiceRead"]}"#,
    r#"{"path":"/v2/auth/challenge","kind":"status","status":503}"#,
    "<?xml version=\"1.0\"?><AuthTokenRequest xmlns=\"http://ksef.mf.gov.pl/auth/token/2.0\"><Challenge>x</Challenge></AuthTokenRequest>",
    "[]",
    "null",
    "{}",
];

fn mutate(rng: &mut Rng, seed: &str) -> Vec<u8> {
    let mut b = seed.as_bytes().to_vec();
    match rng.below(4) {
        0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        1 => {
            for _ in 0..=rng.below(8) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            b
        }
        2 => {
            let cut = rng.below(b.len().max(1));
            b.truncate(cut);
            b
        }
        _ => {
            let i = rng.below(b.len().max(1));
            let insert: &[u8] = [
                &b"\"\\u0000\""[..],
                b"99999999999999999999999",
                b"-1",
                b"{\"a\":",
                "żółć".as_bytes(),
                b"]]]",
            ][rng.below(6)];
            b.splice(i..i, insert.iter().copied());
            b
        }
    }
}

#[tokio::test]
async fn random_bodies_never_cause_5xx_or_panics() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let app = ksef_sim::app(sim.state.clone());
    let fake_ref = "20250625-SO-2C3E6C8000-B675CF5D68-07";
    let mut paths: Vec<(String, String)> = Vec::new();
    for (path, item) in schema::spec()["paths"].as_object().unwrap() {
        for method in ["post", "put"] {
            if item.get(method).is_some() {
                let concrete = path
                    .split('/')
                    .map(|seg| if seg.starts_with('{') { fake_ref } else { seg })
                    .collect::<Vec<_>>()
                    .join("/");
                paths.push((method.to_uppercase(), format!("/v2{concrete}")));
            }
        }
    }
    for p in [
        "/sim/tokens",
        "/sim/faults",
        "/sim/processing-delay",
        "/sim/rate-limits",
    ] {
        paths.push(("POST".into(), p.into()));
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut sent = 0;
    for (method, path) in &paths {
        for case in 0..12 {
            let seed = SEEDS[rng.below(SEEDS.len())];
            let body = mutate(&mut rng, seed);
            let ct = [
                "application/json",
                "application/xml",
                "text/plain",
                "application/octet-stream",
            ][case % 4];
            let mut req = Request::builder()
                .method(method.as_str())
                .uri(path)
                .header("content-type", ct);
            if case % 3 != 0 {
                req = req.header("authorization", format!("Bearer {access}"));
            }
            let req = req.body(Body::from(body.clone())).unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            assert!(
                status.as_u16() < 500,
                "{method} {path} with {:?} → {status}: {}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&bytes)
            );
            sent += 1;
        }
        if Instant::now() > deadline {
            break;
        }
    }
    assert!(sent > 100, "only {sent} cases ran");
    // Faults may have been injected by the fuzzer itself; clear them before shutdown.
    sim.state.lock().faults.rules.clear();
    sim.shutdown().await;
}
