//! XAdES-BES enveloped signature of the KSeF `AuthTokenRequest`, so a user can log in
//! with a KSeF (or qualified) certificate: exclusive C14N (bergshamra-c14n),
//! RSA-SHA256 or ECDSA-SHA256 (raw `r||s`), SHA-256 digests, signed properties with
//! SigningTime and SigningCertificate.
//!
//! Shape: /work/shared/ksef-guide.md §3.4 (accepted parameters from ksef-docs
//! `auth/podpis-xades.md`; element order from schemas/auth/schemat_auth_v2-0.xsd).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bergshamra_c14n::{C14nMode, canonicalize};
use rand_core::TryCryptoRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer};
use sha2::Sha256;

use crate::crypto::{ParsedCertificate, sha256_base64};
use crate::error::{Error, Result};

const NS_AUTH: &str = "http://ksef.mf.gov.pl/auth/token/2.0";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// Private key of the signing certificate.
pub enum SigningKey {
    /// RSA → `rsa-sha256` (PKCS#1 v1.5).
    Rsa(rsa::PrivateKey),
    /// EC P-256 → `ecdsa-sha256`.
    EcdsaP256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "SigningKey::Rsa(..)",
            Self::EcdsaP256(_) => "SigningKey::EcdsaP256(..)",
        })
    }
}

impl SigningKey {
    /// Reads an unencrypted PKCS#8 private key, DER or PEM.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self> {
        let der = pem_or_der(bytes)?;
        if let Ok(k) = rsa::PrivateKey::from_pkcs8_der(&der) {
            return Ok(Self::Rsa(k));
        }
        p256::ecdsa::SigningKey::from_pkcs8_der(&der)
            .map(Self::EcdsaP256)
            .map_err(|_| {
                Error::InvalidCertificate(
                    "klucz prywatny musi być niezaszyfrowanym PKCS#8 RSA lub EC P-256 / the private key must be unencrypted PKCS#8 RSA or EC P-256"
                        .into(),
                )
            })
    }

    /// A fresh EC P-256 key (what KSeF recommends for its certificates, ksef-docs
    /// `certyfikaty-KSeF.md` §3).
    pub fn generate_p256<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        use p256::elliptic_curve::Generate as _;
        p256::ecdsa::SigningKey::try_generate_from_rng(rng)
            .map(Self::EcdsaP256)
            .map_err(|_| rng_error())
    }

    /// A fresh RSA 2048 key (the only RSA size KSeF accepts in a CSR). Slow in debug builds.
    pub fn generate_rsa2048<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        rsa::PrivateKey::new(rng, 2048)
            .map(Self::Rsa)
            .map_err(|e| Error::Crypto(format!("generowanie klucza RSA / RSA key generation: {e}")))
    }

    /// Unencrypted PKCS#8 DER (a secret: encrypt it before storing).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        let doc = match self {
            Self::Rsa(k) => k.to_pkcs8_der(),
            Self::EcdsaP256(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::Crypto(format!("PKCS#8: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), readable by
    /// [`SigningKey::from_pkcs8`] and OpenSSL.
    pub fn to_pkcs8_pem(&self) -> Result<String> {
        x509_cert::der::pem::encode_string(
            "PRIVATE KEY",
            x509_cert::der::pem::LineEnding::LF,
            &self.to_pkcs8_der()?,
        )
        .map_err(|e| Error::Crypto(format!("PEM: {e}")))
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        match self {
            Self::Rsa(k) => k.to_public_key().to_public_key_der(),
            Self::EcdsaP256(k) => k.verifying_key().to_public_key_der(),
        }
        .map(|doc| doc.as_bytes().to_vec())
        .map_err(|e| Error::Crypto(format!("SPKI: {e}")))
    }

    fn algorithm(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            Self::EcdsaP256(_) => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Rsa(key) => {
                let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
                let sig = signer
                    .try_sign(data)
                    .map_err(|e| Error::Signature(e.to_string()))?;
                Ok(sig.to_vec())
            }
            Self::EcdsaP256(key) => {
                let sig: p256::ecdsa::Signature = key.sign(data);
                Ok(sig.to_bytes().to_vec())
            }
        }
    }
}

fn rng_error() -> Error {
    Error::Crypto("generator liczb losowych zawiódł / RNG failure".into())
}

/// Accepts DER or PEM (any `-----BEGIN …-----` armour).
pub fn pem_or_der(bytes: &[u8]) -> Result<Vec<u8>> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            let body: String = text
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>()
                .split_whitespace()
                .collect();
            B64.decode(body)
                .map_err(|e| Error::InvalidCertificate(format!("PEM: {e}")))
        }
        _ => Ok(bytes.to_vec()),
    }
}

