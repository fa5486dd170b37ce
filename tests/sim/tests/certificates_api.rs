//! KSeF certificates over real HTTP after XAdES logins (helpers in `common/xades.rs`):
//! RSA and EC P-256 CSRs enrolled by the simulator CA, the CSR rules, logins with the issued
//! certificate until it is revoked, limits, shortened validity and the enrollment retention.

mod common;

use std::path::Path;
use std::process::Command;

use common::xades::*;
use common::*;
use serde_json::json;

/// A KSeF certificate issued by the simulator CA (CSR made by openssl) logs in as
/// `xades.internal-certificate`; once revoked it is refused.
#[tokio::test]
async fn simulator_issued_certificate_logs_in_until_revoked() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, auth_token) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let access = redeem(&sim, &auth_token).await;

    let (ksef_key, csr) = openssl_csr(
        &dir,
        "ksef",
        &["-newkey", "rsa:2048"],
        "-sha256",
        &format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL"),
    );
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (serial, ksef_crt) = issued_certificate(&sim, &access, &r.body, &dir, "ksef").await;
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &ksef_key,
        &ksef_crt,
    );
    let (status, _) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(
        status["authenticationMethodInfo"]["code"],
        "xades.internal-certificate"
    );

    let r = post(
        &sim,
        "/certificates/{certificateSerialNumber}/revoke",
        &format!("/certificates/{serial}/revoke"),
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &ksef_key,
        &ksef_crt,
    );
    let (status, body) = submit(&sim, &signed).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 21115);
    sim.shutdown().await;
}

/// KSeF recommends EC keys: an EC P-256 CSR (ecdsa-with-SHA256, made by openssl) is
/// enrolled, the issued certificate carries the CSR's key, is signed by the simulator CA and
/// logs in by XAdES (ecdsa-sha256); an Offline one signs a KOD II link that verifies with
/// the issued certificate (kody-qr.md: ECDSA P-256/SHA-256 over the URL path).
#[tokio::test]
async fn ec_p256_csr_is_enrolled_and_the_certificate_logs_in_and_signs_kod_ii() {
    let sim = start().await;
    let dir = temp_dir();
    let access = certificate_access(&sim, &dir).await;
    let subject = format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let (ec_key, csr) = openssl_csr(&dir, "ec", &ec, "-sha256", &subject);
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (_, ec_crt) = issued_certificate(&sim, &access, &r.body, &dir, "ec").await;

    // The issued certificate holds the CSR's EC key and is signed by the simulator CA.
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&ec_crt)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("id-ecPublicKey") && text.contains("P-256"),
        "{text}"
    );
    assert!(text.contains("KSeF Simulator CA"), "{text}");
    let pub_of = |args: &[&str], path: &Path| {
        let out = Command::new("openssl")
            .args(args)
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    };
    assert_eq!(
        pub_of(&["x509", "-noout", "-pubkey", "-in"], &ec_crt),
        pub_of(&["pkey", "-pubout", "-in"], &ec_key)
    );

    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, ECDSA_SHA256),
        &ec_key,
        &ec_crt,
    );
    let (status, _) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(
        status["authenticationMethodInfo"]["code"],
        "xades.internal-certificate"
    );

    // Offline certificate → KOD II: ECDSA P-256/SHA-256 over the link path, checked with the
    // public key of the issued certificate.
    let (off_key, csr) = openssl_csr(&dir, "offline", &ec, "-sha256", &subject);
    let r = enroll(&sim, &access, &csr, "Offline").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (serial, off_crt) = issued_certificate(&sim, &access, &r.body, &dir, "offline").await;
    let link = dir.join("kod2.txt");
    std::fs::write(
        &link,
        format!("qr-test.ksef.mf.gov.pl/certificate/Nip/{NIP}/{NIP}/{serial}/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"),
    )
    .unwrap();
    let sig = dir.join("kod2.sig");
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(&off_key)
        .arg("-out")
        .arg(&sig)
        .arg(&link));
    let pubkey = dir.join("offline.pub");
    std::fs::write(
        &pubkey,
        pub_of(&["x509", "-noout", "-pubkey", "-in"], &off_crt),
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&pubkey)
        .arg("-signature")
        .arg(&sig)
        .arg(&link));
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "keyUsage", "-in"])
        .arg(&off_crt)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Non Repudiation"),
        "Offline certificates are for KOD II (non-repudiation)"
    );
    sim.shutdown().await;
}

