//! "Wyślij do KSeF" from the invoice form: opens or reuses an online session, encrypts the
//! invoice in the browser, sends it, and polls its status with backoff until the KSeF number
//! arrives (guide §4, /work/shared/ksef-guide.md; FAQ "wysłana, ale bez numeru KSeF").
//!
//! No duplicates, nothing lost: the session reference and the invoice hash are stored in
//! IndexedDB BEFORE the invoice leaves the browser ([`SendState::Sending`]). A send cut off by
//! a reload, lost connection or crash is resumed by looking the hash up in the session's
//! invoice list (`GET /sessions/{ref}/invoices`), never by sending again.

use std::cell::RefCell;

use ksef_core::api::{self, Body, Endpoint, StatusInfo};
use ksef_core::error::Error as KsefError;
use ksef_core::fa3::write_fa3;
use ksef_core::flow::{self, AcceptedInvoice, KsefClient, OnlineSession, PublicKeys, SentInvoice};
use ksef_core::invoice::{InvoiceDraft, ValidationErrors};
use ksef_core::transport::HttpResponse;
use leptos::prelude::*;
use serde::Deserialize;

use crate::api::Env;
use crate::company::Company;
use crate::components::tr;
use crate::drafts::{self, DraftRecord, SendState};
use crate::i18n::Lang;
use crate::session::{OnlineSessionData, Session};

// ---------------------------------------------------------------- browser transport

pub use crate::net::{BrowserSleep, FetchTransport};

/// Waits `ms` milliseconds on the browser's timer.
pub async fn sleep_ms(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                ms.min(i32::MAX as u64) as i32,
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// A KSeF client for `env` through the relay; storage links go to `/ksef/{env}/storage`.
pub fn client(env: Env) -> KsefClient<FetchTransport, BrowserSleep> {
    crate::net::ksef_client(env)
}

/// Rewrites an absolute storage link KSeF returned (`{any host}/storage/...`) to the relay.
pub fn relay_storage_url(env: &str, url: &str) -> String {
    match url.find("/storage/") {
        Some(i) => format!("/ksef/{env}{}", &url[i..]),
        None => url.to_owned(),
    }
}

fn env_from_slug(slug: &str) -> Env {
    Env::from_slug(slug).unwrap_or_default()
}

fn now_unix() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

// ---------------------------------------------------------------- session invoices

/// `GET /sessions/{referenceNumber}/invoices` (open-api.json `SessionInvoicesResponse`):
/// how a send whose answer was lost is found again, by its `invoiceHash`.
#[derive(Debug, Clone)]
pub struct SessionInvoices {
    /// Session reference number.
    pub session_reference: String,
}

/// One invoice of a session.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoice {
    /// Invoice reference number.
    pub reference_number: String,
    /// Base64 SHA-256 of the invoice XML.
    #[serde(default)]
    pub invoice_hash: Option<String>,
    /// KSeF number, once assigned.
    #[serde(default)]
    pub ksef_number: Option<String>,
    /// Processing status.
    pub status: StatusInfo,
}

/// The page of session invoices.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInvoicesPage {
    /// Invoices.
    #[serde(default)]
    pub invoices: Vec<SessionInvoice>,
}

impl Endpoint for SessionInvoices {
    type Response = SessionInvoicesPage;
    const METHOD: http::Method = http::Method::GET;

    fn path(&self) -> String {
        format!(
            "/sessions/{}/invoices?pageSize=1000",
            api::encode(&self.session_reference)
        )
    }

    fn body(&self) -> ksef_core::error::Result<Body> {
        Ok(Body::Empty)
    }

    fn parse(response: HttpResponse) -> ksef_core::error::Result<Self::Response> {
        api::json_body(&response)
    }
}

/// The invoice with `hash` among a session's invoices.
pub fn find_by_hash<'a>(page: &'a SessionInvoicesPage, hash: &str) -> Option<&'a SessionInvoice> {
    page.invoices
        .iter()
        .find(|i| i.invoice_hash.as_deref() == Some(hash))
}

