//! `POST /auth/xades-signature` over real HTTP, with documents signed independently by the
//! `xmlsec1` CLI (Debian package `xmlsec1`) and certificates made by `openssl req -x509`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use ksef_sim::RunningSim;
use serde_json::{Value, json};

const NIP: &str = "5265877635";
const OTHER_NIP: &str = "7010002137";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ksef-sim-xades-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("tool runs (apt-get install openssl xmlsec1)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate with `subject` and its key (`rsa` or `ec` P-256), as PEM files.
fn self_signed(dir: &Path, name: &str, ec: bool, subject: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let crt = dir.join(format!("{name}.crt"));
    let mut cmd = Command::new("openssl");
    cmd.args(["req", "-x509", "-nodes", "-days", "2", "-subj", subject]);
    if ec {
        cmd.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    } else {
        cmd.args(["-newkey", "rsa:2048"]);
    }
    cmd.arg("-keyout").arg(&key).arg("-out").arg(&crt);
    run(&mut cmd);
    (key, crt)
}

/// A self-signed certificate for the test company's NIP, as TEST accepts (`TINPL-<NIP>`).
fn tinpl(dir: &Path, name: &str, ec: bool) -> (PathBuf, PathBuf) {
    self_signed(dir, name, ec, &format!("/CN=T/serialNumber=TINPL-{NIP}"))
}

/// An unsigned `AuthTokenRequest` with an enveloped XAdES signature template (the shape the
/// official clients produce: exc-c14n, document reference + SignedProperties reference with
/// SigningTime and SigningCertificate). `{SIGNING_TIME}`, `{CERT_DIGEST}`, `{ISSUER}`
/// and `{SERIAL}` are filled in by [`xmlsec_sign`] from the signing certificate unless a
/// test put its own values there first.
fn template(challenge: &str, nip: &str, algorithm: &str) -> String {
    format!(
        r##"<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0"><Challenge>{challenge}</Challenge><ContextIdentifier><Nip>{nip}</Nip></ContextIdentifier><SubjectIdentifierType>certificateSubject</SubjectIdentifierType><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="Signature"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{algorithm}"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference><ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#SignedProperties"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#Signature"><xades:SignedProperties Id="SignedProperties"><xades:SignedSignatureProperties><xades:SigningTime>{{SIGNING_TIME}}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{{CERT_DIGEST}}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>{{ISSUER}}</ds:X509IssuerName><ds:X509SerialNumber>{{SERIAL}}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature></AuthTokenRequest>
"##
    )
}

fn openssl_out(args: &[&str], crt: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .arg(crt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Big-endian hex as decimal (X509SerialNumber is an integer; openssl prints hex).
fn hex_to_decimal(hex: &str) -> String {
    let mut digits = vec![0u32]; // little-endian base 10
    for c in hex.chars() {
        let mut carry = c.to_digit(16).unwrap();
        for d in digits.iter_mut() {
            let v = *d * 16 + carry;
            *d = v % 10;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push(carry % 10);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| d.to_string()).collect()
}

/// SigningTime as the official C# client writes it: now − 1 minute.
fn signing_time(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The XAdES SigningCertificate values of `crt`: (Base64 SHA-256 of DER, issuer, serial).
fn cert_properties(crt: &Path) -> (String, String, String) {
    use base64::Engine;
    use sha2::Digest;
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(crt)
        .output()
        .unwrap()
        .stdout;
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&der));
    let issuer = openssl_out(
        &["x509", "-noout", "-issuer", "-nameopt", "RFC2253", "-in"],
        crt,
    );
    let issuer = issuer
        .trim_start_matches("issuer=")
        .replace('&', "&amp;")
        .replace('<', "&lt;");
    let serial = openssl_out(&["x509", "-noout", "-serial", "-in"], crt);
    (
        digest,
        issuer,
        hex_to_decimal(serial.trim_start_matches("serial=")),
    )
}

/// `xml` with the text of the first `<tag>` replaced.
fn set_element(xml: &str, tag: &str, value: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = start + xml[start..].find('<').unwrap();
    format!("{}{value}{}", &xml[..start], &xml[end..])
}

/// Signs `xml` with `xmlsec1 --sign`.
fn xmlsec_sign(dir: &Path, xml: &str, key: &Path, crt: &Path) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let (digest, issuer, serial) = cert_properties(crt);
    let xml = xml
        .replace("{SIGNING_TIME}", &signing_time(time::Duration::minutes(-1)))
        .replace("{CERT_DIGEST}", &digest)
        .replace("{ISSUER}", &issuer)
        .replace("{SERIAL}", &serial);
    let tpl = dir.join(format!("tpl-{n}.xml"));
    let out = dir.join(format!("signed-{n}.xml"));
    std::fs::write(&tpl, xml).unwrap();
    let mut pair = key.as_os_str().to_owned();
    pair.push(",");
    pair.push(crt.as_os_str());
    run(Command::new("xmlsec1")
        .args([
            "--sign",
            "--id-attr:Id",
            "SignedProperties",
            "--privkey-pem",
        ])
        .arg(pair)
        .arg("--output")
        .arg(&out)
        .arg(&tpl));
    std::fs::read_to_string(out).unwrap()
}

async fn challenge(sim: &RunningSim) -> String {
    let r = post(sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(r.status, 200);
    r.body["challenge"].as_str().unwrap().to_string()
}

/// `POST /auth/xades-signature` with an XML body; the answer is checked against open-api.json.
async fn submit(sim: &RunningSim, xml: &str) -> (u16, Value) {
    submit_with(sim, xml, "").await
}

/// [`submit`] with a query string (`?verifyCertificateChain=true`).
async fn submit_with(sim: &RunningSim, xml: &str, query: &str) -> (u16, Value) {
    let r = call_raw(
        sim,
        reqwest::Method::POST,
        "/auth/xades-signature",
        &format!("/auth/xades-signature{query}"),
        None,
        Some(RawBody::new("application/xml", xml)),
        &[],
    )
    .await;
    (r.status.as_u16(), r.body)
}

/// Submits, waits for the final status; returns `(status body, authenticationToken)`.
async fn xades_login(sim: &RunningSim, xml: &str) -> (Value, String) {
    let (status, body) = submit(sim, xml).await;
    assert_eq!(status, 202, "{body}");
    let token = body["authenticationToken"]["token"].as_str().unwrap();
    (wait_started(sim, &body).await, token.to_string())
}

async fn redeem(sim: &RunningSim, auth_token: &str) -> String {
    let r = redeem_call(sim, auth_token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["accessToken"]["token"].as_str().unwrap().to_string()
}

/// A CSR made by `openssl req -new` with `key_args` (e.g. `["-newkey","rsa:2048"]`) and
/// `digest` (`-sha256`…): `(private key PEM path, CSR DER)`.
fn openssl_csr(
    dir: &Path,
    name: &str,
    key_args: &[&str],
    digest: &str,
    subject: &str,
) -> (PathBuf, Vec<u8>) {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    run(Command::new("openssl")
        .args(["req", "-new", "-nodes", "-outform", "DER", digest])
        .args(key_args)
        .args(["-subj", subject])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    (key, std::fs::read(&csr).unwrap())
}

/// `POST /certificates/enrollments` with a DER CSR.
async fn enroll(sim: &RunningSim, access: &str, csr_der: &[u8], kind: &str) -> Resp {
    use base64::Engine;
    let csr_b64 = base64::engine::general_purpose::STANDARD.encode(csr_der);
    post(
        sim,
        "/certificates/enrollments",
        "/certificates/enrollments",
        Some(access),
        Some(json!({"certificateName":"Kwit","certificateType": kind,"csr": csr_b64})),
    )
    .await
}

/// Follows an accepted enrollment (its 202 body) to the issued certificate: status →
/// serial → retrieve; writes it as PEM. Returns `(serial, PEM path)`.
async fn issued_certificate(
    sim: &RunningSim,
    access: &str,
    accepted: &Value,
    dir: &Path,
    name: &str,
) -> (String, PathBuf) {
    let reference = accepted["referenceNumber"].as_str().unwrap();
    let r = get(
        sim,
        "/certificates/enrollments/{referenceNumber}",
        &format!("/certificates/enrollments/{reference}"),
        Some(access),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"]["code"], 200, "{}", r.body);
    let serial = r.body["certificateSerialNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        sim,
        "/certificates/retrieve",
        "/certificates/retrieve",
        Some(access),
        Some(json!({"certificateSerialNumbers": [serial]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let der_b64 = r.body["certificates"][0]["certificate"].as_str().unwrap();
    let pem: String = der_b64
        .as_bytes()
        .chunks(64)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let crt = dir.join(format!("{name}.crt"));
    std::fs::write(
        &crt,
        format!("-----BEGIN CERTIFICATE-----\n{pem}-----END CERTIFICATE-----\n"),
    )
    .unwrap();
    (serial, crt)
}

/// A self-signed TINPL login (XAdES, RSA) → access token with owner rights in `NIP`.
async fn certificate_access(sim: &RunningSim, dir: &Path) -> String {
    let (key, crt) = self_signed(
        dir,
        "login",
        false,
        &format!("/CN=T/serialNumber=TINPL-{NIP}"),
    );
    let signed = xmlsec_sign(
        dir,
        &template(&challenge(sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, auth_token) = xades_login(sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    redeem(sim, &auth_token).await
}

#[tokio::test]
async fn rsa_signed_document_logs_in_and_can_create_a_ksef_token() {
    let sim = start().await;
    let dir = temp_dir();
    let subject = format!("/CN=Jan Testowy/serialNumber=TINPL-{NIP}/C=PL");
    let (key, crt) = self_signed(&dir, "rsa", false, &subject);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, auth_token) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(
        status["authenticationMethodInfo"]["category"],
        "XadesSignature"
    );
    let access = redeem(&sim, &auth_token).await;

    // A certificate login may create KSeF tokens (a token login may not).
    let r = post(
        &sim,
        "/tokens",
        "/tokens",
        Some(&access),
        Some(json!({"permissions":["InvoiceRead","InvoiceWrite"],"description":"Kwit — faktury"})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    // The new token works for a token login in the same context once active.
    let mut ok = false;
    for _ in 0..100 {
        let (reference, op_token) = start_token_login(&sim, &token, NIP).await;
        let st = wait_auth(&sim, &reference, &op_token).await;
        if st["status"]["code"] == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(110)).await;
    }
    assert!(
        ok,
        "the KSeF token created after a XAdES login never became usable"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn ecdsa_p256_signed_document_logs_in() {
    let sim = start().await;
    let dir = temp_dir();
    let subject = format!("/CN=Firma Testowa/organizationIdentifier=VATPL-{NIP}/O=Firma/C=PL");
    let (key, crt) = self_signed(&dir, "ec", true, &subject);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, ECDSA_SHA256),
        &key,
        &crt,
    );
    let (status, auth_token) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    assert_eq!(
        status["authenticationMethodInfo"]["code"],
        "xades.qualified-seal"
    );
    let access = redeem(&sim, &auth_token).await;
    let r = get(&sim, "/tokens", "/tokens", Some(&access)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn document_altered_after_signing_is_rejected() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let ch = challenge(&sim).await;
    let signed = xmlsec_sign(&dir, &template(&ch, NIP, RSA_SHA256), &key, &crt);

    // Context changed after signing → digest of the document no longer matches.
    let altered = signed.replace(
        &format!("<Nip>{NIP}</Nip>"),
        &format!("<Nip>{OTHER_NIP}</Nip>"),
    );
    assert_ne!(altered, signed);
    let (status, body) = submit(&sim, &altered).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 9105);

    // Signed properties changed → their reference digest fails.
    let altered = set_element(
        &signed,
        "xades:SigningTime",
        &signing_time(time::Duration::minutes(-2)),
    );
    assert_ne!(altered, signed);
    let (status, body) = submit(&sim, &altered).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 9105);

    // SignatureValue changed → it no longer verifies over SignedInfo.
    let start = signed.find("<ds:SignatureValue>").unwrap() + "<ds:SignatureValue>".len();
    let mut bytes = signed.clone().into_bytes();
    bytes[start + 5] = if bytes[start + 5] == b'A' { b'B' } else { b'A' };
    let (status, body) = submit(&sim, &String::from_utf8(bytes).unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 9105);

    // Not XML at all; no signature.
    let (status, body) = submit(&sim, "<AuthTokenRequest").await;
    assert_eq!((status, exception_code(&body)), (400, 21001));
    let unsigned = template(&ch, NIP, RSA_SHA256);
    let sig_start = unsigned.find("<ds:Signature ").unwrap();
    let sig_end = unsigned.find("</AuthTokenRequest>").unwrap();
    let unsigned = format!("{}{}", &unsigned[..sig_start], &unsigned[sig_end..]);
    let (status, body) = submit(&sim, &unsigned).await;
    assert_eq!((status, exception_code(&body)), (400, 9102));

    // The rejected attempts did not use up the challenge: the untouched document still works.
    let (status, _) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    sim.shutdown().await;
}

#[tokio::test]
async fn certificate_of_another_nip_fails_with_415() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = self_signed(
        &dir,
        "other",
        false,
        &format!("/CN=Inny/serialNumber=TINPL-{OTHER_NIP}"),
    );
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, auth_token) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 415, "{status}");
    let r = redeem_call(&sim, &auth_token).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), 21301);

    // A self-signed certificate whose own signature is broken is refused.
    let (key, crt) = tinpl(&dir, "own", false);
    // The certificate's signature bytes are changed before signing, so the XAdES
    // SigningCertificate digest names the broken certificate and only its self-signature fails.
    let pem = std::fs::read_to_string(&crt).unwrap();
    let end = pem.find("-----END").unwrap();
    let body = pem[..end].trim_end().trim_end_matches('=');
    let pos = body.len() - 4;
    let mut bytes = pem.clone().into_bytes();
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    let broken = dir.join("own-broken.crt");
    std::fs::write(&broken, bytes).unwrap();
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &broken,
    );
    let (status, body) = submit(&sim, &signed).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 21115);
    assert!(
        body["exception"]["exceptionDetailList"][0]["details"][0]
            .as_str()
            .unwrap()
            .contains("Podpis certyfikatu"),
        "{body}"
    );

    // A certificate without any NIP in its subject is not a valid identity.
    let (key, crt) = self_signed(&dir, "anon", false, "/CN=Nobody");
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, body) = submit(&sim, &signed).await;
    assert_eq!((status, exception_code(&body)), (400, 21115));
    sim.shutdown().await;
}

#[tokio::test]
async fn reused_or_unknown_challenge_is_rejected() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let signed = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, _) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let (status, body) = submit(&sim, &signed).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 21111);

    let unknown = xmlsec_sign(
        &dir,
        &template("20250604-CR-461EA5B000-537A6BA15D-D7", NIP, RSA_SHA256),
        &key,
        &crt,
    );
    let (status, body) = submit(&sim, &unknown).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(exception_code(&body), 21111);
    sim.shutdown().await;
}

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

fn detail(body: &Value) -> String {
    body["exception"]["exceptionDetailList"][0]["details"].to_string()
}

/// A document that breaks the auth XSD is refused with 21401 and the validator's text,
/// though correctly signed (open-api `POST /auth/xades-signature`); v2.0 and v2.1 documents
/// that follow their schema (with an `AuthorizationPolicy`) pass.
#[tokio::test]
async fn schema_invalid_document_is_rejected_with_21401() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let sign = |xml: String| xmlsec_sign(&dir, &xml, &key, &crt);

    // An element the schema does not know.
    let extra = template(&challenge(&sim).await, NIP, RSA_SHA256).replace(
        "</SubjectIdentifierType>",
        "</SubjectIdentifierType><Extra>1</Extra>",
    );
    let (status, body) = submit(&sim, &sign(extra)).await;
    assert_eq!((status, exception_code(&body)), (400, 21401), "{body}");
    assert!(detail(&body).contains("Extra"), "{body}");
    assert_eq!(
        body["exception"]["exceptionDetailList"][0]["exceptionDescription"],
        "Dokument nie jest zgodny ze schemą (xsd)."
    );
    // A NIP of 9 digits breaks TNIP.
    let short = template(&challenge(&sim).await, "526587763", RSA_SHA256);
    let (status, body) = submit(&sim, &sign(short)).await;
    assert_eq!((status, exception_code(&body)), (400, 21401), "{body}");

    // Valid documents in both namespaces, with an IP policy, log in.
    for ns in ["2.0", "2.1"] {
        let xml = template(&challenge(&sim).await, NIP, RSA_SHA256)
            .replace(
                "http://ksef.mf.gov.pl/auth/token/2.0",
                &format!("http://ksef.mf.gov.pl/auth/token/{ns}"),
            )
            .replace(
                "</SubjectIdentifierType>",
                "</SubjectIdentifierType><AuthorizationPolicy><AllowedIps><Ip4Address>127.0.0.1</Ip4Address><Ip4Mask>10.0.0.0/8</Ip4Mask></AllowedIps></AuthorizationPolicy>",
            );
        let (status, _) = xades_login(&sim, &sign(xml)).await;
        assert_eq!(status["status"]["code"], 200, "{ns}: {status}");
    }
    sim.shutdown().await;
}

