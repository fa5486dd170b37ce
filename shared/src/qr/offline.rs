//! KOD II: the certificate link of an offline invoice, signed with the Offline certificate's
//! key (RSASSA-PSS or ECDSA P-256), and its verification.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rand_core::TryCryptoRng;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Verifier};
use sha2::Sha256;

use super::{QrEnvironment, check_nip, hash_to_base64url};
use crate::error::{Error, Result};

/// Context of a KOD II link (`ctxType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextType {
    /// `Nip`
    Nip,
    /// `InternalId`
    InternalId,
    /// `NipVatUe`
    NipVatUe,
    /// `PeppolId`
    PeppolId,
}

impl ContextType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Nip => "Nip",
            Self::InternalId => "InternalId",
            Self::NipVatUe => "NipVatUe",
            Self::PeppolId => "PeppolId",
        }
    }
}

/// Private key of a KSeF Offline certificate used to sign KOD II.
pub enum OfflineSigningKey {
    /// RSA ≥ 2048 → RSASSA-PSS/SHA-256/MGF1-SHA-256, salt 32.
    Rsa(rsa::PrivateKey),
    /// EC P-256 → ECDSA/SHA-256, IEEE P1363 `r||s`.
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for OfflineSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "OfflineSigningKey::Rsa(..)",
            Self::EcdsaP256(_) => "OfflineSigningKey::EcdsaP256(..)",
        })
    }
}

impl OfflineSigningKey {
    /// Reads a PKCS#8 DER private key (RSA or EC P-256), as exported from a CSR tool.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        use rsa::pkcs8::DecodePrivateKey;
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(der) {
            return Ok(Self::Rsa(k));
        }
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self::EcdsaP256)
            .map_err(|_| {
                Error::InvalidCertificate(
                    "klucz prywatny musi być RSA lub EC P-256 w PKCS#8 / key must be RSA or EC P-256 PKCS#8"
                        .into(),
                )
            })
    }

    /// Signs `data`; RSA-PSS needs randomness for the salt.
    pub fn sign<R: TryCryptoRng + ?Sized>(&self, data: &[u8], rng: &mut R) -> Result<Vec<u8>> {
        match self {
            Self::Rsa(key) => {
                let signer = rsa::pss::SigningKey::<Sha256>::new_with_salt_len(key.clone(), 32);
                let sig = signer
                    .try_sign_with_rng(rng, data)
                    .map_err(|e| Error::Crypto(format!("RSA-PSS: {e}")))?;
                Ok(sig.to_vec())
            }
            Self::EcdsaP256(key) => {
                let sig: p256::ecdsa::Signature = rsa::signature::Signer::sign(key, data);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

/// Everything KOD II needs besides the key.
#[derive(Debug, Clone)]
pub struct CertificateLink<'a> {
    /// QR environment.
    pub env: QrEnvironment,
    /// Context type used when issuing.
    pub context_type: ContextType,
    /// Context value (NIP, internal id, …).
    pub context_value: &'a str,
    /// Podmiot1 NIP.
    pub seller_nip: &'a str,
    /// Serial of the Offline KSeF certificate, hex.
    pub cert_serial: &'a str,
    /// Base64 or Base64URL SHA-256 of the invoice XML.
    pub invoice_hash: &'a str,
}

impl CertificateLink<'_> {
    /// The signed part: URL without `https://` and without the signature.
    pub fn data_to_sign(&self) -> Result<String> {
        check_nip(self.seller_nip)?;
        let serial = self.cert_serial.trim().to_ascii_uppercase();
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidInput(
                "numer seryjny certyfikatu musi być szesnastkowy / certificate serial must be hex"
                    .into(),
            ));
        }
        let host = self.env.base_url().trim_start_matches("https://");
        Ok(format!(
            "{host}/certificate/{}/{}/{}/{serial}/{}",
            self.context_type.as_str(),
            self.context_value,
            self.seller_nip,
            hash_to_base64url(self.invoice_hash)?
        ))
    }

    /// Builds the full KOD II URL signed with `key`.
    pub fn sign<R: TryCryptoRng + ?Sized>(
        &self,
        key: &OfflineSigningKey,
        rng: &mut R,
    ) -> Result<String> {
        let data = self.data_to_sign()?;
        let sig = key.sign(data.as_bytes(), rng)?;
        Ok(format!("https://{data}/{}", B64URL.encode(sig)))
    }
}

/// Verifies a KOD II URL against the Offline certificate (SPKI DER of RSA or P-256 key).
pub fn verify_certificate_url(url: &str, spki_der: &[u8]) -> Result<()> {
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        Error::InvalidInput(
            "link KOD II musi zaczynać się od https:// / must start with https://".into(),
        )
    })?;
    let (data, sig_b64) = rest.rsplit_once('/').ok_or_else(|| {
        Error::InvalidInput("brak podpisu w linku / no signature in the link".into())
    })?;
    let sig = B64URL
        .decode(sig_b64)
        .map_err(|e| Error::InvalidInput(format!("podpis / signature: {e}")))?;
    let bad =
        || Error::Crypto("podpis KOD II jest nieprawidłowy / KOD II signature is invalid".into());
    if let Ok(key) = rsa::PublicKey::from_public_key_der(spki_der) {
        let verifier = rsa::pss::VerifyingKey::<Sha256>::new(key);
        let sig = rsa::pss::Signature::try_from(sig.as_slice()).map_err(|_| bad())?;
        return verifier.verify(data.as_bytes(), &sig).map_err(|_| bad());
    }
    let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| Error::InvalidCertificate(e.to_string()))?;
    let sig = p256::ecdsa::Signature::from_slice(&sig)
        .or_else(|_| p256::ecdsa::Signature::from_der(&sig))
        .map_err(|_| bad())?;
    key.verify(data.as_bytes(), &sig).map_err(|_| bad())
}
