//! "Wyślij do KSeF": runs ksef-core's send machine ([`ksef_core::send`]) in the browser. The
//! machine owns the states and transitions (tested natively); this file gives it the
//! browser's transport, the invoice's IndexedDB record as its [`SendStore`], the app's cache
//! of keys and online session, and turns its errors into the user's words and FAQ advice.
//!
//! No duplicates, nothing lost: the machine writes [`SendState::Sending`] (the session and
//! the invoice hash) into the record BEFORE the invoice leaves the browser; a send cut off by
//! a reload, lost connection or crash is resumed by asking KSeF, never by sending again.

use ksef_core::error::Error as KsefError;
use ksef_core::invoice::ValidationErrors;
pub use ksef_core::send::{SendState, Step};
use ksef_core::send::{SendStore, Sender};
use leptos::prelude::{RwSignal, Set, SetValue, UpdateValue};

use crate::api::Env;
use crate::company::Company;
use crate::drafts::{self, DraftRecord};
use crate::i18n::Lang;
use crate::session::Session;
use crate::store::Db;

thread_local! {
    /// The worker instance that writes each invoice's FA(3) XML (see
    /// [`kwit_sync::FA3_FIELD`]), started on the first send; its own, so a send never waits
    /// for a sync or a batch.
    static FA3: crate::sync_worker::SyncWorker = Default::default();
}

/// Something that went wrong while sending, with the user's way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendProblem {
    /// The form has errors; they are shown next to the fields.
    Invalid(ValidationErrors),
    /// No KSeF login for the company's environment.
    NotLoggedIn,
    /// Refused before anything left the browser: another company's draft, a seller NIP
    /// that is not the company's, or no login of this company.
    Refused(crate::ownership::SendRefusal),
    /// KSeF or the network failed; `advice` says what to do.
    Failed {
        /// What happened and what to do.
        message: Bilingual,
        /// The codes and KSeF's words, shown behind "Szczegóły".
        details: Option<Bilingual>,
        /// Which FAQ advice applies.
        advice: Advice,
    },
}

/// A text in both languages, each written on its own (not one text split at runtime).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bilingual {
    /// Polish.
    pub pl: String,
    /// English.
    pub en: String,
}

impl Bilingual {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Pl => &self.pl,
            Lang::En => &self.en,
        }
    }

    /// An app error's message in both languages.
    pub fn of(e: &impl crate::api::Explain) -> Self {
        Self {
            pl: e.message_in(Lang::Pl),
            en: e.message_in(Lang::En),
        }
    }
}

/// FAQ advice for a failure (seed-faq.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Encryption/public key problem: fetch the public certificates.
    FetchKeys,
    /// Session expired or failed: open a new session.
    NewSession,
    /// Token expired or refused: log in again.
    LogInAgain,
    /// KSeF refused the operation for lack of permission (403): check the permissions.
    Permissions,
    /// Network/KSeF down: try again (status is checked first, nothing is sent twice).
    RetryLater,
    /// Anything else.
    None,
}

/// Picks the FAQ advice for a `ksef_core` error.
pub fn advice_for(e: &KsefError) -> Advice {
    match e {
        KsefError::NoPublicKey { .. }
        | KsefError::UnknownPublicKey
        | KsefError::Crypto(_)
        | KsefError::InvalidCertificate(_) => Advice::FetchKeys,
        KsefError::NoSession { .. } | KsefError::SessionFailed { .. } => Advice::NewSession,
        e if e.needs_login() => Advice::LogInAgain,
        KsefError::Forbidden { .. } => Advice::Permissions,
        e if e.is_retryable() => Advice::RetryLater,
        _ => Advice::None,
    }
}

fn failed(e: &KsefError) -> SendProblem {
    // KSeF's refusals and the network's failures in words, their codes behind "Szczegóły";
    // the browser's and the relay's own words ("TypeError: Failed to fetch", an HTML page)
    // never reach the user.
    let both = |f: &dyn Fn(Lang) -> String| Bilingual {
        pl: f(Lang::Pl),
        en: f(Lang::En),
    };
    let (message, details) = match crate::api::refusal(e) {
        Some(n) => {
            let details = n
                .details(Lang::Pl)
                .is_some()
                .then(|| both(&|l| n.details(l).unwrap_or_default()));
            (both(&|l| n.user_message(l)), details)
        }
        None => (both(&|l| e.message(l.core())), None),
    };
    SendProblem::Failed {
        message,
        details,
        advice: advice_for(e),
    }
}

