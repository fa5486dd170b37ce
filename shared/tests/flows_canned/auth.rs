//! Login flows: KSeF token (encrypted, polled, redeemed), a 450 failure, XAdES with an async signer.

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::api::ContextIdentifier;
use ksef_core::crypto;
use ksef_core::error::Error;
use ksef_core::flow::{self, PublicKeys};
use ksef_core::transport::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{body, certs_json, client, ksef_keys, now, path, response, rng};

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
