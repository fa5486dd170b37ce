//! Protocol flows against canned responses (oauth2-rs style closures): no server,
//! but real crypto — the fake KSeF decrypts what the flows encrypt.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;

use ksef_core::api::ContextIdentifier;
use ksef_core::crypto;
use ksef_core::error::Error;
use ksef_core::flow::{self, KsefClient, PublicKeys};
use ksef_core::transport::{HttpRequest, HttpResponse};
use rsa::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// KSeF's key pair for the fake server, made once per test binary by OpenSSL.
fn ksef_keys() -> (String, rsa::PrivateKey) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (cert_b64, pem) = KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ksef-core-canned-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("k.pem"), dir.join("c.der"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .args(["-outform", "DER", "-out"])
            .arg(&cert)
            .args(["-days", "2", "-subj", "/CN=Ministerstwo Finansow/C=PL"])
            .output()
            .expect("openssl CLI installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            crypto::base64_encode(&std::fs::read(&cert).unwrap()),
            std::fs::read_to_string(&key).unwrap(),
        )
    });
    (
        cert_b64.clone(),
        rsa::PrivateKey::from_pkcs8_pem(pem).unwrap(),
    )
}

/// The OpenSSL certificate is valid from now for 2 days, so tests use the real clock.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn response(status: u16, body: Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        })
        .unwrap()
}

type AesKeyIv = ([u8; 32], [u8; 16]);
type ErrorCase = (HttpResponse, fn(&Error) -> bool, &'static str);
type Log = Rc<RefCell<Vec<(String, String, Option<String>, Vec<u8>)>>>;

/// A client whose transport answers with `handler` and records requests and sleeps.
#[allow(clippy::type_complexity)]
fn client(
    handler: impl Fn(&HttpRequest, usize) -> HttpResponse + 'static,
) -> (
    KsefClient<impl ksef_core::transport::Transport, impl ksef_core::transport::Sleep>,
    Log,
    Rc<RefCell<Vec<u64>>>,
) {
    let log: Log = Rc::default();
    let sleeps: Rc<RefCell<Vec<u64>>> = Rc::default();
    let (l, s) = (log.clone(), sleeps.clone());
    let transport = move |req: HttpRequest| {
        let n = l.borrow().len();
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        l.borrow_mut().push((
            req.method().to_string(),
            req.uri().to_string(),
            auth,
            req.body().clone(),
        ));
        let resp = handler(&req, n);
        async move { Ok::<_, String>(resp) }
    };
    let sleep = move |ms: u64| {
        s.borrow_mut().push(ms);
        async {}
    };
    (
        KsefClient::new(transport, sleep, "https://ksef.example/v2"),
        log,
        sleeps,
    )
}

fn certs_json(cert_b64: &str) -> Value {
    json!([
        {"certificate": cert_b64, "usage": ["KsefTokenEncryption"], "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"},
        {"certificate": cert_b64, "usage": ["SymmetricKeyEncryption"], "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}
    ])
}

fn path(req: &HttpRequest) -> String {
    req.uri().path().trim_start_matches("/v2").to_owned()
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body()).unwrap()
}

#[tokio::test]
async fn ksef_token_login_encrypts_token_polls_and_redeems() {
    let (cert, private) = ksef_keys();
    let seen_plain: Rc<RefCell<String>> = Rc::default();
    let sp = seen_plain.clone();
    let status_calls = Rc::new(RefCell::new(0));
    let sc = status_calls.clone();
    let (client, log, sleeps) = client(move |req, _| {
        match (req.method().as_str(), path(req).as_str()) {
            ("GET", "/security/public-key-certificates") => response(200, certs_json(&cert)),
            ("POST", "/auth/challenge") => response(
                200,
                json!({"challenge": "20250514-CR-226FB7B000-3ACF9BE4C0-10", "timestamp": "x", "timestampMs": 1752236636015_i64}),
            ),
            ("POST", "/auth/ksef-token") => {
                let b = body(req);
                assert_eq!(
                    b["contextIdentifier"],
                    json!({"type": "Nip", "value": "5265877635"})
                );
                let ct = crypto::base64_decode(b["encryptedToken"].as_str().unwrap()).unwrap();
                let plain = private
                    .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &ct)
                    .unwrap();
                *sp.borrow_mut() = String::from_utf8(plain).unwrap();
                assert_eq!(b["publicKeyId"].as_str().unwrap().len(), 44);
                response(
                    202,
                    json!({"referenceNumber": "20250514-AU-2DFC46C000-3AC6D5877F-D4", "authenticationToken": {"token": "auth-jwt", "validUntil": "x"}}),
                )
            }
            ("GET", "/auth/20250514-AU-2DFC46C000-3AC6D5877F-D4") => {
                assert_eq!(req.headers()["authorization"], "Bearer auth-jwt");
                *sc.borrow_mut() += 1;
                let code = if *sc.borrow() < 3 { 100 } else { 200 };
                response(200, json!({"status": {"code": code, "description": "…"}}))
            }
            ("POST", "/auth/token/redeem") => response(
                200,
                json!({"accessToken": {"token": "access", "validUntil": "a"}, "refreshToken": {"token": "refresh", "validUntil": "r"}}),
            ),
            other => panic!("unexpected {other:?}"),
        }
    });
    let mut keys = PublicKeys::default();
    let tokens = flow::login_with_ksef_token(
        &client,
        &mut keys,
        &ContextIdentifier::nip("5265877635"),
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|secret",
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.token, "access");
    assert_eq!(tokens.refresh_token.token, "refresh");
    assert_eq!(
        *seen_plain.borrow(),
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|secret|1752236636015"
    );
    assert_eq!(*status_calls.borrow(), 3);
    assert_eq!(
        *sleeps.borrow(),
        vec![500, 1000],
        "exponential backoff between polls"
    );
    assert!(
        log.borrow()
            .iter()
            .all(|(_, uri, _, _)| uri.starts_with("https://ksef.example/v2/"))
    );
}