/// XAdES SigningCertificate must name the certificate in KeyInfo: a digest of another
/// certificate, another serial number or another issuer → 9105; SignedProperties left out of
/// SignedInfo → 9105.
#[tokio::test]
async fn signing_certificate_that_does_not_match_key_info_is_rejected() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let (_, other_crt) = self_signed(
        &dir,
        "other",
        false,
        &format!("/CN=Inny/serialNumber=TINPL-{NIP}"),
    );
    let (other_digest, _, other_serial) = cert_properties(&other_crt);
    let ch = challenge(&sim).await;
    let cases = [
        ("{CERT_DIGEST}", other_digest.as_str(), "CertDigest"),
        ("{SERIAL}", other_serial.as_str(), "X509SerialNumber"),
        ("{ISSUER}", "CN=Someone Else,C=PL", "X509IssuerName"),
    ];
    for (marker, value, expected) in cases {
        let xml = template(&ch, NIP, RSA_SHA256).replace(marker, value);
        let (status, body) = submit(&sim, &xmlsec_sign(&dir, &xml, &key, &crt)).await;
        assert_eq!(
            (status, exception_code(&body)),
            (400, 9105),
            "{marker}: {body}"
        );
        assert!(detail(&body).contains(expected), "{marker}: {body}");
    }
    // The signed properties are not covered by the signature.
    let xml = template(&ch, NIP, RSA_SHA256);
    let start = xml.find("<ds:Reference Type=").unwrap();
    let end = start + xml[start..].find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let xml = format!("{}{}", &xml[..start], &xml[end..]);
    let (status, body) = submit(&sim, &xmlsec_sign(&dir, &xml, &key, &crt)).await;
    assert_eq!((status, exception_code(&body)), (400, 9105), "{body}");
    assert!(detail(&body).contains("SignedProperties"), "{body}");

    // None of these used up the challenge.
    let good = xmlsec_sign(&dir, &template(&ch, NIP, RSA_SHA256), &key, &crt);
    let (status, _) = xades_login(&sim, &good).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    sim.shutdown().await;
}