/// A certificate with its private key.
#[derive(Debug)]
pub struct XadesSigner {
    /// Signing certificate.
    pub certificate: ParsedCertificate,
    key: SigningKey,
}

impl XadesSigner {
    /// Pairs a certificate (DER/PEM) with its PKCS#8 private key (DER/PEM).
    pub fn new(certificate: &[u8], private_key: &[u8]) -> Result<Self> {
        let certificate = ParsedCertificate::from_der(&pem_or_der(certificate)?)?;
        Ok(Self {
            certificate,
            key: SigningKey::from_pkcs8(private_key)?,
        })
    }
}

/// How KSeF reads the identity from the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectIdentifierType {
    /// NIP/PESEL from the subject.
    CertificateSubject,
    /// SHA-256 fingerprint of the certificate.
    CertificateFingerprint,
}

/// Content of `AuthTokenRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthTokenRequest {
    /// From `POST /auth/challenge`.
    pub challenge: String,
    /// `Nip`, `InternalId`, `NipVatUe` or `PeppolId` with its value.
    pub context: crate::api::ContextIdentifier,
    /// Identity source.
    pub subject_identifier_type: SubjectIdentifierType,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl AuthTokenRequest {
    /// Unsigned document (element order per the XSD sequence).
    pub fn to_xml(&self) -> Result<String> {
        let element = match self.context.kind.as_str() {
            k @ ("Nip" | "InternalId" | "NipVatUe" | "PeppolId") => k,
            other => {
                return Err(Error::InvalidInput(format!(
                    "nieznany typ kontekstu „{other}” / unknown context type"
                )));
            }
        };
        let subject = match self.subject_identifier_type {
            SubjectIdentifierType::CertificateSubject => "certificateSubject",
            SubjectIdentifierType::CertificateFingerprint => "certificateFingerprint",
        };
        Ok(format!(
            "<AuthTokenRequest xmlns=\"{NS_AUTH}\"><Challenge>{}</Challenge><ContextIdentifier><{element}>{}</{element}></ContextIdentifier><SubjectIdentifierType>{subject}</SubjectIdentifierType></AuthTokenRequest>",
            escape(&self.challenge),
            escape(&self.context.value),
        ))
    }
}

fn c14n(xml: &str) -> Result<Vec<u8>> {
    canonicalize::<&str>(xml, C14nMode::Exclusive, None, &[])
        .map_err(|e| Error::Signature(format!("C14N: {e}")))
}

