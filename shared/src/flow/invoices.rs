//! Reading invoices (§7): metadata query, download by KSeF number, and the incremental
//! export with its cursor.

use crate::crypto::Encrypter;

use super::{KsefClient, PublicKeys, ensure_public_keys};
use crate::api::{self, RawDocument};
use crate::crypto::{self, KeyUsage, SymmetricKey};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

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
pub async fn export_since<T: Transport, S: Sleep, R: Encrypter + ?Sized>(
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
        encryption: crypto::encryption_info(cert, &key, rng).await?,
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
