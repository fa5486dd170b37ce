//! The router's own routes: health and readiness, unknown paths, and the SPA (caching,
//! precompressed copies, app routes, no escape from `dist/`).

use axum::http::{StatusCode, header};
use clap::Parser as _;
use kwit_relay::{Config, app};
use tower::ServiceExt as _;

use crate::common::{body_bytes, fake_dist};
use crate::get;

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
