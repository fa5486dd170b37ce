//! The worker's side: ksef-core's [`SyncRun`] with fetch through the relay, IndexedDB as its
//! store (the cursor sealed with the vault's key) and pure-Rust crypto (RSA-OAEP for the
//! export key, AES-CBC for the parts), one [`Update`] posted per step.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use js_sys::{Object, Reflect, Uint8Array};
use ksef_core::sync::{
    FetchedInvoice, Row, Step, SyncCursor, SyncError, SyncKey, SyncPolicy, SyncRun, SyncStore,
    Trigger,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto, WorkerGlobalScope};

use crate::{Failure, Job, Kept, Update, cursor_key, done_key, invoice_key};

const INVOICES: &str = "ksef_invoices";
const SYNC: &str = "ksef_sync";

/// AES-GCM box, as the app's vault writes it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Sealed {
    iv: String,
    data: String,
}

fn subtle() -> Result<SubtleCrypto, String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(scope.crypto().map_err(|_| "no WebCrypto")?.subtle())
}

fn gcm(iv: &[u8]) -> Object {
    let o = Object::new();
    let _ = Reflect::set(&o, &"name".into(), &"AES-GCM".into());
    let _ = Reflect::set(&o, &"iv".into(), &Uint8Array::from(iv).into());
    o
}

fn js(e: JsValue) -> String {
    e.as_string()
        .or_else(|| Reflect::get(&e, &"name".into()).ok()?.as_string())
        .unwrap_or_else(|| "WebCrypto".into())
}

pub(crate) async fn seal(key: &CryptoKey, plain: &[u8]) -> Result<Sealed, String> {
    let mut iv = [0u8; 12];
    getrandom::fill(&mut iv).map_err(|e| e.to_string())?;
    let promise = subtle()?
        .encrypt_with_object_and_u8_array(&gcm(&iv), key, plain)
        .map_err(js)?;
    let out = JsFuture::from(promise).await.map_err(js)?;
    Ok(Sealed {
        iv: B64.encode(iv),
        data: B64.encode(Uint8Array::new(&out).to_vec()),
    })
}

pub(crate) async fn open(key: &CryptoKey, sealed: &Sealed) -> Result<Vec<u8>, String> {
    let bad = |_| "sealed record damaged".to_owned();
    let iv = B64.decode(&sealed.iv).map_err(bad)?;
    let data = B64.decode(&sealed.data).map_err(bad)?;
    let promise = subtle()?
        .decrypt_with_object_and_u8_array(&gcm(&iv), key, &data)
        .map_err(js)?;
    let out = JsFuture::from(promise)
        .await
        .map_err(|_| "another passphrase sealed this record".to_owned())?;
    Ok(Uint8Array::new(&out).to_vec())
}

/// IndexedDB (the app's `kwit` database, opened at its current version) as the sync's store.
struct Store {
    db: Database,
    key: CryptoKey,
}

pub(crate) fn io<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

impl Store {
    async fn put<T: Serialize>(&self, store: &str, items: &[(String, T)]) -> Result<(), String> {
        let tx = self
            .db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        {
            let os = tx.object_store(store).map_err(io)?;
            for (id, value) in items {
                os.put(value)
                    .with_key(id.clone())
                    .serde()
                    .map_err(io)?
                    .await
                    .map_err(io)?;
            }
        }
        tx.commit().await.map_err(io)
    }
}

impl SyncStore for Store {
    type Error = String;

    async fn load_cursor(&self, key: &SyncKey) -> Result<Option<SyncCursor>, String> {
        let tx = self.db.transaction(SYNC).build().map_err(io)?;
        let os = tx.object_store(SYNC).map_err(io)?;
        let sealed: Option<Sealed> = os
            .get(cursor_key(&key.company_nip, key.subject))
            .serde()
            .map_err(io)?
            .await
            .map_err(io)?;
        drop(os);
        drop(tx);
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = open(&self.key, &sealed).await?;
        serde_json::from_slice(&plain).map(Some).map_err(io)
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> Result<(), String> {
        let plain = serde_json::to_vec(cursor).map_err(io)?;
        let sealed = seal(&self.key, &plain).await?;
        let id = cursor_key(&cursor.key.company_nip, cursor.key.subject);
        self.put(SYNC, &[(id, sealed)]).await
    }

    async fn known(&self, nip: &str, numbers: &[String]) -> Result<Vec<bool>, String> {
        let tx = self.db.transaction(INVOICES).build().map_err(io)?;
        let os = tx.object_store(INVOICES).map_err(io)?;
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            let count = os
                .count()
                .with_query(invoice_key(nip, n))
                .primitive()
                .map_err(io)?
                .await
                .map_err(io)?;
            out.push(count > 0);
        }
        Ok(out)
    }

