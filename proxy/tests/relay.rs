//! Relay behaviour through `tower::ServiceExt::oneshot`, against a mock KSeF on a real
//! loopback socket (so faults are precise: slow, reset, HTML, garbage).

mod common;

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use clap::Parser as _;
use common::{Script, body_bytes, body_json, checksum, mock_ksef, scripted_upstream, serve};
use http_body_util::BodyExt as _;
use kwit_relay::{Config, app};
use tower::ServiceExt as _;

fn config_for(upstream: std::net::SocketAddr, extra: &[&str]) -> Config {
    let sim = format!("http://{upstream}");
    let mut args = vec!["kwit-relay", "--sim-url", sim.as_str(), "--rate-limit", "0"];
    args.extend_from_slice(extra);
    Config::parse_from(args)
}

async fn relay_to_mock(extra: &[&str]) -> axum::Router {
    let upstream = serve(mock_ksef()).await;
    app(config_for(upstream, extra))
}

/// The answer grants no cross-origin access.
fn no_cors(response: &axum::response::Response) -> bool {
    response
        .headers()
        .get("access-control-allow-origin")
        .is_none()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn forwards_allow_listed_headers_only() {
    let relay = relay_to_mock(&[]).await;
    let request = Request::post("/ksef/sim/v2/echo/sessions/online?pageSize=10")
        .header("authorization", "Bearer access-token")
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("x-continuation-token", "cont")
        .header("x-error-format", "problem-details")
        .header("x-ksef-feature", "enforce-xades-compliance")
        .header("cookie", "session=browser-cookie")
        .header("connection", "keep-alive, x-secret")
        .header("x-secret", "hop")
        .header("x-forwarded-for", "6.6.6.6")
        .header("host", "relay.example")
        .header("origin", "http://relay.example")
        .header("proxy-authorization", "Basic eA==")
        .body(Body::from(r#"{"formCode":{}}"#))
        .unwrap();
    let response = relay.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo = body_json(response).await;
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/v2/echo/sessions/online");
    assert_eq!(echo["query"], "pageSize=10");
    assert_eq!(echo["bodyLen"], 15);
    let h = &echo["headers"];
    assert_eq!(h["authorization"], "Bearer access-token");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-continuation-token"], "cont");
    assert_eq!(h["x-error-format"], "problem-details");
    assert_eq!(h["x-ksef-feature"], "enforce-xades-compliance");
    for dropped in [
        "cookie",
        "x-secret",
        "x-forwarded-for",
        "origin",
        "proxy-authorization",
    ] {
        assert!(
            h.get(dropped).is_none(),
            "{dropped} must not be forwarded: {h}"
        );
    }
    // The upstream sees its own host, not the client's.
    assert!(h["host"].as_str().unwrap().starts_with("127.0.0.1:"), "{h}");
}

#[tokio::test]
async fn storage_links_keep_their_query_and_lose_the_bearer_token() {
    let relay = relay_to_mock(&[]).await;
    let request = Request::put("/ksef/sim/storage/01/batch-parts/1?sv=2025&sp=w&sig=ab%2Bcd%3D")
        .header("authorization", "Bearer must-not-leave")
        .header("x-ms-blob-type", "BlockBlob")
        .header("content-length", "4")
        .body(Body::from("PART"))
        .unwrap();
    let response = relay.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo = body_json(response).await;
    assert_eq!(echo["path"], "/storage/01/batch-parts/1");
    assert_eq!(echo["query"], "sv=2025&sp=w&sig=ab%2Bcd%3D");
    assert_eq!(echo["headers"]["x-ms-blob-type"], "BlockBlob");
    // Azure-style PUT needs a real Content-Length, not chunked encoding.
    assert_eq!(echo["headers"]["content-length"], "4");
    assert!(echo["headers"].get("transfer-encoding").is_none());
    assert!(echo["headers"].get("authorization").is_none());
}

#[tokio::test]
async fn request_framing_is_kept_as_the_client_sent_it() {
    let relay = relay_to_mock(&[]).await;
    // A GET without a body goes out without one: no chunked framing, no length.
    let response = relay
        .clone()
        .oneshot(get("/ksef/sim/v2/echo/sessions"))
        .await
        .unwrap();
    let echo = body_json(response).await;
    let h = &echo["headers"];
    assert!(h.get("transfer-encoding").is_none(), "{h}");
    assert!(h.get("content-length").is_none(), "{h}");
    assert!(
        h["user-agent"].as_str().unwrap().starts_with("kwit-relay/"),
        "{h}"
    );
    // A body of unknown length (chunked from the browser) stays chunked and arrives whole.
    let chunks = (0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![i as u8; 1000])));
    let request = Request::post("/ksef/sim/v2/echo/chunked")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let echo = body_json(relay.oneshot(request).await.unwrap()).await;
    assert_eq!(echo["bodyLen"], 3000);
    assert_eq!(echo["headers"]["transfer-encoding"], "chunked");
    assert!(echo["headers"].get("content-length").is_none());
}

#[tokio::test]
async fn refuses_path_escapes_without_calling_upstream() {
    let relay = relay_to_mock(&[]).await;
    let attempts = [
        ("/ksef/sim/v2/..%2f..%2fsim/demo", StatusCode::BAD_REQUEST),
        (
            "/ksef/sim/v2/%2e%2e/%2e%2e/sim/demo",
            StatusCode::BAD_REQUEST,
        ),
        ("/ksef/sim/v2/echo%2F..%2F..%2Fsim", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2/echo/../../sim/demo", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2/echo/%252e%252e/x", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2/@evil.example/x", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2/echo/a@evil.example", StatusCode::BAD_REQUEST),
        (
            "/ksef/sim/v2/http:%2F%2Fevil.example/x",
            StatusCode::BAD_REQUEST,
        ),
        ("/ksef/sim/v2/[::1]:22/x", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2/echo/%0d%0aHost:evil", StatusCode::BAD_REQUEST),
        ("/ksef/sim/v2//evil.example/x", StatusCode::BAD_REQUEST),
        ("/ksef/evil.example/v2/x", StatusCode::NOT_FOUND),
        ("/ksef/127.0.0.1:22/v2/x", StatusCode::NOT_FOUND),
        ("/ksef/sim/v3/x", StatusCode::NOT_FOUND),
        ("/ksef/sim/sim/demo", StatusCode::NOT_FOUND),
        ("/ksef/sim/v2", StatusCode::NOT_FOUND),
        ("/ksef", StatusCode::NOT_FOUND),
    ];
    for (uri, expected) in attempts {
        let response = relay.clone().oneshot(get(uri)).await.unwrap();
        assert_eq!(response.status(), expected, "{uri}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json",
            "{uri}"
        );
        let problem = body_json(response).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(" / "),
            "{problem}"
        );
    }
    // An absolute URL as the request target never selects the host either.
    let absolute = Request::get("http://evil.example/ksef/sim/v2/echo/x")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(absolute).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo = body_json(response).await;
    assert!(
        echo["headers"]["host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
}

#[tokio::test]
async fn refuses_oversized_paths_and_queries() {
    let relay = relay_to_mock(&[]).await;
    let long_path = format!("/ksef/sim/v2/echo/{}", "a".repeat(5000));
    let response = relay.clone().oneshot(get(&long_path)).await.unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
    let long_query = format!("/ksef/sim/v2/echo/x?q={}", "a".repeat(5000));
    let response = relay.oneshot(get(&long_query)).await.unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
}

#[tokio::test]
async fn environments_are_fixed_and_sim_needs_a_url() {
    let relay = app(Config::parse_from(["kwit-relay", "--environments", "test"]));
    let response = relay
        .clone()
        .oneshot(get("/relay/environments"))
        .await
        .unwrap();
    assert_eq!(
        body_json(response).await,
        serde_json::json!({"environments": ["test"]})
    );
    for env in ["sim", "demo", "prod"] {
        let response = relay
            .clone()
            .oneshot(get(&format!("/ksef/{env}/v2/auth/challenge")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{env}");
        let problem = body_json(response).await;
        assert_eq!(problem["code"], "environment-disabled");
    }

    let relay = relay_to_mock(&[]).await;
    let response = relay.oneshot(get("/relay/environments")).await.unwrap();
    assert_eq!(
        body_json(response).await,
        serde_json::json!({"environments": ["sim", "test", "demo", "prod"]})
    );
}

#[tokio::test]
async fn cors_only_for_configured_origins() {
    let relay = relay_to_mock(&["--allowed-origins", "https://kwit.example.com"]).await;
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/ksef/sim/v2/echo/x")
        .header("origin", "https://kwit.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-continuation-token",
        )
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(preflight).await.unwrap();
    assert!(response.status().is_success());
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "https://kwit.example.com");
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for name in [
        "authorization",
        "content-type",
        "x-continuation-token",
        "x-ms-blob-type",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }

    let request = Request::get("/ksef/sim/v2/headers")
        .header("origin", "https://kwit.example.com")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers();
    assert_eq!(h["access-control-allow-origin"], "https://kwit.example.com");
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    for name in ["retry-after", "x-system-warning", "x-ms-meta-hash"] {
        assert!(exposed.contains(name), "{exposed}");
    }

    // Another website: no CORS headers, and the request is refused before KSeF sees it.
    let request = Request::post("/ksef/sim/v2/echo/x")
        .header("origin", "https://evil.example")
        .header("host", "relay.example")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(no_cors(&response));
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/ksef/sim/v2/echo/x")
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(preflight).await.unwrap();
    assert!(no_cors(&response));

    // Same origin (the SPA the relay serves) needs no CORS and is accepted.
    let request = Request::post("/ksef/sim/v2/echo/x")
        .header("origin", "http://relay.example:8080")
        .header("host", "relay.example:8080")
        .body(Body::empty())
        .unwrap();
    let response = relay.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(no_cors(&response));
}

#[tokio::test]
async fn the_environment_list_follows_the_same_cors_rules() {
    let relay = relay_to_mock(&["--allowed-origins", "https://kwit.example.com"]).await;
    let from = |origin: &str| {
        Request::get("/relay/environments")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let response = relay
        .clone()
        .oneshot(from("https://kwit.example.com"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://kwit.example.com"
    );
    let response = relay
        .clone()
        .oneshot(from("https://evil.example"))
        .await
        .unwrap();
    assert!(no_cors(&response));
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/relay/environments")
        .header("origin", "https://kwit.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "accept")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(preflight).await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://kwit.example.com"
    );
    assert!(
        response.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
    // An OPTIONS without Access-Control-Request-Method is no preflight, here as on
    // /ksef/...: refused, and granted no preflight permissions.
    for uri in ["/relay/environments", "/ksef/sim/v2/echo/x"] {
        let plain = Request::builder()
            .method(Method::OPTIONS)
            .uri(uri)
            .header("origin", "https://kwit.example.com")
            .body(Body::empty())
            .unwrap();
        let response = relay.clone().oneshot(plain).await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{uri}");
        let h = response.headers();
        assert_eq!(h["access-control-allow-origin"], "https://kwit.example.com");
        assert!(h.get("access-control-allow-methods").is_none(), "{uri}");
        assert_eq!(body_json(response).await["code"], "method-not-allowed");
    }
}

#[tokio::test]
async fn response_headers_are_filtered() {
    let relay = relay_to_mock(&[]).await;
    let response = relay.oneshot(get("/ksef/sim/v2/headers")).await.unwrap();
    let h = response.headers();
    assert_eq!(h["x-system-warning"], "[W1]: uwaga");
    assert_eq!(h["x-ms-meta-hash"], "q1w2e3==");
    for dropped in [
        "set-cookie",
        "set-cookie2",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-expose-headers",
        "alt-svc",
        "proxy-authenticate",
    ] {
        assert!(h.get(dropped).is_none(), "{dropped} must not pass: {h:?}");
    }
    // The relay's own, not the upstream's.
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert!(
        h.get("strict-transport-security").is_none(),
        "not behind TLS"
    );
    // Every value of a kept header passes.
    let ids: Vec<_> = h.get_all("x-ms-request-id").iter().collect();
    assert_eq!(ids, ["r-1", "r-2"]);
    assert_eq!(h["cache-control"], "no-store");
}

#[tokio::test]
async fn upstream_redirects_are_not_followed() {
    let relay = relay_to_mock(&[]).await;
    let response = relay.oneshot(get("/ksef/sim/v2/redirect")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn too_many_requests_passes_through_with_retry_after() {
    let relay = relay_to_mock(&[]).await;
    let response = relay.oneshot(get("/ksef/sim/v2/limited")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "30");
    let body = body_json(response).await;
    assert_eq!(body["status"]["code"], 429);
}

#[tokio::test]
async fn html_from_upstream_becomes_a_json_problem() {
    let relay = relay_to_mock(&[]).await;
    let response = relay.oneshot(get("/ksef/sim/v2/html")).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem = body_json(response).await;
    assert_eq!(problem["code"], "upstream-html");
    assert!(problem["detail"].as_str().unwrap().contains("HTML"));
    assert!(!problem.to_string().contains("Przerwa techniczna"));
}

#[tokio::test]
async fn slow_upstream_gives_504() {
    let relay = relay_to_mock(&["--upstream-timeout", "1"]).await;
    let started = Instant::now();
    let response = relay.oneshot(get("/ksef/sim/v2/slow")).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(4));
    let problem = body_json(response).await;
    assert_eq!(problem["code"], "upstream-timeout");
}

#[tokio::test]
async fn upstream_down_reset_or_garbage_gives_502() {
    for upstream in [
        common::dead_port().await,
        common::resetting_upstream().await,
        common::garbage_upstream().await,
    ] {
        let relay = app(config_for(upstream, &[]));
        let response = relay
            .oneshot(get("/ksef/sim/v2/auth/challenge"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{upstream}");
        let problem = body_json(response).await;
        assert_eq!(problem["code"], "upstream-unreachable");
        let text = problem.to_string();
        assert!(text.contains("KSeF"), "{text}");
        // The problem never echoes the upstream URL.
        assert!(!text.contains("127.0.0.1"), "{text}");
    }
}

#[tokio::test]
async fn body_limit_refuses_large_uploads() {
    let relay = relay_to_mock(&["--max-body-mib", "1"]).await;
    // Declared too large: refused at once.
    let request = Request::put("/ksef/sim/storage/01/part")
        .header("content-length", (2 * 1024 * 1024).to_string())
        .body(Body::from(vec![0u8; 2 * 1024 * 1024]))
        .unwrap();
    let response = relay.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Undeclared (chunked) and too large: cut off while streaming.
    let chunks = (0..40).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 64 * 1024])));
    let request = Request::post("/ksef/sim/v2/echo/x")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let response = relay.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn large_bodies_stream_both_ways() {
    let relay = relay_to_mock(&[]).await;
    let size = 8 * 1024 * 1024;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let expected = checksum(&payload);
    let request = Request::put("/ksef/sim/storage/01/batch-parts/2?sig=x")
        .header("content-length", size.to_string())
        .body(Body::from(payload))
        .unwrap();
    let response = relay.clone().oneshot(request).await.unwrap();
    let echo = body_json(response).await;
    assert_eq!(echo["bodyLen"], size);
    assert_eq!(echo["bodySum"], expected);

    let response = relay
        .oneshot(get(&format!("/ksef/sim/v2/big/{size}")))
        .await
        .unwrap();
    assert_eq!(body_bytes(response).await.len(), size);
}

#[tokio::test]
async fn response_is_streamed_before_upstream_finishes() {
    // The upstream sends one chunk, then waits until the test has received it
    // through the relay. A buffering relay would deadlock here.
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let release = std::sync::Arc::new(std::sync::Mutex::new(Some(release_rx)));
    let upstream = axum::Router::new().route(
        "/v2/stream",
        axum::routing::get(move || {
            let rx = release.lock().unwrap().take();
            async move {
                let first = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(Bytes::from_static(b"first-chunk;"))
                });
                let second = futures_util::stream::once(async move {
                    if let Some(rx) = rx {
                        let _ = rx.await;
                    }
                    Ok::<_, std::io::Error>(Bytes::from_static(b"second-chunk"))
                });
                Body::from_stream(futures_util::StreamExt::chain(first, second))
            }
        }),
    );
    let upstream = serve(upstream).await;
    let relay = app(config_for(upstream, &[]));
    let response = relay.oneshot(get("/ksef/sim/v2/stream")).await.unwrap();
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("first chunk must arrive while upstream still holds the rest")
        .unwrap()
        .unwrap();
    assert_eq!(
        frame.into_data().unwrap(),
        Bytes::from_static(b"first-chunk;")
    );
    release_tx.send(()).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, Bytes::from_static(b"second-chunk"));
}

#[tokio::test]
async fn stalled_response_body_is_abandoned_after_the_idle_timeout() {
    // The upstream sends its headers and one chunk, then goes silent for a minute.
    let upstream = axum::Router::new().route(
        "/v2/stall",
        axum::routing::get(|| async {
            let first = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(b"first-chunk;"))
            });
            let never = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, std::io::Error>(Bytes::from_static(b"too-late"))
            });
            Body::from_stream(futures_util::StreamExt::chain(first, never))
        }),
    );
    let upstream = serve(upstream).await;
    let relay = app(config_for(upstream, &["--idle-timeout", "1"]));
    let started = Instant::now();
    let response = relay.oneshot(get("/ksef/sim/v2/stall")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let result = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("the relay must give up on a stalled body by itself");
    assert!(result.is_err(), "a stalled body must end in an error");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test]
