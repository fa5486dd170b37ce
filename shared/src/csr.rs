//! PKCS#10 certificate signing request for a KSeF certificate (`POST /certificates/enrollments`).
//!
//! The subject carries exactly the attributes `GET /certificates/enrollments/data` returned:
//! ksef-docs `certyfikaty-KSeF.md` §2 (attribute OIDs) and §3 (RSA 2048 or EC P-256, SHA-256);
//! "Modyfikacja tych danych spowoduje odrzucenie wniosku". Attribute order and string types
//! follow the ministry's own client (CIRFMF ksef-client-csharp, `CreateSubjectDistinguishedName`):
//! CN, surname, givenName, O, organizationIdentifier, C, serialNumber, uniqueIdentifier;
//! C and serialNumber as PrintableString, the rest UTF8String. Only used by the certificate
//! Web Worker, so its weight stays out of the main app.

use rsa::signature::{SignatureEncoding, Signer};
use x509_cert::der::asn1::{Any, BitString, ObjectIdentifier, PrintableStringRef, Utf8StringRef};
use x509_cert::der::{Decode, Encode};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::{CertReq, CertReqInfo, Version};
use x509_cert::spki::{DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned};

use crate::api::certificates::enrollment_data::Response as EnrollmentData;
use crate::error::{Error, Result};
use crate::xades::SigningKey;

const COMMON_NAME: &str = "2.5.4.3";
const SURNAME: &str = "2.5.4.4";
const SERIAL_NUMBER: &str = "2.5.4.5";
const COUNTRY_NAME: &str = "2.5.4.6";
const ORGANIZATION_NAME: &str = "2.5.4.10";
const GIVEN_NAME: &str = "2.5.4.42";
const UNIQUE_IDENTIFIER: &str = "2.5.4.45";
const ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";

fn csr_error(e: impl std::fmt::Display) -> Error {
    Error::Crypto(format!(
        "nie można zbudować CSR / cannot build the CSR: {e}"
    ))
}

/// The subject DN from the enrollment data (empty attributes are left out).
pub fn subject_name(data: &EnrollmentData) -> Result<Name> {
    let attributes: [(&str, Option<&str>, bool); 8] = [
        (COMMON_NAME, Some(&data.common_name), false),
        (SURNAME, data.surname.as_deref(), false),
        (GIVEN_NAME, data.given_name.as_deref(), false),
        (ORGANIZATION_NAME, data.organization_name.as_deref(), false),
        (
            ORGANIZATION_IDENTIFIER,
            data.organization_identifier.as_deref(),
            false,
        ),
        (COUNTRY_NAME, Some(&data.country_name), true),
        (SERIAL_NUMBER, data.serial_number.as_deref(), true),
        (UNIQUE_IDENTIFIER, data.unique_identifier.as_deref(), false),
    ];
    let mut rdns = RdnSequence::default();
    for (oid, value, printable) in attributes {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        let oid = ObjectIdentifier::new(oid).map_err(csr_error)?;
        // A value outside PrintableString's alphabet still goes through, as UTF8String.
        let value = match PrintableStringRef::new(value) {
            Ok(p) if printable => Any::encode_from(&p),
            _ => Any::encode_from(&Utf8StringRef::new(value).map_err(csr_error)?),
        }
        .map_err(csr_error)?;
        let rdn =
            RelativeDistinguishedName::try_from(vec![x509_cert::attr::AttributeTypeAndValue {
                oid,
                value,
            }])
            .map_err(csr_error)?;
        rdns.push(rdn);
    }
    Name::from_der(&rdns.to_der().map_err(csr_error)?).map_err(csr_error)
}

/// A DER PKCS#10 CSR for `data`, signed by `key` with sha256WithRSAEncryption (RSA) or
/// ecdsa-with-SHA256 (EC P-256). Send it Base64-encoded as `csr`.
///
/// Built from x509-cert's `CertReqInfo`/`CertReq` rather than its `RequestBuilder`: the
/// builder always adds an empty extensionRequest attribute, which RFC 5280's
/// `Extensions ::= SEQUENCE SIZE (1..MAX)` forbids; OpenSSL and .NET send no attributes.
pub fn build_csr(data: &EnrollmentData, key: &SigningKey) -> Result<Vec<u8>> {
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject_name(data)?,
        public_key: SubjectPublicKeyInfoOwned::from_der(&key.public_key_der()?)
            .map_err(csr_error)?,
        attributes: Default::default(),
    };
    let to_be_signed = info.to_der().map_err(csr_error)?;
    let (algorithm, signature) = match key {
        SigningKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone());
            let signature = signer.try_sign(&to_be_signed).map_err(csr_error)?;
            (signer.signature_algorithm_identifier(), signature.to_vec())
        }
        SigningKey::EcdsaP256(k) => {
            let signature: p256::ecdsa::DerSignature =
                k.try_sign(&to_be_signed).map_err(csr_error)?;
            (k.signature_algorithm_identifier(), signature.to_vec())
        }
    };
    CertReq {
        info,
        algorithm: algorithm.map_err(csr_error)?,
        signature: BitString::from_bytes(&signature).map_err(csr_error)?,
    }
    .to_der()
    .map_err(csr_error)
}