#[tokio::test]
async fn unknown_public_key_21470_refetches_keys_and_retries() {
    let (cert, _) = ksef_keys();
    let (client, log, _) = client(move |req, _| match path(req).as_str() {
        "/security/public-key-certificates" => response(200, certs_json(&cert)),
        "/sessions/online" => {
            thread_local!(static FIRST: RefCell<bool> = const { RefCell::new(true) });
            if FIRST.with(|f| f.replace(false)) {
                response(
                    400,
                    json!({"exception": {"exceptionDetailList": [{"exceptionCode": 21470, "exceptionDescription": "Przesłany identyfikator klucza jest nieznany"}]}}),
                )
            } else {
                response(
                    201,
                    json!({"referenceNumber": "20250625-SO-2C3E6C8000-B675CF5D68-07", "validUntil": "v"}),
                )
            }
        }
        other => panic!("unexpected {other}"),
    });
    let mut keys = PublicKeys::default();
    let session = flow::open_online_session(&client, &mut keys, "access", now(), &mut rng())
        .await
        .unwrap();
    assert_eq!(
        session.reference_number,
        "20250625-SO-2C3E6C8000-B675CF5D68-07"
    );
    let key_fetches = log
        .borrow()
        .iter()
        .filter(|(_, u, _, _)| u.ends_with("public-key-certificates"))
        .count();
    assert_eq!(key_fetches, 2, "keys fetched once, then again after 21470");
}

