//! The persisted sync cursor: where the next window starts, what is in flight, progress.

use serde::{Deserialize, Serialize};

use crate::api::invoices::InvoiceMetadata;
use crate::crypto::{self, SymmetricKey};
use crate::error::{Error, Result};

/// Whose invoices: the company's role on the invoice (`InvoiceQuerySubjectType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SubjectType {
    /// Podmiot 1 — we sold.
    Subject1,
    /// Podmiot 2 — we bought.
    Subject2,
    /// Podmiot 3 — a third party (e.g. recipient, payer).
    Subject3,
    /// Podmiot upoważniony.
    SubjectAuthorized,
}

impl SubjectType {
    /// Every perspective, in the order the docs iterate them.
    pub const ALL: [Self; 4] = [
        Self::Subject1,
        Self::Subject2,
        Self::Subject3,
        Self::SubjectAuthorized,
    ];

    /// The API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subject1 => "Subject1",
            Self::Subject2 => "Subject2",
            Self::Subject3 => "Subject3",
            Self::SubjectAuthorized => "SubjectAuthorized",
        }
    }

    /// Polish label shown with the list ("perspective chosen explicitly and shown").
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Subject1 => "Sprzedawca (Podmiot 1)",
            Self::Subject2 => "Nabywca (Podmiot 2)",
            Self::Subject3 => "Podmiot 3",
            Self::SubjectAuthorized => "Podmiot upoważniony",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Subject1 => "Seller (Subject 1)",
            Self::Subject2 => "Buyer (Subject 2)",
            Self::Subject3 => "Third party (Subject 3)",
            Self::SubjectAuthorized => "Authorised subject",
        }
    }
}

/// One cursor per company and perspective.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncKey {
    /// NIP of the company whose KSeF context is synced.
    pub company_nip: String,
    /// Perspective.
    pub subject: SubjectType,
}

/// The export's AES key and IV, kept so a reload resumes the same export instead of starting
/// a new one (exports are limited to 20 per hour). A secret: store it encrypted at rest.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    /// Base64 AES-256 key.
    pub key: String,
    /// Base64 IV.
    pub iv: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredKey { .. }")
    }
}

impl StoredKey {
    /// Keeps `key`.
    pub fn of(key: &SymmetricKey) -> Self {
        Self {
            key: crypto::base64_encode(&key.key),
            iv: crypto::base64_encode(&key.iv),
        }
    }

    /// Back to a usable key.
    pub fn to_key(&self) -> Result<SymmetricKey> {
        let key = crypto::base64_decode(&self.key)?;
        let iv = crypto::base64_decode(&self.iv)?;
        Ok(SymmetricKey {
            key: key
                .try_into()
                .map_err(|_| Error::Crypto("klucz eksportu / export key".into()))?,
            iv: iv
                .try_into()
                .map_err(|_| Error::Crypto("IV eksportu / export IV".into()))?,
        })
    }
}

/// What the sync is doing; every variant is enough to resume after a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Phase {
    /// Nothing in flight.
    Idle,
    /// A run started: the next step chooses metadata query or export for the next window.
    Planning,
    /// Small window: one metadata query for `[from, to]`.
    #[serde(rename_all = "camelCase")]
    Query {
        /// Window end (`None`: up to the HWM).
        to: Option<String>,
    },
    /// Small window: invoices still to download one by one, then the cursor moves to `next_from`.
    #[serde(rename_all = "camelCase")]
    Singles {
        /// Where the next window starts once these are stored.
        next_from: String,
        /// Metadata of the invoices not yet stored.
        pending: Vec<InvoiceMetadata>,
    },
    /// An export for `[from, to]`: started once `reference` is known.
    #[serde(rename_all = "camelCase")]
    Export {
        /// Window end (`None`: up to the HWM).
        to: Option<String>,
        /// The package key (secret).
        key: StoredKey,
        /// `…-EH-…` once KSeF accepted the export.
        reference: Option<String>,
        /// Status requests so far (backoff).
        polls: u32,
    },
}

/// Counts for the progress bar; reset when a run starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Windows finished in this run.
    pub windows_done: u32,
    /// Exports started.
    pub exports_started: u32,
    /// Export status requests.
    pub status_polls: u32,
    /// Metadata queries.
    pub metadata_queries: u32,
    /// Parts of the current package.
    pub parts_total: u32,
    /// Parts downloaded of the current package.
    pub parts_done: u32,
    /// Invoices KSeF announced in the packages and queries of this run.
    pub invoices_announced: u64,
    /// Invoices received (packages and single downloads).
    pub invoices_received: u64,
    /// Invoices that were new and got stored.
    pub invoices_new: u64,
    /// Invoices already stored (overlapping windows, truncated continuations).
    pub duplicates: u64,
    /// Single `GET /invoices/ksef/{n}` downloads.
    pub single_downloads: u32,
    /// 429 answers met.
    pub rate_limited: u32,
}

/// Why the sync waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitReason {
    /// KSeF answered 429: it continues after `Retry-After`.
    RateLimited,
    /// The export is still being prepared.
    ExportProcessing,
}

/// A pause the caller must honour before the next step (persisted, so a reload honours it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wait {
    /// Unix ms.
    pub until_ms: u64,
    /// Why.
    pub reason: WaitReason,
}

/// The persisted state of one [`SyncKey`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncCursor {
    /// Company and perspective.
    pub key: SyncKey,
    /// Start of the next `PermanentStorage` window (RFC 3339): the last HWM or
    /// `lastPermanentStorageDate`, or the caller's first start date.
    pub from: String,
    /// In-flight work.
    pub phase: Phase,
    /// When the last run started (unix ms), for the 15-minute rule.
    pub last_started_ms: Option<u64>,
    /// When the last run finished (unix ms).
    pub last_completed_ms: Option<u64>,
    /// Do not send anything before this (429 `Retry-After`, export still processing).
    pub waiting: Option<Wait>,
    /// Counts of the current or last run.
    pub progress: Progress,
}

impl SyncCursor {
    /// A cursor that has never synced, starting at `from`.
    pub fn new(key: SyncKey, from: impl Into<String>) -> Self {
        Self {
            key,
            from: from.into(),
            phase: Phase::Idle,
            last_started_ms: None,
            last_completed_ms: None,
            waiting: None,
            progress: Progress::default(),
        }
    }
}
