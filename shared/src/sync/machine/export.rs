//! The export path: start an encrypted export of the window, poll its status, fetch and
//! decrypt the parts, unpack and store the package, move the window on.

use crate::crypto::Encrypter;
use http::Method;

use super::{Answer, Step, SyncRun, parse_time, window_end};
use crate::api::invoices::{export, export_status};
use crate::api::{Body, Endpoint};
use crate::crypto::{self, KeyUsage};
use crate::error::{Error, Result};
use crate::flow::{PublicKeys, ensure_public_keys, fetch_public_keys};
use crate::sync::archive::{Compression, unpack};
use crate::sync::package::parse_package;
use crate::sync::state::{Phase, StoredKey, WaitReason};
use crate::sync::store::{SyncError, SyncStore};
use crate::transport::{HttpResponse, Sleep, Transport};

/// `POST /invoices/exports` with `compressionType` (added in API 2.7.0; omitted for Zip, the default).
struct ExportRequest {
    inner: export::Request,
    compression: Compression,
}

impl Endpoint for ExportRequest {
    type Response = export::Response;
    const METHOD: Method = Method::POST;
    fn path(&self) -> String {
        self.inner.path()
    }
    fn body(&self) -> Result<Body> {
        let mut value =
            serde_json::to_value(&self.inner).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if self.compression != Compression::Zip {
            value["compressionType"] = self.compression.as_str().into();
        }
        Body::json(&value)
    }
    fn parse(response: HttpResponse) -> Result<export::Response> {
        crate::api::json_body(&response)
    }
}

