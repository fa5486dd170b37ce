//! Interactive (online) sessions: open, send, close, statuses and lists
//! (ksef-guide §4; open-api.json `/sessions/**`). The UPO endpoints are in [`crate::upo`].
//!
//! Each sent invoice is verified at once ([`crate::fa3check`]) but its outcome only
//! becomes visible after the processing delay: status 100, then 150, then 200 with a
//! KSeF number or a rejection code (410/415/430/435/440/450).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, Permission, paging};
use crate::error::ApiError;
use crate::export::aes_decrypt;
use crate::fa3check::{self, Rejection};
use crate::keys::Usage;
use crate::ksef_number::new_ksef_number;
use crate::query::InvoiceRecord;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::upo::Authentication;
use crate::util::{self, rfc3339};

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormCodeIn {
    system_code: String,
    schema_version: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionIn {
    pub encrypted_symmetric_key: String,
    pub initialization_vector: String,
    pub public_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    form_code: FormCodeIn,
    encryption: EncryptionIn,
}

/// The client's AES-256 key and CBC IV.
pub type SessionKey = ([u8; 32], [u8; 16]);

/// Unwraps the client's AES key: `Err` for request errors (21405/21470), `Ok(None)` when
/// the RSA decryption fails or gives no 32-byte key (KSeF reports that asynchronously).
pub fn unwrap_key(state: &AppState, enc: &EncryptionIn) -> Result<Option<SessionKey>, ApiError> {
    let wrapped = util::b64_decode(&enc.encrypted_symmetric_key).ok_or_else(|| {
        ApiError::validation("encryptedSymmetricKey nie jest poprawnym Base64. / Not valid Base64.")
    })?;
    let iv = util::b64_decode(&enc.initialization_vector)
        .and_then(|v| <[u8; 16]>::try_from(v.as_slice()).ok())
        .ok_or_else(|| {
            ApiError::validation(
                "initializationVector musi mieć 16 bajtów w Base64. / The IV must be 16 bytes, Base64.",
            )
        })?;
    match state.keys.decrypt(
        Usage::SymmetricKeyEncryption,
        enc.public_key_id.as_deref(),
        &wrapped,
    ) {
        Ok(key) => Ok(<[u8; 32]>::try_from(key.as_slice()).ok().map(|k| (k, iv))),
        Err(crate::keys::KeyError::UnknownKey) => Err(ApiError::unknown_key()),
        Err(crate::keys::KeyError::DecryptionFailed) => Ok(None),
    }
}

/// `POST /sessions/online` → 201.
async fn open(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<Response, ApiError> {
    auth.require(&WRITE)?;
    let fc = &req.form_code;
    // Only FA(3) is simulated (FA(2) is TEST-only in KSeF, PEF/FA_RR are out of scope).
    let supported = [("FA (3)", "1-0E", "FA")];
    if !supported
        .iter()
        .any(|(s, v, val)| fc.system_code == *s && fc.schema_version == *v && fc.value == *val)
    {
        return Err(ApiError::validation(format!(
            "Wskazany kod formularza nie jest wspierany ({} {} {}). / Unsupported formCode; use FA (3), 1-0E, FA.",
            fc.system_code, fc.schema_version, fc.value
        )));
    }
    let key = unwrap_key(&state, &req.encryption)?;
    let now = util::now();
    let reference = util::reference_number("SO");
    let authentication = match (&auth.ksef_token_ref, &auth.auth_document_hash) {
        (Some(r), _) => Authentication::KsefToken(r.clone()),
        (None, Some(h)) => Authentication::SignedDocumentHash(h.clone()),
        (None, None) => {
            Authentication::SignedDocumentHash(util::sha256_b64(auth.auth_reference.as_bytes()))
        }
    };
    let session = OnlineSession {
        reference: reference.clone(),
        context_kind: upo_context_kind(&auth.context.kind).into(),
        context_nip: auth.context.value.clone(),
        authentication,
        auth_reference: auth.auth_reference.clone(),
        key,
        system_code: fc.system_code.clone(),
        created: now,
        updated: now,
        valid_until: now + SESSION_TTL,
        closed: None,
        invoices: Vec::new(),
        upo_pages: Vec::new(),
        batch: None,
    };
    state
        .lock()
        .invoices
        .sessions
        .insert(reference.clone(), session);
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"referenceNumber": reference, "validUntil": rfc3339(now + SESSION_TTL)})),
    )
        .into_response())
}

