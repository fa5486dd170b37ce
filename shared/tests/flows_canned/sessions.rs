//! Online sessions: a 21470 key refetch, sending and polling an invoice, a rejection, an expired session.

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::crypto;
use ksef_core::error::Error;
use ksef_core::flow::{self, PublicKeys};
use serde_json::json;

use super::{AesKeyIv, body, certs_json, client, ksef_keys, now, path, response, rng};

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
