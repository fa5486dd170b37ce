//! The content of an export package: `_metadata.json` (`{"invoices": [InvoiceMetadata…]}`)
//! plus one XML file per invoice (ksef-docs `przyrostowe-pobieranie-faktur.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::archive::Entry;
use super::state::SubjectType;
use crate::api::invoices::InvoiceMetadata;
use crate::crypto;
use crate::error::{Error, Result};

/// An invoice fetched from KSeF, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchedInvoice {
    /// KSeF number (the de-duplication key).
    pub ksef_number: String,
    /// The perspective it was fetched under.
    pub subject: SubjectType,
    /// KSeF's metadata (parties, amounts, dates, hash, invoice type, …).
    pub metadata: InvoiceMetadata,
    /// The FA(3) XML exactly as KSeF holds it (`None` for metadata-only exports).
    pub xml: Option<String>,
}

#[derive(Deserialize)]
struct MetadataFile {
    invoices: Vec<InvoiceMetadata>,
}

fn bad(what: String) -> Error {
    Error::Decode(format!(
        "paczka eksportu: {what} — uruchom synchronizację ponownie / export package: {what}; run the sync again"
    ))
}

/// Pairs `_metadata.json` entries with their XML files (by `{ksefNumber}.xml`, else by the
/// SHA-256 `invoiceHash`) and checks every XML against its hash. Duplicates inside the
/// package collapse to one invoice.
pub fn parse_package(
    entries: Vec<Entry>,
    subject: SubjectType,
    only_metadata: bool,
) -> Result<Vec<FetchedInvoice>> {
    let mut metadata = None;
    let mut xml_by_stem: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in entries {
        let file = entry
            .name
            .rsplit('/')
            .next()
            .unwrap_or(&entry.name)
            .to_owned();
        if file.eq_ignore_ascii_case("_metadata.json") {
            let parsed: MetadataFile = serde_json::from_slice(&entry.bytes)
                .map_err(|e| bad(format!("_metadata.json: {e}")))?;
            metadata = Some(parsed.invoices);
        } else if file.to_ascii_lowercase().ends_with(".xml") {
            xml_by_stem.insert(file[..file.len() - 4].to_owned(), entry.bytes);
        }
    }
    let metadata = metadata.ok_or_else(|| bad("brak _metadata.json / no _metadata.json".into()))?;
    let mut by_hash: BTreeMap<String, String> = xml_by_stem
        .iter()
        .map(|(stem, bytes)| (crypto::sha256_base64(bytes), stem.clone()))
        .collect();
    let mut out: Vec<FetchedInvoice> = Vec::with_capacity(metadata.len());
    let mut seen = std::collections::BTreeSet::new();
    for meta in metadata {
        if !seen.insert(meta.ksef_number.clone()) {
            continue;
        }
        let xml = if only_metadata {
            None
        } else {
            let stem = if xml_by_stem.contains_key(&meta.ksef_number) {
                Some(meta.ksef_number.clone())
            } else {
                meta.invoice_hash.as_ref().and_then(|h| by_hash.remove(h))
            };
            let bytes = stem.and_then(|s| xml_by_stem.remove(&s)).ok_or_else(|| {
                bad(format!(
                    "brak pliku XML faktury {n} / no XML file for invoice {n}",
                    n = meta.ksef_number
                ))
            })?;
            if let Some(hash) = &meta.invoice_hash
                && crypto::sha256_base64(&bytes) != *hash
            {
                return Err(bad(format!(
                    "skrót faktury {n} się nie zgadza / hash mismatch of invoice {n}",
                    n = meta.ksef_number
                )));
            }
            Some(String::from_utf8(bytes).map_err(|_| {
                bad(format!(
                    "faktura {n} nie jest w UTF-8 / invoice {n} is not UTF-8",
                    n = meta.ksef_number
                ))
            })?)
        };
        out.push(FetchedInvoice {
            ksef_number: meta.ksef_number.clone(),
            subject,
            metadata: meta,
            xml,
        });
    }
    Ok(out)
}
