//! KSeF certificates (ksef-docs `certyfikaty-KSeF.md`, open-api `/certificates/*`): limits,
//! enrollment data, CSR enrollment (issued by the simulator CA), status, retrieve, query,
//! revoke. Enrollment data and enrollment need a signature (XAdES) login: "Uwierzytelnienie
//! przy użyciu tokena systemowego KSeF nie pozwala na złożenie wniosku o certyfikat."

use std::collections::HashMap;
use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rsa::pkcs8::DecodePublicKey;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_cert::der::{Decode, Encode};
use x509_cert::name::Name;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::keys::{CertKind, build_certificate, key_material};
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

/// Per-subject limits (`GET /certificates/limits`, `GET /limits/subject`).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct CertificateLimits {
    pub max_enrollments: u32,
    pub max_certificates: u32,
}

pub const LIMITS: CertificateLimits = CertificateLimits {
    max_enrollments: 300,
    max_certificates: 100,
};

/// A certificate issued by the simulator's CA.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IssuedCertificate {
    pub serial_hex: String,
    #[serde(with = "crate::persist::base64_bytes")]
    pub der: Vec<u8>,
    pub name: String,
    pub kind: String,
    pub common_name: String,
    /// Owner identity (`SubjectId` value of the authenticated subject).
    pub owner: String,
    pub owner_kind: String,
    pub requested: OffsetDateTime,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    pub revoked: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Enrollment {
    pub reference_number: String,
    pub owner: String,
    pub requested: OffsetDateTime,
    pub serial_hex: String,
}

/// Issued certificates by serial number (hex, upper case), enrollments by reference.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CertificateStore {
    pub issued: HashMap<String, IssuedCertificate>,
    pub enrollments: HashMap<String, Enrollment>,
}

/// The limits in force for `subject`: those set through `/testdata/limits/subject/certificate`
/// (kept in `SimState.limits`), else [`LIMITS`].
fn limits_for(st: &crate::state::SimState, subject: &str) -> CertificateLimits {
    let (max_enrollments, max_certificates) = st.limits.certificates(subject);
    CertificateLimits {
        max_enrollments,
        max_certificates,
    }
}

impl CertificateStore {
    /// Certificates of `owner` that count against the limit (not revoked, not expired).
    pub fn active_count(&self, owner: &str, now: OffsetDateTime) -> u32 {
        self.issued
            .values()
            .filter(|c| c.owner == owner && !c.revoked && now <= c.valid_to)
            .count() as u32
    }
    pub fn enrollment_count(&self, owner: &str) -> u32 {
        self.enrollments
            .values()
            .filter(|e| e.owner == owner)
            .count() as u32
    }
}

/// Enrollment needs a signature (XAdES) login: a token login gets `code` (25001 for the
/// enrollment data, 25002 for the enrollment — both `400`, open-api).
fn signature_login_required(auth: &Auth, code: u32) -> Result<(), ApiError> {
    if auth.method.is_certificate() {
        return Ok(());
    }
    let description = if code == 25001 {
        "Brak możliwości pobrania danych do CSR dla wykorzystanego sposobu uwierzytelnienia."
    } else {
        "Brak możliwości złożenia wniosku certyfikacyjnego dla wykorzystanego sposobu uwierzytelnienia."
    };
    Err(ApiError::bad(
        code,
        description,
        vec!["Zaloguj się podpisem (XAdES) lub certyfikatem KSeF; token KSeF nie wystarcza. / Log in with a signature or KSeF certificate; a KSeF token is not enough.".into()],
    ))
}

fn owned<'a>(
    st: &'a CertificateStore,
    auth: &'a Auth,
) -> impl Iterator<Item = &'a IssuedCertificate> {
    st.issued
        .values()
        .filter(move |c| c.owner == auth.subject.value)
}

/// `GET /certificates/limits`.
async fn limits(State(state): State<AppState>, auth: Auth) -> Json<Value> {
    let st = state.lock();
    let limits = limits_for(&st, &auth.subject.value);
    let active = st
        .certificates
        .active_count(&auth.subject.value, util::now());
    let enrolled = st.certificates.enrollment_count(&auth.subject.value);
    let cert_left = limits.max_certificates.saturating_sub(active);
    let enr_left = limits.max_enrollments.saturating_sub(enrolled);
    Json(json!({
        "canRequest": cert_left > 0 && enr_left > 0 && auth.method.is_certificate(),
        "enrollment": {"limit": limits.max_enrollments, "remaining": enr_left},
        "certificate": {"limit": limits.max_certificates, "remaining": cert_left},
    }))
}

