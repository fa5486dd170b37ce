//! KSeF certificates (guide §10.2 end): enrollment data, enrollment from a CSR until issued,
//! and over their life: every certificate of the subject, the limits, revocation.

use super::KsefClient;
use crate::api;
use crate::crypto;
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// DN data for the CSR (`GET /certificates/enrollments/data`).
pub async fn enrollment_data<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
) -> Result<api::certificates::enrollment_data::Response> {
    client
        .execute(
            &api::certificates::enrollment_data::Request,
            Some(access_token),
        )
        .await
}

/// Enrolls a KSeF certificate from a DER PKCS#10 CSR, polls until issued and
/// retrieves it (`Authentication` or `Offline`).
pub async fn enroll_certificate<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    certificate_name: &str,
    certificate_type: &str,
    csr_der: &[u8],
) -> Result<api::certificates::retrieve::Certificate> {
    let started = client
        .execute(
            &api::certificates::enroll::Request {
                certificate_name: certificate_name.to_owned(),
                certificate_type: certificate_type.to_owned(),
                csr: crypto::base64_encode(csr_der),
                valid_from: None,
            },
            Some(access_token),
        )
        .await?;
    let status_request = api::certificates::enrollment_status::Request {
        reference_number: started.reference_number,
    };
    let serial = client
        .poll_until(
            &status_request,
            Some(access_token),
            || "certyfikat / certificate".into(),
            |r| match r.status.code {
                200 => r.certificate_serial_number.map(Some).ok_or_else(|| {
                    Error::Decode("brak numeru seryjnego / no serial number".into())
                }),
                100..=199 => Ok(None),
                code => Err(Error::Ksef {
                    code,
                    description: r.status.description,
                    details: r.status.details,
                }),
            },
        )
        .await?;
    let mut certs = client
        .execute(
            &api::certificates::retrieve::Request {
                certificate_serial_numbers: vec![serial],
            },
            Some(access_token),
        )
        .await?
        .certificates;
    certs.pop().ok_or_else(|| {
        Error::Decode("KSeF nie zwrócił certyfikatu / KSeF returned no certificate".into())
    })
}

/// Every certificate of the logged-in subject matching `filter`, newest request first
/// (at most `max_pages` pages of 50).
pub async fn query_certificates<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    filter: &api::certificates::query::Filter,
    max_pages: u32,
) -> Result<Vec<api::certificates::query::Certificate>> {
    let mut all = Vec::new();
    for page_offset in 0..max_pages.max(1) {
        let page = client
            .execute(
                &api::certificates::query::Request {
                    filter: filter.clone(),
                    page_size: 50,
                    page_offset,
                },
                Some(access_token),
            )
            .await?;
        all.extend(page.certificates);
        if !page.has_more {
            break;
        }
    }
    Ok(all)
}

/// The subject's certificate limits (whether a new enrollment would be accepted).
pub async fn certificate_limits<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
) -> Result<api::certificates::limits::Response> {
    client
        .execute(&api::certificates::limits::Request, Some(access_token))
        .await
}

/// Revokes a certificate (not possible after a KSeF token login).
pub async fn revoke_certificate<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    serial_number: &str,
    reason: Option<api::certificates::RevocationReason>,
) -> Result<()> {
    client
        .execute(
            &api::certificates::revoke::Request {
                certificate_serial_number: serial_number.to_owned(),
                revocation_reason: reason,
            },
            Some(access_token),
        )
        .await
        .map(|api::NoContent| ())
}
