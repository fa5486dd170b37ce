//! Encryption of secrets at rest (KSeF tokens, private keys) with WebCrypto.
//!
//! The key is derived from the user's passphrase with PBKDF2-HMAC-SHA256 (600 000
//! iterations, OWASP 2023) and a random 16-byte salt, imported as a *non-extractable*
//! AES-256-GCM `CryptoKey`: the raw key never reaches Rust memory or storage. Every secret
//! is sealed with a fresh 12-byte IV. A sealed known text ([`VaultMeta::check`]) lets
//! [`Vault::unlock`] reject a wrong passphrase (GCM authentication fails) before anything
//! else is decrypted. Only [`VaultMeta`] and [`Sealed`] values are stored (IndexedDB
//! `settings`/`credentials`), never the passphrase and never in localStorage.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::webcrypto::{self, obj, usages};

/// PBKDF2 iterations for new vaults.
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// The shortest passphrase accepted.
pub const MIN_PASSPHRASE_LEN: usize = 8;
const CHECK_TEXT: &[u8] = b"kwit-vault-check-v1";

/// Vault failures with advice for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(crate::i18n::Lang::Pl))]
pub enum VaultError {
    /// The passphrase does not open the vault.
    WrongPassphrase,
    /// The passphrase is too short for a new vault.
    WeakPassphrase,
    /// The vault is locked: secrets cannot be read or written.
    Locked,
    /// A stored secret is damaged or was sealed by another vault.
    Corrupt,
    /// WebCrypto is missing or failed (old browser, insecure context).
    Crypto(String),
}

impl VaultError {
    /// What happened and what to do, in `lang`.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang::{En, Pl};
        match (self, lang) {
            (Self::WrongPassphrase, Pl) => "Nieprawidłowe hasło. Spróbuj ponownie.".into(),
            (Self::WrongPassphrase, En) => "Wrong passphrase. Try again.".into(),
            (Self::WeakPassphrase, Pl) => "Hasło musi mieć co najmniej 8 znaków.".into(),
            (Self::WeakPassphrase, En) => "The passphrase must have at least 8 characters.".into(),
            (Self::Locked, Pl) => "Sejf jest zablokowany — odblokuj go hasłem.".into(),
            (Self::Locked, En) => "The vault is locked: unlock it with your passphrase.".into(),
            (Self::Corrupt, Pl) => {
                "Zapisany sekret jest uszkodzony — dodaj dane logowania ponownie.".into()
            }
            (Self::Corrupt, En) => "A stored secret is damaged: add the credential again.".into(),
            (Self::Crypto(why), Pl) => format!(
                "Przeglądarka nie udostępnia szyfrowania WebCrypto ({why}). Użyj aktualnej przeglądarki i połączenia HTTPS."
            ),
            (Self::Crypto(why), En) => format!(
                "The browser offers no WebCrypto encryption ({why}). Use a current browser over HTTPS."
            ),
        }
    }
}

/// What is stored to recognise the passphrase later (no secret in it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultMeta {
    /// PBKDF2 salt, base64.
    pub salt: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// A known text sealed with the key: opens only with the right passphrase.
    pub check: Sealed,
}

/// An AES-GCM-sealed secret: IV and ciphertext+tag, base64.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// 12-byte IV, base64.
    pub iv: String,
    /// Ciphertext with the 16-byte tag, base64.
    pub data: String,
}

/// An unlocked vault: a non-extractable AES-GCM key in WebCrypto.
#[derive(Clone, Debug)]
pub struct Vault {
    key: CryptoKey,
}

fn subtle() -> Result<SubtleCrypto, VaultError> {
    webcrypto::subtle().map_err(VaultError::Crypto)
}

fn js_err(e: JsValue) -> VaultError {
    VaultError::Crypto(webcrypto::error_name(&e))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| VaultError::Crypto(e.to_string()))?;
    Ok(b)
}

