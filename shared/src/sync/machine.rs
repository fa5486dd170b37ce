//! The sync machine: one KSeF request per [`SyncRun::step`], the cursor saved before each,
//! waits returned to the caller instead of slept (the caller owns clock and timers).

use http::Method;
use rand_core::TryCryptoRng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::archive::{Compression, unpack};
use super::package::{FetchedInvoice, parse_package};
use super::state::{Phase, Progress, StoredKey, SyncCursor, SyncKey, Wait, WaitReason};
use super::store::{SyncError, SyncStore, store_error};
use crate::api::invoices::{
    DateRange, InvoiceMetadata, InvoiceQueryFilters, download, export, export_status,
    query_metadata,
};
use crate::api::{Body, Endpoint};
use crate::crypto::{self, KeyUsage, SymmetricKey};
use crate::error::{Error, Result};
use crate::flow::{KsefClient, PublicKeys, ensure_public_keys, fetch_public_keys};
use crate::transport::{HttpResponse, Sleep, Transport};

/// Who started the run: automatic runs respect the 15-minute interval, a user's click does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A timer or page load.
    Automatic,
    /// The user pressed "Synchronizuj".
    Manual,
}

/// What the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Call [`SyncRun::step`] again right away.
    Continue,
    /// Call [`SyncRun::step`] again at `until_ms` (unix ms); show `reason` meanwhile.
    WaitUntil {
        /// Unix ms.
        until_ms: u64,
        /// 429 or export processing.
        reason: WaitReason,
    },
    /// The perspective is in sync up to the HWM.
    Done {
        /// Earliest next automatic run (unix ms).
        next_automatic_ms: u64,
    },
    /// An automatic run came too early; nothing was sent.
    Deferred {
        /// Earliest allowed automatic run (unix ms).
        next_allowed_ms: u64,
    },
}

/// Tunables; the defaults follow `limity-api.md` (PRD limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    /// Minimum time between automatic runs per perspective (15 min).
    pub min_interval_ms: u64,
    /// A window starting at most this long ago counts as small: metadata query first.
    pub small_window_ms: u64,
    /// At most this many single downloads for a small window, else an export (64/h limit).
    pub max_single_downloads: usize,
    /// Longest window sent to KSeF (a query may span at most 3 months).
    pub max_window_ms: u64,
    /// First export status wait, doubled per poll up to `poll_max_ms`.
    pub poll_initial_ms: u64,
    /// Longest export status wait (the status endpoint allows 60/min, 600/h).
    pub poll_max_ms: u64,
    /// Package format asked for.
    pub compression: Compression,
    /// Largest single file accepted from a package.
    pub max_file_bytes: usize,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        Self {
            min_interval_ms: 15 * 60 * 1000,
            small_window_ms: 24 * 3600 * 1000,
            max_single_downloads: 10,
            max_window_ms: 89 * 24 * 3600 * 1000,
            poll_initial_ms: 1_000,
            poll_max_ms: 10_000,
            compression: Compression::Zip,
            max_file_bytes: 256 * 1024 * 1024,
        }
    }
}

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

fn time_error(text: &str) -> Error {
    Error::Decode(format!("data „{text}” / date „{text}”"))
}

fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| time_error(text))
}

