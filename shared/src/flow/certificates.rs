//! KSeF certificates (guide §10.2 end): enrollment data, and enrollment from a CSR until issued.

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
