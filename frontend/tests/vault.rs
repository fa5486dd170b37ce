//! The secret vault (PBKDF2 + AES-GCM via WebCrypto), in headless Chromium.
#![cfg(target_arch = "wasm32")]

use kwit_web::vault::{Vault, VaultError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn seal_and_open_round_trip_and_wrong_passphrase_is_rejected() {
    let (vault, meta) = Vault::create_with_iterations("dobre hasło 123", 1000)
        .await
        .unwrap();
    let secret = "20251124-EC-0123456789ABCDEF|nip-5265877635|secret";
    let sealed = vault.seal_str(secret).await.unwrap();
    assert!(
        !sealed.data.contains("secret"),
        "ciphertext does not carry the plaintext"
    );
    assert_eq!(vault.open_str(&sealed).await.unwrap(), secret);
    // Fresh IV each time: the same secret seals differently.
    let again = vault.seal_str(secret).await.unwrap();
    assert_ne!(again.iv, sealed.iv);
    assert_ne!(again.data, sealed.data);

    // The stored metadata unlocks with the same passphrase and opens old secrets.
    let reopened = Vault::unlock("dobre hasło 123", &meta).await.unwrap();
    assert_eq!(reopened.open_str(&sealed).await.unwrap(), secret);

    // A wrong passphrase is refused.
    assert_eq!(
        Vault::unlock("złe hasło 1234", &meta).await.unwrap_err(),
        VaultError::WrongPassphrase
    );

    // A tampered ciphertext fails authentication.
    let mut bad = sealed.clone();
    bad.data = {
        let mut d = bad.data.into_bytes();
        d[2] = if d[2] == b'A' { b'B' } else { b'A' };
        String::from_utf8(d).unwrap()
    };
    assert_eq!(vault.open(&bad).await.unwrap_err(), VaultError::Corrupt);

    // A secret from another vault does not open.
    let (other, _) = Vault::create_with_iterations("inne hasło 987", 1000)
        .await
        .unwrap();
    assert_eq!(other.open(&sealed).await.unwrap_err(), VaultError::Corrupt);
}

#[wasm_bindgen_test]
async fn short_passphrase_is_refused() {
    assert_eq!(
        Vault::create_with_iterations("krótkie", 1000)
            .await
            .unwrap_err(),
        VaultError::WeakPassphrase
    );
}
