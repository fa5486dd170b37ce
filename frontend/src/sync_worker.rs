//! The client of the sync worker (`kwit-sync`): started on the first sync, it runs one job
//! at a time and reports each step; see the worker crate's docs for why it is a worker.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use kwit_sync::{BatchJob, Failure, Job, Update};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Worker;

const WORKER_URL: &str = "./kwit-sync_loader.js";
const START_TIMEOUT_MS: u64 = 30_000;

/// The worker, started on first use, shared by the app through `AppCtx`.
#[derive(Clone, Default)]
pub struct SyncWorker(Rc<RefCell<Connection>>);

#[derive(Default)]
struct Connection {
    worker: Option<Worker>,
    /// Resolves the ready signal or the running job's end.
    resolve: Option<Function>,
    /// Receives the running job's updates.
    on_update: Option<Rc<dyn Fn(Update)>>,
}

fn unavailable(why: &str) -> Failure {
    Failure {
        pl: format!(
            "Nie udało się uruchomić modułu synchronizacji ({why}) — odśwież stronę; jeśli się powtarza, użyj aktualnej przeglądarki."
        ),
        en: format!(
            "The sync module did not start ({why}): reload the page, and use a current browser if it persists."
        ),
        details: None,
    }
}

/// A job's failure as the page shows it.
pub fn problem(f: Failure, lang: crate::i18n::Lang) -> crate::api::Problem {
    crate::api::Problem {
        message: match lang {
            crate::i18n::Lang::Pl => f.pl,
            crate::i18n::Lang::En => f.en,
        },
        details: f.details,
    }
}

/// The job needs the vault's key: it is locked.
pub fn locked(lang: crate::i18n::Lang) -> crate::api::Problem {
    crate::i18n::tr(
        lang,
        "Odblokuj sejf i spróbuj ponownie.",
        "Unlock the vault and try again.",
    )
    .into()
}

/// The relay's paths to `env`'s KSeF API and storage host, as the worker calls them.
pub fn relay_paths(env: crate::api::Env) -> (String, String) {
    (
        format!("/ksef/{}/v2", env.slug()),
        format!("/ksef/{}/storage", env.slug()),
    )
}

impl SyncWorker {
    fn on_message(&self, event: JsValue) {
        let text = Reflect::get(&event, &"data".into())
            .ok()
            .and_then(|d| d.as_string())
            .unwrap_or_default();
        if text == "ready" {
            self.settle(&JsValue::TRUE);
            return;
        }
        let Some(update) = parse_update(&text) else {
            return;
        };
        let finished = update.finished;
        let on_update = self.0.borrow().on_update.clone();
        if let Some(f) = on_update {
            f(update);
        }
        if finished {
            self.settle(&JsValue::TRUE);
        }
    }

    fn settle(&self, value: &JsValue) {
        let resolve = self.0.borrow_mut().resolve.take();
        if let Some(r) = resolve {
            let _ = r.call1(&JsValue::NULL, value);
        }
    }

    /// A promise the next `ready` or `finished` message (or a failure) resolves.
    fn next(&self) -> Promise {
        Promise::new(&mut |resolve, _| {
            self.0.borrow_mut().resolve = Some(resolve);
        })
    }

    /// The worker failed (script missing, broken module): the job ends, the next starts afresh.
    fn fail(&self, why: &str) {
        let worker = self.0.borrow_mut().worker.take();
        if let Some(w) = worker {
            w.terminate();
        }
        let on_update = self.0.borrow_mut().on_update.take();
        if let Some(f) = on_update {
            f(Update {
                finished: true,
                failure: Some(unavailable(why)),
                ..Update::default()
            });
        }
        self.settle(&JsValue::FALSE);
    }

