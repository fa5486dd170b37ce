//! Interactive (online) sessions: open, send, close, statuses and lists
//! (ksef-guide §4; open-api.json `/sessions/**`). The UPO endpoints are in [`crate::upo`].
//!
//! Each sent invoice is verified at once ([`crate::fa3check`]) but its outcome only
//! becomes visible after the processing delay: status 100, then 150, then 200 with a
//! KSeF number or a rejection code (410/415/430/435/440/450).
//!
//! This file holds the session model ([`InvoiceStore`], [`OnlineSession`]) and its status
//! tables; the handlers are in `open.rs` (open/close), `send.rs` (send an invoice) and
//! `status.rs` (statuses and lists).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::Router;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Permission;
use crate::error::ApiError;
use crate::fa3check::{self, Rejection};
use crate::query::InvoiceRecord;
use crate::state::AppState;
use crate::upo::Authentication;
use crate::util::{self, rfc3339};

mod open;
mod send;
mod status;

pub(crate) use open::upo_context_kind;
pub use open::{EncryptionIn, SessionKey, unwrap_key};
pub use send::record_invoice;
pub use status::percent_decode;

const WRITE: [Permission; 3] = [
    Permission::InvoiceWrite,
    Permission::PefInvoiceWrite,
    Permission::EnforcementOperations,
];
pub(crate) const SESSION_READ: [Permission; 4] = [
    Permission::InvoiceWrite,
    Permission::Introspection,
    Permission::PefInvoiceWrite,
    Permission::EnforcementOperations,
];
/// How long storage links stay valid (`SimConfig::storage_link_ttl`).
fn link_ttl(state: &AppState) -> time::Duration {
    time::Duration::try_from(state.config.storage_link_ttl).unwrap_or(time::Duration::HOUR)
}
/// Session lifetime (ksef-guide §4.2).
const SESSION_TTL: time::Duration = time::Duration::hours(12);

/// Sessions, accepted invoices and exports of one simulator (a field of `SimState`).
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct InvoiceStore {
    pub sessions: BTreeMap<String, OnlineSession>,
    /// Invoices with a KSeF number, in acceptance order.
    pub invoices: Vec<InvoiceRecord>,
    /// KSeF number → index in `invoices` (rebuilt on load).
    #[serde(skip)]
    pub by_ksef: HashMap<String, usize>,
    /// Duplicate key (seller NIP, RodzajFaktury, P_2) → (KSeF number, session reference)
    /// (rebuilt on load).
    #[serde(skip)]
    pub duplicates: HashMap<(String, String, String), (String, String)>,
    /// Export jobs (export handlers in `invoices.rs`); not saved in the state file.
    #[serde(skip)]
    pub exports: BTreeMap<String, crate::invoices::ExportJob>,
    /// Hashes of rejected offline invoices that already got an accepted technical correction.
    pub corrected: std::collections::HashSet<String>,
}

impl InvoiceStore {
    /// Adds an accepted invoice to the repository.
    pub fn insert(&mut self, record: InvoiceRecord) {
        self.duplicates.insert(
            record.facts.duplicate_key(),
            (record.ksef_number.clone(), record.session_reference.clone()),
        );
        self.by_ksef
            .insert(record.ksef_number.clone(), self.invoices.len());
        self.invoices.push(record);
    }
}

/// One interactive session.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct OnlineSession {
    pub reference: String,
    pub context_kind: String,
    pub context_nip: String,
    pub authentication: Authentication,
    pub auth_reference: String,
    /// `None` when the wrapped key could not be decrypted (status 415).
    pub key: Option<SessionKey>,
    pub system_code: String,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub closed: Option<OffsetDateTime>,
    pub invoices: Vec<SessionInvoice>,
    /// Reference numbers of the session UPO pages, made when the session is processed.
    pub upo_pages: Vec<String>,
    /// Set for batch sessions (batch.rs): their package state and status table.
    #[serde(default)]
    pub batch: Option<crate::batch::BatchProgress>,
}

/// One invoice sent in a session.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SessionInvoice {
    pub ordinal: usize,
    pub reference: String,
    pub invoice_hash: String,
    pub invoice_number: Option<String>,
    pub invoicing_date: OffsetDateTime,
    /// When the final status becomes visible.
    pub ready_at: OffsetDateTime,
    pub outcome: Result<Accepted, Rejection>,
}