#[tokio::test]
async fn rate_limit_429_waits_retry_after_then_succeeds() {
    let (client, _, sleeps) = client(|_, n| {
        if n == 0 {
            http::Response::builder()
                .status(429)
                .header("retry-after", "3")
                .body(br#"{"status":{"code":429,"description":"Too Many Requests"}}"#.to_vec())
                .unwrap()
        } else {
            response(
                200,
                json!({"accessToken": {"token": "new", "validUntil": "x"}}),
            )
        }
    });
    let token = flow::refresh(&client, "refresh").await.unwrap();
    assert_eq!(token.token, "new");
    assert_eq!(*sleeps.borrow(), vec![3000]);
}

#[tokio::test]
async fn rate_limit_with_long_retry_after_is_reported() {
    let (client, _, _) = client(|_, _| {
        http::Response::builder()
            .status(429)
            .header("retry-after", "600")
            .body(Vec::new())
            .unwrap()
    });
    let err = flow::refresh(&client, "refresh").await.unwrap_err();
    assert_eq!(
        err,
        Error::RateLimited {
            retry_after_secs: 600
        }
    );
    assert!(err.to_string().contains("spróbuj ponownie za 600 s"));
}

#[tokio::test]
async fn send_invoice_encrypts_content_and_polls_until_ksef_number() {
    let (cert, private) = ksef_keys();
    let aes: Rc<RefCell<Option<AesKeyIv>>> = Rc::default();
    let a = aes.clone();
    let polls = Rc::new(RefCell::new(0));
    let p = polls.clone();
    let invoice = "<Faktura>zażółć</Faktura>".as_bytes().to_vec();
    let inv = invoice.clone();
    let (client, _, _) = client(move |req, _| match path(req).as_str() {
        "/security/public-key-certificates" => response(200, certs_json(&cert)),
        "/sessions/online" => {
            let b = body(req);
            assert_eq!(
                b["formCode"],
                json!({"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"})
            );
            let wrapped =
                crypto::base64_decode(b["encryption"]["encryptedSymmetricKey"].as_str().unwrap())
                    .unwrap();
            let key = private
                .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &wrapped)
                .unwrap();
            let iv =
                crypto::base64_decode(b["encryption"]["initializationVector"].as_str().unwrap())
                    .unwrap();
            *a.borrow_mut() = Some((key.try_into().unwrap(), iv.try_into().unwrap()));
            response(
                201,
                json!({"referenceNumber": "20250625-SO-2C3E6C8000-B675CF5D68-07"}),
            )
        }
        "/sessions/online/20250625-SO-2C3E6C8000-B675CF5D68-07/invoices" => {
            let b = body(req);
            let (key, iv) = a.borrow().unwrap();
            let ct = crypto::base64_decode(b["encryptedInvoiceContent"].as_str().unwrap()).unwrap();
            assert_eq!(crypto::aes256_cbc_decrypt(&key, &iv, &ct).unwrap(), inv);
            assert_eq!(b["invoiceHash"], crypto::sha256_base64(&inv));
            assert_eq!(b["invoiceSize"], inv.len());
            assert_eq!(b["encryptedInvoiceSize"], ct.len());
            assert_eq!(b["encryptedInvoiceHash"], crypto::sha256_base64(&ct));
            assert_eq!(b["offlineMode"], false);
            response(
                202,
                json!({"referenceNumber": "20250625-EE-319D7EE000-B67F415CDC-2C"}),
            )
        }
        "/sessions/20250625-SO-2C3E6C8000-B675CF5D68-07/invoices/20250625-EE-319D7EE000-B67F415CDC-2C" =>
        {
            *p.borrow_mut() += 1;
            if *p.borrow() == 1 {
                response(
                    200,
                    json!({"referenceNumber": "20250625-EE-319D7EE000-B67F415CDC-2C", "status": {"code": 150, "description": "Trwa przetwarzanie"}}),
                )
            } else {
                response(
                    200,
                    json!({"referenceNumber": "20250625-EE-319D7EE000-B67F415CDC-2C", "ksefNumber": "5265877635-20250626-010080DD2B5E-26",
                    "upoDownloadUrl": "https://api-test.ksef.mf.gov.pl/storage/01/upo.xml?sig=1", "status": {"code": 200, "description": "Sukces"}}),
                )
            }
        }
        other => panic!("unexpected {other}"),
    });
    let client = client.with_storage_base("/ksef/test/storage");
    let mut keys = PublicKeys::default();
    let mut session = None;
    let sent = flow::send_invoice_reusing_session(
        &client,
        &mut keys,
        "access",
        &mut session,
        &invoice,
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert!(
        session.is_some(),
        "the session is kept for the next invoice"
    );
    let accepted = flow::wait_for_invoice(&client, "access", &sent)
        .await
        .unwrap();
    assert_eq!(accepted.ksef_number, "5265877635-20250626-010080DD2B5E-26");
    assert_eq!(
        client.storage_url(accepted.upo_download_url.as_deref().unwrap()),
        "/ksef/test/storage/01/upo.xml?sig=1"
    );
}

#[tokio::test]
async fn rejected_invoice_reports_ksef_details_in_polish_and_english() {
    let (client, _, _) = client(|_, _| {
        response(
            200,
            json!({"referenceNumber": "r", "status": {"code": 450, "description": "Błąd weryfikacji semantyki dokumentu faktury",
            "details": ["Data wystawienia P_1 jest z przyszłości"]}}),
        )
    });
    let sent = flow::SentInvoice {
        session_reference_number: "s".into(),
        invoice_reference_number: "r".into(),
        invoice_hash: "h".into(),
    };
    let err = flow::wait_for_invoice(&client, "access", &sent)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InvoiceRejected { code: 450, .. }));
    assert!(msg.contains("P_1 jest z przyszłości"), "{msg}");
    assert!(
        msg.contains("KSeF odrzucił fakturę") && msg.contains("KSeF rejected the invoice"),
        "{msg}"
    );
}

