//! XAdES signatures made by ksef-core, verified by an independent checker:
//! `xmlsec1 --verify` (Debian package xmlsec1). Guide §3.4.
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ksef_core::api::ContextIdentifier;
use ksef_core::xades::{self, AuthTokenRequest, SubjectIdentifierType, XadesSigner};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksef-core-xades-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} must be installed (apt-get install -y xmlsec1 openssl): {e}")
    })
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Self-signed test certificate like the ones KSeF TEST accepts, made by OpenSSL.
fn cert_and_key(name: &str, newkey: &[&str]) -> (PathBuf, PathBuf) {
    let (key, cert) = (tmp(&format!("{name}.key")), tmp(&format!("{name}.der")));
    let mut args = vec!["req", "-x509"];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        p(&key),
        "-outform",
        "DER",
        "-out",
        p(&cert),
        "-days",
        "2",
        "-subj",
        "/C=PL/O=Beta/CN=5265877635/organizationIdentifier=VATPL-5265877635",
    ]);
    let out = run("openssl", &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

fn signed(name: &str, newkey: &[&str]) -> (String, PathBuf) {
    let (cert, key) = cert_and_key(name, newkey);
    let signer = XadesSigner::new(
        &std::fs::read(&cert).unwrap(),
        &std::fs::read(&key).unwrap(),
    )
    .unwrap();
    let request = AuthTokenRequest {
        challenge: "20250514-CR-226FB7B000-3ACF9BE4C0-10".into(),
        context: ContextIdentifier::nip("5265877635"),
        subject_identifier_type: SubjectIdentifierType::CertificateSubject,
    };
    let xml = xades::sign_auth_token_request(&request, &signer, "2026-11-24T03:00:00Z").unwrap();
    (String::from_utf8(xml).unwrap(), cert)
}

fn xmlsec_verify(xml: &str, cert: &Path, name: &str) -> Output {
    let file = tmp(&format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    run(
        "xmlsec1",
        &[
            "--verify",
            "--pubkey-cert-der",
            p(cert),
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            p(&file),
        ],
    )
}

#[test]
fn xmlsec1_verifies_rsa_sha256_auth_token_request() {
    let (xml, cert) = signed("rsa", &["-newkey", "rsa:2048"]);
    assert!(xml.contains("xmldsig-more#rsa-sha256"));
    assert!(xml.contains("<Challenge>20250514-CR-226FB7B000-3ACF9BE4C0-10</Challenge>"));
    let out = xmlsec_verify(&xml, &cert, "rsa");
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn xmlsec1_verifies_ecdsa_p256_auth_token_request() {
    let (xml, cert) = signed(
        "ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    assert!(xml.contains("xmldsig-more#ecdsa-sha256"));
    let out = xmlsec_verify(&xml, &cert, "ec");
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn xmlsec1_rejects_a_tampered_challenge_and_tampered_signing_time() {
    let (xml, cert) = signed("tamper", &["-newkey", "rsa:2048"]);
    let forged = xml.replace("3ACF9BE4C0-10", "3ACF9BE4C0-11");
    assert!(!xmlsec_verify(&forged, &cert, "tampered").status.success());
    let forged = xml.replace("2026-11-24T03:00:00Z", "2026-11-25T03:00:00Z");
    assert!(!xmlsec_verify(&forged, &cert, "tampered2").status.success());
}