/// The KSeF login a send runs under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// Authentication reference number (the online session belongs to it).
    pub reference: String,
    /// Access token. Secret.
    pub token: String,
}

/// The KSeF login of `company` (its context, NIP and environment), if logged in: never
/// another company's login that happens to be in memory.
pub fn login_for(session: Option<&Session>, company: Option<&Company>) -> Option<Login> {
    let company = company?;
    session
        .filter(|s| crate::ownership::session_of(s, company))
        .map(|s| Login {
            reference: s.reference_number.clone(),
            token: s.access.token.clone(),
        })
}

/// The invoice's IndexedDB record as the machine's store: every state is written into it
/// (awaited) with the time of the change.
/// Each stored state is shown at once (`shown`), so "Wysłana" appears while KSeF processes.
struct RecordStore<'a> {
    db: Db,
    record: &'a mut DraftRecord,
    shown: RwSignal<SendState>,
}

impl SendStore for RecordStore<'_> {
    async fn save(&mut self, state: &SendState) -> Result<(), String> {
        self.record.send = state.clone();
        self.record.updated_ms = js_sys::Date::now() as i64;
        drafts::save(&self.db, self.record)
            .await
            .map_err(|e| e.to_string())?;
        self.shown.set(state.clone());
        Ok(())
    }
}

/// A storage link KSeF gave (the UPO) as the relay serves it for environment `env`.
pub fn storage_href(env: &str, url: &str) -> String {
    crate::net::ksef_client(Env::from_slug(env).unwrap_or_default()).storage_url(url)
}

/// Carries out `step` for `record` under `login`: validates and builds the FA(3) when it is
/// to be sent, then lets the machine move it (each state written into the record). `env` is
/// the company's environment; an invoice already on its way stays with the one it went to.
pub async fn run_step(
    ctx: crate::state::AppCtx,
    record: &mut DraftRecord,
    env: Env,
    login: Option<Login>,
    step: Step,
    shown: RwSignal<SendState>,
) -> Result<(), SendProblem> {
    // Built whenever the step may end in a send: also for a cut-off send, which goes out
    // (once) if KSeF turns out never to have received it.
    let may_send = record.send.editable() || matches!(record.send, SendState::Sending { .. });
    let xml = if step == Step::Send && may_send {
        record
            .draft
            .validate_on(crate::state::clock::today())
            .map_err(SendProblem::Invalid)?;
        let xml = FA3
            .with(Clone::clone)
            .write_fa3(
                &record.draft,
                &crate::state::clock::today_string(),
                now_unix(),
            )
            .await
            .map_err(|f| SendProblem::Failed {
                message: Bilingual { pl: f.pl, en: f.en },
                details: f.details.map(|d| Bilingual {
                    pl: d.clone(),
                    en: d,
                }),
                advice: Advice::None,
            })?;
        Some(xml)
    } else {
        None
    };
    if !record.send.in_flight() && xml.is_none() {
        return Ok(());
    }
    let login = login.ok_or(SendProblem::NotLoggedIn)?;
    let db = ctx.db().await.map_err(|e| SendProblem::Failed {
        message: Bilingual::of(&e),
        details: None,
        advice: Advice::None,
    })?;
    let env = record.send.env().and_then(Env::from_slug).unwrap_or(env);
    // The cache is taken out for the step and put back after (one step runs at a time).
    let mut cache = ctx
        .send_cache
        .try_update_value(std::mem::take)
        .unwrap_or_default();
    let state = record.send.clone();
    let outcome = Sender {
        client: crate::net::ksef_client(env),
        cache: cache.for_env(env.slug()),
        login: ksef_core::send::Login {
            reference: &login.reference,
            access_token: &login.token,
        },
        now_unix: now_unix(),
    }
    .advance(
        &mut RecordStore { db, record, shown },
        state,
        step,
        xml,
        &mut crate::webcrypto::WebCrypto,
    )
    .await;
    ctx.send_cache.set_value(cache);
    match outcome {
        Ok(state) => {
            record.send = state;
            Ok(())
        }
        Err(e) => Err(failed(&e)),
    }
}

fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}
