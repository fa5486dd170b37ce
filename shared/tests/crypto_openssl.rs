//! Cross-checks ksef-core crypto against the `openssl` CLI: we encrypt/sign,
//! OpenSSL decrypts/verifies (guide §3.3, §4.1, §10.2).
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};
use std::process::Command;

use futures_util::FutureExt as _;
use ksef_core::crypto::{self, ParsedCertificate, SymmetricKey};
use ksef_core::qr::{CertificateLink, ContextType, OfflineSigningKey, QrEnvironment};

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ksef-core-openssl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A throw-away RSA key pair and self-signed certificate made by OpenSSL.
fn rsa_cert(dir_name: &str) -> (PathBuf, PathBuf) {
    let key = tmp(&format!("{dir_name}.key"));
    let cert = tmp(&format!("{dir_name}.der"));
    if !cert.exists() {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
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
            "/CN=Ministerstwo Finansow test/C=PL",
        ]);
    }
    (key, cert)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn openssl_decrypts_our_rsa_oaep_sha256_ksef_token() {
    let (key, cert_path) = rsa_cert("oaep");
    let cert = ParsedCertificate::from_der(&std::fs::read(&cert_path).unwrap()).unwrap();
    let b64 = crypto::encrypt_ksef_token(
        &cert,
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|abc",
        1_752_236_636_015,
        &mut rng(),
    )
    .now_or_never()
    .expect("the pure-Rust encrypter answers at once")
    .unwrap();
    let ct = tmp("token.bin");
    std::fs::write(&ct, crypto::base64_decode(&b64).unwrap()).unwrap();
    let plain = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        p(&key),
        "-in",
        p(&ct),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    ]);
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|abc|1752236636015"
    );
    // publicKeyId = Base64(SHA-256(SPKI DER)), computed independently by OpenSSL.
    let spki = openssl(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        p(&cert_path),
        "-pubkey",
        "-noout",
    ]);
    let spki_pem = tmp("spki.pem");
    std::fs::write(&spki_pem, spki).unwrap();
    let spki_der = openssl(&["pkey", "-pubin", "-in", p(&spki_pem), "-outform", "DER"]);
    assert_eq!(cert.public_key_id, crypto::sha256_base64(&spki_der));
}

#[test]
fn openssl_decrypts_our_session_key_and_aes_cbc_invoice() {
    let (key, cert_path) = rsa_cert("session");
    let cert = ParsedCertificate::from_der(&std::fs::read(&cert_path).unwrap()).unwrap();
    let sym = SymmetricKey::generate(&mut rng()).unwrap();
    let info = crypto::encryption_info(&cert, &sym, &mut rng())
        .now_or_never()
        .expect("the pure-Rust encrypter answers at once")
        .unwrap();
    let wrapped = tmp("wrapped.bin");
    std::fs::write(
        &wrapped,
        crypto::base64_decode(&info.encrypted_symmetric_key).unwrap(),
    )
    .unwrap();
    let aes_key = openssl(&[
        "pkeyutl",
        "-decrypt",
        "-inkey",
        p(&key),
        "-in",
        p(&wrapped),
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
    ]);
    assert_eq!(aes_key, sym.key);

    let invoice = "<Faktura>zażółć gęślą jaźń — 1234,56 PLN</Faktura>".repeat(7);
    let ct = sym.encrypt(invoice.as_bytes());
    assert_eq!(ct.len(), (invoice.len() / 16 + 1) * 16);
    let ct_path = tmp("invoice.enc");
    std::fs::write(&ct_path, &ct).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let plain = openssl(&[
        "enc",
        "-d",
        "-aes-256-cbc",
        "-K",
        &hex(&aes_key),
        "-iv",
        &hex(&crypto::base64_decode(&info.initialization_vector).unwrap()),
        "-in",
        p(&ct_path),
    ]);
    assert_eq!(plain, invoice.as_bytes());
}