pub(crate) fn upo_context_kind(kind: &str) -> &'static str {
    match kind {
        "InternalId" => "IdWewnetrzny",
        "NipVatUe" => "IdZlozonyVatUE",
        "PeppolId" => "IdDostawcyUslugPeppol",
        _ => "Nip",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest {
    invoice_hash: String,
    invoice_size: i64,
    encrypted_invoice_hash: String,
    encrypted_invoice_size: i64,
    encrypted_invoice_content: String,
    #[serde(default)]
    offline_mode: bool,
    hash_of_corrected_invoice: Option<String>,
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

/// `POST /sessions/online/{referenceNumber}/invoices` → 202.
async fn send(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    JsonBody(req): JsonBody<SendRequest>,
) -> Result<Response, ApiError> {
    auth.require(&WRITE)?;
    let (key, context_nip) = {
        let st = state.lock();
        let s = st
            .invoices
            .sessions
            .get(&reference)
            .filter(|s| s.context_nip == auth.context.value && s.batch.is_none())
            .ok_or_else(|| no_session(&reference))?;
        if s.closed.is_some() || util::now() > s.valid_until {
            let code = s.status(util::now()).0;
            return Err(ApiError::bad(
                21180,
                "Status sesji nie pozwala na wykonanie operacji.",
                vec![format!("Status sesji {code} uniemożliwia wysyłkę faktur.")],
            ));
        }
        if let Some(original) = &req.hash_of_corrected_invoice {
            check_correction(&st.invoices, &s.context_nip, original, req.offline_mode)?;
        }
        // `/limits/context` → onlineSession.maxInvoices (21155).
        let limit = st
            .limits
            .session(&s.context_nip)
            .online_session
            .max_invoices;
        if s.invoices.len() >= limit as usize {
            return Err(ApiError::bad(
                21155,
                "Przekroczono dozwoloną liczbę faktur w sesji.",
                vec![format!(
                    "Sesja o numerze referencyjnym {reference} osiągnęła dozwolony limit liczby faktur {limit}."
                )],
            ));
        }
        (s.key, s.context_nip.clone())
    };
    // A technical correction may carry an attachment even online (ksef-guide §11).
    let attachments_allowed = req.hash_of_corrected_invoice.is_some();
    let encrypted = util::b64_decode(&req.encrypted_invoice_content).ok_or_else(|| {
        ApiError::validation(
            "encryptedInvoiceContent nie jest poprawnym Base64. / Not valid Base64.",
        )
    })?;
    for (name, h) in [
        ("invoiceHash", &req.invoice_hash),
        ("encryptedInvoiceHash", &req.encrypted_invoice_hash),
    ] {
        if util::b64_decode(h).is_none_or(|b| b.len() != 32) {
            return Err(ApiError::validation(format!(
                "{name} musi być skrótem SHA-256 w Base64. / {name} must be a Base64 SHA-256."
            )));
        }
    }
    if req.invoice_size < 1 || req.encrypted_invoice_size < 1 {
        return Err(ApiError::validation(
            "Rozmiar pliku musi być dodatni. / Sizes must be ≥ 1.",
        ));
    }
    if encrypted.len() as i64 != req.encrypted_invoice_size {
        return Err(ApiError::bad(
            21402,
            "Nieprawidłowy rozmiar pliku.",
            vec![format!(
                "encryptedInvoiceSize = {}, a przesłano {} bajtów. / Encrypted size mismatch.",
                req.encrypted_invoice_size,
                encrypted.len()
            )],
        ));
    }
    if util::sha256_b64(&encrypted) != req.encrypted_invoice_hash {
        return Err(ApiError::bad(
            21403,
            "Nieprawidłowy skrót pliku.",
            vec!["encryptedInvoiceHash nie zgadza się z przesłaną treścią. / Encrypted hash mismatch.".into()],
        ));
    }
    let plain = key.and_then(|(k, iv)| aes_decrypt(&k, &iv, &encrypted));
    if let Some(plain) = &plain {
        if plain.len() as i64 != req.invoice_size {
            return Err(ApiError::bad(
                21402,
                "Nieprawidłowy rozmiar pliku.",
                vec![format!(
                    "invoiceSize = {}, a faktura ma {} bajtów. / Invoice size mismatch.",
                    req.invoice_size,
                    plain.len()
                )],
            ));
        }
        check_invoice_size(&state, &context_nip, plain)?;
        if util::sha256_b64(plain) != req.invoice_hash {
            return Err(ApiError::bad(
                21403,
                "Nieprawidłowy skrót pliku.",
                vec![
                    "invoiceHash nie zgadza się z odszyfrowaną fakturą. / Invoice hash mismatch."
                        .into(),
                ],
            ));
        }
    }
    let invoice_ref = record_invoice(
        &state,
        &reference,
        &context_nip,
        plain,
        req.invoice_hash,
        req.offline_mode,
        req.hash_of_corrected_invoice,
        attachments_allowed,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"referenceNumber": invoice_ref})),
    )
        .into_response())
}

