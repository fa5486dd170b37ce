//! The worker's batch send: ksef-core's [`BatchSender`] with fetch through the relay, the
//! batch kept sealed in `settings/batch` and each invoice's state written into its draft
//! record (`drafts`), so the invoice list and the invoice's own page show it as the online
//! send's states (on its way once the session is open, then accepted or rejected).

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use indexed_db_futures::{DeserialiseFromJs as _, SerialiseToJs as _};
use js_sys::Reflect;
use ksef_core::batch::{BatchSend, BatchSender, BatchStage, BatchStore, MAX_PART_BYTES};
use ksef_core::invoice::InvoiceDraft;
use ksef_core::send::SendState;
use wasm_bindgen::JsValue;
use web_sys::CryptoKey;

use crate::worker::{Sealed, io, ksef_failure, local, open, open_db, seal, vault_key};
use crate::{BATCH_KEY, BatchJob, Failure, Update};

const SETTINGS: &str = "settings";
const DRAFTS: &str = "drafts";

/// The batch's record and the drafts' states, posting the progress after each save.
struct Keeper<'a, F> {
    db: Database,
    key: CryptoKey,
    /// The stage whose states the drafts already show.
    written: Option<BatchStage>,
    send: &'a F,
}

impl<F: Fn(&Update)> Keeper<'_, F> {
    async fn load(&self) -> Result<Option<BatchSend>, String> {
        let tx = self.db.transaction(SETTINGS).build().map_err(io)?;
        let os = tx.object_store(SETTINGS).map_err(io)?;
        let sealed: Option<Sealed> = os.get(BATCH_KEY).serde().map_err(io)?.await.map_err(io)?;
        drop(os);
        drop(tx);
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = open(&self.key, &sealed).await?;
        serde_json::from_slice(&plain).map(Some).map_err(io)
    }

    async fn put_sealed(&self, batch: &BatchSend) -> Result<(), String> {
        let sealed = seal(&self.key, &serde_json::to_vec(batch).map_err(io)?).await?;
        let tx = self
            .db
            .transaction(SETTINGS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        {
            let os = tx.object_store(SETTINGS).map_err(io)?;
            os.put(&sealed)
                .with_key(BATCH_KEY.to_owned())
                .serde()
                .map_err(io)?
                .await
                .map_err(io)?;
        }
        tx.commit().await.map_err(io)
    }

    /// Writes each invoice's state into its draft, in one transaction; only `send` and
    /// `updated_ms` change (the record stays the app's).
    async fn write_states(&self, batch: &BatchSend) -> Result<(), String> {
        let tx = self
            .db
            .transaction(DRAFTS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        {
            let os = tx.object_store(DRAFTS).map_err(io)?;
            let now = JsValue::from_f64(js_sys::Date::now().floor());
            for item in &batch.items {
                let record: Option<JsValue> = os
                    .get(item.id.as_str())
                    .primitive()
                    .map_err(io)?
                    .await
                    .map_err(io)?;
                let (Some(record), Some(state)) = (record, batch.state_of(&item.id)) else {
                    continue;
                };
                let state = state.serialise_to_js().map_err(io)?;
                let set = |k: &str, v: &JsValue| Reflect::set(&record, &k.into(), v);
                set("send", &state)
                    .and_then(|_| set("updated_ms", &now))
                    .map_err(|_| "draft record unreadable".to_owned())?;
                os.put(record)
                    .with_key(item.id.clone())
                    .primitive()
                    .map_err(io)?
                    .await
                    .map_err(io)?;
            }
        }
        tx.commit().await.map_err(io)
    }

    async fn remove(&self) -> Result<(), String> {
        let tx = self
            .db
            .transaction(SETTINGS)
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        {
            let os = tx.object_store(SETTINGS).map_err(io)?;
            os.delete(BATCH_KEY)
                .primitive()
                .map_err(io)?
                .await
                .map_err(io)?;
        }
        tx.commit().await.map_err(io)
    }
}

/// The drafts `job.ids` as `(id, FA(3) XML)`: only those still drafts, each valid and issued
/// by the login's company (the same rules as the online send).
async fn invoices(db: &Database, job: &BatchJob) -> Result<Vec<(String, String)>, Failure> {
    let today = ksef_core::invoice::draft::parse_form_date(&job.today)
        .ok_or_else(|| local("Błędna data dzisiejsza.", "A malformed date of today."))?;
    let now = time::OffsetDateTime::from_unix_timestamp(js_sys::Date::now() as i64 / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let tx = db
        .transaction(DRAFTS)
        .build()
        .map_err(|e| storage_failure(io(e)))?;
    let os = tx
        .object_store(DRAFTS)
        .map_err(|e| storage_failure(io(e)))?;
    let mut out = Vec::new();
    for id in &job.ids {
        let record: Option<JsValue> = os
            .get(id.as_str())
            .primitive()
            .map_err(|e| storage_failure(io(e)))?
            .await
            .map_err(|e| storage_failure(io(e)))?;
        let Some(record) = record else { continue };
        let field = |k: &str| Reflect::get(&record, &k.into()).unwrap_or(JsValue::UNDEFINED);
        let send = field("send");
        let state = if send.is_undefined() || send.is_null() {
            SendState::Draft
        } else {
            SendState::deserialise_from_js(send).map_err(|e| storage_failure(io(e)))?
        };
        if !state.editable() {
            continue;
        }
        let draft = InvoiceDraft::deserialise_from_js(field("draft"))
            .map_err(|e| storage_failure(io(e)))?;
        let number = draft.number.trim().to_owned();
        if draft.seller.nip.trim() != job.nip {
            return Err(local(
                &format!(
                    "Faktura {number} jest wystawiona przez inną firmę — odznacz ją albo przełącz firmę."
                ),
                &format!(
                    "Invoice {number} is issued by another company: unselect it or switch the company."
                ),
            ));
        }
        let invoice = draft.validate_on(today).map_err(|_| {
            local(
                &format!("Faktura {number} ma błędy — otwórz ją, popraw i zaznacz ponownie."),
                &format!("Invoice {number} has errors: open it, fix it and select it again."),
            )
        })?;
        out.push((id.clone(), ksef_core::fa3::write_fa3(&invoice, now)));
    }
    Ok(out)
}

fn progress(b: &BatchSend) -> Update {
    let ((p, pn), (i, n)) = (b.parts_progress(), b.invoices_progress());
    Update {
        batch: Some([p, pn, i, n]),
        ..Update::default()
    }
}

impl<F: Fn(&Update)> BatchStore for Keeper<'_, F> {
    async fn save(&mut self, b: &BatchSend) -> Result<(), String> {
        self.put_sealed(b).await?;
        // Before the session opens the drafts stay drafts (no session yet to look in).
        if b.stage != BatchStage::Prepared && self.written != Some(b.stage) {
            self.write_states(b).await?;
            self.written = Some(b.stage);
        }
        (self.send)(&progress(b));
        Ok(())
    }
}

fn storage_failure(e: String) -> Failure {
    Failure {
        details: Some(e),
        ..local(
            "Przeglądarka nie zapisała stanu wysyłki — zwolnij miejsce lub odśwież stronę i kliknij ponownie.",
            "The browser did not store the send's state: free some space or reload, then click again.",
        )
    }
}

/// Runs the batch job `job` (JSON) of `message`: a new batch from its invoices, or the stored
/// one carried on. Returns the last update (`batch` set when there was one).
pub async fn run(job: &str, message: &JsValue, send: &impl Fn(&Update)) -> Result<Update, Failure> {
    let job: BatchJob = serde_json::from_str(job)
        .map_err(|_| local("Błędne zlecenie wysyłki.", "A malformed send job."))?;
    let mut keeper = Keeper {
        db: open_db().await?,
        key: vault_key(message)?,
        written: None,
        send,
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let mut batch = match keeper.load().await.map_err(storage_failure)? {
        Some(b) => b,
        None => {
            let invoices = invoices(&keeper.db, &job).await?;
            if invoices.is_empty() {
                return Ok(Update::default());
            }
            BatchSend::prepare(&job.env, invoices, MAX_PART_BYTES, &mut rng)
                .await
                .map_err(|e| ksef_failure(&e))?
        }
    };
    run_batch(&mut keeper, &mut batch, job, &mut rng)
        .await
        .map_err(again)
}

/// A failure once the batch is kept: clicking again carries it on.
fn again(f: Failure) -> Failure {
    Failure {
        pl: format!(
            "{} Kliknij ponownie: Kwit dokończy tę samą sesję wsadową i nie wyśle niczego dwa razy.",
            f.pl
        ),
        en: format!(
            "{} Click again: Kwit finishes the same batch session and sends nothing twice.",
            f.en
        ),
        details: f.details,
    }
}

/// Carries `batch` (kept from its preparation on) to its end.
async fn run_batch<F: Fn(&Update)>(
    keeper: &mut Keeper<'_, F>,
    batch: &mut BatchSend,
    job: BatchJob,
    rng: &mut rand_core::UnwrapErr<getrandom::SysRng>,
) -> Result<Update, Failure> {
    // A batch stored before a reload: its drafts show where it got (a reload may have come
    // between the batch's save and its drafts').
    if batch.stage != BatchStage::Prepared {
        keeper.write_states(batch).await.map_err(storage_failure)?;
        keeper.written = Some(batch.stage);
    }
    let client = kwit_signer::remote::client(job.base_url).with_storage_base(job.storage_base);
    let mut keys = ksef_core::flow::PublicKeys::default();
    let outcome = BatchSender {
        client: &client,
        keys: &mut keys,
        access_token: &job.access_token,
        now_unix: js_sys::Date::now() as u64 / 1000,
    }
    .advance(keeper, batch, rng)
    .await;
    if let Err(e) = outcome {
        return Err(match e {
            ksef_core::error::Error::Storage(s) => storage_failure(s),
            e => ksef_failure(&e),
        });
    }
    // Done: the last save wrote the outcomes; drafts that outlived a lost save get them now.
    keeper.write_states(batch).await.map_err(storage_failure)?;
    keeper.remove().await.map_err(storage_failure)?;
    Ok(progress(batch))
}