/// SigningTime must be there and sane: not in the future, not before the challenge was
/// issued (± `SIGNING_TIME_SKEW`, 5 minutes).
#[tokio::test]
async fn missing_or_implausible_signing_time_is_rejected() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = self_signed(
        &dir,
        "ec",
        true,
        &format!("/CN=F/organizationIdentifier=VATPL-{NIP}/O=F/C=PL"),
    );
    let ch = challenge(&sim).await;
    let without = template(&ch, NIP, ECDSA_SHA256)
        .replace("<xades:SigningTime>{SIGNING_TIME}</xades:SigningTime>", "");
    let (status, body) = submit(&sim, &xmlsec_sign(&dir, &without, &key, &crt)).await;
    assert_eq!((status, exception_code(&body)), (400, 9105), "{body}");
    assert!(detail(&body).contains("SigningTime"), "{body}");
    for (offset, what) in [
        (time::Duration::hours(1), "przyszłości"),
        (time::Duration::hours(-1), "wyzwania"),
    ] {
        let xml = template(&ch, NIP, ECDSA_SHA256).replace("{SIGNING_TIME}", &signing_time(offset));
        let (status, body) = submit(&sim, &xmlsec_sign(&dir, &xml, &key, &crt)).await;
        assert_eq!(
            (status, exception_code(&body)),
            (400, 9105),
            "{offset}: {body}"
        );
        assert!(detail(&body).contains(what), "{offset}: {body}");
    }
    // Within the tolerance (the C# client's now − 1 minute, or a clock 3 minutes ahead).
    let xml = template(&ch, NIP, ECDSA_SHA256)
        .replace("{SIGNING_TIME}", &signing_time(time::Duration::minutes(3)));
    let (status, _) = xades_login(&sim, &xmlsec_sign(&dir, &xml, &key, &crt)).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    sim.shutdown().await;
}

