//! KSeF cryptography in pure Rust (wasm32 and native): X.509 public keys,
//! RSA-OAEP-SHA256 key/token wrapping, AES-256-CBC/PKCS#7 and SHA-256 metadata.
//!
//! Parameters: /work/shared/ksef-guide.md §2, §3.3, §4.1 (ksef-docs `uwierzytelnianie.md`,
//! `sesja-interaktywna.md`). Randomness and RSA-OAEP come in as an [`Encrypter`]: with the
//! `native-crypto` feature any `rand_core` generator is one (pure-Rust RSA); the browser's main
//! module leaves the feature off and passes WebCrypto, which is faster and keeps the RSA code
//! out of the first load.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use std::future::Future;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_cert::der::Decode;

use crate::error::{Error, Result};

mod der;

/// SHA-256 of `bytes`, standard Base64 (the KSeF `invoiceHash`, `publicKeyId`, …).
pub fn sha256_base64(bytes: &[u8]) -> String {
    B64.encode(Sha256::digest(bytes))
}

/// SHA-256 of `bytes`, Base64URL without padding (used in QR links).
pub fn sha256_base64url(bytes: &[u8]) -> String {
    B64URL.encode(Sha256::digest(bytes))
}

/// Raw SHA-256 digest.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Hash and size of a file, as KSeF wants them for invoices, parts and packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMetadata {
    /// Base64 SHA-256.
    pub hash: String,
    /// Length in bytes.
    pub size: u64,
}

impl FileMetadata {
    /// Computes hash and size of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            hash: sha256_base64(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// A fresh AES-256 key and CBC IV for one session or export (§4.1).
#[derive(Clone, PartialEq, Eq)]
pub struct SymmetricKey {
    /// 32-byte AES-256 key.
    pub key: [u8; 32],
    /// 16-byte CBC initialisation vector (sent to KSeF, not prepended to ciphertext).
    pub iv: [u8; 16],
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("SymmetricKey { .. }")
    }
}

impl SymmetricKey {
    /// Draws a random key and IV from `rng`.
    pub fn generate<E: Encrypter + ?Sized>(rng: &mut E) -> Result<Self> {
        let mut key = [0u8; 32];
        let mut iv = [0u8; 16];
        rng.fill(&mut key)?;
        rng.fill(&mut iv)?;
        Ok(Self { key, iv })
    }

    /// AES-256-CBC with PKCS#7 padding; output is the ciphertext only.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        aes256_cbc_encrypt(&self.key, &self.iv, plaintext)
    }

    /// Inverse of [`SymmetricKey::encrypt`] (export packages are decrypted with it).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        aes256_cbc_decrypt(&self.key, &self.iv, ciphertext)
    }

    /// Base64 of the IV, as sent in `encryption.initializationVector`.
    pub fn iv_base64(&self) -> String {
        B64.encode(self.iv)
    }
}

/// AES-256-CBC/PKCS#7 encryption (guide §4.1, vector B.4).
pub fn aes256_cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
}

/// AES-256-CBC/PKCS#7 decryption.
pub fn aes256_cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Result<Vec<u8>> {
    cbc::Decryptor::<Aes256>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| {
            Error::Crypto("nie można odszyfrować danych AES / cannot decrypt AES data".into())
        })
}

/// Usage of a KSeF public key certificate (`usage[]` in §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyUsage {
    /// Encrypts the KSeF token at login.
    KsefTokenEncryption,
    /// Encrypts the AES key of sessions and exports.
    SymmetricKeyEncryption,
}

impl KeyUsage {
    /// Name as used by KSeF.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KsefTokenEncryption => "KsefTokenEncryption",
            Self::SymmetricKeyEncryption => "SymmetricKeyEncryption",
        }
    }
}

/// A parsed X.509 certificate with the facts the protocol needs.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    /// DER bytes of the certificate.
    pub der: Vec<u8>,
    /// DER bytes of the SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// Base64(SHA-256(SPKI DER)) — KSeF's `publicKeyId`.
    pub public_key_id: String,
    /// Base64(SHA-256(certificate DER)) — KSeF's `certificateId`.
    pub certificate_id: String,
    /// Serial number, uppercase hex with leading zeros (KOD II `certSerial`).
    pub serial_hex: String,
    /// Serial number as a decimal string (XAdES `X509SerialNumber`).
    pub serial_decimal: String,
    /// The issuer `Name` as DER (see [`Self::issuer`]).
    pub issuer_der: Vec<u8>,
    /// The subject `Name` as DER (see [`Self::subject`]).
    pub subject_der: Vec<u8>,
    /// notBefore as Unix seconds.
    pub not_before_unix: u64,
    /// notAfter as Unix seconds.
    pub not_after_unix: u64,
}

