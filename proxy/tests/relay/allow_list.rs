//! What the relay refuses before KSeF sees it: path escapes, long URLs, environments
//! that are not enabled, bodies over the limit, a client over its rate.

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use clap::Parser as _;
use kwit_relay::{Config, app};
use tower::ServiceExt as _;

use crate::common::{body_json, mock_ksef, serve};
use crate::{get, relay_to_mock};

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
