//! A small window: one metadata query, then each unknown invoice downloaded on its own
//! (spares the export budget when little is new).

use crate::crypto::Encrypter;

use super::{Answer, Step, SyncRun, window_end};
use crate::api::invoices::{InvoiceMetadata, download, query_metadata};
use crate::crypto;
use crate::error::Error;
use crate::sync::package::FetchedInvoice;
use crate::sync::state::Phase;
use crate::sync::store::{SyncError, SyncStore, store_error};
use crate::transport::{Sleep, Transport};

impl<T: Transport, S: Sleep, St: SyncStore> SyncRun<T, S, St> {
    pub(super) async fn query<R: Encrypter + ?Sized>(
        &mut self,
        to: Option<String>,
        access_token: &str,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, SyncError> {
        let request = query_metadata::Request {
            filters: self.filters(to.clone()),
            page_offset: 0,
            page_size: 250,
            ascending: true,
        };
        let page = match self.call(&request, access_token, now_ms).await? {
            Answer::Ok(page) => page,
            Answer::Wait(step) => return Ok(step),
        };
        self.cursor.progress.metadata_queries += 1;
        let too_many = page.has_more
            || page.invoices.len() > self.policy.max_single_downloads
            || page.permanent_storage_hwm_date.is_none();
        if too_many {
            // Too much for single downloads: the same window goes through an export.
            self.cursor.phase = Self::new_export(to, rng)?;
            self.save().await?;
            return Ok(Step::Continue);
        }
        self.cursor.progress.invoices_announced += page.invoices.len() as u64;
        let next_from = window_end(to.as_deref(), page.permanent_storage_hwm_date.as_deref())?;
        let pending = self.unknown(page.invoices).await?;
        self.cursor.phase = Phase::Singles { next_from, pending };
        self.save().await?;
        Ok(Step::Continue)
    }

    /// Drops invoices the store already holds (counted as duplicates) and repeats in the list.
    async fn unknown(
        &mut self,
        invoices: Vec<InvoiceMetadata>,
    ) -> Result<Vec<InvoiceMetadata>, SyncError> {
        let mut seen = std::collections::BTreeSet::new();
        let invoices: Vec<InvoiceMetadata> = invoices
            .into_iter()
            .filter(|i| seen.insert(i.ksef_number.clone()))
            .collect();
        let numbers: Vec<String> = invoices.iter().map(|i| i.ksef_number.clone()).collect();
        let known = self
            .store
            .known(&self.cursor.key.company_nip, &numbers)
            .await
            .map_err(store_error)?;
        let mut out = Vec::new();
        for (invoice, known) in invoices.into_iter().zip(known) {
            if known {
                self.cursor.progress.duplicates += 1;
            } else {
                out.push(invoice);
            }
        }
        Ok(out)
    }

    pub(super) async fn single(
        &mut self,
        next_from: String,
        mut pending: Vec<InvoiceMetadata>,
        access_token: &str,
        now_ms: u64,
    ) -> Result<Step, SyncError> {
        if pending.is_empty() {
            return self.finish_window(next_from, false, now_ms).await;
        }
        let meta = pending.remove(0);
        let request = download::Request {
            ksef_number: meta.ksef_number.clone(),
        };
        let doc = match self.call(&request, access_token, now_ms).await? {
            Answer::Ok(doc) => doc,
            Answer::Wait(step) => return Ok(step),
        };
        self.cursor.progress.single_downloads += 1;
        self.cursor.progress.invoices_received += 1;
        if let Some(hash) = &meta.invoice_hash
            && crypto::sha256_base64(&doc.bytes) != *hash
        {
            return Err(Error::Decode(format!(
                "skrót faktury {n} się nie zgadza / hash mismatch of invoice {n}",
                n = meta.ksef_number
            ))
            .into());
        }
        let xml = String::from_utf8(doc.bytes).map_err(|_| {
            Error::Decode(format!(
                "faktura {n} nie jest w UTF-8 / invoice {n} is not UTF-8",
                n = meta.ksef_number
            ))
        })?;
        let invoice = FetchedInvoice {
            ksef_number: meta.ksef_number.clone(),
            subject: self.cursor.key.subject,
            metadata: meta,
            xml: Some(xml),
        };
        self.store_new(vec![invoice]).await?;
        self.cursor.phase = Phase::Singles { next_from, pending };
        self.save().await?;
        Ok(Step::Continue)
    }
}