/// KSeF numbers mentioned in a rejection (a 440 duplicate names the existing invoice).
pub fn ksef_numbers_in(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .flat_map(|t| {
            t.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '\'' | '"'))
        })
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| ksef_core::ksef_number::KsefNumber::parse(w).is_ok())
        .fold(Vec::new(), |mut found: Vec<String>, w| {
            if !found.iter().any(|f| f == w) {
                found.push(w.to_owned());
            }
            found
        })
}

// ---------------------------------------------------------------- the send itself

thread_local! {
    /// The open online session and its AES key, with the reference number of the KSeF login
    /// it was opened under (an online session belongs to that login's context). Kept across
    /// reloads, sealed, with the login ([`crate::session::keep`]).
    static SESSION: RefCell<Option<(String, OnlineSession)>> = const { RefCell::new(None) };
    /// Cached KSeF public keys per environment.
    static KEYS: RefCell<Option<(String, PublicKeys)>> = const { RefCell::new(None) };
}

/// Forgets the cached online session ("Otwórz nową sesję").
pub fn forget_session() {
    SESSION.with(|s| *s.borrow_mut() = None);
}

/// The online session opened under login `login_reference`, to keep it across reloads.
pub fn online_session_of(login_reference: &str) -> Option<OnlineSessionData> {
    SESSION.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|(l, _)| l == login_reference)
            .map(|(_, o)| OnlineSessionData::of(o))
    })
}

/// Takes back an online session restored after a reload (see [`crate::session::restore`]).
pub fn adopt_online_session(login_reference: &str, data: &OnlineSessionData) {
    if let Some(online) = data.to_online() {
        SESSION.with(|s| *s.borrow_mut() = Some((login_reference.to_owned(), online)));
    }
}

/// Forgets the cached public keys ("Pobierz certyfikaty publiczne").
pub fn forget_keys() {
    KEYS.with(|k| *k.borrow_mut() = None);
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
        /// Bilingual message from `ksef_core`.
        message: String,
        /// Which FAQ advice applies.
        advice: Advice,
    },
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
    // No answer, or one that is not KSeF's own refusal: the browser's and the relay's words
    // ("TypeError: Failed to fetch", an HTML page) never reach the user, only what to do.
    let message = match e {
        KsefError::Network(_) | KsefError::Http { .. } => {
            let n = crate::api::net_error(e);
            format!(
                "{} / {}",
                n.user_message(Lang::Pl),
                n.user_message(Lang::En)
            )
        }
        _ => e.to_string(),
    };
    SendProblem::Failed {
        message,
        advice: advice_for(e),
    }
}

/// The half of a bilingual `PL / EN` message in the user's language.
pub fn in_lang(message: &str, lang: Lang) -> String {
    match message.split_once(" / ") {
        Some((pl, en)) => match lang {
            Lang::Pl => pl.to_owned(),
            Lang::En => en.to_owned(),
        },
        None => message.to_owned(),
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

async fn public_keys(
    env: Env,
    client: &KsefClient<FetchTransport, BrowserSleep>,
) -> Result<PublicKeys, KsefError> {
    if let Some(k) = KEYS.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(e, _)| e == env.slug())
            .map(|(_, k)| k.clone())
    }) {
        return Ok(k);
    }
    let keys = flow::fetch_public_keys(client).await?;
    KEYS.with(|k| *k.borrow_mut() = Some((env.slug().to_owned(), keys.clone())));
    Ok(keys)
}

async fn online_session(
    env: Env,
    login: &Login,
    client: &KsefClient<FetchTransport, BrowserSleep>,
) -> Result<OnlineSession, KsefError> {
    if let Some(s) = SESSION.with(|s| {
        s.borrow()
            .as_ref()
            .filter(|(l, _)| *l == login.reference)
            .map(|(_, s)| s.clone())
    }) {
        return Ok(s);
    }
    let token = login.token.as_str();
    let mut keys = public_keys(env, client).await?;
    let mut rng = getrandom::SysRng;
    let session = flow::open_online_session(client, &mut keys, token, now_unix(), &mut rng).await?;
    KEYS.with(|k| *k.borrow_mut() = Some((env.slug().to_owned(), keys)));
    SESSION.with(|s| *s.borrow_mut() = Some((login.reference.clone(), session.clone())));
    Ok(session)
}

