//! KSeF verification QR codes: KOD I (invoice link) and KOD II (certificate
//! link signed with RSA-PSS or ECDSA P-256), rendered as SVG.
//!
//! Rules: /work/shared/ksef-guide.md §10 and Appendix B.3, ksef-docs `kody-qr.md`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};

use crate::error::{Error, Result};

/// KOD II's signatures need the pure-Rust RSA and P-256 code, which the browser's main module
/// leaves out; the signer worker has them.
#[cfg(feature = "native-crypto")]
mod offline;
#[cfg(feature = "native-crypto")]
pub use offline::{CertificateLink, ContextType, OfflineSigningKey, verify_certificate_url};

/// QR host per KSeF environment (guide §1 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrEnvironment {
    /// `https://qr-test.ksef.mf.gov.pl`
    Test,
    /// `https://qr-demo.ksef.mf.gov.pl`
    Demo,
    /// `https://qr.ksef.mf.gov.pl`
    Prod,
}

impl QrEnvironment {
    /// Base URL without trailing slash.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Test => "https://qr-test.ksef.mf.gov.pl",
            Self::Demo => "https://qr-demo.ksef.mf.gov.pl",
            Self::Prod => "https://qr.ksef.mf.gov.pl",
        }
    }
}

/// Turns a Base64 or Base64URL SHA-256 into Base64URL without padding.
fn hash_to_base64url(invoice_hash: &str) -> Result<String> {
    let normalized: String = invoice_hash
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    let bytes = B64URL
        .decode(&normalized)
        .map_err(|e| Error::InvalidInput(format!("skrót faktury / invoice hash: {e}")))?;
    if bytes.len() != 32 {
        return Err(Error::InvalidInput(
            "skrót faktury musi mieć 32 bajty (SHA-256) / invoice hash must be 32 bytes".into(),
        ));
    }
    Ok(normalized)
}

fn check_nip(nip: &str) -> Result<()> {
    if nip.len() == 10 && nip.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "NIP „{nip}” musi mieć 10 cyfr / NIP must have 10 digits"
        )))
    }
}

/// KOD I: `{base}/invoice/{sellerNip}/{DD-MM-YYYY}/{hash}`.
///
/// `issue_date` is `P_1` as `YYYY-MM-DD`; `invoice_hash` Base64 or Base64URL SHA-256 of the XML bytes.
pub fn invoice_verification_url(
    env: QrEnvironment,
    seller_nip: &str,
    issue_date: &str,
    invoice_hash: &str,
) -> Result<String> {
    check_nip(seller_nip)?;
    let d = issue_date.trim();
    let ok = d.len() == 10
        && d.as_bytes()[4] == b'-'
        && d.as_bytes()[7] == b'-'
        && d.bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !ok {
        return Err(Error::InvalidInput(format!(
            "data wystawienia „{d}” musi mieć postać RRRR-MM-DD / issue date must be YYYY-MM-DD"
        )));
    }
    let date = format!("{}-{}-{}", &d[8..10], &d[5..7], &d[0..4]);
    Ok(format!(
        "{}/invoice/{seller_nip}/{date}/{}",
        env.base_url(),
        hash_to_base64url(invoice_hash)?
    ))
}