impl ParsedCertificate {
    /// Parses a DER certificate. Names stay DER until [`Self::issuer`] or [`Self::subject`]
    /// asks for them, so code that only encrypts with a KSeF key never links the X.509 name
    /// decoder (the browser's first load).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let facts = der::read_certificate(der).map_err(Error::InvalidCertificate)?;
        let seconds = |t: i64| {
            u64::try_from(t).map_err(|_| Error::InvalidCertificate("validity before 1970".into()))
        };
        Ok(Self {
            der: der.to_vec(),
            public_key_id: sha256_base64(facts.spki),
            certificate_id: sha256_base64(der),
            serial_hex: facts.serial.iter().map(|b| format!("{b:02X}")).collect(),
            serial_decimal: bytes_to_decimal(facts.serial),
            issuer_der: facts.issuer.to_vec(),
            subject_der: facts.subject.to_vec(),
            not_before_unix: seconds(facts.not_before)?,
            not_after_unix: seconds(facts.not_after)?,
            spki_der: facts.spki.to_vec(),
        })
    }

    /// Issuer DN in RFC 4514 form (XAdES `X509IssuerName`).
    pub fn issuer(&self) -> String {
        rfc4514(&self.issuer_der)
    }

    /// Subject DN in RFC 4514 form.
    pub fn subject(&self) -> String {
        rfc4514(&self.subject_der)
    }

    /// Parses Base64 DER (KSeF's `certificate` field; PEM armour is tolerated).
    pub fn from_base64(b64: &str) -> Result<Self> {
        let body: String = b64
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
            .split_whitespace()
            .collect();
        let der = B64
            .decode(body)
            .map_err(|e| Error::InvalidCertificate(format!("Base64: {e}")))?;
        Self::from_der(&der)
    }

    /// The RSA public key inside the certificate.
    #[cfg(feature = "native-crypto")]
    pub fn rsa_public_key(&self) -> Result<rsa::PublicKey> {
        <rsa::PublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_der(&self.spki_der)
            .map_err(|e| Error::InvalidCertificate(format!("RSA: {e}")))
    }

    /// True when `now_unix` lies within the validity period.
    pub fn is_valid_at(&self, now_unix: u64) -> bool {
        self.not_before_unix <= now_unix && now_unix <= self.not_after_unix
    }
}

