//! The certificate signer: a Web Worker running the `kwit-signer` wasm module (RSA, P-256,
//! XAdES, CSRs). It is started on the first certificate operation, so none of that code is in
//! the first load; every call is a JSON message answered by the worker's reply with the same id
//! (protocol: [`kwit_signer::Envelope`]). Private keys pass through memory only.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use kwit_signer::{Envelope, Request};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

pub use kwit_signer::KeyAlgorithm;

/// A failure in both languages: the worker's own, or one about the worker itself.
pub type SignerError = kwit_signer::Failure;

impl crate::api::Explain for SignerError {
    fn message_in(&self, lang: crate::i18n::Lang) -> String {
        match lang {
            crate::i18n::Lang::Pl => self.pl.clone(),
            crate::i18n::Lang::En => self.en.clone(),
        }
    }
}

/// Trunk's loader shim for the worker (worker files keep their crate name, no hash).
const WORKER_URL: &str = "./kwit-signer_loader.js";
/// How long the worker may take to fetch and compile its module.
const START_TIMEOUT_MS: u64 = 30_000;

/// The connection to the signer worker, started on first use. Clones share it: the app keeps
/// one in its state ([`crate::state::AppCtx::signer`]).
#[derive(Clone, Default)]
pub struct Signer(Rc<RefCell<Connection>>);

#[derive(Default)]
struct Connection {
    /// The worker and its ready signal.
    worker: Option<(Worker, Promise)>,
    /// Id and resolve/reject of the promises waiting for a reply (id 0: the ready signal). A
    /// few at most, so a Vec (a BTreeMap costs kilobytes of first-load wasm).
    waiting: Vec<(u32, Function, Function)>,
    /// The last request id used.
    last_id: u32,
}

impl Signer {
    fn waiter(&self, id: u32) -> Promise {
        Promise::new(&mut |resolve, reject| {
            self.0.borrow_mut().waiting.push((id, resolve, reject));
        })
    }

    fn on_message(&self, event: JsValue) {
        let event: MessageEvent = event.unchecked_into();
        let reply =
            js_sys::JSON::parse(&event.data().as_string().unwrap_or_default()).unwrap_or_default();
        let id = Reflect::get(&reply, &"id".into())
            .ok()
            .and_then(|id| id.as_f64());
        let waiting = {
            let mut c = self.0.borrow_mut();
            c.waiting
                .iter()
                .position(|(i, _, _)| Some(f64::from(*i)) == id)
                .map(|at| c.waiting.swap_remove(at))
        };
        if let Some((_, resolve, _)) = waiting {
            let _ = resolve.call1(&JsValue::NULL, &reply);
        }
    }

    /// The worker failed (script missing, module broken, start timeout): every waiting call
    /// fails and the next call starts a fresh worker.
    fn fail_all(&self, why: &JsValue) {
        let why = why.as_string().unwrap_or_else(|| "worker".into());
        let (worker, waiting) = {
            let mut c = self.0.borrow_mut();
            (c.worker.take(), std::mem::take(&mut c.waiting))
        };
        if let Some((worker, _)) = worker {
            worker.terminate();
        }
        for (_, _, reject) in waiting {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&why));
        }
    }

    /// The running worker and its ready signal, started on first use.
    fn worker(&self) -> Result<(Worker, Promise), SignerError> {
        if let Some(w) = self.0.borrow().worker.clone() {
            return Ok(w);
        }
        let worker = Worker::new(WORKER_URL).map_err(unavailable)?;
        let ready = self.waiter(0);
        // One closure type for both handlers: each type adds its own JS adapter.
        let me = self.clone();
        let message = Closure::<dyn Fn(JsValue)>::new(move |e| me.on_message(e));
        worker.set_onmessage(Some(message.as_ref().unchecked_ref()));
        message.forget();
        let me = self.clone();
        let error = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| me.fail_all(&e));
        worker.set_onerror(Some(error.as_ref().unchecked_ref()));
        error.forget();
        // A module that fails to compile raises no error event: give up after a while.
        let (me, started) = (self.clone(), ready.clone());
        wasm_bindgen_futures::spawn_local(async move {
            crate::net::sleep_ms(START_TIMEOUT_MS).await;
            let waiting = me.0.borrow().waiting.iter().any(|(id, _, _)| *id == 0);
            if waiting {
                me.fail_all(&"timeout".into());
            }
            drop(started);
        });
        self.0.borrow_mut().worker = Some((worker.clone(), ready.clone()));
        Ok((worker, ready))
    }

    /// Sends `request`; the reply's `body` (a [`kwit_signer::Reply`] as a JS object, read with
    /// [`field`]: `JSON.parse` instead of a serde deserializer keeps the first load smaller).
    async fn call(&self, request: Request) -> Result<JsValue, SignerError> {
        let (worker, ready) = self.worker()?;
        JsFuture::from(ready).await.map_err(unavailable)?;
        let id = {
            let mut c = self.0.borrow_mut();
            c.last_id += 1;
            c.last_id
        };
        let text = serde_json::to_string(&Envelope { id, body: request })
            .map_err(|e| protocol(&e.to_string()))?;
        let answer = self.waiter(id);
        worker
            .post_message(&JsValue::from_str(&text))
            .map_err(unavailable)?;
        let body = Reflect::get(
            &JsFuture::from(answer).await.map_err(unavailable)?,
            &"body".into(),
        )
        .unwrap_or_default();
        match field(&body, &["failure", "pl"]) {
            Some(pl) => Err(SignerError {
                pl,
                en: field(&body, &["failure", "en"]).unwrap_or_default(),
            }),
            None => Ok(body),
        }
    }
}

