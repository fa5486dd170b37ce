//! KSeF protocol flows over any [`Transport`]: public keys, login (KSeF token or
//! XAdES certificate), refresh/logout, online sessions, sending and polling
//! invoices, UPO, metadata query, download, export with high-water mark, KSeF
//! tokens and certificate enrollment. Time, randomness and sleeping are parameters.
//!
//! Sequence: /work/shared/ksef-guide.md §0 (happy path), §2–§10, §12.1 (429).

mod auth;
mod client;
mod keys;
mod sessions;

pub use auth::{AuthTokens, login_with_certificate, login_with_ksef_token, logout, refresh};
pub use client::{KsefClient, PollPolicy};
pub use keys::{PublicKeys, ensure_public_keys, fetch_public_keys};
pub use sessions::{
    AcceptedInvoice, OnlineSession, SentInvoice, close_online_session, encrypt_invoice,
    invoice_upo, open_online_session, send_invoice, send_invoice_reusing_session, wait_for_invoice,
    wait_for_session_upo,
};

use crate::api::{self, NoContent, RawDocument};
use crate::crypto::{self, KeyUsage, SymmetricKey};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};
use rand_core::TryCryptoRng;

// ---------------------------------------------------------------- reading invoices

/// Runs a metadata query over all pages (§7.1), narrowing the range when KSeF truncates at 10 000.
/// `max_pages` bounds the number of requests (the endpoint allows only 20/h on PROD).
pub async fn query_metadata<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    filters: &api::invoices::InvoiceQueryFilters,
    page_size: u32,
    max_pages: u32,
) -> Result<(Vec<api::invoices::InvoiceMetadata>, Option<String>)> {
    let mut filters = filters.clone();
    let mut invoices: Vec<api::invoices::InvoiceMetadata> = Vec::new();
    let mut offset = 0;
    let mut hwm = None;
    for _ in 0..max_pages.max(1) {
        let page = client
            .execute(
                &api::invoices::query_metadata::Request {
                    filters: filters.clone(),
                    page_offset: offset,
                    page_size: page_size.clamp(10, 250),
                    ascending: true,
                },
                Some(access_token),
            )
            .await?;
        hwm = page.permanent_storage_hwm_date.clone().or(hwm);
        let last_date =
            page.invoices
                .last()
                .and_then(|i| match filters.date_range.date_type.as_str() {
                    "PermanentStorage" => i.permanent_storage_date.clone(),
                    "Invoicing" => i.invoicing_date.clone(),
                    _ => Some(i.issue_date.clone()),
                });
        for inv in page.invoices {
            if !invoices.iter().any(|x| x.ksef_number == inv.ksef_number) {
                invoices.push(inv);
            }
        }
        if !page.has_more {
            break;
        }
        match (page.is_truncated, last_date) {
            (true, Some(from)) => {
                filters.date_range.from = from;
                offset = 0;
            }
            _ => offset += 1,
        }
    }
    Ok((invoices, hwm))
}

/// Downloads one invoice's XML by KSeF number (§7.2).
pub async fn download_invoice<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    ksef_number: &str,
) -> Result<RawDocument> {
    let number = crate::ksef_number::KsefNumber::parse(ksef_number)?;
    client
        .execute(
            &api::invoices::download::Request {
                ksef_number: number.as_str().to_owned(),
            },
            Some(access_token),
        )
        .await
}

/// Per-subject-type export cursor (§7.4): where the next export window starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportCursor {
    /// `Subject1`, `Subject2`, …
    pub subject_type: String,
    /// Next `dateRange.from` (PermanentStorage).
    pub from: String,
}

impl ExportCursor {
    /// Moves the cursor after a finished package: truncated → last stored date, else → HWM.
    pub fn advance(&mut self, package: &api::invoices::export_status::Package) {
        let next = if package.is_truncated {
            package.last_permanent_storage_date.clone()
        } else {
            package.permanent_storage_hwm_date.clone()
        };
        if let Some(next) = next {
            self.from = next;
        }
    }
}

/// A finished export: decrypted package bytes (ZIP) plus the package description.
#[derive(Debug, Clone)]
pub struct ExportResult {
    /// ZIP bytes (parts decrypted and concatenated in order).
    pub zip: Vec<u8>,
    /// Package facts (truncation, HWM).
    pub package: api::invoices::export_status::Package,
}

/// Runs one incremental export window from `cursor` (§7.3–7.4) and advances the cursor.
pub async fn export_since<T: Transport, S: Sleep, R: TryCryptoRng + ?Sized>(
    client: &KsefClient<T, S>,
    keys: &mut PublicKeys,
    access_token: &str,
    cursor: &mut ExportCursor,
    now_unix: u64,
    rng: &mut R,
) -> Result<ExportResult> {
    ensure_public_keys(client, keys, KeyUsage::SymmetricKeyEncryption, now_unix).await?;
    let key = SymmetricKey::generate(rng)?;
    let cert = keys.select(KeyUsage::SymmetricKeyEncryption, now_unix)?;
    let request = api::invoices::export::Request {
        encryption: crypto::encryption_info(cert, &key, rng)?,
        filters: api::invoices::InvoiceQueryFilters {
            subject_type: cursor.subject_type.clone(),
            date_range: api::invoices::DateRange {
                date_type: "PermanentStorage".into(),
                from: cursor.from.clone(),
                to: None,
                restrict_to_permanent_storage_hwm_date: Some(true),
            },
            ksef_number: None,
            invoice_number: None,
            seller_nip: None,
        },
        only_metadata: false,
    };
    let started = client.execute(&request, Some(access_token)).await?;
    let status_request = api::invoices::export_status::Request {
        reference_number: started.reference_number,
    };
    let package = client
        .poll_until(
            &status_request,
            Some(access_token),
            || "eksport / export".into(),
            |r| match r.status.code {
                200 => r.package.map(Some).ok_or_else(|| {
                    Error::Decode("eksport bez paczki / export without package".into())
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
    let mut parts = package.parts.clone();
    parts.sort_by_key(|p| p.ordinal_number);
    let mut zip = Vec::new();
    for part in &parts {
        let doc = client.fetch_storage(&part.url).await?;
        if let Some(expected) = &part.encrypted_part_hash
            && crypto::sha256_base64(&doc.bytes) != *expected
        {
            return Err(Error::Decode(format!(
                "część {} eksportu ma zły skrót / export part {} hash mismatch",
                part.ordinal_number, part.ordinal_number
            )));
        }
        zip.extend(key.decrypt(&doc.bytes)?);
    }
    cursor.advance(&package);
    Ok(ExportResult { zip, package })
}

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