/// What an accepted invoice got.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Accepted {
    pub ksef_number: String,
    pub seller_nip: String,
    pub issue_date: String,
    pub acquisition_date: OffsetDateTime,
    pub permanent_storage_date: OffsetDateTime,
    pub mode: String,
}

impl SessionInvoice {
    fn is_final(&self, now: OffsetDateTime) -> bool {
        now >= self.ready_at
    }

    pub(crate) fn accepted(&self, now: OffsetDateTime) -> Option<&Accepted> {
        if self.is_final(now) {
            self.outcome.as_ref().ok()
        } else {
            None
        }
    }

    fn failed(&self, now: OffsetDateTime) -> bool {
        self.is_final(now) && self.outcome.is_err()
    }

    /// `SessionInvoiceStatusResponse`.
    fn status_json(&self, state: &AppState, session: &str, now: OffsetDateTime) -> Value {
        let half = self.invoicing_date + (self.ready_at - self.invoicing_date) / 2;
        let mut v = json!({
            "ordinalNumber": self.ordinal,
            "invoiceNumber": self.invoice_number,
            "ksefNumber": null,
            "referenceNumber": self.reference,
            "invoiceHash": self.invoice_hash,
            "invoicingDate": rfc3339(self.invoicing_date),
        });
        let status = if !self.is_final(now) {
            let code = if now < half { 100 } else { 150 };
            json!({"code": code, "description": fa3check::status_description(code)})
        } else {
            match &self.outcome {
                Ok(a) => {
                    v["ksefNumber"] = json!(a.ksef_number);
                    v["acquisitionDate"] = json!(rfc3339(a.acquisition_date));
                    v["permanentStorageDate"] = json!(rfc3339(a.permanent_storage_date));
                    // Whole seconds: the signed expiry and the reported date agree.
                    let expires = (now + link_ttl(state)).replace_nanosecond(0).unwrap_or(now);
                    v["upoDownloadUrl"] = json!(crate::storage::link(
                        state,
                        &format!("/storage/upo/{session}/invoices/{}.xml", self.reference),
                        expires
                    ));
                    v["upoDownloadUrlExpirationDate"] = json!(rfc3339(expires));
                    v["invoicingMode"] = json!(a.mode);
                    json!({"code": 200, "description": "Sukces"})
                }
                Err(r) => {
                    let mut s =
                        json!({"code": r.code, "description": r.description, "details": r.details});
                    if !r.extensions.is_empty() {
                        let ext: serde_json::Map<String, Value> = r
                            .extensions
                            .iter()
                            .map(|(k, v)| (k.clone(), json!(v)))
                            .collect();
                        s["extensions"] = Value::Object(ext);
                    }
                    s
                }
            }
        };
        v["status"] = status;
        v
    }
}

impl OnlineSession {
    fn all_final(&self, now: OffsetDateTime) -> bool {
        self.invoices.iter().all(|i| i.is_final(now))
    }

    fn counts(&self, now: OffsetDateTime) -> (usize, usize, usize) {
        let ok = self
            .invoices
            .iter()
            .filter(|i| i.accepted(now).is_some())
            .count();
        let failed = self.invoices.iter().filter(|i| i.failed(now)).count();
        (self.invoices.len(), ok, failed)
    }

    /// Batch session status table (open-api `SessionStatusResponse`, "Sesja wsadowa").
    fn batch_status(
        &self,
        b: &crate::batch::BatchProgress,
        now: OffsetDateTime,
    ) -> (u16, &'static str, Option<Vec<String>>) {
        if let Some((code, _, detail)) = &b.failure {
            let description = crate::batch::failure_description(*code);
            return (*code, description, detail.clone().map(|d| vec![d]));
        }
        if self.closed.is_none() {
            if now > b.upload_deadline {
                return (
                    440,
                    "Sesja anulowana",
                    Some(vec!["Przekroczono czas wysyłki".into()]),
                );
            }
            return (100, "Sesja wsadowa rozpoczęta", None);
        }
        if !b.processed || !self.all_final(now) {
            return (150, "Trwa przetwarzanie", None);
        }
        if self.invoices.is_empty() {
            return (
                440,
                "Sesja anulowana",
                Some(vec!["Nie przesłano faktur".into()]),
            );
        }
        let (_, ok, _) = self.counts(now);
        if ok == 0 {
            return (445, "Błąd weryfikacji, brak poprawnych faktur", None);
        }
        (200, "Sesja wsadowa przetworzona pomyślnie", None)
    }