async fn per_client_rate_limit_answers_429_with_retry_after() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = app(Config::parse_from([
        "kwit-relay",
        "--sim-url",
        &sim,
        "--rate-limit",
        "1",
        "--rate-burst",
        "3",
        "--trust-forwarded-for",
    ]));
    let from = |ip: &str| {
        Request::get("/ksef/sim/v2/echo/x")
            .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..3 {
        let response = relay.clone().oneshot(from("198.51.100.1")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = relay.clone().oneshot(from("198.51.100.1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(body_json(response).await["code"], "relay-rate-limited");
    // Another client still gets through.
    let response = relay.oneshot(from("198.51.100.2")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn health_and_readiness() {
    let config = Config::default();
    let shutdown = config.shutdown.clone();
    let relay = app(config);
    let response = relay.clone().oneshot(get("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = relay.clone().oneshot(get("/readyz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    shutdown.begin();
    let response = relay.clone().oneshot(get("/readyz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let response = relay.oneshot(get("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_without_spa_are_404_problems() {
    let relay = app(Config::default());
    let response = relay.oneshot(get("/anything")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

/// A fake Trunk `dist/` in a fresh temporary directory.
fn fake_dist() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "kwit-relay-dist-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><html><head>\
         <link rel=\"modulepreload\" href=\"/kwit-web-0123456789abcdef.js\">\
         <script type=\"module\">import init from '/kwit-web-0123456789abcdef.js';init();</script>\
         </head><body></body></html>",
    )
    .unwrap();
    std::fs::write(
        dir.join("kwit-web-0123456789abcdef.js"),
        "export default 1;",
    )
    .unwrap();
    std::fs::write(dir.join("kwit-web-0123456789abcdef_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(
        dir.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn spa_caching_rules_and_fallback() {
    let dist = fake_dist();
    let relay = app(Config::parse_from([
        "kwit-relay",
        "--spa-dir",
        dist.to_str().unwrap(),
    ]));

    let response = relay.clone().oneshot(get("/")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert!(body_bytes(response).await.starts_with(b"<!doctype html>"));

    for asset in [
        "/kwit-web-0123456789abcdef.js",
        "/kwit-web-0123456789abcdef_bg.wasm",
    ] {
        let response = relay.clone().oneshot(get(asset)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{asset}"
        );
    }
    let response = relay.clone().oneshot(get("/sw.js")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");

    // The build's precompressed copies are served to a browser that accepts them.
    std::fs::write(
        dist.join("kwit-web-0123456789abcdef_bg.wasm.br"),
        b"brotli!",
    )
    .unwrap();
    std::fs::write(dist.join("kwit-web-0123456789abcdef_bg.wasm.gz"), b"gzip!").unwrap();
    for (accept, encoding, body) in [
        ("br, gzip", Some("br"), &b"brotli!"[..]),
        ("gzip", Some("gzip"), b"gzip!"),
        ("identity", None, b"\0asm"),
    ] {
        let request = axum::http::Request::builder()
            .uri("/kwit-web-0123456789abcdef_bg.wasm")
            .header(header::ACCEPT_ENCODING, accept)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = relay.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        assert_eq!(
            response
                .headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/wasm",
            "{accept}"
        );
        assert_eq!(
            response.headers()[header::VARY],
            "accept-encoding",
            "{accept}"
        );
        assert_eq!(&body_bytes(response).await[..], body, "{accept}");
    }

    // App routes get index.html; missing files are a plain 404 (never cached as immutable).
    let response = relay
        .clone()
        .oneshot(get("/invoices/42/edit"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert!(body_bytes(response).await.starts_with(b"<!doctype html>"));
    let response = relay
        .clone()
        .oneshot(get("/kwit-web-ffffffffffffffff.js"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.headers().get(header::CACHE_CONTROL).is_none());

    // API paths never fall back to the SPA.
    let response = relay.clone().oneshot(get("/ksef/test/v2/")).await.unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    // Directory traversal out of dist/ is impossible.
    let response = relay.oneshot(get("/../../etc/passwd")).await.unwrap();
    assert!(!body_bytes(response).await.starts_with(b"root:"));
    std::fs::remove_dir_all(dist).unwrap();
}

#[tokio::test]
async fn security_headers_everywhere_and_hsts_only_behind_tls() {
    let dist = fake_dist();
    let relay = app(Config::parse_from([
        "kwit-relay",
        "--spa-dir",
        dist.to_str().unwrap(),
    ]));
    for path in [
        "/",
        "/kwit-web-0123456789abcdef.js",
        "/healthz",
        "/ksef/nope/v2/x",
    ] {
        let response = relay.clone().oneshot(get(path)).await.unwrap();
        let h = response.headers();
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer", "{path}");
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{path}");
    }
    // index.html admits exactly Trunk's inline loader, by hash.
    let response = relay.oneshot(get("/")).await.unwrap();
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");

    let relay = app(Config::parse_from(["kwit-relay", "--behind-tls"]));
    let response = relay.oneshot(get("/healthz")).await.unwrap();
    assert!(
        response.headers()[header::STRICT_TRANSPORT_SECURITY]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    std::fs::remove_dir_all(dist).unwrap();
}

/// An idle upstream connection the upstream has since closed (its keep-alive timeout) is
/// noticed before use: the user's next request goes out on a new connection instead of
/// failing with 502.
#[tokio::test]
async fn a_connection_the_upstream_closed_while_idle_is_not_used() {
    let (upstream, counters) = scripted_upstream(|_| Script::AnswerThenClose).await;
    let relay = app(config_for(upstream, &[]));
    for i in 0..3 {
        let response = relay
            .clone()
            .oneshot(get("/ksef/sim/v2/sessions"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "request {i}");
        assert_eq!(body_bytes(response).await, "{}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counters.requests(), 3);
    assert_eq!(counters.connections(), 3);
}

/// Successive requests share one upstream connection; and a request an upstream read
/// but never answered is not sent again (an invoice must never be sent twice), even
/// though it went out on a reused connection.
#[tokio::test]
async fn connections_are_reused_and_an_unanswered_request_is_not_resent() {
    let (upstream, counters) = scripted_upstream(|n| {
        if n == 2 {
            Script::CloseWithoutAnswer
        } else {
            Script::Answer
        }
    })
    .await;
    let relay = app(config_for(upstream, &[]));
    let send = |relay: axum::Router| async move {
        let request = Request::post("/ksef/sim/v2/sessions/online/x/invoices")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"invoiceHash":"x"}"#))
            .unwrap();
        relay.oneshot(request).await.unwrap()
    };
    for _ in 0..2 {
        let response = send(relay.clone()).await;
        assert_eq!(response.status(), StatusCode::OK);
        body_bytes(response).await;
    }
    assert_eq!(counters.connections(), 1, "two requests, one connection");
    let response = send(relay.clone()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(body_json(response).await["code"], "upstream-unreachable");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        counters.requests(),
        3,
        "the unanswered request reached it once"
    );
    assert_eq!(
        counters.connections(),
        1,
        "and was not retried on a new connection"
    );
    // The next request gets a fresh connection.
    let response = send(relay).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(counters.connections(), 2);
}