/// Subject fields a CSR must carry: taken from the login (NIP seal form).
fn enrollment_data(auth: &Auth) -> Value {
    let id = &auth.subject.value;
    json!({
        "commonName": format!("{} {id}", auth.subject.kind),
        "countryName": "PL",
        "organizationName": format!("Podmiot {id}"),
        "organizationIdentifier": format!("VATPL-{id}"),
    })
}

/// `GET /certificates/enrollments/data`.
async fn data(auth: Auth) -> Result<Json<Value>, ApiError> {
    signature_login_required(&auth, 25001)?;
    Ok(Json(enrollment_data(&auth)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollRequest {
    certificate_name: String,
    certificate_type: String,
    csr: String,
    #[serde(default)]
    valid_from: Option<String>,
}

fn cert_error(code: u32, description: &str, detail: String) -> ApiError {
    ApiError::bad(code, description, vec![detail])
}

/// 25004 description (open-api `POST /certificates/enrollments`).
const CSR_INVALID: &str = "Niepoprawny format CSR lub niepoprawny podpis CSR.";
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

fn csr_spki_der(csr: &x509_cert::request::CertReq) -> Result<Vec<u8>, ApiError> {
    csr.info
        .public_key
        .to_der()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Checks the CSR key (RSA 2048 or EC P-256 — 25010 otherwise), its signature algorithm
/// (25011) and its self-signature (25004). Rules: open-api `POST /certificates/enrollments`.
fn verify_csr(csr: &x509_cert::request::CertReq) -> Result<(), ApiError> {
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

/// `POST /certificates/enrollments` → 202; the certificate is issued at once.
async fn enroll(
    State(state): State<AppState>,
    auth: Auth,
    body: JsonBody<EnrollRequest>,
) -> Result<Response, ApiError> {
    signature_login_required(&auth, 25002)?;
    let req = body.0;
    {
        let st = state.lock();
        let owner = &auth.subject.value;
        let limits = limits_for(&st, owner);
        if st.certificates.enrollment_count(owner) >= limits.max_enrollments {
            return Err(cert_error(
                25006,
                "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
                format!(
                    "Limit wniosków: {}. / Enrollment limit reached.",
                    limits.max_enrollments
                ),
            ));
        }
        if st.certificates.active_count(owner, util::now()) >= limits.max_certificates {
            return Err(cert_error(
                25007,
                "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
                format!(
                    "Limit aktywnych certyfikatów: {}; unieważnij nieużywany certyfikat. / Active certificate limit reached; revoke one you no longer use.",
                    limits.max_certificates
                ),
            ));
        }
    }
    let kind = match req.certificate_type.as_str() {
        "Authentication" => CertKind::Authentication,
        "Offline" => CertKind::Offline,
        other => {
            return Err(ApiError::validation(format!(
                "Nieznany typ certyfikatu: {other}."
            )));
        }
    };
    if req.certificate_name.trim().is_empty() || req.certificate_name.chars().count() > 100 {
        return Err(ApiError::validation(
            "Nazwa certyfikatu musi mieć od 1 do 100 znaków.",
        ));
    }
    let der = util::b64_decode(&req.csr).ok_or_else(|| {
        cert_error(
            25004,
            CSR_INVALID,
            "Pole csr nie jest poprawnym Base64 (DER).".into(),
        )
    })?;
    let csr = x509_cert::request::CertReq::from_der(&der)
        .map_err(|e| cert_error(25004, CSR_INVALID, format!("Nie można odczytać CSR: {e}.")))?;
    verify_csr(&csr)?;
    // The CSR subject must carry the login identity ("we własnym imieniu").
    let subject_text = csr.info.subject.to_string();
    if !subject_text.contains(&auth.subject.value) {
        return Err(cert_error(
            25003,
            "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
            format!(
                "Temat CSR musi zawierać identyfikator {}.",
                auth.subject.value
            ),
        ));
    }
    let now = util::now();
    let valid_from = match req.valid_from.as_deref() {
        None => now,
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::validation("validFrom musi być datą ISO 8601."))?,
    };
    let valid_to = valid_from + time::Duration::days(730);
    let mut serial = util::random_bytes(8);
    serial[0] = (serial[0] & 0x7f).max(1);
    let serial_hex = hex::encode_upper(&serial);
    let issuer = Name::from_str("CN=KSeF Simulator CA,O=Ministerstwo Finansow,C=PL")
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cert_der = build_certificate(
        csr.info.subject.clone(),
        issuer,
        &csr_spki_der(&csr)?,
        &serial,
        valid_from,
        valid_to,
        kind,
        &key_material().ca_key,
    );
    let reference = util::reference_number("CE");
    let mut st = state.lock();
    st.certificates.issued.insert(
        serial_hex.clone(),
        IssuedCertificate {
            serial_hex: serial_hex.clone(),
            der: cert_der,
            name: req.certificate_name,
            kind: req.certificate_type,
            common_name: subject_text,
            owner: auth.subject.value.clone(),
            owner_kind: auth.subject.kind.clone(),
            requested: now,
            valid_from,
            valid_to,
            revoked: false,
        },
    );
    st.certificates.enrollments.insert(
        reference.clone(),
        Enrollment {
            reference_number: reference.clone(),
            owner: auth.subject.value.clone(),
            requested: now,
            serial_hex,
        },
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"referenceNumber": reference, "timestamp": util::rfc3339(now)})),
    )
        .into_response())
}

