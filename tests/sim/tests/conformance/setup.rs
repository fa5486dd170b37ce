//! The rest of the preparation: a XAdES login (certificates and token creation need one),
//! a signed login document, an issued certificate, batch sessions, a client's delegable
//! grant (indirect grants), the demo company as a VAT group, and an EU administrator's login.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::flows::*;
use common::xades::*;
use common::*;
use ksef_sim::RunningSim;
use serde_json::{Value, json};

use super::common;

/// A client that gives the demo company a delegable grant (target of the indirect grant).
pub const CLIENT_NIP: &str = "9876543210";
/// The member of the demo company's VAT group.
pub const GROUP_MEMBER: &str = "1112223332";
pub const EU_VAT: &str = "DE123456789";

pub struct Extra {
    /// A signed `AuthTokenRequest` with an unused challenge.
    pub xades_document: String,
    /// The access token of a XAdES login (owner of the demo company).
    pub cert_access: String,
    /// A fresh `POST /certificates/enrollments` body.
    pub enrollment_body: Value,
    /// A finished enrollment and its certificate (revoked last).
    pub enrollment_ref: String,
    pub certificate_serial: String,
    /// A fresh `POST /sessions/batch` body.
    pub batch_open_body: Value,
    /// An open batch session with every part uploaded.
    pub batch_to_close: String,
    /// An InternalId of the demo company with a valid check digit.
    pub subunit_id: String,
    /// `{demo NIP}-{EU_VAT}` and its administrator's access token.
    pub eu_context: String,
    pub eu_access: String,
}

/// `{nip}-{4 digits}` with open-api's check digit (weights 1, 3, … mod 10) appended.
fn internal_id(prefix: &str) -> String {
    let sum: u32 = prefix
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{prefix}{}", sum % 10)
}

fn enrollment_body(csr_der: &[u8]) -> Value {
    json!({"certificateName": "Kwit", "certificateType": "Authentication", "csr": STANDARD.encode(csr_der)})
}

/// An encrypted one-invoice batch package: `(OpenBatchSessionRequest, encrypted part)`.
async fn batch(sim: &RunningSim, nip: &str, number: &str) -> (Value, Vec<u8>) {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("faktura.xml", options).unwrap();
    w.write_all(invoice(nip, number).as_bytes()).unwrap();
    let package = w.finish().unwrap().into_inner();
    let part = encrypt(&package);
    let (key_id, rsa_key) = pick_key(sim, "SymmetricKeyEncryption").await;
    let body = json!({
        "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
        "batchFile": {"fileSize": package.len(), "fileHash": b64sha(&package),
            "fileParts": [{"ordinalNumber": 1, "fileSize": part.len(), "fileHash": b64sha(&part)}]},
        "encryption": {"encryptedSymmetricKey": oaep_encrypt(&rsa_key, &KEY),
            "initializationVector": STANDARD.encode(IV), "publicKeyId": key_id},
    });
    (body, part)
}