async fn derive_key(
    passphrase: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<CryptoKey, VaultError> {
    let subtle = subtle()?;
    let raw = Uint8Array::from(passphrase.as_bytes());
    let base: CryptoKey = JsFuture::from(
        subtle
            .import_key_with_str("raw", &raw, "PBKDF2", false, &usages(&["deriveKey"]))
            .map_err(js_err)?,
    )
    .await
    .map_err(js_err)?
    .unchecked_into();
    let params = obj(&[
        ("name", "PBKDF2".into()),
        ("salt", Uint8Array::from(salt).into()),
        ("iterations", iterations.into()),
        ("hash", "SHA-256".into()),
    ]);
    let aes = obj(&[
        ("name", "AES-GCM".into()),
        ("length", JsValue::from(256_u32)),
    ]);
    let key = JsFuture::from(
        subtle
            .derive_key_with_object_and_object(
                &params,
                &base,
                &aes,
                false,
                &usages(&["encrypt", "decrypt"]),
            )
            .map_err(js_err)?,
    )
    .await
    .map_err(js_err)?;
    Ok(key.unchecked_into())
}

impl Vault {
    /// Creates a new vault for `passphrase`: returns the unlocked vault and the metadata to store.
    pub async fn create(passphrase: &str) -> Result<(Vault, VaultMeta), VaultError> {
        Self::create_with_iterations(passphrase, PBKDF2_ITERATIONS).await
    }

    /// [`Vault::create`] with a chosen iteration count (tests use fewer).
    pub async fn create_with_iterations(
        passphrase: &str,
        iterations: u32,
    ) -> Result<(Vault, VaultMeta), VaultError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(VaultError::WeakPassphrase);
        }
        let salt = random_bytes::<16>()?;
        let key = derive_key(passphrase, &salt, iterations).await?;
        let vault = Vault { key };
        let check = vault.seal(CHECK_TEXT).await?;
        let meta = VaultMeta {
            salt: B64.encode(salt),
            iterations,
            check,
        };
        Ok((vault, meta))
    }

    /// Opens an existing vault; [`VaultError::WrongPassphrase`] if the passphrase is not its own.
    pub async fn unlock(passphrase: &str, meta: &VaultMeta) -> Result<Vault, VaultError> {
        let salt = B64.decode(&meta.salt).map_err(|_| VaultError::Corrupt)?;
        let key = derive_key(passphrase, &salt, meta.iterations).await?;
        let vault = Vault { key };
        match vault.open(&meta.check).await {
            Ok(text) if text == CHECK_TEXT => Ok(vault),
            _ => Err(VaultError::WrongPassphrase),
        }
    }

    /// The key itself, for the sync worker (structured-cloned, still non-extractable), which
    /// seals the sync cursor the same way.
    pub fn key(&self) -> &CryptoKey {
        &self.key
    }

    /// Encrypts `plain` with a fresh IV.
    pub async fn seal(&self, plain: &[u8]) -> Result<Sealed, VaultError> {
        let iv = random_bytes::<12>()?;
        let params = obj(&[
            ("name", "AES-GCM".into()),
            ("iv", Uint8Array::from(&iv[..]).into()),
        ]);
        let out = JsFuture::from(
            subtle()?
                .encrypt_with_object_and_u8_array(&params, &self.key, plain)
                .map_err(js_err)?,
        )
        .await
        .map_err(js_err)?;
        Ok(Sealed {
            iv: B64.encode(iv),
            data: B64.encode(Uint8Array::new(&out).to_vec()),
        })
    }

    /// Decrypts a sealed secret; [`VaultError::Corrupt`] if it fails authentication.
    pub async fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, VaultError> {
        let iv = B64.decode(&sealed.iv).map_err(|_| VaultError::Corrupt)?;
        let data = B64.decode(&sealed.data).map_err(|_| VaultError::Corrupt)?;
        let params = obj(&[
            ("name", "AES-GCM".into()),
            ("iv", Uint8Array::from(&iv[..]).into()),
        ]);
        let out = JsFuture::from(
            subtle()?
                .decrypt_with_object_and_u8_array(&params, &self.key, &data)
                .map_err(js_err)?,
        )
        .await
        .map_err(|_| VaultError::Corrupt)?;
        Ok(Uint8Array::new(&out).to_vec())
    }

    /// Seals a UTF-8 secret.
    pub async fn seal_str(&self, plain: &str) -> Result<Sealed, VaultError> {
        self.seal(plain.as_bytes()).await
    }

    /// Opens a UTF-8 secret.
    pub async fn open_str(&self, sealed: &Sealed) -> Result<String, VaultError> {
        String::from_utf8(self.open(sealed).await?).map_err(|_| VaultError::Corrupt)
    }
}

impl crate::api::Explain for VaultError {
    fn message_in(&self, lang: crate::i18n::Lang) -> String {
        self.message(lang)
    }
}