#[tokio::test]
async fn expired_session_21173_is_replaced_by_a_new_one() {
    let (cert, _) = ksef_keys();
    let (client, log, _) = client(move |req, _| match path(req).as_str() {
        "/security/public-key-certificates" => response(200, certs_json(&cert)),
        "/sessions/online/OLD/invoices" => response(
            400,
            json!({"exception": {"exceptionDetailList": [{"exceptionCode": 21173, "exceptionDescription": "Brak sesji"}]}}),
        ),
        "/sessions/online" => response(201, json!({"referenceNumber": "NEW"})),
        "/sessions/online/NEW/invoices" => response(202, json!({"referenceNumber": "INV"})),
        other => panic!("unexpected {other}"),
    });
    let mut keys = PublicKeys::default();
    let mut session = Some(flow::OnlineSession {
        reference_number: "OLD".into(),
        valid_until: None,
        key: crypto::SymmetricKey::generate(&mut rng()).unwrap(),
    });
    let sent = flow::send_invoice_reusing_session(
        &client,
        &mut keys,
        "access",
        &mut session,
        b"<x/>",
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(sent.session_reference_number, "NEW");
    assert_eq!(session.unwrap().reference_number, "NEW");
    assert_eq!(log.borrow().len(), 4);
}

#[tokio::test]
async fn http_failures_map_to_actionable_errors() {
    let cases: Vec<ErrorCase> = vec![
        (
            response(401, json!({"title": "Unauthorized", "status": 401})),
            |e| *e == Error::Unauthorized,
            "zaloguj się ponownie",
        ),
        (
            response(
                403,
                json!({"title": "Forbidden", "status": 403, "detail": "Brak uprawnień", "reasonCode": "missing-permissions"}),
            ),
            |e| matches!(e, Error::Forbidden { reason, .. } if reason == "missing-permissions"),
            "Brak uprawnień",
        ),
        (
            response(
                400,
                json!({"title": "Bad Request", "status": 400, "errors": [{"code": 21405, "description": "Błąd walidacji danych wejściowych.", "details": ["pole x"]}]}),
            ),
            |e| matches!(e, Error::Ksef { code: 21405, .. }),
            "pole x",
        ),
        (
            response(
                400,
                json!({"exception": {"exceptionDetailList": [{"exceptionCode": 21301, "exceptionDescription": "Tokeny zostały już pobrane"}]}}),
            ),
            |e| matches!(e, Error::TokenRedeemRefused { code: 21301, .. }),
            "zaloguj się ponownie",
        ),
        (response(410, Value::Null), |e| *e == Error::Gone, "wygasła"),
        (
            response(503, Value::Null),
            |e| matches!(e, Error::Http { status: 503, .. }),
            "spróbuj ponownie później",
        ),
    ];
    for (canned, check, text) in cases {
        let canned = Rc::new(canned);
        let c2 = canned.clone();
        let (client, _, _) = client(move |_, _| {
            let mut b = http::Response::builder().status(c2.status());
            for (k, v) in c2.headers() {
                b = b.header(k, v);
            }
            b.body(c2.body().clone()).unwrap()
        });
        let err = flow::refresh(&client, "refresh").await.unwrap_err();
        assert!(check(&err), "{err:?}");
        assert!(err.to_string().contains(text), "{err}");
    }
}

#[tokio::test]
async fn auth_failure_450_tells_user_to_replace_the_token() {
    let (cert, _) = ksef_keys();
    let (client, _, _) = client(move |req, _| match path(req).as_str() {
        "/security/public-key-certificates" => response(200, certs_json(&cert)),
        "/auth/challenge" => response(200, json!({"challenge": "c", "timestampMs": 1})),
        "/auth/ksef-token" => response(
            202,
            json!({"referenceNumber": "AU", "authenticationToken": {"token": "t", "validUntil": "v"}}),
        ),
        "/auth/AU" => response(
            200,
            json!({"status": {"code": 450, "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu", "details": ["Token KSeF został unieważniony."]}}),
        ),
        other => panic!("unexpected {other}"),
    });
    let err = flow::login_with_ksef_token(
        &client,
        &mut PublicKeys::default(),
        &ContextIdentifier::nip("5265877635"),
        "tok",
        now(),
        &mut rng(),
    )
    .await
    .unwrap_err();
    assert!(err.needs_login());
    assert!(err.to_string().contains("wygeneruj nowy token"), "{err}");
}

#[tokio::test]
async fn empty_key_list_says_fetch_public_certificates() {
    let (client, _, _) = client(|_, _| response(200, json!([])));
    let err = flow::fetch_public_keys(&client).await.unwrap_err();
    assert!(matches!(err, Error::NoPublicKey { .. }));
    assert!(err.to_string().contains("pobierz certyfikaty publiczne"));
}

#[tokio::test]
async fn metadata_query_follows_pages() {
    let item = |n: &str| {
        json!({"ksefNumber": n, "invoiceNumber": "FV/1", "issueDate": "2026-01-05", "seller": {"nip": "5265877635", "name": "A"},
        "netAmount": 100.0, "grossAmount": 123.0, "vatAmount": 23.0, "currency": "PLN", "permanentStorageDate": "2026-01-05T10:00:00Z"})
    };
    let (client, log, _) = client(move |req, _| {
        let offset = req.uri().query().unwrap().contains("pageOffset=1");
        if offset {
            response(
                200,
                json!({"hasMore": false, "isTruncated": false, "invoices": [item("5265877635-20250626-010080DD2B5E-26")]}),
            )
        } else {
            response(
                200,
                json!({"hasMore": true, "isTruncated": false, "permanentStorageHwmDate": "2026-01-06T00:00:00Z",
                "invoices": [item("5265877635-20250729-01004014E040-00")]}),
            )
        }
    });
    let filters = ksef_core::api::invoices::InvoiceQueryFilters {
        subject_type: "Subject2".into(),
        date_range: ksef_core::api::invoices::DateRange {
            date_type: "PermanentStorage".into(),
            from: "2026-01-01T00:00:00Z".into(),
            to: None,
            restrict_to_permanent_storage_hwm_date: Some(true),
        },
        ksef_number: None,
        invoice_number: None,
        seller_nip: None,
    };
    let (invoices, hwm) = flow::query_metadata(&client, "access", &filters, 100, 10)
        .await
        .unwrap();
    assert_eq!(invoices.len(), 2);
    assert_eq!(hwm.as_deref(), Some("2026-01-06T00:00:00Z"));
    let uris: Vec<String> = log.borrow().iter().map(|(_, u, _, _)| u.clone()).collect();
    assert!(
        uris[0].ends_with("/invoices/query/metadata?sortOrder=Asc&pageOffset=0&pageSize=100"),
        "{uris:?}"
    );
    assert!(uris[1].contains("pageOffset=1"));
}

#[tokio::test]
async fn token_list_sends_continuation_header() {
    let (client, _, _) = client(|req, n| {
        if n == 0 {
            assert!(req.headers().get("x-continuation-token").is_none());
            response(
                200,
                json!({"continuationToken": "next", "tokens": [{"referenceNumber": "a", "description": "app", "requestedPermissions": ["InvoiceRead"], "status": "Active"}]}),
            )
        } else {
            assert_eq!(req.headers()["x-continuation-token"], "next");
            response(
                200,
                json!({"tokens": [{"referenceNumber": "b", "description": "old", "requestedPermissions": [], "status": "Revoked"}]}),
            )
        }
    });
    let tokens = flow::list_tokens(&client, "access", 5).await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.status.as_str()).collect::<Vec<_>>(),
        ["Active", "Revoked"]
    );
}

