//! The browser's WebCrypto: the small helpers the vault and the KSeF encryption share, and
//! [`WebCrypto`], ksef-core's [`Encrypter`] on `crypto.subtle`. RSA-OAEP, AES-CBC and SHA-256
//! run in the browser's own code, off the page's main thread and about six times faster than
//! the pure-Rust ones on a 1 MB invoice (`./kwit bench`); the pure-Rust RSA stays out of the
//! first load.

use std::future::Future;

use js_sys::{Array, Object, Reflect, Uint8Array};
use ksef_core::crypto::{Encrypter, SymmetricKey};
use ksef_core::error::{Error, Result};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// `crypto.subtle` of the page or worker; `Err` names what is missing.
pub fn subtle() -> std::result::Result<SubtleCrypto, String> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(|c| !c.is_undefined())
        .ok_or_else(|| "no crypto".to_owned())?;
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
}

/// A plain JS object from key/value pairs (WebCrypto's algorithm parameters).
pub fn obj(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

/// A key-usages array, e.g. `["encrypt"]`.
pub fn usages(list: &[&str]) -> JsValue {
    list.iter()
        .map(|u| JsValue::from_str(u))
        .collect::<Array>()
        .into()
}

/// The name of a WebCrypto failure (`OperationError`, `DataError`, …).
pub fn error_name(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(e, &JsValue::from_str("name"))
                .ok()
                .and_then(|n| n.as_string())
        })
        .unwrap_or_else(|| "WebCrypto".into())
}

/// Randomness from `crypto.getRandomValues` and RSA-OAEP from `crypto.subtle`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebCrypto;

fn crypto_error(what: &str) -> Error {
    Error::Crypto(format!("WebCrypto: {what}"))
}

impl Encrypter for WebCrypto {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| crypto_error(&e.to_string()))
    }

    fn rsa_oaep_sha256(
        &mut self,
        spki_der: &[u8],
        message: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>>> {
        let spki = Uint8Array::from(spki_der);
        let message = message.to_vec();
        async move {
            let subtle = subtle().map_err(|e| crypto_error(&e))?;
            let algorithm = obj(&[("name", "RSA-OAEP".into()), ("hash", "SHA-256".into())]);
            let key: CryptoKey = JsFuture::from(
                subtle
                    .import_key_with_object("spki", &spki, &algorithm, false, &usages(&["encrypt"]))
                    .map_err(|e| crypto_error(&error_name(&e)))?,
            )
            .await
            .map_err(|e| Error::InvalidCertificate(format!("RSA: {}", error_name(&e))))?
            .unchecked_into();
            let sealed = JsFuture::from(
                subtle
                    .encrypt_with_object_and_u8_array(
                        &obj(&[("name", "RSA-OAEP".into())]),
                        &key,
                        &message,
                    )
                    .map_err(|e| crypto_error(&error_name(&e)))?,
            )
            .await
            .map_err(|e| crypto_error(&error_name(&e)))?;
            Ok(Uint8Array::new(&sealed).to_vec())
        }
    }

    fn aes256_cbc_encrypt(
        &mut self,
        key: &SymmetricKey,
        plaintext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>>> {
        let (raw, iv) = (
            Uint8Array::from(&key.key[..]),
            Uint8Array::from(&key.iv[..]),
        );
        let plaintext = plaintext.to_vec();
        async move {
            let subtle = subtle().map_err(|e| crypto_error(&e))?;
            let fail = |e: JsValue| crypto_error(&error_name(&e));
            let aes: CryptoKey = JsFuture::from(
                subtle
                    .import_key_with_str("raw", &raw, "AES-CBC", false, &usages(&["encrypt"]))
                    .map_err(fail)?,
            )
            .await
            .map_err(fail)?
            .unchecked_into();
            // WebCrypto's AES-CBC pads with PKCS#7, as KSeF expects.
            let params = obj(&[("name", "AES-CBC".into()), ("iv", iv.into())]);
            let sealed = JsFuture::from(
                subtle
                    .encrypt_with_object_and_u8_array(&params, &aes, &plaintext)
                    .map_err(fail)?,
            )
            .await
            .map_err(fail)?;
            Ok(Uint8Array::new(&sealed).to_vec())
        }
    }

    fn sha256(&mut self, bytes: &[u8]) -> impl Future<Output = Result<[u8; 32]>> {
        let bytes = bytes.to_vec();
        async move {
            let subtle = subtle().map_err(|e| crypto_error(&e))?;
            let fail = |e: JsValue| crypto_error(&error_name(&e));
            let digest = JsFuture::from(
                subtle
                    .digest_with_str_and_u8_array("SHA-256", &bytes)
                    .map_err(fail)?,
            )
            .await
            .map_err(fail)?;
            Uint8Array::new(&digest)
                .to_vec()
                .try_into()
                .map_err(|_| crypto_error("SHA-256"))
        }
    }
}