#[test]
fn openssl_verifies_our_kod2_rsa_pss_signature() {
    let (key, cert_path) = rsa_cert("kod2");
    let pk8 = openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        p(&key),
        "-outform",
        "DER",
    ]);
    let signer = OfflineSigningKey::from_pkcs8_der(&pk8).unwrap();
    let link = CertificateLink {
        env: QrEnvironment::Test,
        context_type: ContextType::Nip,
        context_value: "5265877635",
        seller_nip: "5265877635",
        cert_serial: "01F20A5D352AE590",
        invoice_hash: &crypto::sha256_base64(b"<x/>"),
    };
    let url = link.sign(&signer, &mut rng()).unwrap();
    let data = link.data_to_sign().unwrap();
    assert!(url.starts_with(&format!("https://{data}/")));
    let sig_b64url = url.rsplit('/').next().unwrap();
    let std_b64 = sig_b64url.replace('-', "+").replace('_', "/");
    let padded = format!("{std_b64}{}", "=".repeat((4 - std_b64.len() % 4) % 4));
    let (sig_path, data_path, pub_path) = (tmp("kod2.sig"), tmp("kod2.txt"), tmp("kod2.pub"));
    std::fs::write(&sig_path, crypto::base64_decode(&padded).unwrap()).unwrap();
    std::fs::write(&data_path, data).unwrap();
    std::fs::write(
        &pub_path,
        openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            p(&cert_path),
            "-pubkey",
            "-noout",
        ]),
    )
    .unwrap();
    let out = openssl(&[
        "dgst",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-sigopt",
        "rsa_mgf1_md:sha256",
        "-verify",
        p(&pub_path),
        "-signature",
        p(&sig_path),
        p(&data_path),
    ]);
    assert!(String::from_utf8_lossy(&out).contains("Verified OK"));
    let cert = ParsedCertificate::from_der(&std::fs::read(&cert_path).unwrap()).unwrap();
    ksef_core::qr::verify_certificate_url(&url, &cert.spki_der).unwrap();
}

/// The short DER reader behind `ParsedCertificate` gives the same facts as `x509-cert` and
/// OpenSSL for certificates unlike each other: RSA and P-256 keys, a serial with its high bit
/// set (a leading zero octet), a validity past 2049 (GeneralizedTime), names with Polish letters
/// and KSeF's organizationIdentifier, and the MF test certificate.
#[test]
fn certificate_facts_match_x509_cert_and_openssl() {
    use x509_cert::der::{Decode, Encode};
    let mut ders = vec![(
        "mf-test",
        ParsedCertificate::from_base64(include_str!("fixtures/kod2-test-cert.b64"))
            .unwrap()
            .der,
    )];
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "rsa-short",
            "rsa:2048",
            "0x7F",
            "/CN=Łódź Żółć/O=Firma ąę/C=PL",
        ),
        (
            "ec-long",
            "ec",
            "0x80FF00",
            "/CN=Jan/2.5.4.97=VATPL-5265877635/serialNumber=TINPL-5265877635",
        ),
        ("rsa-2051", "rsa:2048", "0x00AB", "/CN=Daleko/C=PL"),
    ];
    for (name, kind, serial, subj) in cases {
        let key = tmp(&format!("facts-{name}.key"));
        let cert = tmp(&format!("facts-{name}.der"));
        let days = if name == "rsa-2051" { "9300" } else { "30" };
        let mut args = vec!["req", "-x509", "-nodes", "-utf8", "-keyout", p(&key)];
        if kind == "ec" {
            args.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        } else {
            args.extend(["-newkey", kind]);
        }
        args.extend([
            "-outform",
            "DER",
            "-out",
            p(&cert),
            "-days",
            days,
            "-subj",
            subj,
            "-set_serial",
            serial,
        ]);
        openssl(&args);
        ders.push((name, std::fs::read(&cert).unwrap()));
    }
    for (name, der) in ders {
        let ours = ParsedCertificate::from_der(&der).unwrap();
        let theirs = x509_cert::Certificate::from_der(&der).unwrap();
        let tbs = theirs.tbs_certificate();
        let serial = tbs.serial_number().as_bytes();
        let hex: String = serial.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(ours.serial_hex, hex, "{name}");
        assert_eq!(ours.issuer(), tbs.issuer().to_string(), "{name}");
        assert_eq!(ours.subject(), tbs.subject().to_string(), "{name}");
        assert_eq!(
            ours.spki_der,
            tbs.subject_public_key_info().to_der().unwrap(),
            "{name}"
        );
        let validity = tbs.validity();
        assert_eq!(
            ours.not_before_unix,
            validity.not_before.to_unix_duration().as_secs(),
            "{name}"
        );
        assert_eq!(
            ours.not_after_unix,
            validity.not_after.to_unix_duration().as_secs(),
            "{name}"
        );
        // OpenSSL's own reading of the serial and the end date.
        let file = tmp(&format!("facts-{name}-check.der"));
        std::fs::write(&file, &der).unwrap();
        let text = String::from_utf8(openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            p(&file),
            "-noout",
            "-serial",
            "-enddate",
        ]))
        .unwrap();
        let openssl_serial = text
            .lines()
            .find_map(|l| l.strip_prefix("serial="))
            .unwrap();
        assert_eq!(
            ours.serial_hex.trim_start_matches('0'),
            openssl_serial.trim_start_matches('0'),
            "{name}: {text}"
        );
        if name == "rsa-2051" {
            assert!(
                ours.not_after_unix > 2_524_608_000,
                "{name}: past 2050 ({text})"
            );
        }
    }
    assert!(
        ParsedCertificate::from_der(&[0x30, 0x03, 0x02, 0x01]).is_err(),
        "truncated"
    );
}
