//! KSeF certificates (ksef-guide §3.4 "KSeF internal certificate", open-api `/certificates/*`):
//! limits, enrollment data, CSR enrollment, status, retrieve, query, revoke.

use std::collections::HashMap;

use time::OffsetDateTime;

/// Per-subject limits (`GET /certificates/limits`, `GET /limits/subject`).
#[derive(Debug, Clone, Copy)]
pub struct CertificateLimits {
    pub max_enrollments: u32,
    pub max_certificates: u32,
}

pub const LIMITS: CertificateLimits = CertificateLimits {
    max_enrollments: 300,
    max_certificates: 100,
};

/// A certificate issued by the simulator's CA.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub serial_hex: String,
    pub der: Vec<u8>,
    pub name: String,
    pub kind: String,
    pub owner: String,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
    pub revoked: bool,
}

/// Issued certificates by serial number (hex, upper case).
#[derive(Debug, Default)]
pub struct CertificateStore {
    pub issued: HashMap<String, IssuedCertificate>,
}
