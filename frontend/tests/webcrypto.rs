//! ksef-core's encryption through the browser's WebCrypto: what [`WebCrypto`] wraps for KSeF
//! opens with the matching private key, and a broken key is refused with an error.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Uint8Array};
use ksef_core::crypto::{Encrypter, SymmetricKey};
use ksef_core::error::Error;
use kwit_web::webcrypto::{WebCrypto, obj, subtle, usages};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::CryptoKey;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh RSA-2048 OAEP key pair made by the browser: (SPKI DER, private key).
async fn key_pair() -> (Vec<u8>, CryptoKey) {
    let subtle = subtle().unwrap();
    let params = obj(&[
        ("name", "RSA-OAEP".into()),
        ("modulusLength", 2048.into()),
        ("publicExponent", Uint8Array::from(&[1u8, 0, 1][..]).into()),
        ("hash", "SHA-256".into()),
    ]);
    let pair: Object = JsFuture::from(
        subtle
            .generate_key_with_object(&params, true, &usages(&["encrypt", "decrypt"]))
            .unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let get = |k: &str| -> CryptoKey {
        js_sys::Reflect::get(&pair, &k.into())
            .unwrap()
            .unchecked_into()
    };
    let spki = JsFuture::from(subtle.export_key("spki", &get("publicKey")).unwrap())
        .await
        .unwrap();
    (Uint8Array::new(&spki).to_vec(), get("privateKey"))
}

async fn decrypt(key: &CryptoKey, sealed: &[u8]) -> Vec<u8> {
    let out = JsFuture::from(
        subtle()
            .unwrap()
            .decrypt_with_object_and_u8_array(&obj(&[("name", "RSA-OAEP".into())]), key, sealed)
            .unwrap(),
    )
    .await
    .unwrap();
    Uint8Array::new(&out).to_vec()
}

#[wasm_bindgen_test]
async fn a_session_key_wrapped_by_webcrypto_opens_with_the_private_key() {
    let (spki, private) = key_pair().await;
    let key = SymmetricKey::generate(&mut WebCrypto).unwrap();
    let sealed = WebCrypto.rsa_oaep_sha256(&spki, &key.key).await.unwrap();
    assert_eq!(sealed.len(), 256, "RSA-2048 output");
    assert_eq!(decrypt(&private, &sealed).await, key.key);
    // OAEP is randomised: the same key wraps differently each time.
    let again = WebCrypto.rsa_oaep_sha256(&spki, &key.key).await.unwrap();
    assert_ne!(sealed, again);
}

#[wasm_bindgen_test]
async fn random_keys_differ() {
    let a = SymmetricKey::generate(&mut WebCrypto).unwrap();
    let b = SymmetricKey::generate(&mut WebCrypto).unwrap();
    assert_ne!(a.key, b.key);
    assert_ne!(a.iv, b.iv);
}

#[wasm_bindgen_test]
async fn a_damaged_public_key_is_an_invalid_certificate() {
    let (mut spki, _) = key_pair().await;
    spki.truncate(40);
    let err = WebCrypto.rsa_oaep_sha256(&spki, b"x").await.unwrap_err();
    assert!(matches!(err, Error::InvalidCertificate(_)), "{err:?}");
}

#[wasm_bindgen_test]
async fn aes_and_sha_through_webcrypto_match_the_guide_vectors() {
    // ksef-guide vector B.4: key and IV 0..31 / 0..15, plaintext "<x/>".
    let key = SymmetricKey {
        key: std::array::from_fn(|i| i as u8),
        iv: std::array::from_fn(|i| i as u8),
    };
    let sealed = WebCrypto.aes256_cbc_encrypt(&key, b"<x/>").await.unwrap();
    assert_eq!(
        ksef_core::crypto::base64_encode(&sealed),
        "2VzOCIgw18VhNcMQyRT+nQ=="
    );
    let digest = WebCrypto.sha256(&sealed).await.unwrap();
    assert_eq!(
        ksef_core::crypto::base64_encode(&digest),
        "K4I2hYRy0pOGGY2Fw+fP+gEHalAjPxrbgfwHH0CHXxA="
    );
    // A block-sized plaintext gets a whole block of padding, as the pure-Rust one does.
    let block = WebCrypto
        .aes256_cbc_encrypt(&key, b"0123456789abcdef")
        .await
        .unwrap();
    assert_eq!(block, key.encrypt(b"0123456789abcdef"));
}
