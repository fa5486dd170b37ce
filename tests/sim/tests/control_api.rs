//! Error formats and bad input, the `/limits` endpoints, rate limits (429 with `Retry-After`),
//! injected faults and the `/sim` control API — over real HTTP, every body checked against
//! open-api.json.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::json;

const OTHER_NIP: &str = "7352765225";

#[tokio::test]
async fn error_formats_and_bad_input() {
    let sim = start().await;
    let send =
        |content_type: &str, body: String, extra: &'static [(&'static str, &'static str)]| {
            let raw = RawBody::new(content_type, body);
            let sim = &sim;
            async move {
                call_raw(
                    sim,
                    Method::POST,
                    "/auth/ksef-token",
                    "/auth/ksef-token",
                    None,
                    Some(raw),
                    extra,
                )
                .await
            }
        };
    // Malformed JSON → 400 21405, ExceptionResponse (checked against the schema by call_raw).
    assert!(schema::response_schema("POST", "/auth/ksef-token", 400, "application/json").is_some());
    let r = send("application/json", "{not json".into(), &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, "application/json");
    assert_eq!(
        r.body["exception"]["exceptionDetailList"][0]["exceptionCode"],
        21405
    );
    // Same with problem-details.
    let r = send(
        "application/json",
        "[]".into(),
        &[("X-Error-Format", "problem-details")],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.body["errors"][0]["code"], 21405);
    assert_eq!(r.body["status"], 400);
    // Wrong content type → 415; oversized → 413.
    let r = send("text/plain", "{}".into(), &[]).await;
    assert_eq!(r.status, 415);
    let big = format!("{{\"challenge\":\"{}\"}}", "x".repeat(6 * 1024 * 1024));
    let r = send("application/json", big, &[]).await;
    assert_eq!(r.status, 413);
    // 401 is always problem-details.
    let r = get(&sim, "/auth/sessions", "/auth/sessions", None).await;
    assert_eq!(r.status, 401);
    assert!(r.content_type.starts_with("application/problem+json"));
    let r = get(
        &sim,
        "/auth/sessions",
        "/auth/sessions",
        Some("forged.jwt.token"),
    )
    .await;
    assert_eq!(r.status, 401);
    // Paging errors.
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let r = get(
        &sim,
        "/auth/sessions",
        "/auth/sessions?pageSize=5",
        Some(&access),
    )
    .await;
    assert_eq!(r.code(), 21405);
    let r = call(
        &sim,
        Method::GET,
        "/auth/sessions",
        "/auth/sessions",
        Some(&access),
        None,
        &[("x-continuation-token", "@@garbage")],
    )
    .await;
    assert_eq!(r.code(), 21418);
    // Another context's auth operation is invisible to this access token.
    let other = mint(&sim, OTHER_NIP, &["InvoiceRead"]).await;
    let (other_ref, _) = start_token_login(&sim, &other, OTHER_NIP).await;
    let r = get(
        &sim,
        "/auth/{referenceNumber}",
        &format!("/auth/{other_ref}"),
        Some(&access),
    )
    .await;
    assert_eq!(r.code(), 21304);
    // Unknown auth reference → 21304.
    let r = get(
        &sim,
        "/auth/{referenceNumber}",
        "/auth/20250514-AU-2DFC46C000-3AC6D5877F-D4",
        Some(&access),
    )
    .await;
    assert_eq!(r.code(), 21304);
    // X-System-Warning echo (TEST behaviour).
    let r = call(
        &sim,
        Method::POST,
        "/auth/challenge",
        "/auth/challenge",
        None,
        None,
        &[("X-Test-System-Warning", "[W1]: test")],
    )
    .await;
    assert_eq!(r.headers["x-system-warning"], "[W1]: test");
    sim.shutdown().await;
}

