//! `POST /auth/xades-signature` over real HTTP, with documents signed independently by the
//! `xmlsec1` CLI (Debian package `xmlsec1`) and certificates made by `openssl req -x509`.

mod common;

use common::xades::*;
use common::*;
use serde_json::json;

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