/// Sends the record's invoice: validate, build FA(3), record `Sending` (awaited), send,
/// record `Sent`. Returns the new state (also written to IndexedDB).
pub async fn send_invoice(
    record: &mut DraftRecord,
    env: Env,
    login: Option<Login>,
) -> Result<(), SendProblem> {
    let invoice = record
        .draft
        .validate_on(crate::pages::invoice_form::today())
        .map_err(SendProblem::Invalid)?;
    let login = login.ok_or(SendProblem::NotLoggedIn)?;
    let token = login.token.clone();
    let now = time::OffsetDateTime::from_unix_timestamp(now_unix() as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let xml = write_fa3(&invoice, now);
    let client = client(env);
    let mut retried = false;
    loop {
        let session = online_session(env, &login, &client)
            .await
            .map_err(|e| failed(&e))?;
        let request = flow::encrypt_invoice(&session, xml.as_bytes(), false);
        record.send = SendState::Sending {
            env: env.slug().to_owned(),
            session_reference: session.reference_number.clone(),
            invoice_hash: request.invoice_hash.clone(),
            xml: xml.clone(),
        };
        record.updated_ms = js_sys::Date::now() as i64;
        // Stored BEFORE the request leaves: the outcome can always be found again.
        drafts::save(record)
            .await
            .map_err(|e| SendProblem::Failed {
                message: e.to_string(),
                advice: Advice::None,
            })?;
        match client.execute(&request, Some(token.as_str())).await {
            Ok(r) => {
                record.send = SendState::Sent {
                    env: env.slug().to_owned(),
                    session_reference: session.reference_number.clone(),
                    invoice_reference: r.reference_number,
                    invoice_hash: request.invoice_hash,
                    xml,
                };
                let _ = drafts::save(record).await;
                return Ok(());
            }
            // KSeF refused the request itself (session closed): nothing was received, so a
            // fresh session and one more try cannot duplicate.
            Err(KsefError::NoSession { .. }) if !retried => {
                retried = true;
                forget_session();
            }
            Err(e @ (KsefError::Network(_) | KsefError::Http { .. })) => {
                // The answer is lost, not necessarily the invoice: stay in `Sending`, resume by status.
                return Err(failed(&e));
            }
            Err(e) => {
                // A definite refusal (400): the invoice was not received; back to a draft.
                record.send = SendState::Draft;
                let _ = drafts::save(record).await;
                return Err(failed(&e));
            }
        }
    }
}

/// Resumes a send whose answer was lost: finds the invoice by hash in its session.
/// Not found (and the lookup succeeded) means KSeF never got it: back to a draft.
pub async fn resume(record: &mut DraftRecord, login: Option<Login>) -> Result<(), SendProblem> {
    let SendState::Sending {
        env,
        session_reference,
        invoice_hash,
        xml,
    } = record.send.clone()
    else {
        return Ok(());
    };
    let e = env_from_slug(&env);
    let token = login.ok_or(SendProblem::NotLoggedIn)?.token;
    let page = client(e)
        .execute(
            &SessionInvoices {
                session_reference: session_reference.clone(),
            },
            Some(token.as_str()),
        )
        .await
        .map_err(|e| failed(&e))?;
    record.send = match find_by_hash(&page, &invoice_hash) {
        Some(found) => SendState::Sent {
            env,
            session_reference,
            invoice_reference: found.reference_number.clone(),
            invoice_hash,
            xml,
        },
        None => SendState::Draft,
    };
    let _ = drafts::save(record).await;
    Ok(())
}

/// Asks KSeF for the invoice status once (`poll = false`, "Pobierz status") or until final
/// with backoff (`poll = true`).
pub async fn check_status(
    record: &mut DraftRecord,
    poll: bool,
    login: Option<Login>,
) -> Result<(), SendProblem> {
    let SendState::Sent {
        env,
        session_reference,
        invoice_reference,
        invoice_hash,
        xml,
    } = record.send.clone()
    else {
        return Ok(());
    };
    let e = env_from_slug(&env);
    let token = login.ok_or(SendProblem::NotLoggedIn)?.token;
    let mut client = client(e);
    if !poll {
        client.poll.max_attempts = 0;
    }
    let sent = SentInvoice {
        session_reference_number: session_reference.clone(),
        invoice_reference_number: invoice_reference.clone(),
        invoice_hash,
    };
    match flow::wait_for_invoice(&client, &token, &sent).await {
        Ok(AcceptedInvoice {
            ksef_number,
            upo_download_url,
            acquisition_date,
        }) => {
            record.send = SendState::Accepted {
                env,
                session_reference,
                invoice_reference,
                ksef_number,
                upo_url: upo_download_url,
                acquisition_date,
                xml,
            };
        }
        Err(KsefError::InvoiceRejected {
            code,
            description,
            details,
        }) => {
            record.send = SendState::Rejected {
                env,
                session_reference,
                invoice_reference: Some(invoice_reference),
                code,
                description,
                details,
            };
        }
        Err(KsefError::StillProcessing { .. }) => return Ok(()),
        Err(e) => return Err(failed(&e)),
    }
    let _ = drafts::save(record).await;
    Ok(())
}

// ---------------------------------------------------------------- the panel

/// The send part of the invoice form.
#[component]
pub fn SendPanel(
    id: String,
    /// The company issuing the invoice (kept in the record when the send state is written).
    company_id: String,
    draft: RwSignal<InvoiceDraft>,
    send: RwSignal<SendState>,
    checked: RwSignal<bool>,
    errors: Memo<Option<ValidationErrors>>,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let busy = RwSignal::new(false);
    let problem: RwSignal<Option<SendProblem>> = RwSignal::new(None);
    let ctx = expect_context::<crate::AppCtx>();
    let _ = errors;

    let record_now = {
        let id = id.clone();
        move || DraftRecord {
            id: id.clone(),
            updated_ms: js_sys::Date::now() as i64,
            company_id: company_id.clone(),
            draft: draft.get_untracked(),
            send: send.get_untracked(),
        }
    };

    // Runs one step against KSeF and publishes its outcome.
    let run = {
        let record_now = record_now.clone();
        move |step: Step| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            problem.set(None);
            let mut record = record_now();
            leptos::task::spawn_local(async move {
                if let Ok(Some(stored)) = drafts::load(&record.id).await
                    && record.company_id.is_empty()
                {
                    record.company_id = stored.company_id;
                }
                let companies = ctx.companies.get_untracked();
                let company = crate::ownership::owner(&record, &companies).cloned();
                let env = company.as_ref().map(|c| c.env).unwrap_or_default();
                // An explicit send goes out only under the company it belongs to, with its
                // NIP and its own login; otherwise nothing leaves and nothing changes.
                if step == Step::Send && record.send.editable() {
                    let current = ctx.current.get_untracked();
                    let current = companies.iter().find(|c| Some(&c.id) == current.as_ref());
                    let session = ctx.session.get_untracked();
                    if let Err(refusal) =
                        crate::ownership::check_send(&record, current, &companies, session.as_ref())
                    {
                        problem.set(Some(SendProblem::Refused(refusal)));
                        busy.set(false);
                        return;
                    }
                }
                let token = || {
                    ctx.session
                        .with_untracked(|s| login_for(s.as_ref(), company.as_ref()))
                };
                // 1. A send cut off earlier is resumed by asking KSeF, never by sending again.
                let mut outcome = if matches!(record.send, SendState::Sending { .. }) {
                    resume(&mut record, token()).await
                } else {
                    Ok(())
                };
                // 2. Send only on an explicit "Wyślij do KSeF" (and only what KSeF does not have).
                if outcome.is_ok() && step == Step::Send && record.send.editable() {
                    outcome = send_invoice(&mut record, env, token()).await;
                }
                // 3. Status: once ("Pobierz status") or with backoff until final.
                if outcome.is_ok() && matches!(record.send, SendState::Sent { .. }) {
                    send.set(record.send.clone());
                    outcome = check_status(&mut record, step != Step::Status, token()).await;
                }
                if let Err(SendProblem::Invalid(_)) = &outcome {
                    checked.set(true);
                }
                send.set(record.send.clone());
                match &outcome {
                    // KSeF no longer accepts the login: it is gone (also from storage).
                    Err(SendProblem::Failed {
                        advice: Advice::LogInAgain,
                        ..
                    }) => ctx.session.set(None),
                    // Keep the online session (opened, or forgotten after KSeF closed it)
                    // with the login, for a reload.
                    _ => crate::keep_session(ctx),
                }
                problem.set(outcome.err());
                busy.set(false);
            });
        }
    };

    // A send cut off by a reload or crash resumes by status, never by sending again: now, and
    // again when the login comes back (restored after unlocking, or a new login).
    {
        let run = run.clone();
        Effect::new(move |was_logged_in: Option<bool>| {
            let logged_in = ctx.session.with(Option::is_some);
            if was_logged_in != Some(logged_in)
                && (was_logged_in.is_none() || logged_in)
                && matches!(
                    send.get_untracked(),
                    SendState::Sending { .. } | SendState::Sent { .. }
                )
            {
                // A step still running (e.g. the one that found no login yet) finishes first.
                let run = run.clone();
                leptos::task::spawn_local(async move {
                    while busy.get_untracked() {
                        sleep_ms(100).await;
                    }
                    run(Step::Poll);
                });
            }
            logged_in
        });
    }

    // Why "Wyślij do KSeF" cannot work now, shown before any click (FAQ "Nie widzę akcji
    // KSeF": permissions, the right company): not this company's login, or no InvoiceWrite.
    let send_blocked = Memo::new(move |_| {
        let lang = lang.get();
        let Some(company) = ctx.current_company() else {
            return Some(crate::ownership::SendRefusal::NoCompany.message(lang));
        };
        match ctx.session.get() {
            Some(s) if crate::ownership::session_of(&s, &company) => {
                s.missing("InvoiceWrite", lang)
            }
            _ => Some(crate::ownership::SendRefusal::NotLoggedIn.message(lang)),
        }
    });

    let run_send = run.clone();
    let run_status = run.clone();
    let run_retry = run;

    view! {
            <section class="send" aria-labelledby="send-title" data-testid="send-panel" data-state=move || send.with(SendState::key)>
                <h3 id="send-title">"KSeF"</h3>
                <p data-testid="send-state">{move || send.with(|s| s.label(lang.get()))}</p>
                {move || send.with(|s| match s {
                    SendState::Draft => view! {
                        <p class="muted">{tr(lang.get(), "Fakturę wysyła się stąd — lista „Faktury KSeF” służy do pobierania faktur, nie do wysyłki.", "Invoices are sent from here: the “KSeF invoices” list is for fetching invoices, not for sending.")}</p>
                    }.into_any(),
                    SendState::Sending { session_reference, .. } => view! {
                        <p>{tr(lang.get(), "Wysyłanie w sesji ", "Sending in session ")}<code>{session_reference.clone()}</code></p>
                    }.into_any(),
                    SendState::Sent { invoice_reference, .. } => view! {
                        <p>
                            {tr(lang.get(), "Numer referencyjny: ", "Reference number: ")}
                            <code data-testid="invoice-reference">{invoice_reference.clone()}</code>
                        </p>
    <p class="muted" data-testid="processing-help">{tr(lang.get(), "Faktura jest przetwarzana. Numer KSeF pojawi się za chwilę — Kwit sprawdza status sam; gdy skończy, możesz użyć „Pobierz status”.", "KSeF is processing the invoice. The KSeF number will appear shortly; Kwit checks by itself, and when it stops you can use “Get status”.")}</p>
                        // FAQ "Wysłałem fakturę, ale nie mam numeru KSeF".
                        <p class="muted" data-testid="no-number-help">{tr(lang.get(), "Jeśli numer KSeF długo się nie pojawia: sprawdź, czy status nie wskazuje na odrzucenie (szczegóły), pobierz status ponownie po kilku minutach, a jeśli problem się powtarza — skontaktuj się z administratorem.", "If the KSeF number takes long: check that the status does not show a rejection (details), get the status again in a few minutes, and if it keeps happening, contact your administrator.")}</p>
                    }.into_any(),
                    SendState::Accepted { ksef_number, upo_url, env, .. } => {
                        let upo = upo_url.as_ref().map(|u| relay_storage_url(env, u));
                        let name = format!("UPO-{ksef_number}.xml");
                        view! {
                            <p>
                                {tr(lang.get(), "Numer KSeF: ", "KSeF number: ")}
                                <strong data-testid="ksef-number">{ksef_number.clone()}</strong>
                            </p>
                            {upo.map(|href| view! {
                                <p><a data-testid="upo-link" href=href download=name>{tr(lang.get(), "Pobierz UPO", "Download UPO")}</a></p>
                            })}
                        }.into_any()
                    }
                    SendState::Rejected { code, description, details, .. } => {
                        let mut texts = details.clone();
                        texts.push(description.clone());
                        let existing = ksef_numbers_in(&texts);
                        view! {
                            <div class="error" role="alert" data-testid="rejection">
                                <p><strong>{tr(lang.get(), "KSeF odrzucił fakturę", "KSeF rejected the invoice")}</strong> " (" {*code} "): " {description.clone()}</p>
                                <ul>{details.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}</ul>
                                <p>{rejection_advice(*code, lang.get())}</p>
                                {existing.into_iter().map(|k| view! {
                                    <p data-testid="duplicate-of">{tr(lang.get(), "Istniejąca faktura w KSeF: ", "Existing invoice in KSeF: ")}<code>{k}</code></p>
                                }).collect_view()}
                            </div>
                        }.into_any()
                    }
                })}
                <div class="actions">
                    <button type="button" data-testid="send-ksef"
                        aria-describedby="send-blocked"
                        prop:disabled=move || busy.get() || !send.with(SendState::editable) || send_blocked.with(Option::is_some)
                        on:click=move |_| run_send(Step::Send)>
                        {move || tr(lang.get(), "Wyślij do KSeF", "Send to KSeF")}
                    </button>
                    <button type="button" data-testid="get-status"
                        prop:disabled=move || busy.get() || !matches!(send.get(), SendState::Sent { .. } | SendState::Sending { .. })
                        on:click=move |_| run_status(Step::Status)>
                        {move || tr(lang.get(), "Pobierz status", "Get status")}
                    </button>
                </div>
                {move || (send.with(SendState::editable)).then(|| send_blocked.get()).flatten().map(|reason| view! {
                    <p class="muted" id="send-blocked" data-testid="send-blocked">
                        {reason} " "
                        <a href="#/access" data-testid="go-access">{tr(lang.get(), "Dostęp i logowanie", "Access and login")}</a>
                    </p>
                })}
                {move || busy.get().then(|| view! { <p aria-busy="true" data-testid="send-busy">{tr(lang.get(), "Łączenie z KSeF…", "Talking to KSeF…")}</p> })}
                {move || problem.get().map(|p| {
                    let retry = run_retry.clone();
                    view! { <ProblemView problem=p on_retry=Callback::new(move |()| retry(Step::Send)) /> }
                })}
            </section>
        }
}