/// `verifyCertificateChain=true`: a self-signed certificate has no trusted chain → the
/// operation ends with 460 "Niezaufany łańcuch certyfikatów" (open-api
/// `AuthenticationOperationStatusResponse`); without the check (or `false`) it logs in as on
/// TEST; a certificate issued by the simulator's CA passes the check.
#[tokio::test]
async fn verify_certificate_chain_refuses_self_signed_but_trusts_simulator_certificates() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "rsa", false);
    let signed = |ch: &str| xmlsec_sign(&dir, &template(ch, NIP, RSA_SHA256), &key, &crt);

    let (status, body) = submit_with(
        &sim,
        &signed(&challenge(&sim).await),
        "?verifyCertificateChain=true",
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let reference = body["referenceNumber"].as_str().unwrap();
    let auth_token = body["authenticationToken"]["token"].as_str().unwrap();
    let st = wait_auth(&sim, reference, auth_token).await;
    assert_eq!(st["status"]["code"], 460, "{st}");
    assert_eq!(
        st["status"]["details"][0], "Niezaufany łańcuch certyfikatów",
        "{st}"
    );
    let r = redeem_call(&sim, auth_token).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let (status, body) = submit_with(
        &sim,
        &signed(&challenge(&sim).await),
        "?verifyCertificateChain=false",
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let st = wait_started(&sim, &body).await;
    assert_eq!(st["status"]["code"], 200, "{st}");
    let (status, body) = submit_with(
        &sim,
        &signed(&challenge(&sim).await),
        "?verifyCertificateChain=maybe",
    )
    .await;
    assert_eq!((status, exception_code(&body)), (400, 21405), "{body}");

    // A KSeF certificate from the simulator CA has a trusted chain.
    let access = certificate_access(&sim, &dir).await;
    let (ksef_key, csr) = openssl_csr(
        &dir,
        "chain",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "-sha256",
        &format!("/CN=Nip {NIP}/organizationIdentifier=VATPL-{NIP}/O=Podmiot {NIP}/C=PL"),
    );
    let r = enroll(&sim, &access, &csr, "Authentication").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (_, ksef_crt) = issued_certificate(&sim, &access, &r.body, &dir, "chain").await;
    let xml = xmlsec_sign(
        &dir,
        &template(&challenge(&sim).await, NIP, ECDSA_SHA256),
        &ksef_key,
        &ksef_crt,
    );
    let (status, body) = submit_with(&sim, &xml, "?verifyCertificateChain=true").await;
    assert_eq!(status, 202, "{body}");
    let st = wait_started(&sim, &body).await;
    assert_eq!(st["status"]["code"], 200, "{st}");
    assert_eq!(
        st["authenticationMethodInfo"]["code"],
        "xades.internal-certificate"
    );
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

/// A certificate of another NIP gets 415 in the company's context until the company grants
/// it a permission; then the login succeeds with exactly the granted permissions.
#[tokio::test]
async fn certificate_of_a_grantee_logs_in_to_the_granting_context() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = self_signed(
        &dir,
        "office",
        false,
        &format!("/CN=Biuro/serialNumber=TINPL-{OTHER_NIP}"),
    );
    let login_once = || {
        let (sim, dir, key, crt) = (&sim, dir.clone(), key.clone(), crt.clone());
        async move {
            let signed = xmlsec_sign(
                &dir,
                &template(&challenge(sim).await, NIP, RSA_SHA256),
                &key,
                &crt,
            );
            xades_login(sim, &signed).await
        }
    };
    let (status, _) = login_once().await;
    assert_eq!(status["status"]["code"], 415, "{status}");
    let grant = json!({"contextIdentifier": {"type": "Nip", "value": NIP},
        "authorizedIdentifier": {"type": "Nip", "value": OTHER_NIP},
        "permissions": [{"permissionType": "InvoiceWrite", "description": "Wystawianie faktur"}]});
    let r = client()
        .post(format!("{}/v2/testdata/permissions", sim.base_url))
        .json(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, auth_token) = login_once().await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let access = redeem(&sim, &auth_token).await;
    let r = post(
        &sim,
        "/permissions/query/personal/grants",
        "/permissions/query/personal/grants",
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        r.body["permissions"][0]["permissionScope"], "InvoiceWrite",
        "{}",
        r.body
    );
    // InvoiceWrite only: reading invoices is refused.
    let r = post(&sim, "/invoices/query/metadata", "/invoices/query/metadata", Some(&access),
        Some(json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": "2026-11-01T00:00:00Z"}}))).await;
    assert_eq!(r.status, 403);
    sim.shutdown().await;
}

/// The XAdES `AuthorizationPolicy/AllowedIps` limits where the access token works.
#[tokio::test]
async fn xades_authorization_policy_limits_the_access_token() {
    let sim = start().await;
    let dir = temp_dir();
    let (key, crt) = tinpl(&dir, "policy", false);
    let xml = template(&challenge(&sim).await, NIP, RSA_SHA256).replace(
        "<SubjectIdentifierType>certificateSubject</SubjectIdentifierType>",
        "<SubjectIdentifierType>certificateSubject</SubjectIdentifierType><AuthorizationPolicy><AllowedIps><Ip4Address>10.9.8.7</Ip4Address></AllowedIps></AuthorizationPolicy>",
    );
    let signed = xmlsec_sign(&dir, &xml, &key, &crt);
    let (status, auth_token) = xades_login(&sim, &signed).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let access = redeem(&sim, &auth_token).await;
    let r = get(
        &sim,
        "/certificates/limits",
        "/certificates/limits",
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasonCode"], "ip-not-allowed");
    sim.shutdown().await;
}
