//! The send part of the invoice form: where the invoice stands in KSeF, "Wyślij do KSeF" and
//! "Pobierz status", the rejection with its advice, and failures with the FAQ's way out. The
//! steps themselves run in [`crate::send`] (ksef-core's send machine).

use ksef_core::invoice::{InvoiceDraft, ValidationErrors};
use ksef_core::send::ksef_numbers_in;
use leptos::prelude::*;

use crate::drafts::{self, DraftRecord};
use crate::i18n::Lang;
use crate::i18n::tr;
use crate::send::{Advice, SendProblem, SendState, Step, login_for, run_step};

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
    let ctx = expect_context::<crate::state::AppCtx>();
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
                if record.company_id.is_empty()
                    && let Ok(db) = ctx.db().await
                    && let Ok(Some(stored)) = drafts::load(&db, &record.id).await
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
                let login = ctx
                    .session
                    .with_untracked(|s| login_for(s.as_ref(), company.as_ref()));
                let outcome = run_step(ctx, &mut record, env, login, step, send).await;
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
                    _ => crate::state::sessions::keep_session(ctx),
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
                        crate::net::sleep_ms(100).await;
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
                <p data-testid="send-state">{move || send.with(|s| drafts::state_label(s, lang.get()))}</p>
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
                        let upo = upo_url.as_ref().map(|u| crate::send::storage_href(env, u));
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
    let ctx = expect_context::<crate::state::AppCtx>();
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
        SendProblem::Failed {
            message,
            details,
            advice,
        } => {
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
                    <p>{move || message.get(lang.get()).to_owned()}</p>
                    {move || crate::components::details(details.as_ref().map(|d| d.get(lang.get()).to_owned()), lang.get())}
                    <p>{advice_text}</p>
                    {match advice {
                        Advice::FetchKeys => view! {
                            <button type="button" on:click=move |_| { ctx.send_cache.update_value(|c| c.keys = Default::default()); on_retry.run(()); }>
                                {move || tr(lang.get(), "Pobierz certyfikaty publiczne", "Fetch public certificates")}
                            </button>
                        }.into_any(),
                        Advice::NewSession => view! {
                            <button type="button" on:click=move |_| { ctx.send_cache.update_value(|c| c.online = None); on_retry.run(()); }>
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
