//! KSeF misbehaving (HTML pages, slow, down, reset, not HTTP) and the upstream
//! connection pool: connections reused, closed ones not used, no request sent twice.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kwit_relay::app;
use tower::ServiceExt as _;

use crate::common::{self, Script, body_bytes, body_json, scripted_upstream};
use crate::{config_for, get, relay_to_mock};

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