    /// Each invoice's row and its document, in one transaction over both stores.
    async fn insert(&self, nip: &str, invoices: Vec<FetchedInvoice>) -> Result<(), String> {
        let tx = self
            .db
            .transaction([INVOICES, crate::DOCUMENTS_STORE])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        {
            let rows = tx.object_store(INVOICES).map_err(io)?;
            let documents = tx.object_store(crate::DOCUMENTS_STORE).map_err(io)?;
            for invoice in invoices {
                let key = invoice_key(nip, &invoice.ksef_number);
                let kept = Kept {
                    company_nip: nip.to_owned(),
                    row: Row::of(&invoice),
                };
                let json = serde_json::to_string(&invoice).map_err(io)?;
                rows.put(&kept)
                    .with_key(key.clone())
                    .serde()
                    .map_err(io)?
                    .await
                    .map_err(io)?;
                documents
                    .put(json)
                    .with_key(key)
                    .primitive()
                    .map_err(io)?
                    .await
                    .map_err(io)?;
            }
        }
        tx.commit().await.map_err(io)
    }
}

/// KSeF's refusal or the network's failure in both languages, KSeF's codes as details.
pub(crate) fn ksef_failure(k: &ksef_core::error::Error) -> Failure {
    use ksef_core::error::Language;
    Failure {
        pl: k.message(Language::Pl),
        en: k.message(Language::En),
        details: match k {
            ksef_core::error::Error::Ksef {
                code,
                description,
                details,
            } => Some(format!("KSeF {code}: {description} {}", details.join("; "))),
            ksef_core::error::Error::Http { status, .. } => Some(format!("HTTP {status}")),
            _ => None,
        },
    }
}