/// Verifies one decrypted invoice (FA(3) rules, duplicates) and records its outcome in the
/// session `reference`: the online `send` and the batch processing (batch.rs) share it.
/// `plain = None` means the invoice could not be decrypted (status 435). Returns the
/// invoice's reference number.
#[allow(clippy::too_many_arguments)]
pub async fn record_invoice(
    state: &AppState,
    reference: &str,
    context_nip: &str,
    plain: Option<Vec<u8>>,
    invoice_hash: String,
    offline_mode: bool,
    hash_of_corrected_invoice: Option<String>,
    attachments_allowed: bool,
) -> Result<String, ApiError> {
    let now = util::now();
    let delay = time::Duration::try_from(processing_delay(state)).unwrap_or(time::Duration::ZERO);
    // FA(3) validation compiles the XSD once per thread: keep it off the async workers.
    // The calendar day in Poland (Europe/Warsaw with summer time): "P_1 not in the
    // future" and the automatic offline mode are decided on it.
    let today = crate::clock::warsaw_today(now);
    let verified = match plain.clone() {
        None => Err(Rejection::new(
            435,
            vec!["Nie udało się odszyfrować faktury kluczem sesji. / The invoice could not be decrypted with the session key.".into()],
        )),
        Some(xml) => {
            let nip = context_nip.to_string();
            tokio::task::spawn_blocking(move || fa3check::verify(&xml, &nip, today, attachments_allowed))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    };
    // P_2 for the status list, even for rejected invoices (parsed before locking).
    let invoice_number = plain
        .as_deref()
        .and_then(|x| fa3check::extract(x).ok())
        .map(|f| f.invoice_number)
        .filter(|n| !n.is_empty());
    let invoice_ref = util::reference_number("EE");
    let mut st = state.lock();
    let store = &mut st.invoices;
    let outcome = match verified {
        Err(r) => Err(r),
        Ok(facts) => {
            if let Some((ksef, sess)) = store.duplicates.get(&facts.duplicate_key()).cloned() {
                let mut r = Rejection::new(
                    440,
                    vec![format!(
                        "Duplikat faktury. Faktura o numerze KSeF: {ksef} została już prawidłowo przesłana do systemu w sesji: {sess}"
                    )],
                );
                r.extensions = vec![
                    ("originalSessionReferenceNumber".into(), sess),
                    ("originalKsefNumber".into(), ksef),
                ];
                Err(r)
            } else {
                let acquisition = now + delay;
                let accepted_day = acquisition.date();
                // Automatic offline: P_1 earlier than the acceptance day
                // (ksef-docs offline/automatyczne-okreslanie-trybu-offline.md).
                let mode = if offline_mode || facts.issue_date().is_some_and(|d| d < today) {
                    "Offline"
                } else {
                    "Online"
                };
                let ksef_number = new_ksef_number(&facts.seller_nip, accepted_day);
                let record = InvoiceRecord {
                    ksef_number: ksef_number.clone(),
                    facts: facts.clone(),
                    invoice_hash: invoice_hash.clone(),
                    invoicing_date: now,
                    acquisition_date: acquisition,
                    permanent_storage_date: acquisition + time::Duration::milliseconds(1),
                    invoicing_mode: mode.into(),
                    hash_of_corrected_invoice: hash_of_corrected_invoice.clone(),
                    session_reference: reference.to_string(),
                    xml: Arc::new(plain.clone().unwrap_or_default()),
                };
                store.insert(record);
                if let Some(original) = &hash_of_corrected_invoice {
                    store.corrected.insert(original.clone());
                }
                Ok(Accepted {
                    ksef_number,
                    seller_nip: facts.seller_nip.clone(),
                    issue_date: facts.issue_date.clone(),
                    acquisition_date: acquisition,
                    permanent_storage_date: acquisition + time::Duration::milliseconds(1),
                    mode: mode.into(),
                })
            }
        }
    };
    let session = store
        .sessions
        .get_mut(reference)
        .ok_or_else(|| no_session(reference))?;
    session.updated = now;
    let ordinal = session.invoices.len() + 1;
    session.invoices.push(SessionInvoice {
        ordinal,
        reference: invoice_ref.clone(),
        invoice_hash,
        invoice_number,
        invoicing_date: now,
        ready_at: now + delay,
        outcome,
    });
    Ok(invoice_ref)
}

/// `/limits/context` → onlineSession sizes: 1 MB (10^6 B) without attachments, 3 MB with
/// (weryfikacja-faktury.md "Rozmiar pliku"); a larger invoice is refused at once.
fn check_invoice_size(state: &AppState, context_nip: &str, plain: &[u8]) -> Result<(), ApiError> {
    let limits = state.lock().limits.session(context_nip).online_session;
    let plain_max = u64::from(limits.max_invoice_size_in_mb) * 1_000_000;
    let attachment_max = u64::from(limits.max_invoice_with_attachment_size_in_mb) * 1_000_000;
    let size = plain.len() as u64;
    if size <= plain_max {
        return Ok(());
    }
    let has_attachment = fa3check::extract(plain).is_ok_and(|f| f.has_attachment);
    let (max_mb, what) = if has_attachment {
        (
            limits.max_invoice_with_attachment_size_in_mb,
            "z załącznikiem",
        )
    } else {
        (limits.max_invoice_size_in_mb, "bez załącznika")
    };
    if size
        > if has_attachment {
            attachment_max
        } else {
            plain_max
        }
    {
        return Err(ApiError::validation(format!(
            "Rozmiar faktury {what} ({size} B) przekracza dozwolony limit {max_mb} MB."
        )));
    }
    Ok(())
}

/// Technical correction rules (ksef-guide §11): the original must be an offline invoice of
/// this context rejected for technical reasons (not 410), corrected at most once.
fn check_correction(
    store: &InvoiceStore,
    context_nip: &str,
    original: &str,
    offline_mode: bool,
) -> Result<(), ApiError> {
    let refused = |detail: &str| {
        ApiError::bad(
            21167,
            "Status faktury nie pozwala na korektę techniczną.",
            vec![detail.to_string()],
        )
    };
    if !offline_mode {
        return Err(refused(
            "Korekta techniczna wymaga offlineMode = true. / A technical correction must be sent with offlineMode true.",
        ));
    }
    if store.corrected.contains(original) {
        return Err(ApiError::bad(
            21166,
            "Korekta techniczna niedostępna.",
            vec!["Faktura posiada już przetworzoną prawidłowo korektę techniczną.".into()],
        ));
    }
    let rejected = store
        .sessions
        .values()
        .filter(|s| s.context_nip == context_nip)
        .flat_map(|s| s.invoices.iter())
        .any(|i| {
            i.invoice_hash == original
                && matches!(&i.outcome, Err(r) if r.code != 410 && r.code != 405)
        });
    if !rejected {
        return Err(refused(
            "Nie znaleziono odrzuconej faktury o podanym skrócie. / No rejected invoice with that hash.",
        ));
    }
    Ok(())
}

/// `POST /sessions/online/{referenceNumber}/close` → 204.
async fn close(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(&WRITE)?;
    let mut st = state.lock();
    let s = st
        .invoices
        .sessions
        .get_mut(&reference)
        .filter(|s| s.context_nip == auth.context.value && s.batch.is_none())
        .ok_or_else(|| no_session(&reference))?;
    if s.closed.is_some() {
        let code = s.status(util::now()).0;
        return Err(ApiError::bad(
            21180,
            "Status sesji nie pozwala na wykonanie operacji.",
            vec![format!("Status sesji {code} uniemożliwia jej zamknięcie.")],
        ));
    }
    let now = util::now();
    s.closed = Some(now);
    s.updated = now;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /sessions/{referenceNumber}`.
async fn status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&SESSION_READ)?;
    let now = util::now();
    let mut st = state.lock();
    let s = st
        .invoices
        .sessions
        .get_mut(&reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(&reference))?;
    Ok(axum::Json(s.status_json(&state, now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageSize {
    page_size: Option<String>,
}

fn invoice_list(
    state: &AppState,
    auth: &Auth,
    reference: &str,
    headers: &HeaderMap,
    page_size: Option<&str>,
    failed_only: bool,
) -> Result<Response, ApiError> {
    auth.require(&SESSION_READ)?;
    let (size, offset) = paging(headers, page_size, 10, 1000, 10)?;
    let now = util::now();
    let st = state.lock();
    let s = st
        .invoices
        .sessions
        .get(reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(reference))?;
    let all: Vec<&SessionInvoice> = s
        .invoices
        .iter()
        .filter(|i| !failed_only || i.failed(now))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|i| i.status_json(state, reference, now))
        .collect();
    let token = crate::auth::next_token(offset, size, all.len());
    Ok(axum::Json(json!({"continuationToken": token, "invoices": items})).into_response())
}

/// `GET /sessions/{referenceNumber}/invoices`.
async fn invoices(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageSize>,
) -> Result<Response, ApiError> {
    invoice_list(
        &state,
        &auth,
        &reference,
        &headers,
        q.page_size.as_deref(),
        false,
    )
}

/// `GET /sessions/{referenceNumber}/invoices/failed`.
async fn failed_invoices(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageSize>,
) -> Result<Response, ApiError> {
    invoice_list(
        &state,
        &auth,
        &reference,
        &headers,
        q.page_size.as_deref(),
        true,
    )
}

fn no_invoice(reference: &str) -> ApiError {
    ApiError::bad(
        21405,
        "Błąd walidacji danych wejściowych.",
        vec![format!(
            "Nie znaleziono faktury {reference} w sesji. / No such invoice in the session."
        )],
    )
}

/// `GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}`.
async fn invoice_status(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, invoice)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&SESSION_READ)?;
    let now = util::now();
    let st = state.lock();
    let s = st
        .invoices
        .sessions
        .get(&reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(&reference))?;
    let inv = s
        .invoices
        .iter()
        .find(|i| i.reference == invoice)
        .ok_or_else(|| no_invoice(&invoice))?;
    Ok(axum::Json(inv.status_json(&state, &reference, now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionsQuery {
    page_size: Option<String>,
    session_type: Option<String>,
    reference_number: Option<String>,
    date_created_from: Option<String>,
    date_created_to: Option<String>,
    date_closed_from: Option<String>,
    date_closed_to: Option<String>,
    date_modified_from: Option<String>,
    date_modified_to: Option<String>,
}

fn parse_opt_date(name: &str, v: &Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    match v {
        None => Ok(None),
        Some(t) => crate::query::parse_date_time(t)
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("Nieprawidłowa data {name}: {t}."))),
    }
}

/// `GET /sessions?sessionType=Online|Batch` — newest first.
async fn list_sessions(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[
        Permission::InvoiceWrite,
        Permission::Introspection,
        Permission::EnforcementOperations,
    ])?;
    let raw = raw.unwrap_or_default();
    let q: SessionsQuery = serde_urlencoded_lite(&raw)?;
    let statuses: Vec<String> = raw
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "statuses")
        .map(|(_, v)| v.to_string())
        .collect();
    let kind = q.session_type.clone().ok_or_else(|| {
        ApiError::validation(
            "Parametr sessionType jest wymagany (Online lub Batch). / sessionType is required.",
        )
    })?;
    if kind != "Online" && kind != "Batch" {
        return Err(ApiError::validation(
            "sessionType musi mieć wartość Online lub Batch.",
        ));
    }
    let (size, offset) = paging(&headers, q.page_size.as_deref(), 10, 1000, 10)?;
    let created = (
        parse_opt_date("dateCreatedFrom", &q.date_created_from)?,
        parse_opt_date("dateCreatedTo", &q.date_created_to)?,
    );
    let closed = (
        parse_opt_date("dateClosedFrom", &q.date_closed_from)?,
        parse_opt_date("dateClosedTo", &q.date_closed_to)?,
    );
    let modified = (
        parse_opt_date("dateModifiedFrom", &q.date_modified_from)?,
        parse_opt_date("dateModifiedTo", &q.date_modified_to)?,
    );
    let in_range = |t: Option<OffsetDateTime>,
                    r: &(Option<OffsetDateTime>, Option<OffsetDateTime>)| {
        if r.0.is_none() && r.1.is_none() {
            return true;
        }
        t.is_some_and(|t| r.0.is_none_or(|f| t >= f) && r.1.is_none_or(|to| t <= to))
    };
    let now = util::now();
    let see_all = auth.has(Permission::Introspection);
    let mut st = state.lock();
    let mut items: Vec<(OffsetDateTime, Value)> = Vec::new();
    {
        for s in st.invoices.sessions.values_mut() {
            if s.batch.is_some() != (kind == "Batch") {
                continue;
            }
            if s.context_nip != auth.context.value
                || (!see_all && s.auth_reference != auth.auth_reference)
            {
                continue;
            }
            if q.reference_number
                .as_ref()
                .is_some_and(|r| *r != s.reference)
                || !in_range(Some(s.created), &created)
                || !in_range(s.closed, &closed)
                || !in_range(Some(s.updated), &modified)
            {
                continue;
            }
            let code = s.status(now).0;
            let group = match code {
                100 | 150 | 170 => "InProgress",
                200 => "Succeeded",
                440 => "Cancelled",
                _ => "Failed",
            };
            if !statuses.is_empty() && !statuses.iter().any(|x| x == group) {
                continue;
            }
            items.push((s.created, s.list_item(now)));
        }
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|(_, v)| v)
        .collect();
    let token = crate::auth::next_token(offset, size, total);
    Ok(axum::Json(json!({"continuationToken": token, "sessions": page})).into_response())
}

/// Tiny query-string reader for the single-valued parameters (no extra dependency).
fn serde_urlencoded_lite(raw: &str) -> Result<SessionsQuery, ApiError> {
    let mut map = serde_json::Map::new();
    for kv in raw.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k == "statuses" {
            continue;
        }
        map.insert(k.to_string(), json!(percent_decode(v)));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::validation(format!("Nieprawidłowe parametry zapytania: {e}.")))
}

/// `%XX` and `+` decoding for query values.
pub fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list_sessions))
        .route("/sessions/online", post(open))
        .route("/sessions/online/{referenceNumber}/invoices", post(send))
        .route("/sessions/online/{referenceNumber}/close", post(close))
        .route("/sessions/{referenceNumber}", get(status))
        .route("/sessions/{referenceNumber}/invoices", get(invoices))
        .route(
            "/sessions/{referenceNumber}/invoices/failed",
            get(failed_invoices),
        )
        .route(
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            get(invoice_status),
        )
}
