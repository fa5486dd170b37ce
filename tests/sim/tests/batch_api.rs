//! Batch sessions over real HTTP (`sesja-wsadowa.md`): a Deflate ZIP of FA(3) invoices split
//! binarily into parts, each part AES-256-CBC encrypted, declared at `POST /sessions/batch`,
//! uploaded with PUT to the presigned links, closed; then per-invoice statuses, KSeF numbers
//! and the session UPO through the usual session endpoints.

mod common;

use std::io::Write;
use std::time::Duration;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use common::*;
use ksef_sim::RunningSim;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const KEY: [u8; 32] = [0x24; 32];
const IV: [u8; 16] = [0x71; 16];

fn b64sha(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

fn encrypt(data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(&KEY.into(), &IV.into()).encrypt_padded_vec::<Pkcs7>(data)
}

fn today() -> String {
    let now =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap());
    now.date().to_string()
}

fn invoice(number: &str) -> String {
    include_str!("data/minimal-fa3.xml")
        .replace("FV/1/02/2026", number)
        .replace("2026-02-01</P_1>", &format!("{}</P_1>", today()))
}

/// A Deflate-compressed ZIP of `files`, as the official SDKs build it.
fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name.as_str(), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Splits `package` into `n` parts and encrypts each; returns the encrypted parts.
fn encrypted_parts(package: &[u8], n: usize) -> Vec<Vec<u8>> {
    let size = package.len().div_ceil(n);
    package.chunks(size).map(encrypt).collect()
}

async fn open_batch(sim: &RunningSim, access: &str, package: &[u8], parts: &[Vec<u8>]) -> Resp {
    let (key_id, rsa_key) = pick_key(sim, "SymmetricKeyEncryption").await;
    let file_parts: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"ordinalNumber": i + 1, "fileSize": p.len(), "fileHash": b64sha(p)}))
        .collect();
    post(
        sim,
        "/sessions/batch",
        "/sessions/batch",
        Some(access),
        Some(json!({
            "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
            "batchFile": {"fileSize": package.len(), "fileHash": b64sha(package), "fileParts": file_parts},
            "encryption": {"encryptedSymmetricKey": oaep_encrypt(&rsa_key, &KEY),
                "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id},
        })),
    )
    .await
}

async fn upload(request: &Value, bytes: Vec<u8>) -> u16 {
    let mut req = client().put(request["url"].as_str().unwrap());
    for (k, v) in request["headers"].as_object().unwrap() {
        req = req.header(k.as_str(), v.as_str().unwrap());
    }
    req.body(bytes).send().await.unwrap().status().as_u16()
}

async fn close(sim: &RunningSim, access: &str, reference: &str) -> Resp {
    post(
        sim,
        "/sessions/batch/{referenceNumber}/close",
        &format!("/sessions/batch/{reference}/close"),
        Some(access),
        None,
    )
    .await
}

