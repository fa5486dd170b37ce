//! The headers the relay adds itself: CORS for configured origins only (on `/ksef/...`
//! and `/relay/environments` by one rule), and one set of security headers on every
//! answer, by the `/ksef` fast path and through the router alike.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use clap::Parser as _;
use kwit_relay::{Config, app};
use tower::ServiceExt as _;

use crate::common::{body_json, fake_dist, mock_ksef, serve};
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

/// The security headers the relay sets; every answer carries the same ones.
const SECURITY_HEADERS: [&str; 7] = [
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "cross-origin-opener-policy",
    "permissions-policy",
    "strict-transport-security",
];

/// The CORS headers on an answer to an allowed origin's (non-preflight) request.
const CORS_HEADERS: [&str; 3] = [
    "access-control-allow-origin",
    "access-control-expose-headers",
    "vary",
];

/// `names`' values in `headers`, in order (`None` for an absent one), with the inline
/// script hashes taken out of a CSP: `index.html`'s CSP is the base one plus those.
fn values(headers: &HeaderMap, names: &[&str]) -> Vec<Option<String>> {
    names
        .iter()
        .map(|name| {
            let value = headers.get(*name)?.to_str().unwrap();
            let directives: Vec<String> = value
                .split("; ")
                .map(|directive| {
                    let sources: Vec<&str> = directive
                        .split(' ')
                        .filter(|source| !source.starts_with("'sha256-"))
                        .collect();
                    sources.join(" ")
                })
                .collect();
            Some(directives.join("; "))
        })
        .collect()
}

/// The relay on a socket through its own accept loop, as the binary runs it: `/ksef/...`
/// takes the fast path (no router, no middleware), everything else the router.
async fn serve_relay(config: &Config) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relay = kwit_relay::apps(config, 1).remove(0);
    let config = config.clone();
    tokio::spawn(async move {
        kwit_relay::serve(listener, relay, &config, std::future::pending()).await
    });
    addr
}

/// One set of security headers on every answer, whichever way it went: forwarded from
/// KSeF (whose own CSP and HSTS are replaced), a relay problem, a preflight, the SPA's
/// pages, assets and 404s, the health check, the environment list, the router's own
/// 405; over the real accept loop and through `app()` alike. CORS is the same on a
/// `/ksef/...` answer and the environment list, and absent from the SPA. HSTS only
/// with `--behind-tls`.
#[tokio::test]
async fn the_same_security_headers_on_every_path_and_hsts_only_behind_tls() {
    let upstream = serve(mock_ksef()).await;
    let dist = fake_dist();
    let origin = "https://kwit.example.com";
    let cases: [(Method, &str, bool); 12] = [
        (Method::GET, "/ksef/sim/v2/headers", false),
        (Method::GET, "/ksef/sim/v2/echo/x", false),
        (Method::GET, "/ksef/nope/v2/x", false),
        (Method::OPTIONS, "/ksef/sim/v2/echo/x", true),
        (Method::GET, "/", false),
        (Method::GET, "/invoices/42", false),
        (Method::GET, "/kwit-web-0123456789abcdef.js", false),
        (Method::GET, "/kwit-web-ffffffffffffffff.js", false),
        (Method::GET, "/healthz", false),
        (Method::GET, "/relay/environments", false),
        (Method::OPTIONS, "/relay/environments", true),
        (Method::POST, "/healthz", false),
    ];
    for behind_tls in [false, true] {
        let sim = format!("http://{upstream}");
        let mut args = vec![
            "kwit-relay",
            "--sim-url",
            &sim,
            "--rate-limit",
            "0",
            "--spa-dir",
            dist.to_str().unwrap(),
            "--allowed-origins",
            origin,
        ];
        if behind_tls {
            args.push("--behind-tls");
        }
        let config = Config::parse_from(args);
        let addr = serve_relay(&config).await;
        let router = app(config);
        let client = reqwest::Client::new();
        let mut first: Option<Vec<Option<String>>> = None;
        let mut cors = Vec::new();
        for (method, path, preflight) in &cases {
            let mut sent = client
                .request(method.clone(), format!("http://{addr}{path}"))
                .header("origin", origin);
            let mut request = Request::builder()
                .method(method.clone())
                .uri(*path)
                .header("origin", origin);
            if *preflight {
                sent = sent.header("access-control-request-method", "GET");
                request = request.header("access-control-request-method", "GET");
            }
            let served = sent.send().await.unwrap();
            let routed = router
                .clone()
                .oneshot(request.body(Body::empty()).unwrap())
                .await
                .unwrap();
            let what = format!("{method} {path} (behind TLS: {behind_tls})");
            assert_eq!(served.status(), routed.status(), "{what}");
            let security = values(served.headers(), &SECURITY_HEADERS);
            assert_eq!(
                security,
                values(routed.headers(), &SECURITY_HEADERS),
                "{what}: the accept loop and app() differ"
            );
            let first = first.get_or_insert_with(|| security.clone());
            assert_eq!(&security, first, "{what}");
            if !preflight {
                cors.push((what, values(served.headers(), &CORS_HEADERS)));
            }
        }
        let expected = first.unwrap();
        let csp = expected[0].as_deref().unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert_eq!(expected[1].as_deref(), Some("nosniff"));
        assert_eq!(expected[2].as_deref(), Some("no-referrer"));
        assert_eq!(expected[3].as_deref(), Some("DENY"));
        assert_eq!(expected[4].as_deref(), Some("same-origin"));
        assert!(expected[5].as_deref().unwrap().contains("camera=()"));
        match &expected[6] {
            Some(hsts) => assert!(behind_tls && hsts.starts_with("max-age=31536000")),
            None => assert!(!behind_tls),
        }

        // CORS: the same on a `/ksef/...` answer, a relay problem and the environment
        // list; none on the SPA and the health check.
        let granted = [
            Some(origin.to_owned()),
            Some("retry-after,x-system-warning,x-ms-meta-hash,content-type,content-length".into()),
            Some("origin".into()),
        ];
        for (what, cors) in &cors {
            if what.contains("/ksef/") || what.contains("/relay/environments") {
                assert_eq!(cors[..], granted[..], "{what}");
            } else {
                assert_eq!(cors[..2], [None, None], "{what}");
            }
        }
    }

    // index.html admits exactly Trunk's inline loader, by hash.
    let response = app(Config::parse_from([
        "kwit-relay",
        "--spa-dir",
        dist.to_str().unwrap(),
    ]))
    .oneshot(get("/"))
    .await
    .unwrap();
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
    std::fs::remove_dir_all(dist).unwrap();
}