#[tokio::test]
async fn limits_endpoints_match_the_schema() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    for path in ["/rate-limits", "/limits/context", "/limits/subject"] {
        let r = get(&sim, path, path, Some(&access)).await;
        assert_eq!(r.status, 200, "{path}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let sim = start().await;
    let r = client()
        .post(format!("{}/sim/rate-limits", sim.base_url))
        .json(&json!({"profile":"production"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    // invoiceMetadata-like "other" group for /rate-limits: 10 per second.
    let mut limited = None;
    for _ in 0..15 {
        let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the 11th request within a second is limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(r.body["status"]["code"], 429);
    // problem-details variant.
    let r = call(
        &sim,
        Method::GET,
        "/rate-limits",
        "/rate-limits",
        Some(&access),
        None,
        &[("X-Error-Format", "problem-details")],
    )
    .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["status"], 429);
    assert!(r.headers.contains_key("retry-after"));
    // Public endpoints: 60/s per IP (sent concurrently so they land within one second).
    let url = format!("{}/v2/auth/challenge", sim.base_url);
    let mut tasks = Vec::new();
    for _ in 0..80 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            client().post(url).send().await.map(|r| r.status().as_u16())
        }));
    }
    let mut got_429 = false;
    for t in tasks {
        got_429 |= t.await.unwrap().unwrap_or(0) == 429;
    }
    assert!(got_429);
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_faults_status_html_drop_and_delay() {
    let sim = start().await;
    let path = "/security/public-key-certificates";
    fault(
        &sim,
        json!({"path": path, "kind": "status", "status": 503, "retryAfter": 7, "count": 2}),
    )
    .await;
    for _ in 0..2 {
        let r = get(&sim, path, path, None).await;
        assert_eq!(r.status, 503);
        assert_eq!(r.headers["retry-after"], "7");
    }
    assert_eq!(get(&sim, path, path, None).await.status, 200);
    // 400 with a chosen exception code, honoured per X-Error-Format.
    fault(&sim, json!({"method":"POST","path": "/auth/challenge", "kind": "status", "status": 400, "exceptionCode": 21111})).await;
    let r = post(&sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(r.code(), 21111);
    // The KSeF firewall's HTML 403.
    fault(&sim, json!({"path": path, "kind": "html403"})).await;
    let r = get(&sim, path, path, None).await;
    assert_eq!(r.status, 403);
    assert!(r.content_type.starts_with("text/html"));
    assert!(r.body.as_str().unwrap().contains("Request Rejected"));
    // Dropped connection: the client gets no response at all.
    fault(&sim, json!({"path": path, "kind": "drop"})).await;
    let err = client()
        .get(format!("{}/v2{path}", sim.base_url))
        .send()
        .await;
    assert!(err.is_err(), "connection should be dropped");
    assert_eq!(get(&sim, path, path, None).await.status, 200);
    // Delay, matching a templated path.
    fault(
        &sim,
        json!({"path": "/auth/{referenceNumber}", "kind": "delay", "delayMs": 300}),
    )
    .await;
    let (reference, token) = start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let t0 = Instant::now();
    get(
        &sim,
        "/auth/{referenceNumber}",
        &format!("/auth/{reference}"),
        Some(&token),
    )
    .await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    // Faults can be listed and cleared.
    fault(
        &sim,
        json!({"path": path, "kind": "status", "status": 500, "count": 5}),
    )
    .await;
    let list: serde_json::Value = client()
        .get(format!("{}/sim/faults", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    client()
        .delete(format!("{}/sim/faults", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&sim, path, path, None).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_demo_mint_and_reset() {
    let sim = start().await;
    let demo: serde_json::Value = client()
        .get(format!("{}/sim/demo", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["nip"], sim.demo.nip);
    assert_eq!(demo["ksefToken"], sim.demo.ksef_token);
    assert!(demo["companyName"].as_str().unwrap().len() > 3);
    // Control API never appears under /v2.
    let r = client()
        .get(format!("{}/v2/sim/demo", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Reset: a new demo token, the old one is gone.
    let reset: serde_json::Value = client()
        .post(format!("{}/sim/reset", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(reset["ksefToken"], sim.demo.ksef_token);
    let (reference, token) = start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    assert_eq!(
        wait_auth(&sim, &reference, &token).await["status"]["code"],
        450
    );
    login(&sim, reset["ksefToken"].as_str().unwrap(), &sim.demo.nip).await;
    // Minting validates the NIP.
    let r = client()
        .post(format!("{}/sim/tokens", sim.base_url))
        .json(&json!({"nip":"12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    sim.shutdown().await;
}