async fn wait_session(sim: &RunningSim, access: &str, reference: &str) -> Value {
    // Polled as a client under the PRD limits must: at most ~8 a second, waiting out a 429.
    for _ in 0..400 {
        let r = get(
            sim,
            "/sessions/{referenceNumber}",
            &format!("/sessions/{reference}"),
            Some(access),
        )
        .await;
        if r.status == 429 {
            let wait = r
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        let code = r.body["status"]["code"].as_u64().unwrap();
        if code != 100 && code != 150 {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    panic!("batch session {reference} never finished");
}

#[tokio::test]
async fn batch_session_processes_every_invoice_of_a_multi_part_zip() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let mut files: Vec<(String, Vec<u8>)> = (1..=5)
        .map(|i| {
            (
                format!("faktura-{i}.xml"),
                invoice(&format!("FV/B/{i}")).into_bytes(),
            )
        })
        .collect();
    // One invoice of another seller: rejected (410), the others accepted.
    files.push((
        "obca.xml".into(),
        invoice("FV/B/X")
            .replace("5265877635", "7352765225")
            .into_bytes(),
    ));
    let package = zip(&files);
    let parts = encrypted_parts(&package, 3);
    let r = open_batch(&sim, &access, &package, &parts).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    let requests = r.body["partUploadRequests"].as_array().unwrap().clone();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|p| {
        p["method"] == "PUT"
            && p["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/storage/", sim.base_url))
    }));

    // Status 100 while uploading; closing before every part is there is 21205.
    let st = get(
        &sim,
        "/sessions/{referenceNumber}",
        &format!("/sessions/{reference}"),
        Some(&access),
    )
    .await;
    assert_eq!(st.body["status"]["code"], 100, "{}", st.body);
    assert_eq!(upload(&requests[0], parts[0].clone()).await, 201);
    assert_eq!(close(&sim, &access, &reference).await.code(), 21205);
    // A part other than declared is refused; a link with a wrong signature too.
    assert_eq!(upload(&requests[1], parts[2].clone()).await, 400);
    let mut forged = requests[1].clone();
    forged["url"] = json!(format!("{}x", requests[1]["url"].as_str().unwrap()));
    assert_eq!(upload(&forged, parts[1].clone()).await, 401);
    for (request, part) in requests.iter().zip(&parts).skip(1) {
        let ordinal = request["ordinalNumber"].as_u64().unwrap() as usize;
        assert_eq!(part, &parts[ordinal - 1]);
        assert_eq!(upload(request, part.clone()).await, 201);
    }
    let r = close(&sim, &access, &reference).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let done = wait_session(&sim, &access, &reference).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
    assert_eq!(
        done["status"]["description"],
        "Sesja wsadowa przetworzona pomyślnie"
    );
    assert_eq!(done["invoiceCount"], 6);
    assert_eq!(done["successfulInvoiceCount"], 5);
    assert_eq!(done["failedInvoiceCount"], 1);
    let upo_url = done["upo"]["pages"][0]["downloadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let upo = client()
        .get(&upo_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(upo.matches("<NumerKSeFDokumentu>").count(), 5, "{upo}");

    // Per-invoice statuses: KSeF numbers for the accepted ones, invoice hashes of the XML files.
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/invoices",
        &format!("/sessions/{reference}/invoices?pageSize=10"),
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let invoices = r.body["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 6);
    for (name, xml) in &files {
        let item = invoices
            .iter()
            .find(|i| i["invoiceHash"] == b64sha(xml).as_str())
            .unwrap();
        if name == "obca.xml" {
            assert_eq!(item["status"]["code"], 410, "{item}");
        } else {
            assert!(
                item["ksefNumber"]
                    .as_str()
                    .unwrap()
                    .starts_with("5265877635-"),
                "{item}"
            );
        }
    }
    let r = get(
        &sim,
        "/sessions/{referenceNumber}/invoices/failed",
        &format!("/sessions/{reference}/invoices/failed"),
        Some(&access),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 1);
    // Listed as a batch session, not an online one.
    let r = get(
        &sim,
        "/sessions",
        "/sessions?sessionType=Batch",
        Some(&access),
    )
    .await;
    assert_eq!(r.body["sessions"][0]["referenceNumber"], reference.as_str());
    let r = get(
        &sim,
        "/sessions",
        "/sessions?sessionType=Online",
        Some(&access),
    )
    .await;
    assert!(r.body["sessions"].as_array().unwrap().is_empty());
    // Never twice: the same package again gives duplicates (440), no new KSeF numbers.
    let again = encrypted_parts(&package, 1);
    let r = open_batch(&sim, &access, &package, &again).await;
    let second = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(
        upload(&r.body["partUploadRequests"][0], again[0].clone()).await,
        201
    );
    close(&sim, &access, &second).await;
    let done = wait_session(&sim, &access, &second).await;
    assert_eq!(done["status"]["code"], 445, "{done}");
    sim.shutdown().await;
}

#[tokio::test]
async fn broken_packages_end_with_the_documented_session_codes() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let package = zip(&[("a.xml".into(), invoice("FV/C/1").into_bytes())]);

    // Declared package hash differs from the decrypted parts → 405.
    let parts = encrypted_parts(&package, 1);
    let mut other = package.clone();
    other.push(0);
    let (key_id, rsa_key) = pick_key(&sim, "SymmetricKeyEncryption").await;
    let r = post(&sim, "/sessions/batch", "/sessions/batch", Some(&access), Some(json!({
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "batchFile": {"fileSize": other.len(), "fileHash": b64sha(&other),
            "fileParts": [{"ordinalNumber": 1, "fileSize": parts[0].len(), "fileHash": b64sha(&parts[0])}]},
        "encryption": {"encryptedSymmetricKey": oaep_encrypt(&rsa_key, &KEY),
            "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id},
    }))).await;
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(
        upload(&r.body["partUploadRequests"][0], parts[0].clone()).await,
        201
    );
    close(&sim, &access, &reference).await;
    assert_eq!(
        wait_session(&sim, &access, &reference).await["status"]["code"],
        405
    );

    // Not a ZIP → 430.
    let junk = b"this is not a zip archive".to_vec();
    let parts = encrypted_parts(&junk, 1);
    let r = open_batch(&sim, &access, &junk, &parts).await;
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(
        upload(&r.body["partUploadRequests"][0], parts[0].clone()).await,
        201
    );
    close(&sim, &access, &reference).await;
    assert_eq!(
        wait_session(&sim, &access, &reference).await["status"]["code"],
        430
    );

    // More than 50 parts → 21161; a part over 100 MB → 21157 (both synchronous 400s).
    let many: Vec<Vec<u8>> = (0..51).map(|_| vec![0u8; 16]).collect();
    assert_eq!(
        open_batch(&sim, &access, &package, &many).await.code(),
        21161
    );
    let r = post(&sim, "/sessions/batch", "/sessions/batch", Some(&access), Some(json!({
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "batchFile": {"fileSize": 200_000_000u64, "fileHash": b64sha(b"x"),
            "fileParts": [{"ordinalNumber": 1, "fileSize": 200_000_000u64, "fileHash": b64sha(b"x")}]},
        "encryption": {"encryptedSymmetricKey": oaep_encrypt(&rsa_key, &KEY),
            "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id},
    }))).await;
    assert_eq!(r.code(), 21157, "{}", r.body);
    // A read-only token may not open a batch session.
    let reader = mint(&sim, &sim.demo.nip, &["InvoiceRead"]).await;
    let (reader, _) = login(&sim, &reader, &sim.demo.nip).await;
    assert_eq!(
        open_batch(&sim, &reader, &package, &encrypted_parts(&package, 1))
            .await
            .status,
        403
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_large_part_is_streamed_and_accepted() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    // ~24 MB package: one invoice plus incompressible padding entries.
    let mut files = vec![("a.xml".to_string(), invoice("FV/D/1").into_bytes())];
    let mut noise = vec![0u8; 24 * 1024 * 1024];
    getrandom::fill(&mut noise).unwrap();
    files.push(("zalacznik.bin".into(), noise));
    let package = zip(&files);
    let parts = encrypted_parts(&package, 1);
    assert!(parts[0].len() > 20 * 1024 * 1024);
    let r = open_batch(&sim, &access, &package, &parts).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(
        upload(&r.body["partUploadRequests"][0], parts[0].clone()).await,
        201
    );
    close(&sim, &access, &reference).await;
    let done = wait_session(&sim, &access, &reference).await;
    // The binary entry is not an invoice (rejected), the invoice is accepted.
    assert_eq!(done["successfulInvoiceCount"], 1, "{done}");
    sim.shutdown().await;
}
