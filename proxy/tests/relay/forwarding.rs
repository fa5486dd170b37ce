//! What goes up to KSeF and what comes back: the allow-listed request headers, storage
//! links without the bearer token, request framing as the client sent it, the filtered
//! response headers, redirects and KSeF's own 429 passed through.

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::common::body_json;
use crate::{get, relay_to_mock};

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

/// Latarnia (KSeF availability) goes to its own service — the simulator's under
/// `/latarnia` — read-only, and never with the bearer token.
#[tokio::test]
async fn latarnia_is_read_only_and_gets_no_token() {
    let relay = relay_to_mock(&[]).await;
    let request = Request::get("/latarnia/sim/status")
        .header("authorization", "Bearer access-token")
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echo = body_json(response).await;
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path"], "/latarnia/status");
    assert!(echo["headers"].get("authorization").is_none(), "{echo}");

    let post = Request::post("/latarnia/sim/messages")
        .body(Body::empty())
        .unwrap();
    let response = relay.clone().oneshot(post).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

    for path in ["/latarnia/sim/status/x", "/latarnia/sim/v2/auth/challenge"] {
        let response = relay
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
