//! CSR checks for `POST /certificates/enrollments`: key type and size (25010), signature
//! algorithm (25011, RSASSA-PSS parameters included) and the self-signature (25004).

use rsa::pkcs8::DecodePublicKey;
use x509_cert::der::{Decode, Encode};

use crate::error::ApiError;

use super::cert_error;

/// 25004 description (open-api `POST /certificates/enrollments`).
pub(super) const CSR_INVALID: &str = "Niepoprawny format CSR lub niepoprawny podpis CSR.";
const KEY_INVALID: &str = "Nieprawidłowy typ lub długość klucza.";
const ALGORITHM_INVALID: &str = "Nieprawidłowy algorytm podpisu CSR.";

/// Digest of a CSR signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsrDigest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl CsrDigest {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            CsrDigest::Sha1 => sha1::Sha1::digest(data).to_vec(),
            CsrDigest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            CsrDigest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            CsrDigest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
    fn from_hash_oid(oid: &str) -> Option<Self> {
        Some(match oid {
            "1.3.14.3.2.26" => CsrDigest::Sha1,
            "2.16.840.1.101.3.4.2.1" => CsrDigest::Sha256,
            "2.16.840.1.101.3.4.2.2" => CsrDigest::Sha384,
            "2.16.840.1.101.3.4.2.3" => CsrDigest::Sha512,
            _ => return None,
        })
    }
    fn verify_pss(
        self,
        key: &rsa::PublicKey,
        salt_len: usize,
        hashed: &[u8],
        sig: &[u8],
    ) -> rsa::Result<()> {
        use rsa::pss::Pss;
        match self {
            CsrDigest::Sha1 => key.verify(Pss::<sha1::Sha1>::new_with_salt(salt_len), hashed, sig),
            CsrDigest::Sha256 => {
                key.verify(Pss::<sha2::Sha256>::new_with_salt(salt_len), hashed, sig)
            }
            CsrDigest::Sha384 => {
                key.verify(Pss::<sha2::Sha384>::new_with_salt(salt_len), hashed, sig)
            }
            CsrDigest::Sha512 => {
                key.verify(Pss::<sha2::Sha512>::new_with_salt(salt_len), hashed, sig)
            }
        }
    }
    fn pkcs1v15(self) -> rsa::pkcs1v15::Pkcs1v15Sign {
        match self {
            CsrDigest::Sha1 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha1::Sha1>(),
            CsrDigest::Sha256 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha256>(),
            CsrDigest::Sha384 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha384>(),
            CsrDigest::Sha512 => rsa::pkcs1v15::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }
}

/// CSR signature algorithms KSeF accepts (open-api `POST /certificates/enrollments`:
/// RSA PKCS#1 v1.5, RSA PSS, ECDSA; SHA1/256/384/512) — `(is ECDSA, digest)`; RSASSA-PSS
/// carries its digest in its parameters ([`pss_parameters`]).
fn csr_algorithm(oid: &str) -> Option<(bool, CsrDigest)> {
    Some(match oid {
        "1.2.840.113549.1.1.5" => (false, CsrDigest::Sha1),
        "1.2.840.113549.1.1.11" => (false, CsrDigest::Sha256),
        "1.2.840.113549.1.1.12" => (false, CsrDigest::Sha384),
        "1.2.840.113549.1.1.13" => (false, CsrDigest::Sha512),
        "1.2.840.10045.4.1" => (true, CsrDigest::Sha1),
        "1.2.840.10045.4.3.2" => (true, CsrDigest::Sha256),
        "1.2.840.10045.4.3.3" => (true, CsrDigest::Sha384),
        "1.2.840.10045.4.3.4" => (true, CsrDigest::Sha512),
        _ => return None,
    })
}

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

/// RSASSA-PSS-params (RFC 8017 A.2.3) of a CSR: `(digest, salt length)`; the MGF1 digest
/// must be the same as the message digest.
fn pss_parameters(csr: &x509_cert::request::CertReq) -> Result<(CsrDigest, usize), ApiError> {
    let unsupported = |why: &str| {
        cert_error(
            25011,
            ALGORITHM_INVALID,
            format!("Parametry RSA-PSS: {why}. / Unsupported RSA-PSS parameters."),
        )
    };
    let params_der = match &csr.algorithm.parameters {
        Some(any) => any
            .to_der()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        // Absent parameters = all defaults (SHA-1, MGF1-SHA-1, salt 20).
        None => return Ok((CsrDigest::Sha1, 20)),
    };
    let params = rsa::pkcs1::RsaPssParams::<rsa::pkcs1::der::Any>::from_der(&params_der)
        .map_err(|_| unsupported("nieczytelne"))?;
    let digest = CsrDigest::from_hash_oid(&params.hash.oid.to_string())
        .ok_or_else(|| unsupported("nieobsługiwana funkcja skrótu"))?;
    let mgf_digest = params
        .mask_gen
        .parameters
        .as_ref()
        .and_then(|p| CsrDigest::from_hash_oid(&p.oid.to_string()));
    if params.mask_gen.oid.to_string() != "1.2.840.113549.1.1.8" || mgf_digest != Some(digest) {
        return Err(unsupported("MGF1 musi używać tej samej funkcji skrótu"));
    }
    Ok((digest, params.salt_len as usize))
}

