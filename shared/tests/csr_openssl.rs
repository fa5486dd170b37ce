//! CSRs and generated keys checked by an independent implementation, the `openssl` CLI:
//! it verifies the self-signature and prints the subject we built from enrollment data.
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;
use std::process::Command;

use ksef_core::api::certificates::enrollment_data::Response as EnrollmentData;
use ksef_core::csr::build_csr;
use ksef_core::xades::SigningKey;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksef-core-csr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs openssl; returns (stdout, stderr), panicking with stderr on failure.
fn openssl(args: &[&str]) -> (String, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI installed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "openssl {args:?}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A natural person's data (every attribute KSeF may return, Polish letters included).
fn person() -> EnrollmentData {
    EnrollmentData {
        common_name: "Zażółć Gęślą".into(),
        country_name: "PL".into(),
        given_name: Some("Zażółć".into()),
        surname: Some("Gęślą".into()),
        serial_number: Some("TINPL-5265877635".into()),
        unique_identifier: Some("a1b2c3d4-0001".into()),
        organization_name: Some("Jaźń sp. z o.o.".into()),
        organization_identifier: Some("VATPL-5265877635".into()),
    }
}

/// A company seal as the simulator returns it (optional attributes missing).
fn seal() -> EnrollmentData {
    EnrollmentData {
        common_name: "Nip 5265877635".into(),
        country_name: "PL".into(),
        given_name: None,
        surname: None,
        serial_number: None,
        unique_identifier: None,
        organization_name: Some("Podmiot 5265877635".into()),
        organization_identifier: Some("VATPL-5265877635".into()),
    }
}

/// Verifies `csr` with openssl; returns the subject it prints (in encoded order, UTF-8)
/// and the text dump.
fn verify(name: &str, csr: &[u8]) -> (String, String) {
    let path = tmp(name);
    std::fs::write(&path, csr).unwrap();
    let path = path.to_str().unwrap();
    let (_, stderr) = openssl(&["req", "-verify", "-noout", "-inform", "DER", "-in", path]);
    assert!(
        stderr.contains("verify OK"),
        "openssl did not verify the CSR: {stderr}"
    );
    let (subject, _) = openssl(&[
        "req",
        "-noout",
        "-inform",
        "DER",
        "-in",
        path,
        "-subject",
        "-nameopt",
        "sep_comma_plus_space,utf8,-esc_msb,sname",
    ]);
    let (text, _) = openssl(&["req", "-noout", "-text", "-inform", "DER", "-in", path]);
    (subject.trim().to_string(), text)
}

const PERSON_SUBJECT: &str = "subject=CN=Zażółć Gęślą, SN=Gęślą, GN=Zażółć, O=Jaźń sp. z o.o., organizationIdentifier=VATPL-5265877635, C=PL, serialNumber=TINPL-5265877635, x500UniqueIdentifier=a1b2c3d4-0001";

#[test]
fn rsa_csr_is_verified_by_openssl_with_the_enrollment_subject() {
    let key = SigningKey::generate_rsa2048(&mut rng()).unwrap();
    let csr = build_csr(&person(), &key).unwrap();
    let (subject, text) = verify("person-rsa.der", &csr);
    assert_eq!(subject, PERSON_SUBJECT);
    assert!(text.contains("sha256WithRSAEncryption"), "{text}");
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");

    // String types as the ministry's client writes them: C and serialNumber PrintableString.
    let path = tmp("person-rsa.der");
    let (asn1, _) = openssl(&["asn1parse", "-inform", "DER", "-in", path.to_str().unwrap()]);
    let types: Vec<&str> = asn1
        .lines()
        .filter(|l| l.contains("PRINTABLESTRING") || l.contains("UTF8STRING"))
        .map(|l| {
            if l.contains("PRINTABLESTRING") {
                "P"
            } else {
                "U"
            }
        })
        .collect();
    assert_eq!(types, ["U", "U", "U", "U", "U", "P", "P", "U"], "{asn1}");
    // No attributes, like OpenSSL and .NET (an empty extensionRequest would break RFC 5280).
    assert!(!asn1.contains("Extension Request"), "{asn1}");
}

#[test]
fn ec_csr_is_verified_by_openssl_with_the_enrollment_subject() {
    let key = SigningKey::generate_p256(&mut rng()).unwrap();
    let csr = build_csr(&person(), &key).unwrap();
    let (subject, text) = verify("person-ec.der", &csr);
    assert_eq!(subject, PERSON_SUBJECT);
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
    assert!(text.contains("prime256v1"), "{text}");

    let csr = build_csr(&seal(), &key).unwrap();
    let (subject, _) = verify("seal-ec.der", &csr);
    assert_eq!(
        subject,
        "subject=CN=Nip 5265877635, O=Podmiot 5265877635, organizationIdentifier=VATPL-5265877635, C=PL"
    );
}

#[test]
fn csr_carries_the_public_key_of_the_signing_key() {
    let key = SigningKey::generate_p256(&mut rng()).unwrap();
    let csr = build_csr(&seal(), &key).unwrap();
    let path = tmp("pubkey.der");
    std::fs::write(&path, &csr).unwrap();
    let out = Command::new("openssl")
        .args(["req", "-noout", "-pubkey", "-inform", "DER", "-in"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        ksef_core::xades::pem_or_der(pem.as_bytes()).unwrap(),
        key.public_key_der().unwrap()
    );
}

#[test]
fn generated_keys_round_trip_through_pkcs8_and_openssl_reads_them() {
    for (name, key) in [
        ("ec", SigningKey::generate_p256(&mut rng()).unwrap()),
        ("rsa", SigningKey::generate_rsa2048(&mut rng()).unwrap()),
    ] {
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        let back = SigningKey::from_pkcs8(pem.as_bytes()).unwrap();
        assert_eq!(
            back.public_key_der().unwrap(),
            key.public_key_der().unwrap()
        );
        assert_eq!(back.to_pkcs8_der().unwrap(), key.to_pkcs8_der().unwrap());
        assert_eq!(
            std::mem::discriminant(&back),
            std::mem::discriminant(&key),
            "{name}"
        );

        // OpenSSL derives the same public key from our PKCS#8.
        let path = tmp(&format!("{name}.pem"));
        std::fs::write(&path, &pem).unwrap();
        let (spki_pem, _) = openssl(&["pkey", "-pubout", "-in", path.to_str().unwrap()]);
        assert_eq!(
            ksef_core::xades::pem_or_der(spki_pem.as_bytes()).unwrap(),
            key.public_key_der().unwrap(),
            "{name}"
        );
    }
}
