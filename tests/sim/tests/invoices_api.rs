//! Long on purpose: the session, UPO, query and export scenarios share this file's own client helpers (e.g. `wait_invoice` records every status code seen), which differ from `common/flows.rs`.
//!
//! Online sessions, invoice statuses and rejections, UPO, metadata queries and exports —
//! over real HTTP with an independent client (reqwest + rsa + aes/cbc), every JSON body
//! checked against open-api.json.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use common::*;
use ksef_sim::RunningSim;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const OTHER_NIP: &str = "7352765225";
const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 16] = [0x17; 16];

fn b64sha(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

fn encrypt(data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(&KEY.into(), &IV.into()).encrypt_padded_vec::<Pkcs7>(data)
}

fn decrypt(data: &[u8]) -> Vec<u8> {
    cbc::Decryptor::<Aes256>::new(&KEY.into(), &IV.into())
        .decrypt_padded_vec::<Pkcs7>(data)
        .expect("valid padding")
}

fn crc8(data: &[u8]) -> u8 {
    let mut c = 0u8;
    for &b in data {
        c ^= b;
        for _ in 0..8 {
            c = if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            };
        }
    }
    c
}

/// Today in Poland (CET is enough for "not in the future" around midnight UTC).
/// Today in Warsaw, as the simulator counts days (summer time included).
fn today() -> String {
    ksef_sim::clock::warsaw_today(time::OffsetDateTime::now_utc()).to_string()
}

fn invoice(seller: &str, number: &str, p1: &str) -> String {
    include_str!("data/minimal-fa3.xml")
        .replace("5265877635", seller)
        .replace("FV/1/02/2026", number)
        .replace("2026-02-01</P_1>", &format!("{p1}</P_1>"))
}

async fn access(sim: &RunningSim) -> String {
    login(sim, &sim.demo.ksef_token, &sim.demo.nip).await.0
}

async fn open_session(sim: &RunningSim, token: &str) -> String {
    open_online_session(sim, token, &KEY, &IV).await
}

fn send_body(xml: &[u8]) -> Value {
    let enc = encrypt(xml);
    json!({
        "invoiceHash": b64sha(xml), "invoiceSize": xml.len(),
        "encryptedInvoiceHash": b64sha(&enc), "encryptedInvoiceSize": enc.len(),
        "encryptedInvoiceContent": STANDARD.encode(&enc), "offlineMode": false
    })
}

async fn send_raw(sim: &RunningSim, token: &str, session: &str, body: Value) -> Resp {
    post(
        sim,
        "/sessions/online/{referenceNumber}/invoices",
        &format!("/sessions/online/{session}/invoices"),
        Some(token),
        Some(body),
    )
    .await
}

