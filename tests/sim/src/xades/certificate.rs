//! The signing certificate: the NIP it names ([`subject_nip`]), how the simulator trusts it
//! (self-signed as on TEST, or issued by its CA and not revoked) and its fingerprint.

use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::Encode;

use crate::auth::AuthMethod;
use crate::error::ApiError;
use crate::keys::key_material;
use crate::state::AppState;
use crate::util;

use super::{OID_ORG_IDENTIFIER, OID_SERIAL_NUMBER, invalid_certificate};

/// NIP named by a certificate subject: serialNumber `TINPL-…`/`NIP…` or
/// organizationIdentifier `VATPL-…` (ksef-guide §3.4 regexes), and whether it is a seal.
pub fn subject_nip(cert: &Certificate) -> Option<(String, bool)> {
    let mut found = None;
    for atv in cert.tbs_certificate().subject().iter() {
        let oid = atv.oid.to_string();
        let Ok(value) = std::str::from_utf8(atv.value.value()) else {
            continue;
        };
        let prefixes: &[&str] = match oid.as_str() {
            OID_ORG_IDENTIFIER => &["VATPL"],
            OID_SERIAL_NUMBER => &["TINPL", "NIP", "VATPL"],
            _ => continue,
        };
        for p in prefixes {
            if let Some(rest) = value.find(p).map(|i| &value[i + p.len()..])
                && let Some(nip) = ten_digits(rest)
            {
                let seal = oid == OID_ORG_IDENTIFIER || *p == "VATPL";
                if found.is_none() || seal {
                    found = Some((nip, seal));
                }
            }
        }
    }
    found
}

/// First run of exactly 10 digits (`.*?(\d{10})`).
fn ten_digits(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len()).find_map(|i| {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        (run >= 10).then(|| s[i..i + 10].to_string())
    })
}

/// How the simulator trusts the certificate: self-signed (TEST) or issued by its CA.
pub(super) fn certificate_kind(
    state: &AppState,
    cert: &Certificate,
    der: &[u8],
) -> Result<AuthMethod, ApiError> {
    let tbs = cert.tbs_certificate();
    let now = util::now().unix_timestamp();
    let validity = tbs.validity();
    let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
    let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
    if now < not_before || now > not_after {
        return Err(invalid_certificate(
            "Certyfikat jest nieważny (poza okresem ważności).",
        ));
    }
    let tbs_der = tbs
        .to_der()
        .map_err(|e| invalid_certificate(e.to_string()))?;
    let sig_bytes = cert.signature().raw_bytes();
    let ca = key_material().ca_key.to_public_key();
    let ca_signed = rsa::pkcs1v15::Signature::try_from(sig_bytes)
        .ok()
        .is_some_and(|s| {
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(ca)
                .verify(&tbs_der, &s)
                .is_ok()
        });
    if ca_signed {
        let serial = hex::encode_upper(tbs.serial_number().as_bytes());
        let usable = {
            let st = state.lock();
            st.certificates
                .issued
                .values()
                .any(|c| c.der == der && !c.revoked && util::now() <= c.valid_to)
        };
        if !usable {
            return Err(invalid_certificate(format!(
                "Certyfikat KSeF {serial} jest unieważniony, wygasł lub jest nieznany."
            )));
        }
        return Ok(AuthMethod::InternalCertificate);
    }
    if tbs.issuer() == tbs.subject() {
        // Self-signed certificates are accepted only on TEST — as this simulator does; the
        // self-signature must still hold (sha256WithRSAEncryption / ecdsa-with-SHA256).
        verify_self_signature(cert, &tbs_der)?;
        return Ok(AuthMethod::SelfSignedSignature);
    }
    Err(invalid_certificate(
        "Niezaufany łańcuch certyfikatów: wymagany certyfikat samopodpisany (TEST) lub wydany przez KSeF.",
    ))
}

fn verify_self_signature(cert: &Certificate, tbs_der: &[u8]) -> Result<(), ApiError> {
    const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
    const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| invalid_certificate(e.to_string()))?;
    let sig = cert.signature().raw_bytes();
    let broken = || invalid_certificate("Podpis certyfikatu samopodpisanego jest nieprawidłowy.");
    match cert.signature_algorithm().oid.to_string().as_str() {
        SHA256_WITH_RSA => {
            let key = rsa::PublicKey::from_public_key_der(&spki).map_err(|_| broken())?;
            let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| broken())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(tbs_der, &sig)
                .map_err(|_| broken())
        }
        ECDSA_WITH_SHA256 => {
            let key =
                p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|_| broken())?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| broken())?;
            key.verify(tbs_der, &sig).map_err(|_| broken())
        }
        other => Err(invalid_certificate(format!(
            "Nieobsługiwany algorytm podpisu certyfikatu: {other} (symulator: sha256WithRSAEncryption, ecdsa-with-SHA256)."
        ))),
    }
}

pub(super) fn fingerprint(der: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(der))
}
