//! The real `kwit-relay` binary over real sockets: blind logging at TRACE level,
//! header smuggling attempts, graceful shutdown on SIGTERM, and its HTTPS client
//! (rustls, certificates checked against `SSL_CERT_FILE` as in the container).

mod common;

use std::process::Command;
use std::time::Duration;

use common::{RelayProcess, fake_dist, mock_ksef, scratch_dir, serve, test_ca, tls_upstream};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn logs_hold_no_tokens_bodies_or_signatures_even_at_trace() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let dist = fake_dist();
    let relay = RelayProcess::start(&[
        "--sim-url",
        &sim,
        "--rate-limit",
        "0",
        "--spa-dir",
        dist.to_str().unwrap(),
    ]);
    let client = reqwest::Client::new();

    let access_token = "eyJhbGciOiJSUzI1NiJ9.ACCESS-TOKEN-SECRET-4242.sig";
    let invoice = "<Faktura><P_2>SECRET-INVOICE-NUMBER-77</P_2></Faktura>";
    let sas = "sig=STORAGE-SIGNATURE-SECRET-99";

    let response = client
        .post(relay.url("/ksef/sim/v2/echo/sessions/online/x/invoices"))
        .bearer_auth(access_token)
        .header("content-type", "application/json")
        .body(format!(r#"{{"encryptedInvoiceContent":"{invoice}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The mock echoes the token back: response bodies must not be logged either.
    let echoed = response.text().await.unwrap();
    assert!(echoed.contains("ACCESS-TOKEN-SECRET-4242"));

    let response = client
        .get(relay.url(&format!(
            "/ksef/sim/storage/01/upo/upo_00.xml?sv=2025&{sas}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap();

    // Failures are logged, but only by classification.
    let response = client
        .get(relay.url(&format!("/ksef/sim/v2/html?{sas}")))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);

    // The router's answers (the SPA, the environment list, health) are logged by the
    // same rules: a token, a path or a query sent to them leaves no trace either.
    for path in [
        "/invoices/SECRET-APP-ROUTE-55?code=SPA-QUERY-SECRET-66",
        "/relay/environments?code=SPA-QUERY-SECRET-66",
        "/healthz?code=SPA-QUERY-SECRET-66",
    ] {
        let response = client
            .get(relay.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap();
    }

    let (ok, output) = relay.finish(true);
    assert!(ok, "relay exits cleanly on SIGTERM:\n{output}");
    std::fs::remove_dir_all(dist).unwrap();
    for secret in [
        "ACCESS-TOKEN-SECRET-4242",
        "SECRET-INVOICE-NUMBER-77",
        "STORAGE-SIGNATURE-SECRET-99",
        "SECRET-APP-ROUTE-55",
        "SPA-QUERY-SECRET-66",
        "Bearer",
        "sessions/online/x",
    ] {
        assert!(
            !output.contains(secret),
            "{secret} leaked into the logs:\n{output}"
        );
    }
    // ...while the access log still says what happened.
    assert!(
        output.contains(r#""route":"/ksef/{env}/v2/{*path}""#),
        "{output}"
    );
    assert!(
        output.contains(r#""route":"/ksef/{env}/storage/{*path}""#),
        "{output}"
    );
    assert!(output.contains(r#""status":502"#), "{output}");
    // One format for the `/ksef` fast path and the router: each access line holds these
    // fields and nothing else.
    let mut routes = std::collections::BTreeSet::new();
    for line in output.lines() {
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(line) else {
            continue;
        };
        if fields.get("target").and_then(|t| t.as_str()) != Some("kwit_relay::access") {
            continue;
        }
        for key in fields.keys() {
            assert!(
                [
                    "timestamp",
                    "level",
                    "target",
                    "method",
                    "route",
                    "env",
                    "status",
                    "latency_ms"
                ]
                .contains(&key.as_str()),
                "{key} in an access line: {line}"
            );
        }
        routes.insert(fields["route"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        routes.into_iter().collect::<Vec<_>>(),
        [
            "/healthz",
            "/ksef/{env}/storage/{*path}",
            "/ksef/{env}/v2/{*path}",
            "/relay/environments",
            "fallback"
        ],
        "{output}"
    );
}

#[tokio::test]
async fn crlf_and_malformed_headers_are_rejected_by_the_server() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "0"]);
    let attempts: [&[u8]; 3] = [
        // Bare CR inside a header value (header injection).
        b"GET /ksef/sim/v2/echo/x HTTP/1.1\r\nHost: a\r\nX-Error-Format: a\rHost: evil\r\n\r\n",
        // Obsolete line folding used to smuggle a second header.
        b"GET /ksef/sim/v2/echo/x HTTP/1.1\r\nHost: a\r\nAccept: a\r\n Authorization: x\r\n\r\n",
        // Absolute-form target pointing elsewhere.
        b"GET http://evil.example/../../v2/x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    ];
    for raw in attempts {
        let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
        let reply = String::from_utf8_lossy(&reply);
        let status_line = reply.lines().next().unwrap_or_default().to_owned();
        assert!(
            !status_line.contains(" 200 "),
            "{} was accepted: {reply}",
            String::from_utf8_lossy(raw)
        );
    }
    // Request smuggling: both Content-Length and chunked. Chunked wins and the
    // declared length is not passed on, so upstream framing stays consistent.
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    stream
        .write_all(b"POST /ksef/sim/v2/echo/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /ksef/sim/v2/echo/smuggled HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(!reply.contains(r#""content-length":"4""#), "{reply}");
    assert!(!reply.contains("smuggled"), "{reply}");

    let (_, output) = relay.finish(true);
    assert!(!output.contains("evil"), "{output}");
}

#[tokio::test]
async fn sigterm_finishes_requests_in_flight() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "0"]);
    let url = relay.url("/ksef/sim/v2/slowish");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await?.text().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.terminate();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // New connections are refused while draining...
    assert!(
        reqwest::get(relay.url("/healthz")).await.is_err(),
        "listener should be closed after SIGTERM"
    );
    // ...but the request in flight completes.
    let body = in_flight
        .await
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!(body, r#"{"finished":true}"#);
    let (ok, output) = relay.finish(false);
    assert!(ok, "{output}");
    assert!(output.contains("shutdown signal received"), "{output}");
}

#[tokio::test]
async fn check_health_probe_for_containers() {
    let relay = RelayProcess::start(&[]);
    let probe = |addr: String| {
        Command::new(env!("CARGO_BIN_EXE_kwit-relay"))
            .args(["--check-health", "--listen", &addr])
            .status()
            .unwrap()
            .success()
    };
    assert!(probe(relay.addr.to_string()));
    assert!(probe(format!("0.0.0.0:{}", relay.addr.port())));
    let (ok, _) = relay.finish(true);
    assert!(ok);
    let dead = common::dead_port().await;
    assert!(!probe(dead.to_string()));
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_headers_is_disconnected() {
    // Slowloris: connections fed a byte at a time must not stay open forever.
    let relay = RelayProcess::start(&["--header-timeout", "1"]);
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply)).await;
    assert!(
        read.is_ok(),
        "the relay kept a half-sent request open for 5 s"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "closed after {:?}, before the header timeout",
        started.elapsed()
    );
    // A client that sends its headers in time is served on the same relay.
    let ok = reqwest::get(relay.url("/healthz")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
}

#[tokio::test]
async fn every_worker_thread_serves_and_all_stop_on_sigterm() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "0", "--workers", "3"]);
    let client = reqwest::Client::new();
    let mut requests = Vec::new();
    for i in 0..30 {
        // A fresh connection each, so the kernel hands them to different workers.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let url = relay.url(&format!("/ksef/sim/v2/echo/n{i}"));
        requests.push(tokio::spawn(async move {
            client.get(url).send().await?.text().await
        }));
    }
    for (i, request) in requests.into_iter().enumerate() {
        let body = request.await.unwrap().unwrap();
        assert!(body.contains(&format!("/v2/echo/n{i}")), "{body}");
    }
    let threads = std::fs::read_dir(format!("/proc/{}/task", relay.pid()))
        .expect("Linux /proc lists the relay's threads")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("kwit-relay-"))
        .count();
    assert_eq!(threads, 3, "one thread per --workers");
    assert_eq!(
        client
            .get(relay.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
    assert!(output.contains("kwit-relay stopped"), "{output}");
}

/// The relay's HTTPS client for real: rustls with the platform verifier, which reads
/// `SSL_CERT_FILE` as the container sets it. An upstream whose certificate comes from a
/// trusted CA is reached, and one pooled connection carries a user's successive requests.
#[tokio::test]
async fn https_upstream_is_verified_and_one_connection_carries_successive_requests() {
    let upstream = tls_upstream(mock_ksef()).await;
    let sim = format!("https://{}", upstream.addr);
    let relay = RelayProcess::start_with_env(
        &["--sim-url", &sim, "--workers", "1"],
        &[("SSL_CERT_FILE", &upstream.ca_file)],
    );
    let client = reqwest::Client::new();
    for i in 0..5 {
        let response = client
            .post(relay.url(&format!("/ksef/sim/v2/echo/ping?i={i}")))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "request {i}");
        let echo: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(echo["path"], "/v2/echo/ping");
        assert_eq!(echo["query"], format!("i={i}"));
        assert_eq!(echo["bodyLen"], 2);
        // A user's requests come one after another, not in a burst.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.counters.requests(), 5);
    assert_eq!(
        upstream.counters.connections(),
        1,
        "five requests, one pooled TLS connection"
    );
    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
}

/// A certificate the relay cannot verify (here: from a CA it does not trust) ends the
/// connection before any request, token or invoice is sent over it.
#[tokio::test]
async fn https_upstream_with_an_untrusted_certificate_gets_no_request() {
    let upstream = tls_upstream(mock_ksef()).await;
    let other_ca = test_ca(&scratch_dir("other-ca"), "some-other-ca");
    let sim = format!("https://{}", upstream.addr);
    let relay = RelayProcess::start_with_env(&["--sim-url", &sim], &[("SSL_CERT_FILE", &other_ca)]);
    let response = reqwest::Client::new()
        .post(relay.url("/ksef/sim/v2/echo/sessions/online/x/invoices"))
        .bearer_auth("ACCESS-TOKEN-FOR-AN-IMPOSTOR")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    let problem: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(problem["code"], "upstream-unreachable");
    assert!(upstream.counters.connections() >= 1, "the relay did try");
    assert_eq!(
        upstream.counters.requests(),
        0,
        "nothing sent to an unverified host"
    );
    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
}

/// Nobody reads the relay's log pipe here (as when a container's log driver stalls):
/// the pipe fills after a few hundred log lines. The relay must keep answering,
/// dropping log lines rather than waiting to write them.
#[tokio::test]
async fn a_stalled_log_reader_does_not_stall_the_relay() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "0", "--workers", "1"]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // 2,000 access log lines of ~250 bytes each: several times a pipe's 64 KiB.
    for i in 0..2_000 {
        let response = client
            .get(relay.url("/ksef/sim/v2/echo/status"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("request {i} got no answer: {err}"));
        assert_eq!(response.status(), 200, "request {i}");
        response.bytes().await.unwrap();
    }
    let (ok, output) = relay.finish(true);
    assert!(ok, "relay exits cleanly on SIGTERM:\n{output}");
    assert!(
        output.contains("kwit_relay::access"),
        "access lines were logged"
    );
}

/// Batch parts reach 100 MB: the relay streams them both ways, so its memory stays far
/// below one part's size (it would exceed it if it buffered a body whole).
#[tokio::test]
async fn a_100_mb_upload_and_download_pass_without_being_held_in_memory() {
    const SIZE: usize = 100 * 1024 * 1024;
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "0", "--workers", "1"]);
    let client = reqwest::Client::new();

    let chunk = axum::body::Bytes::from(vec![7u8; 1024 * 1024]);
    let chunks = futures_util::stream::iter(
        (0..SIZE / chunk.len()).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    let response = client
        .put(relay.url("/ksef/sim/storage/01/batch-parts/1?sig=x"))
        .header("content-length", SIZE.to_string())
        .header("x-ms-blob-type", "BlockBlob")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let echo: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(echo["bodyLen"], SIZE);

    let mut download = client
        .get(relay.url(&format!("/ksef/sim/v2/big/{SIZE}")))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let mut received = 0;
    while let Some(part) = download.chunk().await.unwrap() {
        received += part.len();
    }
    assert_eq!(received, SIZE);

    let status = std::fs::read_to_string(format!("/proc/{}/status", relay.pid())).unwrap();
    let peak_kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("Linux /proc reports the peak memory");
    assert!(
        peak_kib < 48 * 1024,
        "relay peak memory {peak_kib} KiB for a {SIZE}-byte body each way"
    );
    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
}

/// The rate limit of the real server keys on each connection's own peer address: one
/// client spends its burst, another (127.0.0.2, also loopback) is not affected.
#[tokio::test]
async fn the_rate_limit_is_per_peer_address() {
    let upstream = serve(mock_ksef()).await;
    let sim = format!("http://{upstream}");
    let relay = RelayProcess::start(&["--sim-url", &sim, "--rate-limit", "1", "--rate-burst", "2"]);
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let (first, second) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
    let url = relay.url("/ksef/sim/v2/echo/x");
    for _ in 0..2 {
        assert_eq!(first.get(&url).send().await.unwrap().status(), 200);
    }
    let refused = first.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(second.get(&url).send().await.unwrap().status(), 200);
    let (ok, output) = relay.finish(true);
    assert!(ok, "relay exits cleanly on SIGTERM:\n{output}");
}