fn failure(e: &SyncError) -> Failure {
    match e {
        SyncError::Ksef(k) => ksef_failure(k),
        SyncError::Store(s) => {
            let text = e.to_string();
            let (pl, en) = text.split_once(" / ").unwrap_or((&text, &text));
            Failure {
                pl: pl.trim().to_owned(),
                en: en.trim().to_owned(),
                details: Some(s.clone()),
            }
        }
    }
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Runs the job in `message` (`{job: JSON, key: CryptoKey}`), calling `post` with each
/// [`Update`] as JSON; the last one has `finished`.
pub async fn handle(message: JsValue, post: impl Fn(String)) {
    let send = |u: &Update| post(serde_json::to_string(u).unwrap_or_default());
    let batch = Reflect::get(&message, &"batch".into())
        .ok()
        .and_then(|j| j.as_string());
    let fa3 = Reflect::get(&message, &crate::FA3_FIELD.into())
        .ok()
        .filter(JsValue::is_object);
    let outcome = match (fa3, batch) {
        (Some(draft), _) => write_fa3(draft, &message),
        (None, Some(job)) => crate::batch::run(&job, &message, &send).await,
        (None, None) => run(&message, &send).await,
    };
    let mut last = outcome.unwrap_or_else(|f| Update {
        failure: Some(f),
        ..Update::default()
    });
    last.finished = true;
    send(&last);
}

/// The FA(3) XML of the draft in a `fa3` message (validated again on its date rules).
fn write_fa3(draft: JsValue, message: &JsValue) -> Result<Update, Failure> {
    use indexed_db_futures::DeserialiseFromJs as _;
    let field = |k: &str| Reflect::get(message, &k.into()).unwrap_or(JsValue::UNDEFINED);
    let today = field("today")
        .as_string()
        .and_then(|t| ksef_core::invoice::draft::parse_form_date(&t))
        .ok_or_else(|| local("Błędna data dzisiejsza.", "A malformed date of today."))?;
    let now =
        time::OffsetDateTime::from_unix_timestamp(field("now").as_f64().unwrap_or(0.0) as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let draft =
        ksef_core::invoice::InvoiceDraft::deserialise_from_js(draft).map_err(|e| Failure {
            details: Some(e.to_string()),
            ..local("Błędny szkic faktury.", "A malformed invoice draft.")
        })?;
    let invoice = draft.validate_on(today).map_err(|_| {
        local(
            "Faktura ma błędy — popraw pola oznaczone w formularzu.",
            "The invoice has errors: fix the fields marked in the form.",
        )
    })?;
    Ok(Update {
        xml: Some(ksef_core::fa3::write_fa3(&invoice, now)),
        ..Update::default()
    })
}

pub(crate) fn local(pl: &str, en: &str) -> Failure {
    Failure {
        pl: pl.into(),
        en: en.into(),
        details: None,
    }
}

/// The vault's key the app posted beside the job.
pub(crate) fn vault_key(message: &JsValue) -> Result<CryptoKey, Failure> {
    Reflect::get(message, &"key".into())
        .ok()
        .and_then(|k| k.dyn_into().ok())
        .ok_or_else(|| {
            local(
                "Odblokuj sejf i spróbuj ponownie.",
                "Unlock the vault and try again.",
            )
        })
}

/// The app's database at its current version (the app opened and upgraded it first).
pub(crate) async fn open_db() -> Result<Database, Failure> {
    Database::open("kwit").await.map_err(|e| {
        local(
            &format!("Nie można otworzyć bazy przeglądarki ({e}) — odśwież stronę."),
            &format!("The browser database cannot be opened ({e}); reload the page."),
        )
    })
}

async fn run(message: &JsValue, send: &impl Fn(&Update)) -> Result<Update, Failure> {
    let job: Job = Reflect::get(message, &"job".into())
        .ok()
        .and_then(|j| j.as_string())
        .and_then(|j| serde_json::from_str(&j).ok())
        .ok_or_else(|| local("Błędne zlecenie synchronizacji.", "A malformed sync job."))?;
    let key = vault_key(message)?;
    let db = open_db().await?;
    let store = Store { db, key };
    let key = SyncKey {
        company_nip: job.nip.clone(),
        subject: job.subject,
    };
    let client = kwit_signer::remote::client(job.base_url.clone())
        .with_storage_base(job.storage_base.clone());
    let fail = |e: SyncError| failure(&e);
    let mut run = SyncRun::open(
        client,
        store,
        key,
        job.first_from.clone(),
        SyncPolicy::default(),
    )
    .await
    .map_err(fail)?;
    let trigger = if job.manual {
        Trigger::Manual
    } else {
        Trigger::Automatic
    };
    let mut step = run.begin(trigger, now()).await.map_err(fail)?;
    let mut keys = ksef_core::flow::PublicKeys::default();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    loop {
        let update = Update {
            progress: run.progress().clone(),
            waiting: match step {
                Step::WaitUntil { until_ms, reason } => Some((until_ms, reason)),
                _ => None,
            },
            done: matches!(step, Step::Done { .. }),
            deferred_until: match step {
                Step::Deferred { next_allowed_ms } => Some(next_allowed_ms),
                _ => None,
            },
            ..Update::default()
        };
        match step {
            Step::Done { .. } => {
                let marker = [(done_key(&job.nip, job.subject), now() as f64)];
                run.store()
                    .put(SYNC, &marker)
                    .await
                    .map_err(|e| fail(SyncError::Store(e)))?;
                return Ok(update);
            }
            Step::Deferred { .. } => return Ok(update),
            Step::WaitUntil { until_ms, .. } => {
                send(&update);
                ksef_core::transport::Sleep::sleep(
                    &kwit_signer::remote::Timer,
                    until_ms.saturating_sub(now()),
                )
                .await;
            }
            Step::Continue => send(&update),
        }
        step = run
            .step(&mut keys, &job.access_token, now(), &mut rng)
            .await
            .map_err(fail)?;
    }
}