#[tokio::test]
async fn cached_public_keys_survive_json_and_log_in_without_refetching() {
    let (cert, private) = ksef_keys();
    let (fetching, _, _) = client({
        let cert = cert.clone();
        move |req, _| match path(req).as_str() {
            "/security/public-key-certificates" => response(200, certs_json(&cert)),
            other => panic!("unexpected {other}"),
        }
    });
    let keys = flow::fetch_public_keys(&fetching).await.unwrap();
    // What the browser writes to and reads back from IndexedDB.
    let cached = serde_json::to_value(&keys).unwrap();
    assert_eq!(cached[0]["certificate"], cert);
    assert_eq!(cached[0]["usage"], json!(["KsefTokenEncryption"]));
    let mut restored: PublicKeys = serde_json::from_value(cached.clone()).unwrap();
    for usage in [
        crypto::KeyUsage::KsefTokenEncryption,
        crypto::KeyUsage::SymmetricKeyEncryption,
    ] {
        assert_eq!(
            restored.select(usage, now()).unwrap().der,
            keys.select(usage, now()).unwrap().der
        );
    }
    assert_eq!(serde_json::to_value(&restored).unwrap(), cached);

    // The restored keys encrypt the token: no fetch of public keys happens.
    let (login_client, log, _) = client(move |req, _| match path(req).as_str() {
        "/auth/challenge" => response(200, json!({"challenge": "c", "timestampMs": 7})),
        "/auth/ksef-token" => {
            let ct = crypto::base64_decode(body(req)["encryptedToken"].as_str().unwrap()).unwrap();
            let plain = private
                .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &ct)
                .unwrap();
            assert_eq!(plain, b"tok|7");
            response(
                202,
                json!({"referenceNumber": "AU", "authenticationToken": {"token": "t", "validUntil": "v"}}),
            )
        }
        "/auth/AU" => response(200, json!({"status": {"code": 200, "description": "ok"}})),
        "/auth/token/redeem" => response(
            200,
            json!({"accessToken": {"token": "a", "validUntil": "v"}, "refreshToken": {"token": "r", "validUntil": "v"}}),
        ),
        other => panic!("unexpected {other}"),
    });
    flow::login_with_ksef_token(
        &login_client,
        &mut restored,
        &ContextIdentifier::nip("5265877635"),
        "tok",
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(
        log.borrow().len(),
        4,
        "challenge, ksef-token, status, redeem"
    );

    // A damaged cache is refused instead of giving wrong keys.
    let mut broken = cached;
    broken[0]["certificate"] = json!("AAAA");
    assert!(serde_json::from_value::<PublicKeys>(broken).is_err());
    assert!(
        serde_json::from_value::<PublicKeys>(json!([]))
            .unwrap()
            .is_empty()
    );
}