fn unavailable(e: JsValue) -> SignerError {
    let why = e.as_string().unwrap_or_else(|| "worker".into());
    SignerError {
        pl: format!(
            "Nie udało się uruchomić modułu podpisu certyfikatem ({why}) — odśwież stronę; jeśli się powtarza, użyj aktualnej przeglądarki."
        ),
        en: format!(
            "The certificate signing module did not start ({why}): reload the page, and use a current browser if it persists."
        ),
    }
}

fn protocol(what: &str) -> SignerError {
    SignerError {
        pl: format!("Błąd modułu podpisu ({what}) — odśwież stronę."),
        en: format!("Signing module error ({what}): reload the page."),
    }
}

/// The text at `path` in a reply (`["tokens", "accessToken", "token"]`).
fn field(reply: &JsValue, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(reply.clone(), |at, key| {
            Reflect::get(&at, &(*key).into()).ok()
        })?
        .as_string()
}

fn need(reply: &JsValue, path: &[&str]) -> Result<String, SignerError> {
    field(reply, path).ok_or_else(|| protocol(&path.join(".")))
}

fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

impl Signer {
    /// Checks an imported certificate + key pair (readable, matching, valid now); returns a
    /// summary to show (subject, validity, key type).
    pub async fn check(&self, certificate_pem: &str, key_pem: &str) -> Result<String, SignerError> {
        let reply = self
            .call(Request::Check {
                certificate_pem: certificate_pem.into(),
                key_pem: key_pem.into(),
                now_unix: now_unix(),
            })
            .await?;
        need(&reply, &["summary"])
    }

    /// Logs in to the KSeF API at `base_url` with a certificate (XAdES signed in the worker,
    /// ksef-core's flow); returns the tokens and whether the certificate makes the user the Owner.
    pub async fn login(
        &self,
        base_url: String,
        certificate_pem: &str,
        key_pem: &str,
        nip: &str,
    ) -> Result<(ksef_core::flow::AuthTokens, bool), SignerError> {
        let reply = self
            .call(Request::Login {
                base_url,
                certificate_pem: certificate_pem.into(),
                key_pem: key_pem.into(),
                nip: nip.into(),
                now_unix: now_unix(),
            })
            .await?;
        let token = |which: &str| -> Result<ksef_core::api::TokenInfo, SignerError> {
            Ok(ksef_core::api::TokenInfo {
                token: need(&reply, &["tokens", which, "token"])?,
                valid_until: need(&reply, &["tokens", which, "validUntil"])?,
            })
        };
        let tokens = ksef_core::flow::AuthTokens {
            reference_number: need(&reply, &["tokens", "referenceNumber"])?,
            access_token: token("accessToken")?,
            refresh_token: token("refreshToken")?,
        };
        let owner = Reflect::get(&reply, &"owner".into())
            .ok()
            .and_then(|o| o.as_bool())
            .unwrap_or(false);
        Ok((tokens, owner))
    }

    /// Generates a key in the worker and enrolls a KSeF certificate for it in the session of
    /// `access_token`; returns `(certificate_pem, key_pem, summary)`. The key is a secret.
    pub async fn enroll(
        &self,
        base_url: String,
        access_token: &str,
        name: &str,
        certificate_type: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<(String, String, String), SignerError> {
        let reply = self
            .call(Request::Enroll {
                base_url,
                access_token: access_token.into(),
                name: name.into(),
                certificate_type: certificate_type.into(),
                algorithm,
                now_unix: now_unix(),
            })
            .await?;
        Ok((
            need(&reply, &["certificatePem"])?,
            need(&reply, &["keyPem"])?,
            need(&reply, &["summary"])?,
        ))
    }
}
