//! Invoice drafts and their way through KSeF, as stored in IndexedDB (`drafts` store).
//!
//! One record per invoice: the form as typed ([`InvoiceDraft`]) plus where its sending
//! stands ([`SendState`]). The send state is written BEFORE every request leaves the
//! browser, so a reload, crash or lost connection never loses an invoice and never sends
//! it twice: a record found in [`SendState::Sending`] is resumed by asking KSeF, not by
//! sending again (see `send.rs`).

use ksef_core::invoice::InvoiceDraft;
use serde::{Deserialize, Serialize};

use crate::components::tr;
use crate::i18n::Lang;
use crate::store::{self, StorageError, Store};

/// How long after the last keystroke a draft is written (the brief asks for < 1 s).
pub const SAVE_DELAY_MS: u64 = 400;

/// Where an invoice stands on its way to a KSeF number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "StoredSendState")]
pub enum SendState {
    /// Still being edited; never left the browser.
    #[default]
    Draft,
    /// The request is (or was, before a crash) on its way. The session and the invoice hash
    /// are recorded first, so the outcome can be found in the session's invoice list.
    Sending {
        /// Relay environment slug (`sim`, `test`...).
        env: String,
        /// Online session `referenceNumber`.
        session_reference: String,
        /// Base64 SHA-256 of the FA(3) XML (`invoiceHash`).
        invoice_hash: String,
        /// The exact XML sent, so a resumed send can never differ from the first one.
        xml: String,
    },
    /// KSeF took it and gave an invoice reference number; processing.
    Sent {
        env: String,
        session_reference: String,
        invoice_reference: String,
        invoice_hash: String,
        xml: String,
    },
    /// KSeF assigned the KSeF number.
    Accepted {
        env: String,
        session_reference: String,
        invoice_reference: String,
        ksef_number: String,
        /// The UPO link as KSeF gave it (rewritten to the relay when downloading).
        upo_url: Option<String>,
        acquisition_date: Option<String>,
        xml: String,
    },
    /// KSeF refused the invoice; the details say why.
    Rejected {
        env: String,
        session_reference: String,
        invoice_reference: Option<String>,
        code: i64,
        description: String,
        details: Vec<String>,
    },
}

/// [`SendState`] as stored: one flat object with a `state` tag (what the derived internally
/// tagged format writes). Reading it through this plain struct instead of serde's buffered
/// tagged-enum path saves about 20 KB of wasm.
#[derive(Deserialize)]
struct StoredSendState {
    state: String,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    session_reference: Option<String>,
    #[serde(default)]
    invoice_reference: Option<String>,
    #[serde(default)]
    invoice_hash: Option<String>,
    #[serde(default)]
    ksef_number: Option<String>,
    #[serde(default)]
    upo_url: Option<String>,
    #[serde(default)]
    acquisition_date: Option<String>,
    #[serde(default)]
    xml: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    details: Option<Vec<String>>,
}

/// A stored send state that lacks a field its `state` needs.
#[derive(Debug)]
struct MissingField(&'static str);

impl std::fmt::Display for MissingField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "send state without `{}`", self.0)
    }
}

impl TryFrom<StoredSendState> for SendState {
    type Error = MissingField;

    fn try_from(s: StoredSendState) -> Result<Self, MissingField> {
        fn need<T>(v: Option<T>, name: &'static str) -> Result<T, MissingField> {
            v.ok_or(MissingField(name))
        }
        Ok(match s.state.as_str() {
            "draft" => Self::Draft,
            "sending" => Self::Sending {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_hash: need(s.invoice_hash, "invoice_hash")?,
                xml: need(s.xml, "xml")?,
            },
            "sent" => Self::Sent {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: need(s.invoice_reference, "invoice_reference")?,
                invoice_hash: need(s.invoice_hash, "invoice_hash")?,
                xml: need(s.xml, "xml")?,
            },
            "accepted" => Self::Accepted {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: need(s.invoice_reference, "invoice_reference")?,
                ksef_number: need(s.ksef_number, "ksef_number")?,
                upo_url: s.upo_url,
                acquisition_date: s.acquisition_date,
                xml: need(s.xml, "xml")?,
            },
            "rejected" => Self::Rejected {
                env: need(s.env, "env")?,
                session_reference: need(s.session_reference, "session_reference")?,
                invoice_reference: s.invoice_reference,
                code: need(s.code, "code")?,
                description: need(s.description, "description")?,
                details: need(s.details, "details")?,
            },
            _ => return Err(MissingField("state")),
        })
    }
}

impl SendState {
    /// A short label for the invoice list.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Self::Draft => tr(lang, "Szkic", "Draft"),
            Self::Sending { .. } => tr(lang, "Wysyłanie", "Sending"),
            Self::Sent { .. } => tr(
                lang,
                "Wysłana — czeka na numer KSeF",
                "Sent — awaiting KSeF number",
            ),
            Self::Accepted { .. } => tr(lang, "Przyjęta", "Accepted"),
            Self::Rejected { .. } => tr(lang, "Odrzucona", "Rejected"),
        }
    }

    /// A stable key for tests and styling.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sending { .. } => "sending",
            Self::Sent { .. } => "sent",
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
        }
    }

    /// Only drafts (and rejected invoices, after fixing) may be edited and sent.
    pub fn editable(&self) -> bool {
        matches!(self, Self::Draft | Self::Rejected { .. })
    }

    /// The invoice reference number, once KSeF gave one.
    pub fn invoice_reference(&self) -> Option<&str> {
        match self {
            Self::Sent {
                invoice_reference, ..
            }
            | Self::Accepted {
                invoice_reference, ..
            } => Some(invoice_reference),
            Self::Rejected {
                invoice_reference, ..
            } => invoice_reference.as_deref(),
            _ => None,
        }
    }

    /// The KSeF number of an accepted invoice.
    pub fn ksef_number(&self) -> Option<&str> {
        match self {
            Self::Accepted { ksef_number, .. } => Some(ksef_number),
            _ => None,
        }
    }
}

