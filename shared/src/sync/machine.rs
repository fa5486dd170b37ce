//! The sync machine: one KSeF request per [`SyncRun::step`], the cursor saved before each,
//! waits returned to the caller instead of slept (the caller owns clock and timers).
//!
//! This file holds the run, its steps' dispatch and what both paths share; a small window's
//! metadata query and single downloads are in `machine/query.rs`, the export (start, status
//! polls, parts, unpacking) in `machine/export.rs`.

mod export;
mod query;

use crate::crypto::Encrypter;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::archive::Compression;
use super::package::FetchedInvoice;
use super::state::{Phase, Progress, StoredKey, SyncCursor, SyncKey, Wait, WaitReason};
use super::store::{SyncError, SyncStore, store_error};
use crate::api::Endpoint;
use crate::api::invoices::{DateRange, InvoiceQueryFilters, export_status};
use crate::crypto::SymmetricKey;
use crate::error::{Error, Result};
use crate::flow::{KsefClient, PublicKeys};
use crate::transport::{Sleep, Transport};

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

    fn new_export<R: Encrypter + ?Sized>(to: Option<String>, rng: &mut R) -> Result<Phase> {
        Ok(Phase::Export {
            to,
            key: StoredKey::of(&SymmetricKey::generate(rng)?),
            reference: None,
            polls: 0,
        })
    }

    /// Does one thing (at most one KSeF request) and says what to do next. The cursor is
    /// saved before the request and after its answer; on `Err` the run stays resumable.
    pub async fn step<R: Encrypter + ?Sized>(
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

    async fn plan<R: Encrypter + ?Sized>(
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
    pub async fn run<R: Encrypter + ?Sized, Sl: Sleep>(
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
