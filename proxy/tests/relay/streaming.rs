//! Bodies streamed both ways, never held whole, and abandoned when they stall.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use kwit_relay::app;
use tower::ServiceExt as _;

use crate::common::{body_bytes, body_json, checksum, serve};
use crate::{config_for, get, relay_to_mock};

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