/// One stored invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftRecord {
    /// Random id, also in the page URL (`/fakturowanie?draft=…`).
    pub id: String,
    /// Milliseconds since the epoch of the last change (for sorting).
    pub updated_ms: i64,
    /// The company (`companies` store id) the invoice is issued by; empty if none was chosen.
    #[serde(default)]
    pub company_id: String,
    /// The form.
    pub draft: InvoiceDraft,
    /// Where sending stands.
    #[serde(default)]
    pub send: SendState,
}

impl DraftRecord {
    /// A fresh record.
    pub fn new(id: String, draft: InvoiceDraft, now_ms: i64) -> Self {
        Self {
            id,
            updated_ms: now_ms,
            company_id: String::new(),
            draft,
            send: SendState::Draft,
        }
    }

    /// What the list shows as the invoice's title.
    pub fn title(&self, lang: Lang) -> String {
        let number = self.draft.number.trim();
        if number.is_empty() {
            tr(lang, "(bez numeru)", "(no number)").to_owned()
        } else {
            number.to_owned()
        }
    }
}

/// A new random record id (not a secret: `Math.random` is enough).
pub fn new_id(now_ms: i64, random: f64) -> String {
    let r = (random * 16_777_216.0) as u64;
    format!("d{now_ms:x}{r:06x}")
}

/// Newest first.
pub fn sort_newest_first(records: &mut [DraftRecord]) {
    store::sort_small_by(records, |a, b| {
        (b.updated_ms, &a.id) < (a.updated_ms, &b.id)
    });
}

/// The store a record belongs in: drafts until sending starts, then the outgoing invoices.
pub fn store_for(send: &SendState) -> Store {
    match send {
        SendState::Draft => Store::Drafts,
        _ => Store::Invoices,
    }
}

/// Writes `record` (awaited: callers that are about to send rely on it being stored).
/// Once sending started the record lives in `invoices`; it is written there first and only
/// then removed from `drafts`, so a crash in between leaves a duplicate, never a loss.
pub async fn save(record: &DraftRecord) -> Result<(), StorageError> {
    let db = store::open().await?;
    let target = store_for(&record.send);
    db.put(target, &record.id, record).await?;
    if target == Store::Invoices {
        db.delete(Store::Drafts, &record.id).await?;
    }
    Ok(())
}

/// The record `id`, wherever it is.
pub async fn load(id: &str) -> Result<Option<DraftRecord>, StorageError> {
    let db = store::open().await?;
    if let Some(r) = db.get::<DraftRecord>(Store::Invoices, id).await? {
        return Ok(Some(r));
    }
    db.get(Store::Drafts, id).await
}

/// Every record, newest first (an invoice found in both stores counts once, as sent).
pub async fn list() -> Result<Vec<DraftRecord>, StorageError> {
    let db = store::open().await?;
    let mut sent: Vec<DraftRecord> = db.list(Store::Invoices).await?;
    let drafts: Vec<DraftRecord> = db.list(Store::Drafts).await?;
    let known: std::collections::BTreeSet<String> = sent.iter().map(|r| r.id.clone()).collect();
    sent.extend(drafts.into_iter().filter(|d| !known.contains(&d.id)));
    sort_newest_first(&mut sent);
    Ok(sent)
}

/// The records of `company` (see [`crate::ownership::belongs_to`]), newest first.
pub async fn list_for(company: &crate::company::Company) -> Result<Vec<DraftRecord>, StorageError> {
    let mut all = list().await?;
    all.retain(|r| crate::ownership::belongs_to(r, company));
    Ok(all)
}

/// Settings key of the draft a company's form had open last, so "Fakturowanie" reopens it
/// after a reload.
fn last_open_key(company_id: &str) -> String {
    format!("lastDraft.{company_id}")
}

/// Remembers that `company_id`'s form has record `id` open.
pub async fn remember_open(company_id: &str, id: &str) -> Result<(), StorageError> {
    let db = store::open().await?;
    db.put(Store::Settings, &last_open_key(company_id), &id.to_owned())
        .await
}

/// The record `company_id`'s form had open last, if it still exists.
pub async fn last_open(company_id: &str) -> Result<Option<DraftRecord>, StorageError> {
    let db = store::open().await?;
    let id: Option<String> = db.get(Store::Settings, &last_open_key(company_id)).await?;
    match id {
        Some(id) => load(&id).await,
        None => Ok(None),
    }
}

/// Deletes a draft (never an invoice that left the browser).
pub async fn delete_draft(id: &str) -> Result<(), StorageError> {
    store::open().await?.delete(Store::Drafts, id).await
}
