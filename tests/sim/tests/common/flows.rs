//! Invoice-side helpers shared by the newer test files: send an FA(3) invoice in an
//! online session and wait for its KSeF number, decrypt export parts.

use std::time::{Duration, Instant};

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

pub const KEY: [u8; 32] = [0x42; 32];
pub const IV: [u8; 16] = [0x17; 16];

pub fn b64sha(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

pub fn encrypt(data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(&KEY.into(), &IV.into()).encrypt_padded_vec::<Pkcs7>(data)
}

pub fn decrypt(data: &[u8]) -> Vec<u8> {
    cbc::Decryptor::<Aes256>::new(&KEY.into(), &IV.into())
        .decrypt_padded_vec::<Pkcs7>(data)
        .expect("valid padding")
}

/// Today in Poland (Europe/Warsaw, summer time included).
pub fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    ksef_sim::clock::warsaw_today(now).to_string()
}

/// The vendored minimal FA(3) invoice of `seller` with number `number`, issued today.
pub fn invoice(seller: &str, number: &str) -> String {
    include_str!("../data/minimal-fa3.xml")
        .replace("5265877635", seller)
        .replace("FV/1/02/2026", number)
        .replace("2026-02-01</P_1>", &format!("{}</P_1>", today()))
}

/// `SendInvoiceRequest` for `xml` encrypted with [`KEY`]/[`IV`].
pub fn send_body(xml: &[u8]) -> Value {
    let enc = encrypt(xml);
    json!({
        "invoiceHash": b64sha(xml), "invoiceSize": xml.len(),
        "encryptedInvoiceHash": b64sha(&enc), "encryptedInvoiceSize": enc.len(),
        "encryptedInvoiceContent": STANDARD.encode(&enc), "offlineMode": false
    })
}

pub async fn send_raw(sim: &impl SimUrl, token: &str, session: &str, xml: &[u8]) -> Resp {
    post(
        sim,
        "/sessions/online/{referenceNumber}/invoices",
        &format!("/sessions/online/{session}/invoices"),
        Some(token),
        Some(send_body(xml)),
    )
    .await
}

/// Polls the invoice until its status is final; returns the status body.
pub async fn wait_invoice(sim: &impl SimUrl, token: &str, session: &str, inv: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(
            sim,
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            &format!("/sessions/{session}/invoices/{inv}"),
            Some(token),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"]["code"].as_u64().unwrap_or(0) >= 200 {
            return r.body;
        }
        assert!(Instant::now() < deadline, "invoice {inv} never finished");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Opens a session, sends one invoice numbered `number`, waits for it: `(session,
/// invoice reference, final status body)`.
pub async fn send_one(
    sim: &impl SimUrl,
    token: &str,
    nip: &str,
    number: &str,
) -> (String, String, Value) {
    let session = open_online_session(sim, token, &KEY, &IV).await;
    let xml = invoice(nip, number);
    let r = send_raw(sim, token, &session, xml.as_bytes()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let inv = r.body["referenceNumber"].as_str().unwrap().to_string();
    let status = wait_invoice(sim, token, &session, &inv).await;
    (session, inv, status)
}

/// `EncryptionInfo` for [`KEY`]/[`IV`] wrapped with the simulator's symmetric-key certificate.
pub async fn encryption(sim: &impl SimUrl) -> Value {
    let (key_id, rsa_key) = pick_key(sim, "SymmetricKeyEncryption").await;
    json!({"encryptedSymmetricKey": oaep_encrypt(&rsa_key, &KEY),
        "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id})
}

/// Polls an export until its status is final; returns the status body.
pub async fn wait_export(sim: &impl SimUrl, token: &str, reference: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(
            sim,
            "/invoices/exports/{referenceNumber}",
            &format!("/invoices/exports/{reference}"),
            Some(token),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["status"]["code"].as_u64().unwrap_or(0) >= 200 {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "export {reference} never finished"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