/// CSRs outside the documented key types/algorithms get 25010/25011, a changed CSR 25004,
/// a subject of someone else 25003 (open-api `POST /certificates/enrollments`).
#[tokio::test]
async fn csr_outside_ksef_rules_is_refused_with_the_ksef_code() {
    let sim = start().await;
    let dir = temp_dir();
    let access = certificate_access(&sim, &dir).await;
    let subject = format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL");
    let cases: [(&str, &[&str], &str, u64); 4] = [
        ("rsa1024", &["-newkey", "rsa:1024"], "-sha256", 25010),
        ("rsa3072", &["-newkey", "rsa:3072"], "-sha256", 25010),
        (
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
            "-sha256",
            25010,
        ),
        ("ed25519", &["-newkey", "ed25519"], "-sha256", 25010),
    ];
    for (name, key_args, digest, code) in cases {
        let digest_args = if name == "ed25519" { "-noenc" } else { digest };
        let (_, csr) = openssl_csr(&dir, name, key_args, digest_args, &subject);
        let r = enroll(&sim, &access, &csr, "Authentication").await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, code),
            "{name}: {}",
            r.body
        );
    }

    // SHA-1/384/512 are allowed digests for the CSR signature (open-api), RSA and EC alike,
    // and RSA-PSS is an allowed signature scheme.
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
    let pss = [
        "-newkey",
        "rsa:2048",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
    ];
    for (name, key_args, digest) in [
        ("rsa-sha1", &["-newkey", "rsa:2048"][..], "-sha1"),
        ("ec-sha384", &ec[..], "-sha384"),
        ("ec-sha512", &ec[..], "-sha512"),
        ("rsa-pss-sha256", &pss[..], "-sha256"),
        ("rsa-pss-sha512", &pss[..], "-sha512"),
    ] {
        let (_, csr) = openssl_csr(&dir, name, key_args, digest, &subject);
        let r = enroll(&sim, &access, &csr, "Authentication").await;
        assert_eq!(r.status, 202, "{name}: {}", r.body);
    }

    // A PSS CSR changed after signing → 25004.
    let (_, mut csr) = openssl_csr(&dir, "pss-bad", &pss, "-sha256", &subject);
    let at = csr
        .windows(NIP.len())
        .position(|w| w == NIP.as_bytes())
        .unwrap();
    csr[at] = if csr[at] == b'5' { b'6' } else { b'5' };
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25004), "{}", r.body);

    // An EC CSR changed after signing → 25004; another subject → 25003.
    let (_, mut csr) = openssl_csr(&dir, "ec-bad", &ec, "-sha256", &subject);
    let at = csr
        .windows(NIP.len())
        .position(|w| w == NIP.as_bytes())
        .unwrap();
    csr[at + 9] = if csr[at + 9] == b'1' { b'2' } else { b'1' };
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25004), "{}", r.body);
    let (_, csr) = openssl_csr(
        &dir,
        "ec-other",
        &ec,
        "-sha256",
        &format!("/CN=Inny/organizationIdentifier=VATPL-{OTHER_NIP}/O=Inny/C=PL"),
    );
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25003), "{}", r.body);
    sim.shutdown().await;
}