/// What a click on the panel asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Send (or, if already on its way, continue).
    Send,
    /// One status request.
    Status,
    /// Continue: resume a cut-off send and poll until final.
    Poll,
}

/// What to do after a rejection (FAQ: check the rejection details).
pub fn rejection_advice(code: i64, lang: Lang) -> &'static str {
    match code {
        440 => tr(
            lang,
            "Ta faktura jest już w KSeF (duplikat) — nie wysyłaj jej ponownie; użyj istniejącego numeru KSeF.",
            "This invoice is already in KSeF (duplicate): do not send it again; use the existing KSeF number.",
        ),
        410 => tr(
            lang,
            "Brak uprawnień do wystawiania faktur dla tego NIP — sprawdź token KSeF i uprawnienia firmy.",
            "No permission to issue invoices for this NIP: check the KSeF token and the company's permissions.",
        ),
        _ => tr(
            lang,
            "Popraw fakturę zgodnie ze szczegółami powyżej i wyślij ją ponownie.",
            "Fix the invoice as described above and send it again.",
        ),
    }
}

/// A send failure with FAQ advice and the buttons that carry it out.
#[component]
fn ProblemView(problem: SendProblem, on_retry: Callback<()>) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    match problem {
        SendProblem::Invalid(e) => view! {
            <p class="error" role="alert" data-testid="send-error">
                {move || tr(lang.get(), "Faktura ma błędy — popraw zaznaczone pola. Liczba błędów: ", "The invoice has errors: fix the marked fields. Errors: ")}
                {e.errors.len()}
            </p>
        }
        .into_any(),
        SendProblem::NotLoggedIn => view! {
            <p class="error" role="alert" data-testid="send-error">
                {move || tr(lang.get(), "Zaloguj się do KSeF, a potem wyślij fakturę: ", "Log in to KSeF, then send the invoice: ")}
                <a href="#/access" data-testid="go-access">{move || tr(lang.get(), "Dostęp i logowanie", "Access and login")}</a>
            </p>
        }
        .into_any(),
        SendProblem::Refused(refusal) => {
            let login = refusal == crate::ownership::SendRefusal::NotLoggedIn;
            view! {
                <div class="error" role="alert" data-testid="send-error">
                    <p data-testid="send-refused">{move || refusal.message(lang.get())}</p>
                    {login.then(|| view! {
                        <p><a href="#/access" data-testid="go-access">{move || tr(lang.get(), "Dostęp i logowanie", "Access and login")}</a></p>
                    })}
                </div>
            }
            .into_any()
        }
        SendProblem::Failed { message, advice } => {
            let advice_text = move || match advice {
                Advice::FetchKeys => tr(lang.get(), "Problem z szyfrowaniem: pobierz certyfikaty publiczne KSeF i spróbuj ponownie.", "Encryption problem: fetch the KSeF public certificates and try again."),
                Advice::NewSession => tr(lang.get(), "Sesja KSeF wygasła lub zakończyła się błędem: otwórz nową sesję.", "The KSeF session expired or failed: open a new session."),
                Advice::LogInAgain => tr(lang.get(), "Logowanie wygasło lub zostało odrzucone: zaloguj się ponownie.", "The login expired or was refused: log in again."),
                // FAQ "Nie widzę akcji KSeF": check the permissions for KSeF operations.
                Advice::Permissions => tr(lang.get(), "Sprawdź, czy masz uprawnienia do operacji KSeF: token lub certyfikat musi mieć uprawnienie InvoiceWrite (wystawianie faktur) dla tej firmy (Dostęp i logowanie).", "Check you have permissions for KSeF operations: the token or certificate needs InvoiceWrite (issue invoices) for this company (Access and login)."),
                Advice::RetryLater => tr(lang.get(), "Spróbuj ponownie — Kwit najpierw sprawdzi status, więc faktura nie zostanie wysłana dwa razy.", "Try again: Kwit checks the status first, so the invoice is never sent twice."),
                Advice::None => "",
            };
            view! {
                <div class="error" role="alert" data-testid="send-error">
                    <p>{move || in_lang(&message, lang.get())}</p>
                    <p>{advice_text}</p>
                    {match advice {
                        Advice::FetchKeys => view! {
                            <button type="button" on:click=move |_| { forget_keys(); on_retry.run(()); }>
                                {move || tr(lang.get(), "Pobierz certyfikaty publiczne", "Fetch public certificates")}
                            </button>
                        }.into_any(),
                        Advice::NewSession => view! {
                            <button type="button" on:click=move |_| { forget_session(); on_retry.run(()); }>
                                {move || tr(lang.get(), "Otwórz nową sesję", "Open a new session")}
                            </button>
                        }.into_any(),
                        Advice::RetryLater => view! {
                            <button type="button" data-testid="retry-send" on:click=move |_| on_retry.run(())>
                                {move || tr(lang.get(), "Spróbuj ponownie", "Try again")}
                            </button>
                        }.into_any(),
                        _ => ().into_any(),
                    }}
                </div>
            }
            .into_any()
        }
    }
}