impl<T: Transport, S: Sleep, St: SyncStore> SyncRun<T, S, St> {
    pub(super) async fn start_export<R: Encrypter + ?Sized>(
        &mut self,
        to: Option<String>,
        key: StoredKey,
        keys: &mut PublicKeys,
        access_token: &str,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, SyncError> {
        let now_unix = now_ms / 1000;
        if let Err(e) = ensure_public_keys(
            &self.client,
            keys,
            KeyUsage::SymmetricKeyEncryption,
            now_unix,
        )
        .await
        {
            return self.failed(e, now_ms).await;
        }
        let cert = keys.select(KeyUsage::SymmetricKeyEncryption, now_unix)?;
        let request = ExportRequest {
            inner: export::Request {
                encryption: crypto::encryption_info(cert, &key.to_key()?, rng).await?,
                filters: self.filters(to.clone()),
                only_metadata: false,
            },
            compression: self.policy.compression,
        };
        let started = match self.call(&request, access_token, now_ms).await {
            Ok(Answer::Ok(started)) => started,
            Ok(Answer::Wait(step)) => return Ok(step),
            Err(SyncError::Ksef(Error::UnknownPublicKey)) => {
                // KSeF rotated its keys (21470): fetch them and try again.
                match fetch_public_keys(&self.client).await {
                    Ok(fresh) => *keys = fresh,
                    Err(e) => return self.failed(e, now_ms).await,
                }
                return Ok(Step::Continue);
            }
            Err(e) => return Err(e),
        };
        self.cursor.progress.exports_started += 1;
        self.cursor.phase = Phase::Export {
            to,
            key,
            reference: Some(started.reference_number),
            polls: 0,
        };
        self.wait(
            now_ms + self.policy.poll_initial_ms,
            WaitReason::ExportProcessing,
        )
        .await
    }

    pub(super) async fn poll<R: Encrypter + ?Sized>(
        &mut self,
        to: Option<String>,
        reference: String,
        polls: u32,
        access_token: &str,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, SyncError> {
        let request = export_status::Request {
            reference_number: reference.clone(),
        };
        let status = match self.call(&request, access_token, now_ms).await {
            Ok(Answer::Ok(status)) => status,
            Ok(Answer::Wait(step)) => return Ok(step),
            Err(SyncError::Ksef(Error::Gone)) => {
                // The export expired (kept 7 days): export the same window again.
                self.cursor.phase = Self::new_export(to, rng)?;
                self.save().await?;
                return Ok(Step::Continue);
            }
            Err(e) => return Err(e),
        };
        self.cursor.progress.status_polls += 1;
        let Phase::Export { key, .. } = self.cursor.phase.clone() else {
            return Ok(Step::Continue);
        };
        match status.status.code {
            100..=199 => {
                let delay = self
                    .policy
                    .poll_initial_ms
                    .saturating_mul(1 << polls.min(10))
                    .min(self.policy.poll_max_ms);
                self.cursor.phase = Phase::Export {
                    to,
                    key,
                    reference: Some(reference),
                    polls: polls + 1,
                };
                self.wait(now_ms + delay, WaitReason::ExportProcessing)
                    .await
            }
            200 => {
                let package = status.package.ok_or_else(|| {
                    Error::Decode("eksport bez paczki / export without package".into())
                })?;
                self.cursor.progress.parts_total = package.parts.len() as u32;
                self.cursor.progress.parts_done = 0;
                self.cursor.progress.invoices_announced += package.invoice_count;
                self.parts.clear();
                self.package = Some(package);
                self.save().await?;
                Ok(Step::Continue)
            }
            210 => {
                self.cursor.phase = Self::new_export(to, rng)?;
                self.save().await?;
                Ok(Step::Continue)
            }
            code => {
                // A failed export (415 key, 420 range, 500, 550): the next run starts over.
                self.cursor.phase = Phase::Planning;
                self.save().await?;
                Err(Error::Ksef {
                    code,
                    description: status.status.description,
                    details: status.status.details,
                }
                .into())
            }
        }
    }

    pub(super) async fn download_part(
        &mut self,
        to: Option<String>,
        key: StoredKey,
        now_ms: u64,
    ) -> Result<Step, SyncError> {
        let Some(package) = self.package.clone() else {
            return Ok(Step::Continue);
        };
        let mut parts = package.parts.clone();
        parts.sort_by_key(|p| p.ordinal_number);
        if let Some(part) = parts.get(self.parts.len()) {
            self.save().await?;
            let doc = match self.client.fetch_storage(&part.url).await {
                Ok(doc) => doc,
                Err(e) => return self.failed(e, now_ms).await,
            };
            if let Some(expected) = &part.encrypted_part_hash
                && crypto::sha256_base64(&doc.bytes) != *expected
            {
                return Err(Error::Decode(format!(
                    "część {n} eksportu ma zły skrót / export part {n} hash mismatch",
                    n = part.ordinal_number
                ))
                .into());
            }
            self.parts.push(key.to_key()?.decrypt(&doc.bytes)?);
            self.cursor.progress.parts_done = self.parts.len() as u32;
            self.save().await?;
            return Ok(Step::Continue);
        }
        let archive = self.parts.concat();
        self.parts.clear();
        self.package = None;
        let entries = unpack(
            &archive,
            self.policy.compression,
            self.policy.max_file_bytes,
        )?;
        let invoices = parse_package(entries, self.cursor.key.subject, false)?;
        self.cursor.progress.invoices_received += invoices.len() as u64;
        self.store_new(invoices).await?;
        let next_from = if package.is_truncated {
            let last = package.last_permanent_storage_date.clone().ok_or_else(|| {
                Error::Decode(
                    "ucięta paczka bez lastPermanentStorageDate / truncated package without lastPermanentStorageDate"
                        .into(),
                )
            })?;
            if parse_time(&last)? <= parse_time(&self.cursor.from)? {
                return Err(Error::Decode(
                    "ucięta paczka nie przesuwa okna / a truncated package does not move the window"
                        .into(),
                )
                .into());
            }
            last
        } else {
            window_end(to.as_deref(), package.permanent_storage_hwm_date.as_deref())?
        };
        let more = package.is_truncated || to.is_some();
        self.finish_window(next_from, more, now_ms).await
    }
}
