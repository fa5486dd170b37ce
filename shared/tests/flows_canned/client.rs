//! The client: 429 with `Retry-After`, HTTP failures mapped to errors, polling backoff and its cap.

use std::rc::Rc;

use ksef_core::error::Error;
use ksef_core::flow;
use serde_json::{Value, json};

use super::{ErrorCase, client, path, response};

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
