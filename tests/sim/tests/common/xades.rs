//! XAdES helpers for the test files that log in with a signature (`xades_api.rs`,
//! `certificates_api.rs`): certificates made by `openssl req -x509`, documents signed by the
//! `xmlsec1` CLI (Debian package `xmlsec1`), and the login, redeem and enrollment calls.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use ksef_sim::RunningSim;
use serde_json::{Value, json};

use super::*;

pub const NIP: &str = "5265877635";
pub const OTHER_NIP: &str = "7010002137";
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";

pub fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ksef-sim-xades-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn run(cmd: &mut Command) {
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
pub fn self_signed(dir: &Path, name: &str, ec: bool, subject: &str) -> (PathBuf, PathBuf) {
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
pub fn tinpl(dir: &Path, name: &str, ec: bool) -> (PathBuf, PathBuf) {
    self_signed(dir, name, ec, &format!("/CN=T/serialNumber=TINPL-{NIP}"))
}

/// An unsigned `AuthTokenRequest` with an enveloped XAdES signature template (the shape the
/// official clients produce: exc-c14n, document reference + SignedProperties reference with
/// SigningTime and SigningCertificate). `{SIGNING_TIME}`, `{CERT_DIGEST}`, `{ISSUER}`
/// and `{SERIAL}` are filled in by [`xmlsec_sign`] from the signing certificate unless a
/// test put its own values there first.
pub fn template(challenge: &str, nip: &str, algorithm: &str) -> String {
    format!(
        r##"<?xml version="1.0" encoding="utf-8"?>
<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0"><Challenge>{challenge}</Challenge><ContextIdentifier><Nip>{nip}</Nip></ContextIdentifier><SubjectIdentifierType>certificateSubject</SubjectIdentifierType><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="Signature"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{algorithm}"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference><ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#SignedProperties"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#Signature"><xades:SignedProperties Id="SignedProperties"><xades:SignedSignatureProperties><xades:SigningTime>{{SIGNING_TIME}}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{{CERT_DIGEST}}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>{{ISSUER}}</ds:X509IssuerName><ds:X509SerialNumber>{{SERIAL}}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature></AuthTokenRequest>
"##
    )
}

pub fn openssl_out(args: &[&str], crt: &Path) -> String {
    let out = Command::new("openssl")
        .args(args)
        .arg(crt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Big-endian hex as decimal (X509SerialNumber is an integer; openssl prints hex).
pub fn hex_to_decimal(hex: &str) -> String {
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
pub fn signing_time(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The XAdES SigningCertificate values of `crt`: (Base64 SHA-256 of DER, issuer, serial).
pub fn cert_properties(crt: &Path) -> (String, String, String) {
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
pub fn set_element(xml: &str, tag: &str, value: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap() + open.len();
    let end = start + xml[start..].find('<').unwrap();
    format!("{}{value}{}", &xml[..start], &xml[end..])
}

/// Signs `xml` with `xmlsec1 --sign`.
pub fn xmlsec_sign(dir: &Path, xml: &str, key: &Path, crt: &Path) -> String {
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

pub async fn challenge(sim: &RunningSim) -> String {
    let r = post(sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(r.status, 200);
    r.body["challenge"].as_str().unwrap().to_string()
}

/// `POST /auth/xades-signature` with an XML body; the answer is checked against open-api.json.
pub async fn submit(sim: &RunningSim, xml: &str) -> (u16, Value) {
    submit_with(sim, xml, "").await
}

/// [`submit`] with a query string (`?verifyCertificateChain=true`).
pub async fn submit_with(sim: &RunningSim, xml: &str, query: &str) -> (u16, Value) {
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
pub async fn xades_login(sim: &RunningSim, xml: &str) -> (Value, String) {
    let (status, body) = submit(sim, xml).await;
    assert_eq!(status, 202, "{body}");
    let token = body["authenticationToken"]["token"].as_str().unwrap();
    (wait_started(sim, &body).await, token.to_string())
}

pub async fn redeem(sim: &RunningSim, auth_token: &str) -> String {
    let r = redeem_call(sim, auth_token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["accessToken"]["token"].as_str().unwrap().to_string()
}

/// A CSR made by `openssl req -new` with `key_args` (e.g. `["-newkey","rsa:2048"]`) and
/// `digest` (`-sha256`…): `(private key PEM path, CSR DER)`.
pub fn openssl_csr(
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
pub async fn enroll(sim: &RunningSim, access: &str, csr_der: &[u8], kind: &str) -> Resp {
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
pub async fn issued_certificate(
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
pub async fn certificate_access(sim: &RunningSim, dir: &Path) -> String {
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

pub fn detail(body: &Value) -> String {
    body["exception"]["exceptionDetailList"][0]["details"].to_string()
}

/// [`template`] for another context type (`InternalId`, `NipVatUe`…) and
/// `SubjectIdentifierType` (`certificateSubject` or `certificateFingerprint`).
pub fn template_in(
    challenge: &str,
    context_kind: &str,
    context_value: &str,
    subject_type: &str,
) -> String {
    template(challenge, "0000000000", RSA_SHA256)
        .replace(
            "<Nip>0000000000</Nip>",
            &format!("<{context_kind}>{context_value}</{context_kind}>"),
        )
        .replace(
            "<SubjectIdentifierType>certificateSubject<",
            &format!("<SubjectIdentifierType>{subject_type}<"),
        )
}

/// The certificate fingerprint KSeF grants to: SHA-256 of the DER, upper-case hex.
pub fn fingerprint(crt: &Path) -> String {
    use sha2::Digest;
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(crt)
        .output()
        .unwrap()
        .stdout;
    hex::encode_upper(sha2::Sha256::digest(&der))
}

/// A XAdES login (RSA key) in `context_kind`/`context_value` → `(final status, authenticationToken)`.
pub async fn xades_login_in(
    sim: &RunningSim,
    dir: &Path,
    (key, crt): (&Path, &Path),
    (context_kind, context_value): (&str, &str),
    subject_type: &str,
) -> (Value, String) {
    let xml = template_in(
        &challenge(sim).await,
        context_kind,
        context_value,
        subject_type,
    );
    let signed = xmlsec_sign(dir, &xml, key, crt);
    xades_login(sim, &signed).await
}
