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
}

/// A fetched invoice as kept in `ksef_invoices`: the company, the list's row (what the app
/// reads) and the invoice as KSeF gave it (metadata and XML, JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kept {
    /// The company's NIP.
    pub company_nip: String,
    /// The list's line.
    pub row: Row,
    /// `FetchedInvoice` as JSON; absent in what the app lists.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub json: String,
}

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