    /// `(code, description, details)` of the session status table.
    pub(crate) fn status(&self, now: OffsetDateTime) -> (u16, &'static str, Option<Vec<String>>) {
        if let Some(b) = &self.batch {
            return self.batch_status(b, now);
        }
        // A session past `validUntil` is closed automatically (ksef-guide §4.2).
        let closed = self
            .closed
            .or((now > self.valid_until).then_some(self.valid_until));
        let Some(closed) = closed else {
            if self.key.is_none() {
                return (415, "Błąd odszyfrowania dostarczonego klucza", None);
            }
            return (100, "Sesja interaktywna otwarta", None);
        };
        if self.key.is_none() {
            return (415, "Błąd odszyfrowania dostarczonego klucza", None);
        }
        if self.invoices.is_empty() {
            return (
                440,
                "Sesja anulowana",
                Some(vec!["Nie przesłano faktur".into()]),
            );
        }
        if !self.all_final(now) || now < closed + time::Duration::milliseconds(100) {
            return (170, "Sesja interaktywna zamknięta", None);
        }
        let (_, ok, _) = self.counts(now);
        if ok == 0 {
            return (445, "Błąd weryfikacji, brak poprawnych faktur", None);
        }
        (200, "Sesja interaktywna przetworzona pomyślnie", None)
    }

    pub(crate) fn status_json(&mut self, state: &AppState, now: OffsetDateTime) -> Value {
        let (code, description, details) = self.status(now);
        let (total, ok, failed) = self.counts(now);
        let mut v = json!({
            "status": {"code": code, "description": description},
            "dateCreated": rfc3339(self.created),
            "dateUpdated": rfc3339(self.updated),
            "validUntil": if self.closed.is_some() { Value::Null } else { json!(rfc3339(self.valid_until)) },
            "invoiceCount": total,
            "successfulInvoiceCount": ok,
            "failedInvoiceCount": failed,
        });
        if let Some(d) = details {
            v["status"]["details"] = json!(d);
        }
        if code == 200 {
            let pages = self.session_upo(now).len();
            while self.upo_pages.len() < pages {
                self.upo_pages.push(util::reference_number("EU"));
            }
            let expires = (now + link_ttl(state)).replace_nanosecond(0).unwrap_or(now);
            let items: Vec<Value> = self
                .upo_pages
                .iter()
                .map(|r| {
                    let path = format!("/storage/upo/{}/pages/{r}.xml", self.reference);
                    json!({
                        "referenceNumber": r,
                        "downloadUrl": crate::storage::link(state, &path, expires),
                        "downloadUrlExpirationDate": rfc3339(expires),
                    })
                })
                .collect();
            v["upo"] = json!({"pages": items});
        }
        v
    }

    fn list_item(&mut self, now: OffsetDateTime) -> Value {
        let (code, description, details) = self.status(now);
        let (total, ok, failed) = self.counts(now);
        let mut status = json!({"code": code, "description": description});
        if let Some(d) = details {
            status["details"] = json!(d);
        }
        json!({
            "referenceNumber": self.reference,
            "status": status,
            "dateCreated": rfc3339(self.created),
            "dateUpdated": rfc3339(self.updated),
            "validUntil": if self.closed.is_some() { Value::Null } else { json!(rfc3339(self.valid_until)) },
            "totalInvoiceCount": total,
            "successfulInvoiceCount": ok,
            "failedInvoiceCount": failed,
        })
    }
}

/// How long processing takes: the `/sim/processing-delay` value, else the config default.
pub fn processing_delay(state: &AppState) -> Duration {
    let set = state.lock().processing_delay;
    if set.is_zero() {
        state.config.auth_processing_delay
    } else {
        set
    }
}

pub(crate) fn no_session(reference: &str) -> ApiError {
    ApiError::bad(
        21173,
        "Brak sesji o wskazanym numerze referencyjnym.",
        vec![format!(
            "Sesja o numerze referencyjnym {reference} nie została znaleziona."
        )],
    )
}

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(open::routes())
        .merge(send::routes())
        .merge(status::routes())
}