/// Signs `unsigned_xml` (a document without XML declaration whose root closes with
/// `</…>` at the end) with an enveloped XAdES-BES signature appended as the root's last child.
///
/// `signing_time` is ISO-8601 UTC (e.g. `2026-11-24T03:00:00Z`); core has no clock.
pub fn sign_enveloped(
    unsigned_xml: &str,
    signer: &XadesSigner,
    signing_time: &str,
) -> Result<String> {
    let body = unsigned_xml.trim();
    let close = body.rfind("</").ok_or_else(|| {
        Error::Signature("dokument bez elementu głównego / no root element".into())
    })?;
    let doc_digest = sha256_base64(&c14n(body)?);

    let cert = &signer.certificate;
    let signed_props_inner = format!(
        "<xades:SignedSignatureProperties><xades:SigningTime>{}</xades:SigningTime><xades:SigningCertificate><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{}</ds:DigestValue></xades:CertDigest><xades:IssuerSerial><ds:X509IssuerName>{}</ds:X509IssuerName><ds:X509SerialNumber>{}</ds:X509SerialNumber></xades:IssuerSerial></xades:Cert></xades:SigningCertificate></xades:SignedSignatureProperties>",
        escape(signing_time),
        cert.certificate_id,
        escape(&cert.issuer()),
        cert.serial_decimal,
    );
    // Exclusive C14N only renders visibly used namespaces, so canonicalising the
    // subtree standalone gives the same bytes as in its final place.
    let props_standalone = format!(
        "<xades:SignedProperties xmlns:xades=\"{NS_XADES}\" xmlns:ds=\"{NS_DS}\" Id=\"SignedProperties\">{signed_props_inner}</xades:SignedProperties>"
    );
    let props_digest = sha256_base64(&c14n(&props_standalone)?);

    let signed_info_inner = format!(
        "<ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/><ds:SignatureMethod Algorithm=\"{}\"/><ds:Reference URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/><ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{doc_digest}</ds:DigestValue></ds:Reference><ds:Reference Type=\"http://uri.etsi.org/01903#SignedProperties\" URI=\"#SignedProperties\"><ds:Transforms><ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{props_digest}</ds:DigestValue></ds:Reference>",
        signer.key.algorithm()
    );
    let signed_info_standalone =
        format!("<ds:SignedInfo xmlns:ds=\"{NS_DS}\">{signed_info_inner}</ds:SignedInfo>");
    let signature_value = B64.encode(signer.key.sign(&c14n(&signed_info_standalone)?)?);

    let signature = format!(
        "<ds:Signature xmlns:ds=\"{NS_DS}\" Id=\"Signature\"><ds:SignedInfo>{signed_info_inner}</ds:SignedInfo><ds:SignatureValue>{signature_value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades=\"{NS_XADES}\" Target=\"#Signature\"><xades:SignedProperties Id=\"SignedProperties\">{signed_props_inner}</xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature>",
        B64.encode(&cert.der)
    );
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{}{signature}{}",
        &body[..close],
        &body[close..]
    ))
}

/// Builds and signs an `AuthTokenRequest`; the bytes go to `POST /auth/xades-signature`.
pub fn sign_auth_token_request(
    request: &AuthTokenRequest,
    signer: &XadesSigner,
    signing_time: &str,
) -> Result<Vec<u8>> {
    Ok(sign_enveloped(&request.to_xml()?, signer, signing_time)?.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_token_request_follows_xsd_order_and_escapes() {
        let xml = AuthTokenRequest {
            challenge: "20250514-CR-226FB7B000-3ACF9BE4C0-10".into(),
            context: crate::api::ContextIdentifier::nip("5265877635"),
            subject_identifier_type: SubjectIdentifierType::CertificateSubject,
        }
        .to_xml()
        .unwrap();
        assert_eq!(
            xml,
            "<AuthTokenRequest xmlns=\"http://ksef.mf.gov.pl/auth/token/2.0\"><Challenge>20250514-CR-226FB7B000-3ACF9BE4C0-10</Challenge><ContextIdentifier><Nip>5265877635</Nip></ContextIdentifier><SubjectIdentifierType>certificateSubject</SubjectIdentifierType></AuthTokenRequest>"
        );
        let bad = AuthTokenRequest {
            challenge: "x".into(),
            context: crate::api::ContextIdentifier {
                kind: "Pesel".into(),
                value: "1".into(),
            },
            subject_identifier_type: SubjectIdentifierType::CertificateFingerprint,
        };
        assert!(bad.to_xml().is_err());
    }

    #[test]
    fn rejects_non_key_material() {
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        assert!(
            XadesSigner::new(
                b"-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----",
                b""
            )
            .is_err()
        );
    }
}