/// `GET /certificates/enrollments/{referenceNumber}`.
async fn enrollment_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = state.lock();
    let e = st
        .certificates
        .enrollments
        .get(&reference)
        .filter(|e| e.owner == auth.subject.value)
        .ok_or_else(|| {
            ApiError::validation(format!("Wniosek {reference} nie został znaleziony."))
        })?;
    if e.requested + state.config.enrollment_retention < util::now() {
        return Err(ApiError::Gone);
    }
    Ok(Json(json!({
        "requestDate": util::rfc3339(e.requested),
        "status": {"code": 200, "description": "Wniosek certyfikacyjny obsłużony pomyślnie"},
        "certificateSerialNumber": e.serial_hex,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetrieveRequest {
    certificate_serial_numbers: Vec<String>,
}

/// `POST /certificates/retrieve`.
async fn retrieve(
    State(state): State<AppState>,
    auth: Auth,
    body: JsonBody<RetrieveRequest>,
) -> Result<Json<Value>, ApiError> {
    if body.0.certificate_serial_numbers.is_empty() || body.0.certificate_serial_numbers.len() > 10
    {
        return Err(ApiError::validation("Podaj od 1 do 10 numerów seryjnych."));
    }
    let st = state.lock();
    let certs: Vec<Value> = body
        .0
        .certificate_serial_numbers
        .iter()
        .filter_map(|s| st.certificates.issued.get(&s.to_ascii_uppercase()))
        .filter(|c| c.owner == auth.subject.value)
        .map(|c| json!({"certificate": util::b64(&c.der), "certificateName": c.name, "certificateSerialNumber": c.serial_hex, "certificateType": c.kind}))
        .collect();
    Ok(Json(json!({"certificates": certs})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct QueryRequest {
    certificate_serial_number: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    page_size: Option<String>,
    page_offset: Option<String>,
}

fn status_of(c: &IssuedCertificate, now: OffsetDateTime) -> &'static str {
    if c.revoked {
        "Revoked"
    } else if now > c.valid_to {
        "Expired"
    } else if now < c.valid_from {
        "Blocked"
    } else {
        "Active"
    }
}

/// `POST /certificates/query?pageSize=10..50&pageOffset=`.
async fn query(
    State(state): State<AppState>,
    auth: Auth,
    Query(page): Query<QueryPage>,
    body: JsonBody<QueryRequest>,
) -> Result<Json<Value>, ApiError> {
    let size = match page.page_size.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (10..=50).contains(&n) => n,
        _ => return Err(ApiError::validation("pageSize musi być z zakresu 10..50.")),
    };
    let offset = match page.page_offset.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        _ => {
            return Err(ApiError::validation(
                "pageOffset musi być liczbą nieujemną.",
            ));
        }
    };
    let q = body.0;
    let now = util::now();
    let st = state.lock();
    let mut certs: Vec<&IssuedCertificate> = owned(&st.certificates, &auth)
        .filter(|c| {
            q.certificate_serial_number
                .as_ref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&c.serial_hex))
        })
        .filter(|c| q.name.as_ref().is_none_or(|n| c.name.contains(n.as_str())))
        .filter(|c| q.kind.as_ref().is_none_or(|k| k == &c.kind))
        .filter(|c| q.status.as_ref().is_none_or(|s| s == status_of(c, now)))
        .collect();
    certs.sort_by(|a, b| {
        b.requested
            .cmp(&a.requested)
            .then(a.serial_hex.cmp(&b.serial_hex))
    });
    let total = certs.len();
    let items: Vec<Value> = certs
        .into_iter()
        .skip(offset.saturating_mul(size))
        .take(size)
        .map(|c| json!({
            "certificateSerialNumber": c.serial_hex, "name": c.name, "type": c.kind, "commonName": c.common_name,
            "status": status_of(c, now), "subjectIdentifier": {"type": c.owner_kind, "value": c.owner},
            "validFrom": util::rfc3339(c.valid_from), "validTo": util::rfc3339(c.valid_to), "requestDate": util::rfc3339(c.requested),
        }))
        .collect();
    Ok(Json(
        json!({"certificates": items, "hasMore": (offset + 1).saturating_mul(size) < total}),
    ))
}

/// `POST /certificates/{certificateSerialNumber}/revoke` → 204.
async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(serial): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = util::now();
    let mut st = state.lock();
    let c = st
        .certificates
        .issued
        .get_mut(&serial.to_ascii_uppercase())
        .filter(|c| c.owner == auth.subject.value)
        .ok_or_else(|| {
            cert_error(
                25008,
                "Certyfikat o podanym numerze seryjnym nie istnieje.",
                format!("Certyfikat {serial} nie został znaleziony."),
            )
        })?;
    if status_of(c, now) != "Active" {
        return Err(cert_error(
            25009,
            "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.",
            format!("Certyfikat {serial} ma status {}.", status_of(c, now)),
        ));
    }
    c.revoked = true;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidityChange {
    valid_to: String,
}

/// `PUT /testdata/certificates/{serialNumber}` (KSeF 2.7, `api-changelog.md`; not in the
/// vendored 2.6.0 spec): shortens a KSeF certificate's `validTo` so expiry can be tested.
/// Body `{"validTo": "<RFC 3339>"}` → 200; a later date than the current one is 21405.
async fn testdata_validity(
    State(state): State<AppState>,
    Path(serial): Path<String>,
    JsonBody(req): JsonBody<ValidityChange>,
) -> Result<StatusCode, ApiError> {
    let valid_to = OffsetDateTime::parse(
        &req.valid_to,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| ApiError::validation("validTo musi być datą i czasem ISO 8601 (RFC 3339)."))?;
    let mut st = state.lock();
    let c = st
        .certificates
        .issued
        .get_mut(&serial.to_ascii_uppercase())
        .ok_or_else(|| {
            cert_error(
                25008,
                "Certyfikat o podanym numerze seryjnym nie istnieje.",
                format!("Certyfikat {serial} nie został znaleziony."),
            )
        })?;
    if valid_to > c.valid_to {
        return Err(ApiError::validation(format!(
            "validTo można tylko skrócić (obecnie {}). / validTo can only be shortened.",
            util::rfc3339(c.valid_to)
        )));
    }
    if valid_to < c.valid_from {
        return Err(ApiError::validation(
            "validTo nie może być wcześniejsze niż validFrom. / validTo before validFrom.",
        ));
    }
    c.valid_to = valid_to;
    Ok(StatusCode::OK)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/testdata/certificates/{serialNumber}",
            axum::routing::put(testdata_validity),
        )
        .route("/certificates/limits", get(limits))
        .route("/certificates/enrollments/data", get(data))
        .route("/certificates/enrollments", post(enroll))
        .route(
            "/certificates/enrollments/{referenceNumber}",
            get(enrollment_status),
        )
        .route("/certificates/retrieve", post(retrieve))
        .route("/certificates/query", post(query))
        .route(
            "/certificates/{certificateSerialNumber}/revoke",
            post(revoke),
        )
}

#[cfg(test)]
mod tests {
    //! Enrollment in-process (`oneshot`): the certificate login is placed in the state
    //! directly to keep this unit test free of XAdES signing; real XAdES logins followed by
    //! enrollment (RSA and EC P-256 CSRs) are in `tests/xades_api.rs`.

    use std::str::FromStr;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use rsa::signature::Verifier;
    use serde_json::{Value, json};
    use tower::ServiceExt;
    use x509_cert::builder::Builder;
    use x509_cert::der::{Decode, Encode};

    use crate::auth::{AuthMethod, AuthOperation, AuthOutcome, ContextId, Permission, SubjectId};
    use crate::keys::key_material;
    use crate::{AppState, SimConfig, util};

    const NIP: &str = "5265877635";

    fn certificate_login(state: &AppState) -> String {
        let now = util::now();
        let op = AuthOperation {
            reference_number: util::reference_number("AU"),
            start_date: now,
            ready_at: now,
            method: AuthMethod::SelfSignedSeal,
            context: ContextId::nip(NIP),
            subject: SubjectId {
                kind: "Nip".into(),
                value: NIP.into(),
            },
            permissions: Permission::OWNER.to_vec(),
            outcome: AuthOutcome::success(),
            redeemed: true,
            last_refresh: None,
            refresh_valid_until: None,
            revoked: false,
            ksef_token_ref: None,
            auth_document_hash: None,
            cert_fingerprint: None,
        };
        let (token, _) = crate::auth::issue(
            state,
            "ContextToken",
            &op,
            std::time::Duration::from_secs(60),
        );
        state
            .lock()
            .auth
            .operations
            .insert(op.reference_number.clone(), op);
        token
    }

    async fn call(
        state: &AppState,
        method: &str,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = crate::app(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn csr(subject: &str) -> Vec<u8> {
        let key = key_material().token_keys[0].clone();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        let builder = x509_cert::builder::RequestBuilder::new(
            x509_cert::name::Name::from_str(subject).unwrap(),
        )
        .unwrap();
        let req: x509_cert::request::CertReq = builder
            .build::<_, rsa::pkcs1v15::Signature>(&signer)
            .unwrap();
        req.to_der().unwrap()
    }

    #[tokio::test]
    async fn csr_enrollment_issues_a_ca_signed_certificate() {
        let state = AppState::new(SimConfig::for_tests(), "http://127.0.0.1".into());
        let token = certificate_login(&state);
        let (status, data) = call(
            &state,
            "GET",
            "/v2/certificates/enrollments/data",
            &token,
            json!(null),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(data["organizationIdentifier"], format!("VATPL-{NIP}"));

        // Tampered CSR signature → 25004; subject without the NIP → 25003.
        let mut bad = csr(&format!("CN=Firma {NIP},O=Firma,C=PL"));
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (status, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Authentication","csr": util::b64(&bad)})).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["exception"]["exceptionDetailList"][0]["exceptionCode"],
            25004
        );
        let (_, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Authentication","csr": util::b64(&csr("CN=Someone else,C=PL"))})).await;
        assert_eq!(
            body["exception"]["exceptionDetailList"][0]["exceptionCode"],
            25003
        );

        let (status, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Offline","csr": util::b64(&csr(&format!("CN=Firma {NIP},O=Firma,C=PL")))})).await;
        assert_eq!(status, 202, "{body}");
        let reference = body["referenceNumber"].as_str().unwrap().to_string();
        let (_, st) = call(
            &state,
            "GET",
            &format!("/v2/certificates/enrollments/{reference}"),
            &token,
            json!(null),
        )
        .await;
        assert_eq!(st["status"]["code"], 200);
        let serial = st["certificateSerialNumber"].as_str().unwrap().to_string();
        assert_eq!(serial.len(), 16);
        let (_, got) = call(
            &state,
            "POST",
            "/v2/certificates/retrieve",
            &token,
            json!({"certificateSerialNumbers":[serial]}),
        )
        .await;
        let der =
            util::b64_decode(got["certificates"][0]["certificate"].as_str().unwrap()).unwrap();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        assert!(
            cert.tbs_certificate()
                .issuer()
                .to_string()
                .contains("KSeF Simulator CA")
        );
        // Signed by the simulator CA.
        let ca =
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key_material().ca_key.to_public_key());
        let sig = rsa::pkcs1v15::Signature::try_from(cert.signature().raw_bytes()).unwrap();
        ca.verify(&cert.tbs_certificate().to_der().unwrap(), &sig)
            .unwrap();

        let (status, _) = call(
            &state,
            "POST",
            &format!("/v2/certificates/{serial}/revoke"),
            &token,
            json!({}),
        )
        .await;
        assert_eq!(status, 204);
        let (_, q) = call(
            &state,
            "POST",
            "/v2/certificates/query",
            &token,
            json!({"status":"Revoked"}),
        )
        .await;
        assert_eq!(q["certificates"][0]["certificateSerialNumber"], serial);
        assert_eq!(q["certificates"][0]["type"], "Offline");
    }
}
