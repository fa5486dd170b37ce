//! The worker's operations against certificates and keys made by the `openssl` CLI, and the
#![cfg(not(target_arch = "wasm32"))]
//! message protocol as the app speaks it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use kwit_signer::{
    Envelope, KeyAlgorithm, Reply, Request, SignerError, handle, handle_message, key_and_csr, load,
    ready_message, sign_auth,
};

const NIP: &str = "5265877635";

/// Now, Unix seconds (the certificates are made now, valid for 10 years).
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The date `days` from today, `YYYY-MM-DD` (as the worker shows validity).
fn date_in(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

/// Runs a future that needs no I/O (the worker's offline operations) to completion.
fn run<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("an offline operation waited"),
    }
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("kwit-signer-ops-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir())
        .output()
        .expect("openssl CLI installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A self-signed TINPL certificate and its PKCS#8 key; `algorithm` is `openssl genpkey` syntax.
fn pair(name: &str, algorithm: &[&str]) -> (String, String) {
    let key = format!("{name}.key");
    let cert = format!("{name}.pem");
    let mut args = vec!["genpkey", "-out", &key];
    args.extend_from_slice(algorithm);
    openssl(&args);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &key,
        "-out",
        &cert,
        "-days",
        "3652",
        "-subj",
        &format!("/CN=Jan Testowy/serialNumber=TINPL-{NIP}/C=PL"),
    ]);
    let read = |f: &str| std::fs::read_to_string(dir().join(f)).unwrap();
    (read(&cert), read(&key))
}

fn rsa() -> (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(|| {
        pair(
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        )
    })
    .clone()
}

fn ec() -> (String, String) {
    static PAIR: OnceLock<(String, String)> = OnceLock::new();
    PAIR.get_or_init(|| {
        pair(
            "ec",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        )
    })
    .clone()
}

fn check(certificate_pem: &str, key_pem: &str, now_unix: u64) -> Result<Reply, SignerError> {
    handle(Request::Check {
        certificate_pem: certificate_pem.into(),
        key_pem: key_pem.into(),
        now_unix,
    })
}

fn failed(error: SignerError) -> Result<Reply, SignerError> {
    Err(error)
}

#[test]
fn matching_rsa_and_ec_pairs_are_accepted_with_their_facts() {
    for ((cert, key), key_type) in [(rsa(), "RSA"), (ec(), "EC P-256")] {
        let (_, facts) = load(&cert, &key, now()).unwrap();
        assert!(facts.subject.contains(&format!("TINPL-{NIP}")), "{facts:?}");
        assert_eq!(facts.valid_from, date_in(0));
        assert_eq!(facts.valid_to, date_in(3652));
        assert_eq!(facts.key_type, key_type);
        assert_eq!(facts.subject_nip.as_deref(), Some(NIP));
        let summary = check(&cert, &key, now()).unwrap().summary;
        assert_eq!(summary, Some(facts.summary()));
    }
}

#[test]
fn a_key_of_another_certificate_is_refused() {
    let (rsa_cert, rsa_key) = rsa();
    let (ec_cert, ec_key) = ec();
    assert_eq!(
        check(&rsa_cert, &ec_key, now()),
        failed(SignerError::KeyMismatch)
    );
    assert_eq!(
        check(&ec_cert, &rsa_key, now()),
        failed(SignerError::KeyMismatch)
    );
    let (_, other_rsa_key) = pair("rsa-other", &["-algorithm", "RSA"]);
    assert_eq!(
        check(&rsa_cert, &other_rsa_key, now()),
        failed(SignerError::KeyMismatch)
    );
}

#[test]
fn validity_is_checked_against_the_given_time() {
    let (cert, key) = ec();
    assert_eq!(
        check(&cert, &key, now() + 11 * 366 * 86_400),
        failed(SignerError::Expired(date_in(3652)))
    );
    assert_eq!(
        check(&cert, &key, now() - 2 * 86_400),
        failed(SignerError::NotYetValid(date_in(0)))
    );
}

#[test]
fn unreadable_encrypted_legacy_and_unsupported_keys_say_so() {
    let (cert, _) = ec();
    let (p384_cert, p384_key) = pair(
        "p384",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    assert_eq!(
        check(&p384_cert, &p384_key, now()),
        failed(SignerError::UnsupportedKey)
    );
    pair("legacy", &["-algorithm", "RSA"]);
    let legacy =
        String::from_utf8(openssl(&["pkey", "-in", "legacy.key", "-traditional"])).unwrap();
    assert!(legacy.contains("BEGIN RSA PRIVATE KEY"));
    assert_eq!(
        check(&cert, &legacy, now()),
        failed(SignerError::LegacyKeyFormat)
    );
    let encrypted = String::from_utf8(openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        "legacy.key",
        "-passout",
        "pass:tajne",
        "-v2",
        "aes-256-cbc",
    ]))
    .unwrap();
    assert_eq!(
        check(&cert, &encrypted, now()),
        failed(SignerError::EncryptedKey)
    );
    assert_eq!(check(&cert, "klucz", now()), failed(SignerError::BadKey));
    assert_eq!(
        check("certyfikat", &encrypted, now()),
        failed(SignerError::BadCertificate)
    );
    // Every message is written in Polish and in English, each on its own.
    for e in [
        SignerError::KeyMismatch,
        SignerError::UnsupportedKey,
        SignerError::Expired("2036-01-01".into()),
    ] {
        let failure = e.failure();
        assert_ne!(failure.pl, failure.en);
        assert!(
            !failure.pl.contains(" / ") && !failure.en.contains(" / "),
            "{failure:?}"
        );
        assert_eq!(e.to_string(), failure.pl);
    }
    assert!(
        SignerError::Expired("2036-01-01".into())
            .failure()
            .en
            .contains("expired on 2036-01-01")
    );
}