/// Renders `text` (a KOD I/II URL) as a standalone SVG with a quiet zone.
pub fn render_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| Error::InvalidInput(format!("QR: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Re-encodes a Base64 hash as standard Base64 (helper for UI code holding Base64URL).
pub fn hash_base64url_to_base64(hash: &str) -> Result<String> {
    let url = hash_to_base64url(hash)?;
    let bytes = B64URL
        .decode(url)
        .map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(B64.encode(bytes))
}

#[cfg(all(test, feature = "native-crypto"))]
mod tests {
    use super::*;
    use crate::crypto::{ParsedCertificate, sha256_base64};

    const DOC_HASH: &str = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE";
    const DOC_SIG: &str = "mSkm_XmM9fq7PgAJwiL32L9ujhyguOEV48cDB0ncemD2r9TMGa3lr0iRoFk588agCi8QPsOuscUY1rZ7ff76STbGquO-gZtQys5_fHdf2HUfDqPqVTnUS6HknBu0zLkyf9ygoW7WbH06Ty_8BgQTlOmJFzNWSt9WZa7tAGuAE9JOooNps-KG2PYkkIP4q4jPMp3FKypAygHVnXtS0RDGgOxhhM7LWtFP7D-dWINbh5yXD8Lr-JVbeOpyQjHa6WmMYavCDQJ3X_Z-iS01LZu2s1B3xuOykl1h0sLObCdADrbxOONsXrvQa61Xt_rxyprVraj2Uf9pANQgR4-12HEcMw";

    #[test]
    fn kod1_matches_documented_links() {
        assert_eq!(
            invoice_verification_url(QrEnvironment::Test, "1111111111", "2026-02-01", DOC_HASH)
                .unwrap(),
            "https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
        );
        let hash = sha256_base64(b"<data>special & chars /?</data>");
        assert_eq!(
            invoice_verification_url(QrEnvironment::Test, "1234567890", "2026-01-05", &hash)
                .unwrap(),
            "https://qr-test.ksef.mf.gov.pl/invoice/1234567890/05-01-2026/2bEg3cUOcJxR38JekXJxuJphnkn-NUdSP-uyOc0hB6I"
        );
        assert!(invoice_verification_url(QrEnvironment::Prod, "123", "2026-01-05", &hash).is_err());
        assert!(
            invoice_verification_url(QrEnvironment::Prod, "1234567890", "05.01.2026", &hash)
                .is_err()
        );
        assert!(
            invoice_verification_url(QrEnvironment::Prod, "1234567890", "2026-01-05", "abc")
                .is_err()
        );
    }

    fn doc_link() -> CertificateLink<'static> {
        CertificateLink {
            env: QrEnvironment::Test,
            context_type: ContextType::Nip,
            context_value: "1111111111",
            seller_nip: "1111111111",
            cert_serial: "01F20A5D352AE590",
            invoice_hash: DOC_HASH,
        }
    }

    #[test]
    fn kod2_documented_signature_verifies_and_tampering_fails() {
        let cert =
            ParsedCertificate::from_base64(include_str!("../tests/fixtures/kod2-test-cert.b64"))
                .unwrap();
        let data = doc_link().data_to_sign().unwrap();
        assert_eq!(
            data,
            "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
        );
        let url = format!("https://{data}/{DOC_SIG}");
        verify_certificate_url(&url, &cert.spki_der).unwrap();
        let tampered = url.replace("/Nip/1111111111/", "/Nip/1111111112/");
        assert!(verify_certificate_url(&tampered, &cert.spki_der).is_err());
    }

    #[test]
    fn kod2_ecdsa_round_trip_uses_raw_r_s() {
        let key = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
        let spki = rsa::pkcs8::EncodePublicKey::to_public_key_der(key.verifying_key()).unwrap();
        let signer = OfflineSigningKey::EcdsaP256(key);
        let url = doc_link()
            .sign(&signer, &mut rand_core::UnwrapErr(NoRng))
            .unwrap();
        let sig = B64URL.decode(url.rsplit('/').next().unwrap()).unwrap();
        assert_eq!(sig.len(), 64);
        verify_certificate_url(&url, spki.as_bytes()).unwrap();
    }

    /// ECDSA here is deterministic (RFC 6979) and never asks for randomness.
    struct NoRng;
    impl rand_core::TryRng for NoRng {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            unreachable!("ECDSA P-256 signing is deterministic")
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            unreachable!("ECDSA P-256 signing is deterministic")
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            unreachable!("ECDSA P-256 signing is deterministic")
        }
    }
    impl rand_core::TryCryptoRng for NoRng {}

    #[test]
    fn svg_contains_a_qr_matrix() {
        let svg =
            render_svg("https://qr-test.ksef.mf.gov.pl/invoice/1111111111/01-02-2026/x").unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert!(svg.contains("<path") || svg.contains("<rect"), "{svg}");
    }
}
