//! Invoice drafts and their way through KSeF, as stored in IndexedDB (`drafts` store).
//!
//! One record per invoice: the form as typed ([`InvoiceDraft`]) plus where its sending
//! stands ([`SendState`]). The send state is written BEFORE every request leaves the
//! browser, so a reload, crash or lost connection never loses an invoice and never sends
//! it twice: a record found in [`SendState::Sending`] is resumed by asking KSeF, not by
//! sending again (see `send.rs`).

use ksef_core::invoice::InvoiceDraft;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::i18n::tr;
use crate::store::{self, Db, StorageError, Store};

/// How long after the last keystroke a draft is written (the brief asks for < 1 s).
pub const SAVE_DELAY_MS: u64 = 400;

/// Where an invoice stands on its way to a KSeF number (ksef-core's send machine).
pub use ksef_core::send::SendState;

/// A short label of `state` for the invoice list and the form.
pub fn state_label(state: &SendState, lang: Lang) -> &'static str {
    match state {
        SendState::Draft => tr(lang, "Szkic", "Draft"),
        SendState::Sending { .. } => tr(lang, "Wysyłanie", "Sending"),
        SendState::Sent { .. } => tr(
            lang,
            "Wysłana — czeka na numer KSeF",
            "Sent — awaiting KSeF number",
        ),
        SendState::Accepted { .. } => tr(lang, "Przyjęta", "Accepted"),
        SendState::Rejected { .. } => tr(lang, "Odrzucona", "Rejected"),
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
pub async fn save(db: &Db, record: &DraftRecord) -> Result<(), StorageError> {
    let target = store_for(&record.send);
    db.put(target, &record.id, record).await?;
    if target == Store::Invoices {
        db.delete(Store::Drafts, &record.id).await?;
    }
    Ok(())
}

/// The record `id`, wherever it is.
pub async fn load(db: &Db, id: &str) -> Result<Option<DraftRecord>, StorageError> {
    if let Some(r) = db.get::<DraftRecord>(Store::Invoices, id).await? {
        return Ok(Some(r));
    }
    db.get(Store::Drafts, id).await
}

/// Every record, newest first (an invoice found in both stores counts once, as sent).
pub async fn list(db: &Db) -> Result<Vec<DraftRecord>, StorageError> {
    let mut sent: Vec<DraftRecord> = db.list(Store::Invoices).await?;
    let drafts: Vec<DraftRecord> = db.list(Store::Drafts).await?;
    for draft in drafts {
        if !sent.iter().any(|s| s.id == draft.id) {
            sent.push(draft);
        }
    }
    sort_newest_first(&mut sent);
    Ok(sent)
}

/// The records of `company` (see [`crate::ownership::belongs_to`]), newest first.
pub async fn list_for(
    db: &Db,
    company: &crate::company::Company,
) -> Result<Vec<DraftRecord>, StorageError> {
    let mut all = list(db).await?;
    all.retain(|r| crate::ownership::belongs_to(r, company));
    Ok(all)
}

/// Settings key of the draft a company's form had open last, so "Fakturowanie" reopens it
/// after a reload.
fn last_open_key(company_id: &str) -> String {
    format!("lastDraft.{company_id}")
}

/// Remembers that `company_id`'s form has record `id` open.
pub async fn remember_open(db: &Db, company_id: &str, id: &str) -> Result<(), StorageError> {
    db.put(Store::Settings, &last_open_key(company_id), &id.to_owned())
        .await
}

/// The record `company_id`'s form had open last, if it still exists.
pub async fn last_open(db: &Db, company_id: &str) -> Result<Option<DraftRecord>, StorageError> {
    let id: Option<String> = db.get(Store::Settings, &last_open_key(company_id)).await?;
    match id {
        Some(id) => load(db, &id).await,
        None => Ok(None),
    }
}

/// Deletes a draft (never an invoice that left the browser).
pub async fn delete_draft(db: &Db, id: &str) -> Result<(), StorageError> {
    db.delete(Store::Drafts, id).await
}
