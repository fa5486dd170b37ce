//! KSeF protocol flows over any [`Transport`]: public keys, login (KSeF token or
//! XAdES certificate), refresh/logout, online sessions, sending and polling
//! invoices, UPO, metadata query, download, export with high-water mark, KSeF
//! tokens and certificate enrollment. Time, randomness and sleeping are parameters.
//!
//! Sequence: /work/shared/ksef-guide.md §0 (happy path), §2–§10, §12.1 (429).

mod auth;
mod client;
mod invoices;
mod keys;
mod sessions;
mod tokens;

pub use auth::{AuthTokens, login_with_certificate, login_with_ksef_token, logout, refresh};
pub use client::{KsefClient, PollPolicy};
pub use invoices::{ExportCursor, ExportResult, download_invoice, export_since, query_metadata};
pub use keys::{PublicKeys, ensure_public_keys, fetch_public_keys};
pub use sessions::{
    AcceptedInvoice, OnlineSession, SentInvoice, close_online_session, encrypt_invoice,
    invoice_upo, open_online_session, send_invoice, send_invoice_reusing_session, wait_for_invoice,
    wait_for_session_upo,
};
pub use tokens::{create_token, list_tokens, revoke_token, token_status};

use crate::api;
use crate::crypto;
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

// ---------------------------------------------------------------- certificates

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