/// A DER `Name` in RFC 4514 form; the bytes came out of a parsed certificate, so a
/// failure here is one `x509-cert` finds in a name the short reader let through.
fn rfc4514(name_der: &[u8]) -> String {
    x509_cert::name::Name::from_der(name_der)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

/// Big-endian unsigned bytes to a decimal string (no bignum crate needed).
fn bytes_to_decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base-10 digits
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in &mut digits {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// The randomness and the RSA-OAEP that encrypting for KSeF needs, behind one trait so the
/// browser can use WebCrypto and native code the pure-Rust `rsa` crate.
pub trait Encrypter {
    /// Fills `buf` with cryptographically secure random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<()>;

    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label (§3.3 step 3), with the RSA key
    /// in `spki_der` (a KSeF certificate's SubjectPublicKeyInfo).
    fn rsa_oaep_sha256(
        &mut self,
        spki_der: &[u8],
        message: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>>>;

    /// AES-256-CBC/PKCS#7 of `plaintext` (the invoice); pure Rust unless the implementer has
    /// something faster (WebCrypto is ~6× faster on a 1 MB invoice, `./kwit bench`).
    fn aes256_cbc_encrypt(
        &mut self,
        key: &SymmetricKey,
        plaintext: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>>> {
        std::future::ready(Ok(key.encrypt(plaintext)))
    }

    /// SHA-256 of `bytes`; pure Rust unless the implementer has something faster.
    fn sha256(&mut self, bytes: &[u8]) -> impl Future<Output = Result<[u8; 32]>> {
        std::future::ready(Ok(sha256(bytes)))
    }
}

/// Any `rand_core` generator encrypts with the pure-Rust `rsa` crate.
#[cfg(feature = "native-crypto")]
impl<R: rand_core::TryCryptoRng + ?Sized> Encrypter for R {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.try_fill_bytes(buf)
            .map_err(|_| Error::Crypto("generator liczb losowych zawiódł / RNG failure".into()))
    }

    fn rsa_oaep_sha256(
        &mut self,
        spki_der: &[u8],
        message: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>>> {
        use rsa::pkcs8::DecodePublicKey;
        let result = rsa::PublicKey::from_public_key_der(spki_der)
            .map_err(|e| Error::InvalidCertificate(format!("RSA: {e}")))
            .and_then(|key| {
                key.encrypt(self, rsa::Oaep::<Sha256>::new(), message)
                    .map_err(|e| Error::Crypto(format!("RSA-OAEP: {e}")))
            });
        std::future::ready(result)
    }
}

/// Encrypts `"{ksef_token}|{timestamp_ms}"` for `POST /auth/ksef-token`; returns Base64.
pub async fn encrypt_ksef_token<E: Encrypter + ?Sized>(
    cert: &ParsedCertificate,
    ksef_token: &str,
    challenge_timestamp_ms: i64,
    rng: &mut E,
) -> Result<String> {
    let plaintext = format!("{ksef_token}|{challenge_timestamp_ms}");
    let sealed = rng
        .rsa_oaep_sha256(&cert.spki_der, plaintext.as_bytes())
        .await?;
    Ok(B64.encode(sealed))
}

/// The `encryption` object of session/export requests (`EncryptionInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionInfo {
    /// Base64 RSA-OAEP(AES key).
    pub encrypted_symmetric_key: String,
    /// Base64 IV.
    pub initialization_vector: String,
    /// Which KSeF key wrapped it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_id: Option<String>,
}

/// Wraps `key` with the KSeF `SymmetricKeyEncryption` certificate.
pub async fn encryption_info<E: Encrypter + ?Sized>(
    cert: &ParsedCertificate,
    key: &SymmetricKey,
    rng: &mut E,
) -> Result<EncryptionInfo> {
    let sealed = rng.rsa_oaep_sha256(&cert.spki_der, &key.key).await?;
    Ok(EncryptionInfo {
        encrypted_symmetric_key: B64.encode(sealed),
        initialization_vector: key.iv_base64(),
        public_key_id: Some(cert.public_key_id.clone()),
    })
}

/// Standard Base64 encoding (re-exported so callers need no base64 crate).
pub fn base64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Standard Base64 decoding.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    B64.decode(text.trim())
        .map_err(|e| Error::InvalidInput(format!("Base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_matches_guide_vector_b4() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let ct = aes256_cbc_encrypt(&key, &iv, b"<x/>");
        assert_eq!(B64.encode(&ct), "2VzOCIgw18VhNcMQyRT+nQ==");
        assert_eq!(
            sha256_base64(&ct),
            "K4I2hYRy0pOGGY2Fw+fP+gEHalAjPxrbgfwHH0CHXxA="
        );
        let ct16 = aes256_cbc_encrypt(&key, &iv, b"0123456789abcdef");
        assert_eq!(
            B64.encode(&ct16),
            "4j/AuRx71kQlxVlzbpsMWEhewdanHmFZMjJdZQbsNwA="
        );
        assert_eq!(
            aes256_cbc_decrypt(&key, &iv, &ct16).unwrap(),
            b"0123456789abcdef"
        );
    }

    #[test]
    fn aes_decrypt_rejects_bad_padding() {
        let key = [7u8; 32];
        let iv = [1u8; 16];
        assert!(aes256_cbc_decrypt(&key, &iv, &[0u8; 16]).is_err());
        assert!(aes256_cbc_decrypt(&key, &iv, &[0u8; 5]).is_err());
    }

    #[test]
    fn sha256_matches_qr_vectors_b3() {
        assert_eq!(
            sha256_base64(b"<root>test</root>"),
            "qrs2gCLXnTUy6++AHwHuDxFuCj0BYUGRGtBuGnJwN+c="
        );
        assert_eq!(
            sha256_base64url(b"<root>test</root>"),
            "qrs2gCLXnTUy6--AHwHuDxFuCj0BYUGRGtBuGnJwN-c"
        );
        assert_eq!(FileMetadata::of(b"<x/>").size, 4);
    }

    #[test]
    fn decimal_conversion_of_serials() {
        assert_eq!(bytes_to_decimal(&[0x01, 0x00]), "256");
        assert_eq!(bytes_to_decimal(&[0x00]), "0");
        assert_eq!(
            bytes_to_decimal(&[0x01, 0xF2, 0x0A, 0x5D, 0x35, 0x2A, 0xE5, 0x90]),
            u64::from_str_radix("01F20A5D352AE590", 16)
                .unwrap()
                .to_string()
        );
    }

    #[test]
    fn parses_ksef_test_certificate() {
        let cert =
            ParsedCertificate::from_base64(include_str!("../tests/fixtures/kod2-test-cert.b64"))
                .unwrap();
        assert_eq!(cert.serial_hex, "01F20A5D352AE590");
        assert!(cert.subject().contains("5265877635"), "{}", cert.subject());
        assert_eq!(
            cert.rsa_public_key()
                .map(|k| rsa::traits::PublicKeyParts::size(&k))
                .unwrap(),
            256
        );
        assert!(cert.is_valid_at(1_800_000_000));
        assert!(!cert.is_valid_at(1_700_000_000));
    }

    #[test]
    fn rejects_garbage_certificate() {
        assert!(matches!(
            ParsedCertificate::from_base64("bm90IGEgY2VydA=="),
            Err(Error::InvalidCertificate(_))
        ));
        assert!(ParsedCertificate::from_base64("%%%").is_err());
    }
}