async fn send(sim: &RunningSim, token: &str, session: &str, xml: &[u8]) -> String {
    let r = send_raw(sim, token, session, send_body(xml)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["referenceNumber"].as_str().unwrap().to_string()
}

async fn invoice_status(sim: &RunningSim, token: &str, session: &str, inv: &str) -> Value {
    let r = get(
        sim,
        "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
        &format!("/sessions/{session}/invoices/{inv}"),
        Some(token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Polls until the invoice status is final; returns every code seen and the last body.
async fn wait_invoice(
    sim: &RunningSim,
    token: &str,
    session: &str,
    inv: &str,
) -> (Vec<u64>, Value) {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = invoice_status(sim, token, session, inv).await;
        let code = body["status"]["code"].as_u64().unwrap();
        if seen.last() != Some(&code) {
            seen.push(code);
        }
        if code >= 200 {
            return (seen, body);
        }
        assert!(Instant::now() < deadline, "invoice {inv} never finished");
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
}

async fn wait_session(sim: &RunningSim, token: &str, session: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(
            sim,
            "/sessions/{referenceNumber}",
            &format!("/sessions/{session}"),
            Some(token),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let code = r.body["status"]["code"].as_u64().unwrap();
        if code != 100 && code != 170 {
            return r.body;
        }
        assert!(Instant::now() < deadline, "session never processed");
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
}

async fn set_delay(sim: &RunningSim, ms: u64) {
    let r = client()
        .post(format!("{}/sim/processing-delay", sim.base_url))
        .json(&json!({"delayMs": ms}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

async fn storage_get(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = client().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn online_session_happy_path_ksef_number_and_upo_links() {
    let sim = start().await;
    let token = access(&sim).await;
    // Long enough that a loaded CI machine still sees 100 and 150 before 200.
    set_delay(&sim, 3000).await;
    let session = open_session(&sim, &token).await;
    let xml = invoice(&sim.demo.nip, "FV/HAPPY/1", &today());
    let inv = send(&sim, &token, &session, xml.as_bytes()).await;
    let (seen, status) = wait_invoice(&sim, &token, &session, &inv).await;
    assert_eq!(seen, vec![100, 150, 200], "{status}");
    let ksef = status["ksefNumber"].as_str().unwrap();
    assert!(ksef.starts_with(&format!("{}-", sim.demo.nip)));
    assert_eq!(ksef.len(), 35);
    assert_eq!(format!("{:02X}", crc8(&ksef.as_bytes()[..32])), &ksef[33..]);
    assert_eq!(status["invoiceNumber"], "FV/HAPPY/1");
    assert_eq!(status["invoiceHash"], b64sha(xml.as_bytes()));
    assert_eq!(status["invoicingMode"], "Online");

    // Per-invoice UPO through the link as given: absolute, under /storage, no token.
    let url = status["upoDownloadUrl"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/storage/", sim.base_url)),
        "{url}"
    );
    let (code, headers, upo) = storage_get(url).await;
    assert_eq!(code, 200);
    assert_eq!(headers["x-ms-meta-hash"].to_str().unwrap(), b64sha(&upo));
    let upo = String::from_utf8(upo).unwrap();
    assert!(upo.contains(&format!("<NumerKSeFDokumentu>{ksef}</NumerKSeFDokumentu>")));
    assert!(upo.contains(&format!(
        "<NumerReferencyjnySesji>{session}</NumerReferencyjnySesji>"
    )));
    assert!(upo.contains("<NumerReferencyjnyTokenaKSeF>"));
    ksef_sim::fa3check::validate_upo_xsd(upo.as_bytes()).unwrap();

    // The same UPO by invoice reference and by KSeF number (authenticated endpoints).
    for (template, path) in [
        (
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
            format!("/sessions/{session}/invoices/{inv}/upo"),
        ),
        (
            "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
            format!("/sessions/{session}/invoices/ksef/{ksef}/upo"),
        ),
    ] {
        let r = get(&sim, template, &path, Some(&token)).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.as_str().unwrap().contains(ksef));
    }

    // The invoice itself, downloadable by KSeF number.
    let r = get(
        &sim,
        "/invoices/ksef/{ksefNumber}",
        &format!("/invoices/ksef/{ksef}"),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_str().unwrap(), xml);
    assert_eq!(
        r.headers["x-ms-meta-hash"].to_str().unwrap(),
        b64sha(xml.as_bytes())
    );

    // Close → 170 → 200 with a session UPO page listing the invoice.
    let r = post(
        &sim,
        "/sessions/online/{referenceNumber}/close",
        &format!("/sessions/online/{session}/close"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let s = wait_session(&sim, &token, &session).await;
    assert_eq!(s["status"]["code"], 200, "{s}");
    assert_eq!(s["successfulInvoiceCount"], 1);
    let page = &s["upo"]["pages"][0];
    let (code, _, upo) = storage_get(page["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    let upo = String::from_utf8(upo).unwrap();
    assert!(
        upo.contains(ksef)
            && upo.contains("<CalkowitaLiczbaDokumentow>1</CalkowitaLiczbaDokumentow>")
    );
    ksef_sim::fa3check::validate_upo_xsd(upo.as_bytes()).unwrap();
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
        &format!(
            "/sessions/{session}/upo/{}",
            page["referenceNumber"].as_str().unwrap()
        ),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_str().unwrap(), upo);

    // Closed sessions refuse more invoices.
    let r = send_raw(&sim, &token, &session, send_body(xml.as_bytes())).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21180));

    // Lists.
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/invoices",
        &format!("/sessions/{session}/invoices"),
        Some(&token),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 1);
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/invoices/failed",
        &format!("/sessions/{session}/invoices/failed"),
        Some(&token),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 0);
    let r = get(
        &sim,
        "/sessions",
        "/sessions?sessionType=Online&statuses=Succeeded",
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["referenceNumber"] == session.as_str())
    );
    let r = get(&sim, "/sessions", "/sessions", Some(&token)).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));

    // Querying as seller finds the new invoice.
    let from = (time::OffsetDateTime::now_utc() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = post(&sim, "/invoices/query/metadata", "/invoices/query/metadata", Some(&token),
        Some(json!({"subjectType": "Subject1", "dateRange": {"dateType": "Invoicing", "from": from}}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["invoices"][0]["ksefNumber"], ksef);
    sim.shutdown().await;
}

#[tokio::test]
async fn every_rejection_code_is_reported_per_invoice() {
    // Many calls in a few seconds (more than PRD's limits allow): the generous profile.
    let sim = start().await;
    let token = access(&sim).await;
    let nip = sim.demo.nip.clone();
    let session = open_session(&sim, &token).await;
    let today = today();

    let good = invoice(&nip, "FV/REJ/1", &today);
    let ok = send(&sim, &token, &session, good.as_bytes()).await;
    let (_, ok_status) = wait_invoice(&sim, &token, &session, &ok).await;
    assert_eq!(ok_status["status"]["code"], 200);
    let original = ok_status["ksefNumber"].as_str().unwrap().to_string();

    // Issued days ago but sent online: KSeF marks it Offline by itself.
    let late = (time::OffsetDateTime::now_utc() - time::Duration::days(5))
        .date()
        .to_string();
    let late_ref = send(
        &sim,
        &token,
        &session,
        invoice(&nip, "FV/REJ/LATE", &late).as_bytes(),
    )
    .await;
    let (_, late_status) = wait_invoice(&sim, &token, &session, &late_ref).await;
    assert_eq!(late_status["status"]["code"], 200, "{late_status}");
    assert_eq!(late_status["invoicingMode"], "Offline");

    let future = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .date()
        .to_string();
    let attachment =
        include_str!("../../../samples/fa3/csharp-invoice-template-fa-3-with-attachment.xml")
            .replace("#nip#", &nip)
            .replace("#invoice_number#", "FV/REJ/ZAL");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(invoice(&nip, "FV/REJ/BOM", &today).as_bytes());
    let cases: Vec<(u64, Vec<u8>)> = vec![
        (440, good.clone().into_bytes()),
        (410, invoice(OTHER_NIP, "FV/REJ/2", &today).into_bytes()),
        (450, invoice(&nip, "FV/REJ/3", &future).into_bytes()),
        (
            450,
            invoice(&nip, "FV/REJ/4", &today)
                .replace("<P_15>123.00</P_15>", "")
                .into_bytes(),
        ),
        (430, bom),
        (430, b"<Faktura><niedomknieta></Faktura>".to_vec()),
        (415, attachment.into_bytes()),
    ];
    let mut refs = Vec::new();
    for (code, xml) in &cases {
        refs.push((*code, send(&sim, &token, &session, xml).await));
    }
    // 435: ciphertext whose padding is invalid after decryption (hashes and sizes are right).
    let bad = cbc::Encryptor::<Aes256>::new(&KEY.into(), &IV.into())
        .encrypt_padded_vec::<NoPadding>(&[0u8; 32]);
    let r = send_raw(
        &sim,
        &token,
        &session,
        json!({
        "invoiceHash": b64sha(b"x"), "invoiceSize": 17,
        "encryptedInvoiceHash": b64sha(&bad), "encryptedInvoiceSize": bad.len(),
        "encryptedInvoiceContent": STANDARD.encode(&bad)}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    refs.push((435, r.body["referenceNumber"].as_str().unwrap().to_string()));

    for (code, inv) in &refs {
        let (_, s) = wait_invoice(&sim, &token, &session, inv).await;
        assert_eq!(s["status"]["code"].as_u64(), Some(*code), "{s}");
        assert!(s["ksefNumber"].is_null());
        assert!(s["upoDownloadUrl"].is_null());
        if *code == 440 {
            assert_eq!(
                s["status"]["extensions"]["originalKsefNumber"],
                original.as_str()
            );
            assert_eq!(
                s["status"]["extensions"]["originalSessionReferenceNumber"],
                session.as_str()
            );
        }
        if *code == 450 {
            assert!(
                !s["status"]["details"].as_array().unwrap().is_empty(),
                "{s}"
            );
        }
    }
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/invoices/failed",
        &format!("/sessions/{session}/invoices/failed"),
        Some(&token),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), refs.len());

    // Technical correction of the invoice rejected for its future P_1: once only.
    let rejected_hash = b64sha(&cases[2].1);
    let fixed = invoice(&nip, "FV/REJ/3", &today);
    let mut body = send_body(fixed.as_bytes());
    body["offlineMode"] = json!(true);
    body["hashOfCorrectedInvoice"] = json!(rejected_hash);
    let r = send_raw(&sim, &token, &session, body.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (_, s) = wait_invoice(
        &sim,
        &token,
        &session,
        r.body["referenceNumber"].as_str().unwrap(),
    )
    .await;
    assert_eq!(s["status"]["code"], 200, "{s}");
    assert_eq!(s["invoicingMode"], "Offline");
    let r = send_raw(&sim, &token, &session, body.clone()).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21166));
    body["hashOfCorrectedInvoice"] = json!(b64sha(b"never sent"));
    let r = send_raw(&sim, &token, &session, body).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21167));

    // 11 invoices in the session: two pages of 10 via x-continuation-token.
    let list = |extra: Vec<(&'static str, String)>| {
        let sim = &sim;
        let token = token.clone();
        let path = format!("/sessions/{session}/invoices?pageSize=10");
        async move {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(
                sim,
                Method::GET,
                "/sessions/{referenceNumber}/invoices",
                &path,
                Some(&token),
                None,
                &extra,
            )
            .await
        }
    };
    let first = list(vec![]).await;
    assert_eq!(
        first.body["invoices"].as_array().unwrap().len(),
        10,
        "{}",
        first.body
    );
    let next = first.body["continuationToken"]
        .as_str()
        .unwrap()
        .to_string();
    let second = list(vec![("x-continuation-token", next)]).await;
    assert_eq!(second.body["invoices"].as_array().unwrap().len(), 1);
    assert!(second.body["continuationToken"].is_null());
    assert_eq!(second.body["invoices"][0]["ordinalNumber"], 11);

    // Synchronous 400s: sizes, hashes, Base64, JSON, unknown session.
    let enc = encrypt(good.as_bytes());
    let mut wrong_size = send_body(good.as_bytes());
    wrong_size["invoiceSize"] = json!(good.len() + 1);
    let mut wrong_enc_size = send_body(good.as_bytes());
    wrong_enc_size["encryptedInvoiceSize"] = json!(enc.len() + 16);
    let mut wrong_hash = send_body(good.as_bytes());
    wrong_hash["invoiceHash"] = json!(b64sha(b"other"));
    let mut wrong_enc_hash = send_body(good.as_bytes());
    wrong_enc_hash["encryptedInvoiceHash"] = json!(b64sha(b"other"));
    let mut bad_b64 = send_body(good.as_bytes());
    bad_b64["encryptedInvoiceContent"] = json!("***not base64***");
    for (body, code) in [
        (wrong_size, 21402),
        (wrong_enc_size, 21402),
        (wrong_hash, 21403),
        (wrong_enc_hash, 21403),
        (bad_b64, 21405),
    ] {
        let r = send_raw(&sim, &token, &session, body).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, code), "{}", r.body);
    }
    let r = client()
        .post(format!(
            "{}/v2/sessions/online/{session}/invoices",
            sim.base_url
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"invoiceHash\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["exception"]["exceptionDetailList"][0]["exceptionCode"],
        21405
    );
    let r = send_raw(
        &sim,
        &token,
        "20250625-SO-2C3E6C8000-B675CF5D68-07",
        send_body(good.as_bytes()),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21173));
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_session_key_fails_the_session_and_unknown_key_id_is_21470() {
    let sim = start().await;
    let token = access(&sim).await;
    let (key_id, key) = pick_key(&sim, "SymmetricKeyEncryption").await;
    let open = |wrapped: String, id: String| {
        json!({"formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {"encryptedSymmetricKey": wrapped, "initializationVector": STANDARD.encode(IV), "publicKeyId": id}})
    };
    let r = post(
        &sim,
        "/sessions/online",
        "/sessions/online",
        Some(&token),
        Some(open(oaep_encrypt(&key, &KEY), STANDARD.encode([1u8; 32]))),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21470));
    let r = post(&sim, "/sessions/online", "/sessions/online", Some(&token),
        Some(json!({"formCode": {"systemCode": "FA (9)", "schemaVersion": "1-0E", "value": "FA"},
            "encryption": {"encryptedSymmetricKey": oaep_encrypt(&key, &KEY), "initializationVector": STANDARD.encode(IV)}}))).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    // Wrapped bytes that are not an OAEP ciphertext for the key: the session fails (415).
    let r = post(
        &sim,
        "/sessions/online",
        "/sessions/online",
        Some(&token),
        Some(open(STANDARD.encode([7u8; 256]), key_id)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let session = r.body["referenceNumber"].as_str().unwrap().to_string();
    let inv = send(
        &sim,
        &token,
        &session,
        invoice(&sim.demo.nip, "FV/K/1", &today()).as_bytes(),
    )
    .await;
    let (_, s) = wait_invoice(&sim, &token, &session, &inv).await;
    assert_eq!(s["status"]["code"], 435);
    let r = get(
        &sim,
        "/sessions/{referenceNumber}",
        &format!("/sessions/{session}"),
        Some(&token),
    )
    .await;
    assert_eq!(r.body["status"]["code"], 415);

    // Without InvoiceWrite no session; without InvoiceRead no query.
    let read_only = login(
        &sim,
        &mint(&sim, &sim.demo.nip, &["InvoiceRead"]).await,
        &sim.demo.nip,
    )
    .await
    .0;
    let r = post(
        &sim,
        "/sessions/online",
        "/sessions/online",
        Some(&read_only),
        Some(open(oaep_encrypt(&key, &KEY), String::new())),
    )
    .await;
    assert_eq!(r.status, 403);
    let write_only = login(
        &sim,
        &mint(&sim, &sim.demo.nip, &["InvoiceWrite"]).await,
        &sim.demo.nip,
    )
    .await
    .0;
    let r = post(&sim, "/invoices/query/metadata", "/invoices/query/metadata", Some(&write_only),
        Some(json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": "2026-01-01T00:00:00Z"}}))).await;
    assert_eq!(r.status, 403);
    sim.shutdown().await;
}

fn days_ago(n: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(n))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn query(sim: &RunningSim, token: &str, params: &str, filters: Value) -> Resp {
    call(
        sim,
        Method::POST,
        "/invoices/query/metadata",
        &format!("/invoices/query/metadata{params}"),
        Some(token),
        Some(filters),
        &[],
    )
    .await
}

#[tokio::test]
async fn demo_purchase_invoices_query_paging_filters_and_limits() {
    // Many calls in a few seconds (more than PRD's limits allow): the generous profile.
    let sim = start().await;
    let token = access(&sim).await;
    let range = json!({"dateType": "Invoicing", "from": days_ago(80)});
    let all = json!({"subjectType": "Subject2", "dateRange": range});
    let r = query(&sim, &token, "?pageSize=10&pageOffset=0", all.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 10);
    assert_eq!(
        (r.body["hasMore"].as_bool(), r.body["isTruncated"].as_bool()),
        (Some(true), Some(false))
    );
    let first = r.body["invoices"][0].clone();
    assert_eq!(first["buyer"]["identifier"]["value"], sim.demo.nip.as_str());
    assert_ne!(first["seller"]["nip"], sim.demo.nip.as_str());
    let r2 = query(&sim, &token, "?pageSize=10&pageOffset=1", all.clone()).await;
    assert_eq!(r2.body["invoices"].as_array().unwrap().len(), 2);
    assert_eq!(r2.body["hasMore"], false);
    // Ascending by invoicingDate; Desc reverses.
    let dates: Vec<String> = r.body["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["invoicingDate"].as_str().unwrap().to_string())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    let d = query(&sim, &token, "?sortOrder=Desc&pageSize=250", all.clone()).await;
    assert_eq!(d.body["invoices"][11]["ksefNumber"], first["ksefNumber"]);
    // Filters.
    let seller = first["seller"]["nip"].as_str().unwrap();
    let r = query(
        &sim,
        &token,
        "?pageSize=250",
        json!({"subjectType": "Subject2", "dateRange": range, "sellerNip": seller}),
    )
    .await;
    let list = r.body["invoices"].as_array().unwrap();
    assert!(
        !list.is_empty() && list.len() < 12 && list.iter().all(|i| i["seller"]["nip"] == seller)
    );
    let r = query(
        &sim,
        &token,
        "",
        json!({"subjectType": "Subject2", "dateRange": range, "ksefNumber": first["ksefNumber"]}),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 1);
    let r = query(
        &sim,
        &token,
        "",
        json!({"subjectType": "Subject1", "dateRange": range}),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 0);
    // HWM only for PermanentStorage.
    let r = query(&sim, &token, "", json!({"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": days_ago(80), "restrictToPermanentStorageHwmDate": true}})).await;
    assert!(r.body["permanentStorageHwmDate"].is_string());
    assert_eq!(r.body["hasMore"], true);
    // Errors: range over 3 months, page size out of range, from after HWM.
    let r = query(&sim, &token, "", json!({"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": days_ago(200), "to": days_ago(1)}})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    let r = query(&sim, &token, "?pageSize=5", all.clone()).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    let r = query(&sim, &token, "", json!({"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": days_ago(-1), "restrictToPermanentStorageHwmDate": true}})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21183));
    let r = query(
        &sim,
        &token,
        "",
        json!({"subjectType": "Buyer", "dateRange": range}),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    // Seeded invoices download as XSD-valid FA(3).
    let k = first["ksefNumber"].as_str().unwrap();
    let r = get(
        &sim,
        "/invoices/ksef/{ksefNumber}",
        &format!("/invoices/ksef/{k}"),
        Some(&token),
    )
    .await;
    ksef_sim::fa3check::validate_xsd(r.body.as_str().unwrap().as_bytes()).unwrap();
    let r = get(
        &sim,
        "/invoices/ksef/{ksefNumber}",
        "/invoices/ksef/5265877635-20250826-0100001AF629-AF",
        Some(&token),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21164));

    // /sim/inbox seeds invoices to another NIP, visible to that NIP only.
    let r = client()
        .post(format!("{}/sim/inbox", sim.base_url))
        .json(&json!({"nip": OTHER_NIP, "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let other = login(
        &sim,
        &mint(&sim, OTHER_NIP, &["InvoiceRead"]).await,
        OTHER_NIP,
    )
    .await
    .0;
    let r = query(
        &sim,
        &other,
        "",
        json!({"subjectType": "Subject2", "dateRange": range}),
    )
    .await;
    let seeded = r.body["invoices"].as_array().unwrap();
    assert_eq!(seeded.len(), 3);
    assert!(seeded.iter().all(|i| i["seller"]["nip"] != OTHER_NIP));
    sim.shutdown().await;
}

#[tokio::test]
async fn export_parts_decrypt_to_a_zip_with_invoices_and_metadata() {
    let sim = start().await;
    let token = access(&sim).await;
    let (key_id, key) = pick_key(&sim, "SymmetricKeyEncryption").await;
    let r = post(&sim, "/invoices/exports", "/invoices/exports", Some(&token), Some(json!({
        "encryption": {"encryptedSymmetricKey": oaep_encrypt(&key, &KEY), "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id},
        "filters": {"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": days_ago(80)}}
    }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let r = get(
            &sim,
            "/invoices/exports/{referenceNumber}",
            &format!("/invoices/exports/{reference}"),
            Some(&token),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"]["code"] != 100 {
            break r.body;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(110)).await;
    };
    assert_eq!(status["status"]["code"], 200, "{status}");
    let package = &status["package"];
    assert_eq!(package["invoiceCount"], 12);
    assert!(package["permanentStorageHwmDate"].is_string());
    let mut zip_bytes = Vec::new();
    for part in package["parts"].as_array().unwrap() {
        let url = part["url"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/storage/", sim.base_url)));
        let (code, _, enc) = storage_get(url).await;
        assert_eq!(code, 200);
        assert_eq!(b64sha(&enc), part["encryptedPartHash"].as_str().unwrap());
        let plain = decrypt(&enc);
        assert_eq!(b64sha(&plain), part["partHash"].as_str().unwrap());
        zip_bytes.extend(plain);
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    assert_eq!(archive.len(), 13);
    let mut meta = String::new();
    archive
        .by_name("_metadata.json")
        .unwrap()
        .read_to_string(&mut meta)
        .unwrap();
    let meta: Value = serde_json::from_str(&meta).unwrap();
    let first = meta["invoices"][0]["ksefNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let mut xml = String::new();
    archive
        .by_name(&format!("{first}.xml"))
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    assert!(xml.contains("<Faktura"));
    let r = get(
        &sim,
        "/invoices/exports/{referenceNumber}",
        "/invoices/exports/20251010-EH-1DCE3E3000-12ECB5B36E-45",
        Some(&token),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21175));
    sim.shutdown().await;
}

#[tokio::test]
async fn query_reports_is_truncated_at_ten_thousand_records() {
    let sim = start().await;
    let started = Instant::now();
    let r = client()
        .post(format!("{}/sim/inbox", sim.base_url))
        .json(&json!({"nip": OTHER_NIP, "count": 10_001}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    eprintln!("seeding 10 001 invoices took {:?}", started.elapsed());
    let other = login(
        &sim,
        &mint(&sim, OTHER_NIP, &["InvoiceRead"]).await,
        OTHER_NIP,
    )
    .await
    .0;
    let filters = json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": days_ago(80)}});
    let r = query(&sim, &other, "?pageSize=250&pageOffset=38", filters.clone()).await;
    assert_eq!(
        (r.body["hasMore"].as_bool(), r.body["isTruncated"].as_bool()),
        (Some(true), Some(false))
    );
    let r = query(&sim, &other, "?pageSize=250&pageOffset=39", filters.clone()).await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 250);
    assert_eq!(
        (r.body["hasMore"].as_bool(), r.body["isTruncated"].as_bool()),
        (Some(true), Some(true))
    );
    // As documented: move `from` to the last record's date, reset the offset.
    let last = r.body["invoices"][249]["invoicingDate"].as_str().unwrap();
    let narrowed =
        json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": last}});
    let r = query(&sim, &other, "?pageSize=250&pageOffset=0", narrowed).await;
    assert_eq!(r.body["isTruncated"], false);
    assert!(!r.body["invoices"].as_array().unwrap().is_empty());
    sim.shutdown().await;
}

/// Export status is kept 7 days, then `410 Gone` (ksef-guide §7, open-api
/// `GET /invoices/exports/{referenceNumber}`); an unknown `publicKeyId` in the export request is
/// 21470 (open-api `POST /invoices/exports`).
#[tokio::test]
async fn expired_export_is_410_gone_and_unknown_key_id_is_21470() {
    let sim = start_with(ksef_sim::SimConfig {
        export_retention: Duration::from_millis(800),
        ..ksef_sim::SimConfig::for_tests_generous()
    })
    .await;
    let token = access(&sim).await;
    let (key_id, key) = pick_key(&sim, "SymmetricKeyEncryption").await;
    let request = |id: String| {
        json!({
            "encryption": {"encryptedSymmetricKey": oaep_encrypt(&key, &KEY), "initializationVector": STANDARD.encode(IV), "publicKeyId": id},
            "filters": {"subjectType": "Subject2", "dateRange": {"dateType": "PermanentStorage", "from": days_ago(80)}}
        })
    };
    let r = post(
        &sim,
        "/invoices/exports",
        "/invoices/exports",
        Some(&token),
        Some(request(STANDARD.encode([9u8; 32]))),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21470), "{}", r.body);

    let r = post(
        &sim,
        "/invoices/exports",
        "/invoices/exports",
        Some(&token),
        Some(request(key_id)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    let path = format!("/invoices/exports/{reference}");
    let r = get(
        &sim,
        "/invoices/exports/{referenceNumber}",
        &path,
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = get(
        &sim,
        "/invoices/exports/{referenceNumber}",
        &path,
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(
        r.body["detail"],
        "Operacja wygasła i nie jest już dostępna."
    );
    sim.shutdown().await;
}
