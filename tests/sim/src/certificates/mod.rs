//! KSeF certificates (ksef-docs `certyfikaty-KSeF.md`, open-api `/certificates/*`): limits,
//! enrollment data, CSR enrollment (issued by the simulator CA), status, retrieve, query,
//! revoke. Enrollment data and enrollment need a signature (XAdES) login: "Uwierzytelnienie
//! przy użyciu tokena systemowego KSeF nie pozwala na złożenie wniosku o certyfikat."
//!
//! This file holds the store, the limits and `GET /certificates/limits`; `csr.rs` the CSR
//! checks, `enroll.rs` the enrollment endpoints, `issued.rs` retrieve/query/revoke.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

mod csr;
mod enroll;
mod issued;

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

fn cert_error(code: u32, description: &str, detail: String) -> ApiError {
    ApiError::bad(code, description, vec![detail])
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(issued::routes())
        .route("/certificates/limits", get(limits))
        .merge(enroll::routes())
}