pub(super) fn csr_spki_der(csr: &x509_cert::request::CertReq) -> Result<Vec<u8>, ApiError> {
    csr.info
        .public_key
        .to_der()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks the CSR key (RSA 2048 or EC P-256 — 25010 otherwise), its signature algorithm
/// (25011) and its self-signature (25004). Rules: open-api `POST /certificates/enrollments`.
pub(super) fn verify_csr(csr: &x509_cert::request::CertReq) -> Result<(), ApiError> {
    let info_der = csr
        .info
        .to_der()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let spki_der = csr_spki_der(csr)?;
    let key_oid = csr.info.public_key.algorithm.oid.to_string();
    enum Key {
        Rsa(rsa::PublicKey),
        Ec(p256::ecdsa::VerifyingKey),
    }
    let key = match key_oid.as_str() {
        OID_RSA_ENCRYPTION => {
            let key = rsa::PublicKey::from_public_key_der(&spki_der).map_err(|_| {
                cert_error(25004, CSR_INVALID, "Nie można odczytać klucza RSA z CSR.".into())
            })?;
            use rsa::traits::PublicKeyParts;
            let bits = key.n().bit_width();
            if bits != 2048 {
                return Err(cert_error(
                    25010,
                    KEY_INVALID,
                    format!("Klucz RSA ma {bits} bitów; KSeF przyjmuje klucze RSA o długości 2048 bitów albo EC P-256. / RSA keys must be 2048-bit (or use EC P-256)."),
                ));
            }
            Key::Rsa(key)
        }
        OID_EC_PUBLIC_KEY => Key::Ec(
            p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der).map_err(|_| {
                cert_error(
                    25010,
                    KEY_INVALID,
                    "Klucz EC musi być na krzywej NIST P-256 (secp256r1). / EC keys must use the P-256 curve.".into(),
                )
            })?,
        ),
        other => {
            return Err(cert_error(
                25010,
                KEY_INVALID,
                format!("Nieobsługiwany typ klucza {other}; dozwolone: RSA 2048 albo EC P-256. / Use RSA 2048 or EC P-256."),
            ));
        }
    };
    let alg_oid = csr.algorithm.oid.to_string();
    let signature = csr.signature.raw_bytes();
    let bad_signature = || {
        cert_error(
            25004,
            CSR_INVALID,
            "Podpis CSR jest nieprawidłowy. / The CSR signature does not verify.".into(),
        )
    };
    if alg_oid == OID_RSASSA_PSS {
        let Key::Rsa(key) = key else {
            return Err(cert_error(
                25011,
                ALGORITHM_INVALID,
                "RSA-PSS wymaga klucza RSA. / RSA-PSS needs an RSA key.".into(),
            ));
        };
        let (digest, salt_len) = pss_parameters(csr)?;
        return digest
            .verify_pss(&key, salt_len, &digest.digest(&info_der), signature)
            .map_err(|_| bad_signature());
    }
    let Some((ecdsa, digest)) = csr_algorithm(&alg_oid) else {
        let detail = format!(
            "Algorytm podpisu {alg_oid} nie jest dozwolony (RSA PKCS#1 v1.5, RSA-PSS lub ECDSA z SHA-1/256/384/512). / Unsupported CSR signature algorithm."
        );
        return Err(cert_error(25011, ALGORITHM_INVALID, detail));
    };
    let hashed = digest.digest(&info_der);
    match (key, ecdsa) {
        (Key::Rsa(key), false) => key
            .verify(digest.pkcs1v15(), &hashed, signature)
            .map_err(|_| bad_signature()),
        (Key::Ec(key), true) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            // RFC 3279: ECDSA-Sig-Value (DER SEQUENCE of r, s).
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad_signature())?;
            key.verify_prehash(&hashed, &sig)
                .map_err(|_| bad_signature())
        }
        _ => Err(cert_error(
            25011,
            ALGORITHM_INVALID,
            format!(
                "Algorytm podpisu {alg_oid} nie pasuje do typu klucza {key_oid}. / The signature algorithm does not match the key type."
            ),
        )),
    }
}