/// KSeF's answers to a certificate login whose signed document was `expected`.
fn xades_handler(expected: &'static [u8]) -> impl Fn(&HttpRequest, usize) -> HttpResponse {
    move |req, _| match path(req).as_str() {
        "/auth/challenge" => response(
            200,
            json!({"challenge": "20250514-CR-226FB7B000-3ACF9BE4C0-10", "timestampMs": 1}),
        ),
        "/auth/xades-signature" => {
            assert_eq!(
                req.body(),
                expected,
                "the signer's bytes are sent as they are"
            );
            response(
                202,
                json!({"referenceNumber": "AU", "authenticationToken": {"token": "t", "validUntil": "v"}}),
            )
        }
        "/auth/AU" => response(200, json!({"status": {"code": 200, "description": "ok"}})),
        "/auth/token/redeem" => response(
            200,
            json!({"accessToken": {"token": "a", "validUntil": "v"}, "refreshToken": {"token": "r", "validUntil": "v"}}),
        ),
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test]
async fn certificate_login_awaits_an_async_signer() {
    // An async closure borrowing the challenge (e.g. WebCrypto signing).
    let (signing, _, _) = client(xades_handler(
        b"<signed>20250514-CR-226FB7B000-3ACF9BE4C0-10</signed>",
    ));
    let tokens = flow::login_with_certificate(
        &signing,
        async |challenge| {
            tokio::task::yield_now().await;
            Ok(format!("<signed>{}</signed>", challenge.challenge).into_bytes())
        },
        false,
    )
    .await
    .unwrap();
    assert_eq!(tokens.access_token.token, "a");

    // A plain closure returning an owned future (e.g. a Web Worker round trip).
    let (worker_client, _, _) = client(xades_handler(b"<worker/>"));
    let worker = |_: &ksef_core::api::auth::challenge::Response| async {
        tokio::task::yield_now().await;
        Ok(b"<worker/>".to_vec())
    };
    flow::login_with_certificate(&worker_client, worker, false)
        .await
        .unwrap();

    // A failing signer stops the login before anything is sent to KSeF.
    let (cancelled, log, _) = client(xades_handler(b""));
    let err = flow::login_with_certificate(
        &cancelled,
        async |_| Err(Error::Signature("anulowano / cancelled".into())),
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Signature(_)), "{err:?}");
    assert_eq!(log.borrow().len(), 1, "only the challenge was requested");
}

