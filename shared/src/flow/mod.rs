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

pub use auth::{AuthTokens, login_with_certificate, login_with_ksef_token, logout, refresh};
pub use client::{KsefClient, PollPolicy};
pub use invoices::{ExportCursor, ExportResult, download_invoice, export_since, query_metadata};
pub use keys::{PublicKeys, ensure_public_keys, fetch_public_keys};
pub use sessions::{
    AcceptedInvoice, OnlineSession, SentInvoice, close_online_session, encrypt_invoice,
    invoice_upo, open_online_session, send_invoice, send_invoice_reusing_session, wait_for_invoice,
    wait_for_session_upo,
};

use crate::api::{self, NoContent};
use crate::crypto;
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

// ---------------------------------------------------------------- KSeF tokens

/// Creates a KSeF token (§8); the returned secret is shown once.
pub async fn create_token<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    permissions: &[&str],
    description: &str,
) -> Result<api::tokens::create::Response> {
    let len = description.chars().count();
    if !(5..=256).contains(&len) {
        return Err(Error::InvalidInput(
            "opis tokena musi mieć 5–256 znaków / token description must have 5–256 characters"
                .into(),
        ));
    }
    client
        .execute(
            &api::tokens::create::Request {
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                description: description.to_owned(),
            },
            Some(access_token),
        )
        .await
}

/// Lists all tokens following continuation tokens (at most `max_pages` requests).
pub async fn list_tokens<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    max_pages: u32,
) -> Result<Vec<api::tokens::TokenStatus>> {
    let mut all = Vec::new();
    let mut continuation = None;
    for _ in 0..max_pages.max(1) {
        let page = client
            .execute(
                &api::tokens::list::Request {
                    page_size: 100,
                    continuation_token: continuation.take(),
                },
                Some(access_token),
            )
            .await?;
        all.extend(page.tokens);
        match page.continuation_token {
            Some(t) if !t.is_empty() => continuation = Some(t),
            _ => break,
        }
    }
    Ok(all)
}

/// Status of one token (poll until `Active` before using a new token).
pub async fn token_status<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<api::tokens::TokenStatus> {
    client
        .execute(
            &api::tokens::get::Request {
                reference_number: reference_number.to_owned(),
            },
            Some(access_token),
        )
        .await
}

/// Revokes a token.
pub async fn revoke_token<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<()> {
    client
        .execute(
            &api::tokens::revoke::Request {
                reference_number: reference_number.to_owned(),
            },
            Some(access_token),
        )
        .await
        .map(|NoContent| ())
}

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