/// A certificate enrollment's status is kept 30 days, then `410 Gone` (open-api
/// `GET /certificates/enrollments/{referenceNumber}`); the retention is shortened here.
#[tokio::test]
async fn enrollment_status_after_its_retention_is_410_gone() {
    let sim = start_with(ksef_sim::SimConfig {
        enrollment_retention: std::time::Duration::from_millis(800),
        ..ksef_sim::SimConfig::for_tests_generous()
    })
    .await;
    let dir = temp_dir();
    let access = certificate_access(&sim, &dir).await;
    let (_, csr) = openssl_csr(
        &dir,
        "gone",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "-sha256",
        &format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL"),
    );
    let r = enroll(&sim, &access, &csr, "Offline").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    let path = format!("/certificates/enrollments/{reference}");
    let r = get(
        &sim,
        "/certificates/enrollments/{referenceNumber}",
        &path,
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let r = get(
        &sim,
        "/certificates/enrollments/{referenceNumber}",
        &path,
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(r.body["title"], "Gone");
    sim.shutdown().await;
}

/// Certificate lifecycle with the limits KSeF enforces: 25007 when the active-certificate
/// limit is reached (a revoke frees a slot), 25006 when the enrollment limit is reached,
/// 25009 for a second revoke, `PUT /testdata/certificates/{serialNumber}` (KSeF 2.7)
/// shortens a certificate so it shows `Expired` and no longer logs in.
#[tokio::test]
async fn certificate_limits_revoke_and_shortened_validity() {
    let sim = start().await;
    let dir = temp_dir();
    let access = certificate_access(&sim, &dir).await;
    // Low limits, set as on KSeF TEST.
    let set = post(
        &sim,
        "/testdata/limits/subject/certificate",
        "/testdata/limits/subject/certificate",
        Some(access.as_str()),
        Some(json!({"subjectIdentifierType": "Nip", "enrollment": {"maxEnrollments": 3}, "certificate": {"maxCertificates": 2}})),
    )
    .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let subject = format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL");
    let mut serials = Vec::new();
    let mut keys = Vec::new();
    for i in 0..2 {
        let (key, csr) = openssl_csr(
            &dir,
            &format!("c{i}"),
            &["-newkey", "rsa:2048"],
            "-sha256",
            &subject,
        );
        let r = enroll(&sim, &access, &csr, "Authentication").await;
        assert_eq!(r.status, 202, "{}", r.body);
        let (serial, crt) =
            issued_certificate(&sim, &access, &r.body, &dir, &format!("c{i}")).await;
        serials.push(serial);
        keys.push((key, crt));
    }
    let r = get(
        &sim,
        "/certificates/limits",
        "/certificates/limits",
        Some(&access),
    )
    .await;
    assert_eq!(
        r.body["certificate"],
        json!({"limit": 2, "remaining": 0}),
        "{}",
        r.body
    );
    assert_eq!(r.body["enrollment"], json!({"limit": 3, "remaining": 1}));
    assert_eq!(r.body["canRequest"], false);
    let (_, csr) = openssl_csr(&dir, "c2", &["-newkey", "rsa:2048"], "-sha256", &subject);
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25007), "{}", r.body);

    // Revoking one frees a certificate slot; a second revoke is 25009, an unknown one 25008.
    let revoke = |serial: String| {
        let sim = &sim;
        let access = access.clone();
        async move {
            post(
                sim,
                "/certificates/{certificateSerialNumber}/revoke",
                &format!("/certificates/{serial}/revoke"),
                Some(&access),
                Some(json!({"revocationReason": "Superseded"})),
            )
            .await
        }
    };
    assert_eq!(revoke(serials[0].clone()).await.status, 204);
    assert_eq!(revoke(serials[0].clone()).await.code(), 25009);
    assert_eq!(revoke("0123456789ABCDEF".into()).await.code(), 25008);
    let r = enroll(&sim, &access, &csr, "Offline").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (_, csr) = openssl_csr(&dir, "c3", &["-newkey", "rsa:2048"], "-sha256", &subject);
    let r = enroll(&sim, &access, &csr, "Offline").await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25006), "{}", r.body);

    // Query by status.
    let r = post(
        &sim,
        "/certificates/query",
        "/certificates/query",
        Some(&access),
        Some(json!({"status": "Revoked"})),
    )
    .await;
    assert_eq!(r.body["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.body["certificates"][0]["certificateSerialNumber"],
        serials[0].as_str()
    );

    // The second certificate logs in until its validity is shortened to the past.
    let (key, crt) = &keys[1];
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        key,
        crt,
    );
    let (status, _) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    // "Now" (not earlier than the certificate's validFrom, which was a moment ago).
    let past = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let put = |serial: &str, valid_to: &str| {
        client()
            .put(format!(
                "{}/v2/testdata/certificates/{serial}",
                sim.base_url
            ))
            .json(&json!({"validTo": valid_to}))
            .send()
    };
    // Lengthening is refused; shortening works.
    let r = put(&serials[1], "2099-01-01T00:00:00Z").await.unwrap();
    assert_eq!(r.status(), 400);
    let r = put(&serials[1], &past).await.unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let r = post(
        &sim,
        "/certificates/query",
        "/certificates/query",
        Some(&access),
        Some(json!({"certificateSerialNumber": serials[1]})),
    )
    .await;
    assert_eq!(r.body["certificates"][0]["status"], "Expired", "{}", r.body);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        key,
        crt,
    );
    let (status, body) = submit(&sim, &signed).await;
    assert_eq!((status, exception_code(&body)), (400, 21115), "{body}");
    // An expired certificate no longer counts against the limit.
    let r = get(
        &sim,
        "/certificates/limits",
        "/certificates/limits",
        Some(&access),
    )
    .await;
    assert_eq!(r.body["certificate"]["remaining"], 1, "{}", r.body);
    sim.shutdown().await;
}
