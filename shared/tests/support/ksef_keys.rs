//! KSeF's key pair for the canned-response tests' fake KSeF, made once per test binary by the
//! OpenSSL CLI (a real RSA certificate, so the flows' encryption is real). Included with `#[path]`
//! by `flows_canned`, `sync_canned` and `send_machine`.

use rsa::pkcs8::DecodePrivateKey;

/// The certificate (base64 DER, as KSeF publishes it) and its private key.
pub fn ksef_keys() -> (String, rsa::PrivateKey) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (cert_b64, pem) = KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ksef-core-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("k.pem"), dir.join("c.der"));
        let out = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .args(["-outform", "DER", "-out"])
            .arg(&cert)
            .args(["-days", "2", "-subj", "/CN=Ministerstwo Finansow/C=PL"])
            .output()
            .expect("openssl CLI installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            ksef_core::crypto::base64_encode(&std::fs::read(&cert).unwrap()),
            std::fs::read_to_string(&key).unwrap(),
        )
    });
    (
        cert_b64.clone(),
        rsa::PrivateKey::from_pkcs8_pem(pem).unwrap(),
    )
}
