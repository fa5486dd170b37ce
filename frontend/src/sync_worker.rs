//! The client of the sync worker (`kwit-sync`): started on the first sync, it runs one job
//! at a time and reports each step; see the worker crate's docs for why it is a worker.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use kwit_sync::{Failure, Job, Update};
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
        let worker = self.worker().await?;
        let text = serde_json::to_string(job).map_err(|e| unavailable(&e.to_string()))?;
        let message = Object::new();
        let _ = Reflect::set(&message, &"job".into(), &text.into());
        let _ = Reflect::set(&message, &"key".into(), key);
        let end = self.next();
        self.0.borrow_mut().on_update = Some(Rc::new(on_update));
        worker
            .post_message(&message)
            .map_err(|_| unavailable("postMessage"))?;
        let _ = JsFuture::from(end).await;
        self.0.borrow_mut().on_update = None;
        Ok(())
    }
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
    Some(Update {
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