#[test]
fn the_auth_token_request_is_signed_for_the_challenge_and_nip() {
    for (cert, key) in [rsa(), ec()] {
        let xml = sign_auth(
            &cert,
            &key,
            "20261124-CR-0000000001-ABCDEF0123-01",
            NIP,
            now(),
        );
        let xml = match xml {
            Ok(xml) => xml,
            Err(e) => panic!("{e}"),
        };
        assert!(xml.contains("<Challenge>20261124-CR-0000000001-ABCDEF0123-01</Challenge>"));
        assert!(xml.contains(&format!("<Nip>{NIP}</Nip>")));
        assert!(xml.contains("<ds:SignatureValue>"));
        assert!(xml.contains(&format!("<xades:SigningTime>{}T", date_in(0))));
        // xmlsec1 verifies the signature with the certificate's key.
        let base = dir().join(format!("signed-{}.xml", xml.len()));
        std::fs::write(&base, &xml).unwrap();
        std::fs::write(dir().join("signer.pem"), &cert).unwrap();
        let out = Command::new("xmlsec1")
            .args(["--verify", "--pubkey-cert-pem"])
            .arg(dir().join("signer.pem"))
            .args(["--id-attr:Id", "SignedProperties"])
            .arg(&base)
            .output()
            .expect("xmlsec1 installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_generated_ec_key_comes_with_a_csr_openssl_verifies() {
    let data: ksef_core::api::certificates::enrollment_data::Response =
        serde_json::from_str(&format!(
            r#"{{"commonName":"Firma Demo","countryName":"PL","organizationName":"Firma Demo","organizationIdentifier":"VATPL-{NIP}"}}"#
        ))
        .unwrap();
    let (csr, key_pem) = key_and_csr(KeyAlgorithm::EcP256, &data).unwrap();
    std::fs::write(dir().join("gen.csr"), csr).unwrap();
    std::fs::write(dir().join("gen.key"), &key_pem).unwrap();
    let text = String::from_utf8(openssl(&[
        "req", "-in", "gen.csr", "-inform", "DER", "-verify", "-noout", "-subject",
    ]))
    .unwrap();
    assert!(text.contains(&format!("VATPL-{NIP}")), "{text}");
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    // The key in the answer is the CSR's key.
    let csr_pub = openssl(&[
        "req", "-in", "gen.csr", "-inform", "DER", "-pubkey", "-noout",
    ]);
    let key_pub = openssl(&["pkey", "-in", "gen.key", "-pubout"]);
    assert_eq!(csr_pub, key_pub);
}

#[test]
fn messages_carry_their_id_and_bad_ones_fail_without_panicking() {
    let ready: Envelope<Reply> = serde_json::from_str(&ready_message()).unwrap();
    assert_eq!(
        ready,
        Envelope {
            id: 0,
            body: Reply {
                ready: true,
                ..Reply::default()
            }
        }
    );
    let (cert, key) = ec();
    let request = serde_json::to_string(&Envelope {
        id: 7,
        body: Request::Check {
            certificate_pem: cert,
            key_pem: key,
            now_unix: now(),
        },
    })
    .unwrap();
    let reply: Envelope<Reply> = serde_json::from_str(&run(handle_message(&request))).unwrap();
    assert_eq!(reply.id, 7);
    assert!(reply.body.summary.is_some(), "{reply:?}");
    assert_eq!(reply.body.failure, None);
    let bad: Envelope<Reply> =
        serde_json::from_str(&run(handle_message(r#"{"id":9,"body":{"op":"nope"}}"#))).unwrap();
    assert_eq!(bad.id, 9);
    let failure = bad.body.failure.unwrap_or_default();
    assert!(failure.pl.starts_with("Błąd modułu podpisu"), "{failure:?}");
    assert!(
        failure.en.starts_with("Signing module error"),
        "{failure:?}"
    );
    // A failure travels as its message.
    let request = serde_json::to_string(&Envelope {
        id: 8,
        body: Request::Check {
            certificate_pem: ec().0,
            key_pem: rsa().1,
            now_unix: now(),
        },
    })
    .unwrap();
    let reply: Envelope<Reply> = serde_json::from_str(&run(handle_message(&request))).unwrap();
    assert_eq!(
        reply,
        Envelope {
            id: 8,
            body: Reply {
                failure: Some(SignerError::KeyMismatch.failure()),
                ..Reply::default()
            }
        }
    );
}
