//! Kwit's sync of the invoices KSeF holds (Faktury KSeF), run in a Web Worker: ksef-core's sync
//! machine with its exports, package unpacking and parsing is about 100 KB brotli, which the
//! first load (400 KB budget) cannot carry, and a 10,000-invoice package parsed on the main
//! thread would freeze the page. The worker is fetched when the page first syncs.
//!
//! The app posts a [`Job`] (JSON) with the vault's AES-GCM key (a `CryptoKey`, structured-
//! cloned: the sync cursor holds an export's AES key and is kept sealed); the worker answers
//! with [`Update`]s (JSON) after each step, the last with `finished`. Both sides name the
//! IndexedDB records with the functions below; the app reads only [`Kept::row`].

use ksef_core::sync::{Progress, Row, SubjectType, WaitReason};
use serde::{Deserialize, Serialize};

#[cfg(feature = "worker")]
mod batch;
#[cfg(feature = "worker")]
mod worker;
#[cfg(feature = "worker")]
pub use worker::handle;

/// One sync run of one company and perspective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The KSeF API on the relay, e.g. `/ksef/sim/v2`.
    pub base_url: String,
    /// The relay's route for KSeF's storage links (export parts), e.g. `/ksef/sim/storage`.
    pub storage_base: String,
    /// The company (its KSeF context).
    pub nip: String,
    /// Perspective.
    pub subject: SubjectType,
    /// Access token of the company's login. Secret: in memory only.
    pub access_token: String,
    /// The user clicked "Synchronizuj" (automatic runs keep 15 minutes apart).
    pub manual: bool,
    /// Where a never-synced perspective starts (RFC 3339).
    pub first_from: String,
}

/// A batch send (issued invoices in one KSeF batch session), run by the same worker module
/// in its own instance: ksef-core's batch machine with its ZIP, hashing and encryption is
/// ~20 KB brotli the first load cannot carry, and a package of large invoices is seconds of
/// work the page must not wait on. The batch is kept (sealed with the vault's key) in
/// `settings/batch` ([`BATCH_KEY`]) from before its session opens until every invoice has its
/// outcome, so a reload resumes it; the worker writes each invoice's state into its draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchJob {
    /// The KSeF API on the relay, e.g. `/ksef/sim/v2`.
    pub base_url: String,
    /// The relay's route for KSeF's storage links (part uploads).
    pub storage_base: String,
    /// Environment name (`sim`, `test`...), recorded in each invoice's state.
    pub env: String,
    /// Access token of the company's login. Secret: in memory only.
    pub access_token: String,
    /// The company (the login's context): every invoice's seller.
    pub nip: String,
    /// The user's date (`YYYY-MM-DD`), for the invoices' date rules.
    pub today: String,
    /// The drafts (`drafts` store ids) of a new batch, their owner checked by the app; the
    /// worker validates them and writes their FA(3). Empty: carry on the stored batch.
    pub ids: Vec<String>,
}

/// A `fa3` request: the invoice's FA(3) XML, written here because its writer (quick-xml and
/// the FA(3) schema's types, ~15 KB brotli) would otherwise be in the first load, and a
/// 1 MB invoice is a long task the page must not run. The message is
/// `{fa3: InvoiceDraft (structured clone), today: "YYYY-MM-DD", now: unix seconds}`; the
/// answer's [`Update::xml`] holds the XML, or its failure says why there is none.
pub const FA3_FIELD: &str = "fa3";

/// `settings` key of the batch being sent (sealed).
pub const BATCH_KEY: &str = "batch";

/// A failure in both languages, with KSeF's codes behind "Szczegóły".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Polish.
    pub pl: String,
    /// English.
    pub en: String,
    /// Codes and KSeF's words.
    pub details: Option<String>,
}

/// What the page shows, sent after every step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Update {
    /// The machine's counts.
    pub progress: Progress,
    /// Paused until (unix ms), and why.
    pub waiting: Option<(u64, WaitReason)>,
    /// The perspective is in sync up to KSeF's high-water mark.
    pub done: bool,
    /// An automatic run came within 15 minutes of the last: allowed from this time on.
    pub deferred_until: Option<u64>,
    /// The run is over (done, deferred or failed).
    pub finished: bool,
    /// Why it failed, if it did.
    pub failure: Option<Failure>,
    /// A batch send's parts uploaded, parts, invoices with an outcome, invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<[usize; 4]>,
    /// The FA(3) XML a `fa3` request asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
}

/// A fetched invoice as kept in `ksef_invoices`: the company and the list's row. The invoice
/// as KSeF gave it (metadata and XML) is in [`DOCUMENTS_STORE`] under the same key, so the
/// list reads small records (records written before that store existed still carry it inline
/// as `json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    /// The company's NIP.
    pub company_nip: String,
    /// The list's line.
    pub row: Row,
}

/// The object store of the fetched invoices as KSeF gave them: `FetchedInvoice` as JSON, keyed
/// by [`invoice_key`] (app database v5).
pub const DOCUMENTS_STORE: &str = "ksef_documents";

/// The row the app reads (the same record without its heavy `json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptRow {
    /// The company's NIP.
    pub company_nip: String,
    /// The list's line.
    pub row: Row,
}

/// Key of a fetched invoice in `ksef_invoices`.
pub fn invoice_key(nip: &str, ksef_number: &str) -> String {
    format!("{nip}|{ksef_number}")
}

/// Key of a perspective's sealed cursor in `ksef_sync`.
pub fn cursor_key(nip: &str, subject: SubjectType) -> String {
    format!("{nip}|{}", subject.as_str())
}

/// Key of a perspective's "last finished" time (unix ms, not secret) in `ksef_sync`.
pub fn done_key(nip: &str, subject: SubjectType) -> String {
    format!("{nip}|{}|done", subject.as_str())
}
