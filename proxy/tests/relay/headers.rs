//! The headers the relay adds itself: CORS for configured origins only (on `/ksef/...`
//! and `/relay/environments` by one rule), and the security headers on every answer.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use clap::Parser as _;
use kwit_relay::{Config, app};
use tower::ServiceExt as _;

use crate::common::{body_json, fake_dist};
use crate::{get, no_cors, relay_to_mock};

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