fn from_ms(ms: u64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-01-03T13:45:00.000Z`.
fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// End of a finished window: `dateRange.to` when given (clamped to the HWM), else the HWM.
fn window_end(to: Option<&str>, hwm: Option<&str>) -> Result<String> {
    match (to, hwm) {
        (Some(t), Some(h)) => Ok(if parse_time(h)? < parse_time(t)? {
            h
        } else {
            t
        }
        .to_owned()),
        (Some(t), None) => Ok(t.to_owned()),
        (None, Some(h)) => Ok(h.to_owned()),
        (None, None) => Err(Error::Decode(
            "KSeF nie podał permanentStorageHwmDate / KSeF gave no permanentStorageHwmDate".into(),
        )),
    }
}

/// A call's result, or the wait a 429 asks for.
enum Answer<T> {
    Ok(T),
    Wait(Step),
}

/// One sync of one company and perspective. Holds the cursor; persists it through `St`.
pub struct SyncRun<T, S, St> {
    client: KsefClient<T, S>,
    store: St,
    /// Tunables.
    pub policy: SyncPolicy,
    cursor: SyncCursor,
    /// Decrypted parts of the package being downloaded (memory only: a reload asks the
    /// export status again, which also renews the storage links).
    parts: Vec<Vec<u8>>,
    package: Option<export_status::Package>,
}

impl<T: Transport, S: Sleep, St: SyncStore> SyncRun<T, S, St> {
    /// Loads the cursor of `key` (or starts one at `first_from`, RFC 3339). The client's own
    /// 429 retries are switched off: the run reports waits instead of sleeping through them.
    pub async fn open(
        mut client: KsefClient<T, S>,
        store: St,
        key: SyncKey,
        first_from: impl Into<String>,
        policy: SyncPolicy,
    ) -> Result<Self, SyncError> {
        client.rate_limit_retries = 0;
        let cursor = store
            .load_cursor(&key)
            .await
            .map_err(store_error)?
            .unwrap_or_else(|| SyncCursor::new(key, first_from));
        Ok(Self {
            client,
            store,
            policy,
            cursor,
            parts: Vec::new(),
            package: None,
        })
    }

    /// The cursor as last saved.
    pub fn cursor(&self) -> &SyncCursor {
        &self.cursor
    }

    /// Counts for the progress bar.
    pub fn progress(&self) -> &Progress {
        &self.cursor.progress
    }

    /// The store (tests inspect it; the browser may reuse it).
    pub fn store(&self) -> &St {
        &self.store
    }

    async fn save(&self) -> Result<(), SyncError> {
        self.store
            .save_cursor(&self.cursor)
            .await
            .map_err(store_error)
    }

    /// Starts a run, or resumes the one in flight. An automatic run within
    /// `min_interval_ms` of the last start is [`Step::Deferred`] and sends nothing.
    pub async fn begin(&mut self, trigger: Trigger, now_ms: u64) -> Result<Step, SyncError> {
        if self.cursor.phase != Phase::Idle {
            return Ok(Step::Continue);
        }
        if trigger == Trigger::Automatic
            && let Some(last) = self.cursor.last_started_ms
            && now_ms < last + self.policy.min_interval_ms
        {
            return Ok(Step::Deferred {
                next_allowed_ms: last + self.policy.min_interval_ms,
            });
        }
        self.cursor.phase = Phase::Planning;
        self.cursor.last_started_ms = Some(now_ms);
        self.cursor.progress = Progress::default();
        self.save().await?;
        Ok(Step::Continue)
    }

    fn next_automatic(&self) -> u64 {
        self.cursor.last_started_ms.unwrap_or(0) + self.policy.min_interval_ms
    }

    async fn wait(&mut self, until_ms: u64, reason: WaitReason) -> Result<Step, SyncError> {
        self.cursor.waiting = Some(Wait { until_ms, reason });
        self.save().await?;
        Ok(Step::WaitUntil { until_ms, reason })
    }

    /// A 429 from a request made outside [`call`](Self::call) (public keys, storage) becomes
    /// a wait too; anything else is the step's error.
    async fn failed(&mut self, error: Error, now_ms: u64) -> Result<Step, SyncError> {
        match error {
            Error::RateLimited { retry_after_secs } => {
                self.cursor.progress.rate_limited += 1;
                let until = now_ms + retry_after_secs.max(1) * 1000;
                self.wait(until, WaitReason::RateLimited).await
            }
            e => Err(e.into()),
        }
    }

    /// Sends `endpoint`; a 429 becomes a persisted wait of `Retry-After`.
    async fn call<E: Endpoint>(
        &mut self,
        endpoint: &E,
        access_token: &str,
        now_ms: u64,
    ) -> Result<Answer<E::Response>, SyncError> {
        match self.client.execute(endpoint, Some(access_token)).await {
            Ok(r) => Ok(Answer::Ok(r)),
            Err(Error::RateLimited { retry_after_secs }) => {
                self.cursor.progress.rate_limited += 1;
                let until = now_ms + retry_after_secs.max(1) * 1000;
                Ok(Answer::Wait(
                    self.wait(until, WaitReason::RateLimited).await?,
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn filters(&self, to: Option<String>) -> InvoiceQueryFilters {
        InvoiceQueryFilters {
            subject_type: self.cursor.key.subject.as_str().into(),
            date_range: DateRange {
                date_type: "PermanentStorage".into(),
                from: self.cursor.from.clone(),
                to,
                restrict_to_permanent_storage_hwm_date: Some(true),
            },
            ksef_number: None,
            invoice_number: None,
            seller_nip: None,
        }
    }

    fn new_export<R: TryCryptoRng + ?Sized>(to: Option<String>, rng: &mut R) -> Result<Phase> {
        Ok(Phase::Export {
            to,
            key: StoredKey::of(&SymmetricKey::generate(rng)?),
            reference: None,
            polls: 0,
        })
    }

    /// Does one thing (at most one KSeF request) and says what to do next. The cursor is
    /// saved before the request and after its answer; on `Err` the run stays resumable.
    pub async fn step<R: TryCryptoRng + ?Sized>(
        &mut self,
        keys: &mut PublicKeys,
        access_token: &str,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, SyncError> {
        if let Some(w) = self.cursor.waiting {
            if now_ms < w.until_ms {
                return Ok(Step::WaitUntil {
                    until_ms: w.until_ms,
                    reason: w.reason,
                });
            }
            self.cursor.waiting = None;
        }
        match self.cursor.phase.clone() {
            Phase::Idle => Ok(Step::Done {
                next_automatic_ms: self.next_automatic(),
            }),
            Phase::Planning => self.plan(now_ms, rng).await,
            Phase::Query { to } => self.query(to, access_token, now_ms, rng).await,
            Phase::Singles { next_from, pending } => {
                self.single(next_from, pending, access_token, now_ms).await
            }
            Phase::Export {
                to,
                key,
                reference: None,
                ..
            } => {
                self.start_export(to, key, keys, access_token, now_ms, rng)
                    .await
            }
            Phase::Export {
                to,
                key,
                reference: Some(reference),
                polls,
            } => {
                if self.package.is_none() {
                    self.poll(to, reference, polls, access_token, now_ms, rng)
                        .await
                } else {
                    self.download_part(to, key, now_ms).await
                }
            }
        }
    }

    async fn plan<R: TryCryptoRng + ?Sized>(
        &mut self,
        now_ms: u64,
        rng: &mut R,
    ) -> Result<Step, SyncError> {
        let from = parse_time(&self.cursor.from)?;
        let now = from_ms(now_ms);
        let longest = time::Duration::milliseconds(self.policy.max_window_ms as i64);
        let to = (from + longest < now).then(|| format_time(from + longest));
        let age = now - from;
        let small = to.is_none()
            && self.policy.max_single_downloads > 0
            && age <= time::Duration::milliseconds(self.policy.small_window_ms as i64);
        self.cursor.phase = if small {
            Phase::Query { to }
        } else {
            Self::new_export(to, rng)?
        };
        self.save().await?;
        Ok(Step::Continue)
    }

    async fn query<R: TryCryptoRng + ?Sized>(
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

    async fn single(
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

    /// Inserts the invoices the store does not hold yet; counts new and duplicates.
    async fn store_new(&mut self, invoices: Vec<FetchedInvoice>) -> Result<(), SyncError> {
        let numbers: Vec<String> = invoices.iter().map(|i| i.ksef_number.clone()).collect();
        let known = self
            .store
            .known(&self.cursor.key.company_nip, &numbers)
            .await
            .map_err(store_error)?;
        let mut fresh = Vec::new();
        for (invoice, known) in invoices.into_iter().zip(known) {
            if known {
                self.cursor.progress.duplicates += 1;
            } else {
                fresh.push(invoice);
            }
        }
        self.cursor.progress.invoices_new += fresh.len() as u64;
        if !fresh.is_empty() {
            self.store
                .insert(&self.cursor.key.company_nip, fresh)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn start_export<R: TryCryptoRng + ?Sized>(
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
                encryption: crypto::encryption_info(cert, &key.to_key()?, rng)?,
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

    async fn poll<R: TryCryptoRng + ?Sized>(
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

    async fn download_part(
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

    async fn finish_window(
        &mut self,
        next_from: String,
        more: bool,
        now_ms: u64,
    ) -> Result<Step, SyncError> {
        self.cursor.from = next_from;
        self.cursor.progress.windows_done += 1;
        if more {
            self.cursor.phase = Phase::Planning;
            self.save().await?;
            return Ok(Step::Continue);
        }
        self.cursor.phase = Phase::Idle;
        self.cursor.last_completed_ms = Some(now_ms);
        self.cursor.waiting = None;
        self.save().await?;
        Ok(Step::Done {
            next_automatic_ms: self.next_automatic(),
        })
    }

    /// Convenience driver: [`begin`](Self::begin), then [`step`](Self::step) until done,
    /// sleeping through waits with `sleep`, reading the time from `clock` (unix ms) and
    /// reporting every step to `on_step`. The browser may use it or run its own loop.
    #[allow(clippy::too_many_arguments)]
    pub async fn run<R: TryCryptoRng + ?Sized, Sl: Sleep>(
        &mut self,
        keys: &mut PublicKeys,
        access_token: &str,
        trigger: Trigger,
        clock: impl Fn() -> u64,
        sleep: &Sl,
        rng: &mut R,
        mut on_step: impl FnMut(&Progress, Step),
    ) -> Result<Step, SyncError> {
        let first = self.begin(trigger, clock()).await?;
        if let Step::Deferred { .. } = first {
            return Ok(first);
        }
        loop {
            let step = self.step(keys, access_token, clock(), rng).await?;
            on_step(&self.cursor.progress, step);
            match step {
                Step::Continue => {}
                Step::WaitUntil { until_ms, .. } => {
                    sleep.sleep(until_ms.saturating_sub(clock())).await;
                }
                Step::Done { .. } | Step::Deferred { .. } => return Ok(step),
            }
        }
    }
}