#[tokio::test]
async fn polling_backs_off_to_the_cap_and_then_says_still_processing() {
    let (mut client, log, sleeps) = client(|req, _| match path(req).as_str() {
        "/sessions/S/invoices/I" => response(
            200,
            json!({"referenceNumber": "I", "status": {"code": 150, "description": "Trwa przetwarzanie"}}),
        ),
        "/certificates/enrollments" => response(202, json!({"referenceNumber": "E"})),
        "/certificates/enrollments/E" => response(
            200,
            json!({"status": {"code": 100, "description": "Wniosek przyjęty"}}),
        ),
        other => panic!("unexpected {other}"),
    });
    client.poll.max_attempts = 5;
    client.poll.max_delay_ms = 3_000;
    let sent = flow::SentInvoice {
        session_reference_number: "S".into(),
        invoice_reference_number: "I".into(),
        invoice_hash: String::new(),
    };
    let err = flow::wait_for_invoice(&client, "access", &sent)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::StillProcessing { what } if what.contains("I")),
        "{err:?}"
    );
    assert_eq!(log.borrow().len(), 6, "first check + one per attempt");
    assert_eq!(*sleeps.borrow(), vec![500, 1000, 2000, 3000, 3000]);

    // Enrollment polls through the same loop.
    let err = flow::enroll_certificate(&client, "access", "n", "Authentication", b"csr")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::StillProcessing { .. }), "{err:?}");
    assert!(err.to_string().contains("certyfikat"), "{err}");
}