    async fn worker(&self) -> Result<Worker, Failure> {
        if let Some(w) = self.0.borrow().worker.clone() {
            return Ok(w);
        }
        let worker = Worker::new(WORKER_URL).map_err(|_| unavailable("Worker"))?;
        let me = self.clone();
        let message = Closure::<dyn Fn(JsValue)>::new(move |e| me.on_message(e));
        worker.set_onmessage(Some(message.as_ref().unchecked_ref()));
        message.forget();
        let me = self.clone();
        let error = Closure::<dyn Fn(JsValue)>::new(move |_| me.fail("error"));
        worker.set_onerror(Some(error.as_ref().unchecked_ref()));
        error.forget();
        let ready = self.next();
        self.0.borrow_mut().worker = Some(worker.clone());
        // A module that fails to compile raises no error event: give up after a while.
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            crate::net::sleep_ms(START_TIMEOUT_MS).await;
            if me.0.borrow().resolve.is_some() && me.0.borrow().on_update.is_none() {
                me.fail("timeout");
            }
        });
        let started = JsFuture::from(ready).await.ok() == Some(JsValue::TRUE);
        if started {
            Ok(worker)
        } else {
            Err(unavailable("start"))
        }
    }

    /// Runs `job` in the worker with the vault's `key`, calling `on_update` after each step;
    /// returns when the run is over (its last update says how).
    pub async fn run(
        &self,
        job: &Job,
        key: &web_sys::CryptoKey,
        on_update: impl Fn(Update) + 'static,
    ) -> Result<(), Failure> {
        let text = serde_json::to_string(job).map_err(|e| unavailable(&e.to_string()))?;
        self.post(message("job", &text.into(), Some(key)), Rc::new(on_update))
            .await
    }

    /// Runs the batch send `job` in the worker, like [`SyncWorker::run`]. Written with
    /// `JSON.stringify` (the worker reads it with serde): a serializer for it would cost the
    /// first load.
    pub async fn run_batch(
        &self,
        job: &BatchJob,
        key: &web_sys::CryptoKey,
        on_update: impl Fn(Update) + 'static,
    ) -> Result<(), Failure> {
        let o = Object::new();
        let set = |k: &str, v: &JsValue| {
            let _ = Reflect::set(&o, &k.into(), v);
        };
        set("baseUrl", &job.base_url.as_str().into());
        set("storageBase", &job.storage_base.as_str().into());
        set("env", &job.env.as_str().into());
        set("accessToken", &job.access_token.as_str().into());
        set("nip", &job.nip.as_str().into());
        set("today", &job.today.as_str().into());
        let ids = js_sys::Array::new();
        for id in &job.ids {
            ids.push(&id.as_str().into());
        }
        set("ids", &ids);
        let text = js_sys::JSON::stringify(&o)
            .ok()
            .and_then(|t| t.as_string())
            .ok_or_else(|| unavailable("JSON"))?;
        self.post(
            message("batch", &text.into(), Some(key)),
            Rc::new(on_update),
        )
        .await
    }

    /// The FA(3) XML of `draft` (see [`kwit_sync::FA3_FIELD`]), validated on `today`'s date
    /// rules and stamped with `now_unix`.
    pub async fn write_fa3(
        &self,
        draft: &ksef_core::invoice::InvoiceDraft,
        today: &str,
        now_unix: u64,
    ) -> Result<String, Failure> {
        use indexed_db_futures::SerialiseToJs as _;
        let draft = draft
            .serialise_to_js()
            .map_err(|e| unavailable(&e.to_string()))?;
        let m = message(kwit_sync::FA3_FIELD, &draft, None);
        let _ = Reflect::set(&m, &"today".into(), &today.into());
        let _ = Reflect::set(&m, &"now".into(), &(now_unix as f64).into());
        let answer = Rc::new(RefCell::new(None));
        let to = answer.clone();
        self.post(m, Rc::new(move |u: Update| *to.borrow_mut() = Some(u)))
            .await?;
        let last = answer.take().unwrap_or_default();
        match (last.xml, last.failure) {
            (Some(xml), _) => Ok(xml),
            (None, f) => Err(f.unwrap_or_else(|| unavailable("fa3"))),
        }
    }

    /// Posts one job and waits for its end; not generic, so every kind shares one copy of
    /// this code.
    async fn post(&self, message: Object, on_update: Rc<dyn Fn(Update)>) -> Result<(), Failure> {
        let worker = self.worker().await?;
        let end = self.next();
        self.0.borrow_mut().on_update = Some(on_update);
        worker
            .post_message(&message)
            .map_err(|_| unavailable("postMessage"))?;
        let _ = JsFuture::from(end).await;
        self.0.borrow_mut().on_update = None;
        Ok(())
    }
}

/// A job message: its kind's field holding `body`, and the vault's key if it needs one.
fn message(field: &str, body: &JsValue, key: Option<&web_sys::CryptoKey>) -> Object {
    let m = Object::new();
    let _ = Reflect::set(&m, &field.into(), body);
    if let Some(key) = key {
        let _ = Reflect::set(&m, &"key".into(), key);
    }
    m
}

/// An [`Update`] read with `JSON.parse` and field access: a serde deserializer for it would
/// cost the first load kilobytes (the worker writes it with serde).
fn parse_update(text: &str) -> Option<Update> {
    let v = js_sys::JSON::parse(text).ok()?;
    let get = |at: &JsValue, key: &str| {
        Reflect::get(at, &key.into())
            .ok()
            .filter(|x| !x.is_null() && !x.is_undefined())
    };
    let num = |at: &JsValue, key: &str| get(at, key).and_then(|x| x.as_f64()).unwrap_or(0.0) as u64;
    let p = get(&v, "progress")?;
    let progress = ksef_core::sync::Progress {
        parts_total: num(&p, "partsTotal") as u32,
        parts_done: num(&p, "partsDone") as u32,
        invoices_announced: num(&p, "invoicesAnnounced"),
        invoices_received: num(&p, "invoicesReceived"),
        invoices_new: num(&p, "invoicesNew"),
        duplicates: num(&p, "duplicates"),
        ..Default::default()
    };
    let waiting = get(&v, "waiting").and_then(|w| {
        let until = Reflect::get(&w, &0.into()).ok()?.as_f64()? as u64;
        let reason = match Reflect::get(&w, &1.into()).ok()?.as_string()?.as_str() {
            "RateLimited" => ksef_core::sync::WaitReason::RateLimited,
            _ => ksef_core::sync::WaitReason::ExportProcessing,
        };
        Some((until, reason))
    });
    let failure = get(&v, "failure").map(|f| Failure {
        pl: get(&f, "pl")
            .and_then(|x| x.as_string())
            .unwrap_or_default(),
        en: get(&f, "en")
            .and_then(|x| x.as_string())
            .unwrap_or_default(),
        details: get(&f, "details").and_then(|x| x.as_string()),
    });
    let batch = get(&v, "batch").map(|b| {
        let at = |i: u32| {
            Reflect::get(&b, &i.into())
                .ok()
                .and_then(|x| x.as_f64())
                .unwrap_or(0.0) as usize
        };
        [at(0), at(1), at(2), at(3)]
    });
    Some(Update {
        batch,
        xml: get(&v, "xml").and_then(|x| x.as_string()),
        progress,
        waiting,
        done: get(&v, "done").and_then(|x| x.as_bool()).unwrap_or(false),
        deferred_until: get(&v, "deferredUntil")
            .and_then(|x| x.as_f64())
            .map(|x| x as u64),
        finished: get(&v, "finished")
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
        failure,
    })
}