/// Opens a batch session and uploads its part; returns the session reference.
async fn open_and_upload(sim: &RunningSim, access: &str, body: Value, part: Vec<u8>) -> String {
    let r = post(
        sim,
        "/sessions/batch",
        "/sessions/batch",
        Some(access),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let upload = &r.body["partUploadRequests"][0];
    let mut put = client().put(upload["url"].as_str().unwrap());
    for (k, v) in upload["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    let status = put.body(part).send().await.unwrap().status();
    assert!(status.is_success(), "part upload: {status}");
    r.body["referenceNumber"].as_str().unwrap().to_string()
}

async fn accepted(sim: &RunningSim, access: &str, r: Resp) {
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap();
    assert_eq!(wait_permission_operation(sim, access, op).await, 200);
}

pub async fn extra(sim: &RunningSim, access: &str, nip: &str) -> Extra {
    assert_eq!(nip, NIP, "the XAdES helpers sign for the demo company");
    let dir = temp_dir();
    let cert_access = certificate_access(sim, &dir).await;
    let (key, crt) = tinpl(&dir, "document", false);
    let xades_document = xmlsec_sign(
        &dir,
        &template(&challenge(sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );

    let subject = format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL");
    let rsa = ["-newkey", "rsa:2048"];
    let (_, csr) = openssl_csr(&dir, "ksef", &rsa, "-sha256", &subject);
    let r = enroll(sim, &cert_access, &csr, "Authentication").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let enrollment_ref = r.body["referenceNumber"].as_str().unwrap().to_string();
    let (certificate_serial, _) =
        issued_certificate(sim, &cert_access, &r.body, &dir, "ksef").await;
    let (_, csr) = openssl_csr(&dir, "ksef-2", &rsa, "-sha256", &subject);

    let (body, part) = batch(sim, nip, "FV/CONF/B1").await;
    let batch_to_close = open_and_upload(sim, access, body, part).await;
    let (batch_open_body, _) = batch(sim, nip, "FV/CONF/B2").await;

    // A client's delegable grant to the demo company (the indirect grant passes it on).
    let client_token = mint(sim, CLIENT_NIP, &["CredentialsManage"]).await;
    let client_access = login(sim, &client_token, CLIENT_NIP).await.0;
    let r = post(sim, "/permissions/entities/grants", "/permissions/entities/grants", Some(&client_access),
        Some(json!({"subjectIdentifier": {"type": "Nip", "value": nip},
            "permissions": [{"type": "InvoiceRead", "canDelegate": true}],
            "description": "Biuro z prawem przekazania", "subjectDetails": {"fullName": "Demo Sp. z o.o."}}))).await;
    accepted(sim, &client_access, r).await;

    // The demo company as a VAT group (roles, subordinate entities).
    let r = client()
        .post(format!("{}/v2/testdata/subject", sim.base_url))
        .json(
            &json!({"subjectNip": nip, "subjectType": "VatGroup", "description": "Grupa VAT demo",
            "subunits": [{"subjectNip": GROUP_MEMBER, "description": "Członek grupy VAT"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // An EU administrator of `{nip}-{EU_VAT}`, logged in with its certificate fingerprint.
    let eu_context = format!("{nip}-{EU_VAT}");
    let (eu_key, eu_crt) = self_signed(&dir, "eu-admin", false, "/CN=EU Admin/C=DE");
    let r = post(
        sim,
        "/permissions/eu-entities/administration/grants",
        "/permissions/eu-entities/administration/grants",
        Some(access),
        Some(eu_admin_grant(&fingerprint(&eu_crt), &eu_context)),
    )
    .await;
    accepted(sim, access, r).await;
    let pair = (eu_key.as_path(), eu_crt.as_path());
    let (status, auth_token) = xades_login_in(
        sim,
        &dir,
        pair,
        ("NipVatUe", &eu_context),
        "certificateFingerprint",
    )
    .await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let eu_access = redeem(sim, &auth_token).await;

    Extra {
        xades_document,
        cert_access,
        enrollment_body: enrollment_body(&csr),
        enrollment_ref,
        certificate_serial,
        batch_open_body,
        batch_to_close,
        subunit_id: internal_id(&format!("{nip}-1234")),
        eu_context,
        eu_access,
    }
}

/// An `EuEntityAdministrationPermissionsGrantRequest` for `fingerprint` in `context`.
pub fn eu_admin_grant(fingerprint: &str, context: &str) -> Value {
    json!({"subjectIdentifier": {"type": "Fingerprint", "value": fingerprint},
        "contextIdentifier": {"type": "NipVatUe", "value": context},
        "description": "Administrator podmiotu unijnego", "euEntityName": "Firma G.m.b.H.",
        "subjectDetails": {"subjectDetailsType": "PersonByFingerprintWithIdentifier",
            "personByFpWithId": {"firstName": "Adam", "lastName": "Abacki",
                "identifier": {"type": "Pesel", "value": "15062788702"}}},
        "euEntityDetails": {"fullName": "Firma G.m.b.H.", "address": "Berlin, Unter den Linden 1"}})
}
