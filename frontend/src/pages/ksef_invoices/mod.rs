//! Faktury KSeF: the invoices KSeF holds for the current company, per perspective (seller,
//! buyer, third party, authorised), synced into the browser and searched there. The sync
//! machine, the search and the empty-result advice are ksef-core's; this page renders them.

mod list;

use ksef_core::sync::{Filter, SubjectType, Trigger, WaitReason};
use leptos::prelude::*;

use crate::components::problem_view;
use crate::i18n::{Lang, tr};
use crate::received::{self, Status};
use crate::state::task::Task;

/// The page.
#[component]
pub fn KsefInvoicesPage() -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    let subject = RwSignal::new(SubjectType::Subject2);
    let status = RwSignal::new(Status::default());
    let filter = RwSignal::new(Filter::default());
    let task = Task::new();
    // Bumped after a sync so the list reads the local copy again.
    let synced = RwSignal::new(0u32);

    // One way in for both: the button (manual) and opening the page or switching the
    // perspective (automatic: at most every 15 minutes, and it resumes a cut-off run).
    let start = move |trigger: Trigger| {
        if task.pending() {
            return;
        }
        let l = lang.get_untracked();
        let Some(company) = ctx.current_company() else {
            return;
        };
        let session = ctx.current_session();
        let subject = subject.get_untracked();
        if session.is_none() && trigger == Trigger::Automatic {
            return;
        }
        task.run(async move {
            let Some(session) = session else {
                return Err(crate::api::Problem {
                    message: tr(
                        l,
                        "Zaloguj się do KSeF (Dostęp i logowanie), aby pobrać faktury.",
                        "Log in to KSeF (Access and login) to fetch invoices.",
                    )
                    .into(),
                    details: None,
                });
            };
            let outcome = received::run(
                ctx,
                company.env,
                company.nip.clone(),
                subject,
                session.access.token.clone(),
                trigger == Trigger::Manual,
                status,
                l,
            )
            .await;
            synced.update(|n| *n += 1);
            outcome
        });
    };
    Effect::new(move |_| {
        let _ = subject.get();
        if ctx.current_session().is_some() {
            // Untracked: the run's own signals (pending, status) must not start another.
            untrack(|| start(Trigger::Automatic));
        }
    });

    view! {
        <section class="card" aria-labelledby="ksef-invoices-title" data-testid="ksef-page" data-runs=move || synced.get()>
            <h2 id="ksef-invoices-title">{move || tr(lang.get(), "Faktury KSeF", "KSeF invoices")}</h2>
            <p class="muted">{move || tr(lang.get(),
                "Faktury zapisane w KSeF dla wybranej firmy. Synchronizacja pobiera tylko nowe; wyszukiwanie działa na kopii w przeglądarce, także offline.",
                "Invoices KSeF holds for the selected company. A sync fetches only what is new; searching works on the copy in your browser, offline too.")}</p>
            <div class="row">
                <label>
                    {move || tr(lang.get(), "Perspektywa: ", "Perspective: ")}
                    <select data-testid="ksef-subject" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(s) = SubjectType::ALL.into_iter().find(|s| s.as_str() == v) {
                            subject.set(s);
                            filter.update(|f| f.subject = Some(s));
                        }
                    }>
                        {SubjectType::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || subject.get() == s>
                                {move || match lang.get() { Lang::Pl => s.label_pl(), Lang::En => s.label_en() }}
                            </option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" data-testid="ksef-sync" disabled=move || task.pending() on:click=move |_| start(Trigger::Manual)>
                    {move || tr(lang.get(), "Synchronizuj", "Sync")}
                </button>
            </div>
            {move || progress_view(status.get(), task.pending(), lang.get())}
            {move || problem_view(task.problem(), lang.get(), "ksef-sync-error", None)}
            <list::List filter subject synced />
        </section>
    }
}

/// The progress bar with its counts, and the wait a 429 or a slow export asks for.
fn progress_view(status: Status, running: bool, lang: Lang) -> impl IntoView {
    let p = status.progress;
    let (done, total) = if p.parts_total > 0 {
        (u64::from(p.parts_done), u64::from(p.parts_total))
    } else {
        (
            p.invoices_received,
            p.invoices_announced.max(p.invoices_received),
        )
    };
    let waiting = status.waiting.map(|(until, reason)| {
        let at = crate::state::clock::local_hhmm(until);
        match (reason, lang) {
            (WaitReason::RateLimited, Lang::Pl) => {
                format!("KSeF ogranicza liczbę zapytań — synchronizacja wznowi się sama o {at}.")
            }
            (WaitReason::RateLimited, Lang::En) => {
                format!("KSeF limits the number of requests: the sync continues by itself at {at}.")
            }
            (WaitReason::ExportProcessing, Lang::Pl) => {
                "KSeF przygotowuje paczkę faktur…".to_owned()
            }
            (WaitReason::ExportProcessing, Lang::En) => {
                "KSeF is preparing the invoice package…".to_owned()
            }
        }
    });
    let deferred = status.deferred_until.map(|t| {
        let at = crate::state::clock::local_hhmm(t);
        match lang {
            Lang::Pl => format!("Ostatnia synchronizacja była niedawno: następna automatyczna najwcześniej o {at} (KSeF prosi o 15 minut przerwy). „Synchronizuj” pobiera od razu."),
            Lang::En => format!("The last sync was recent: the next automatic one no earlier than {at} (KSeF asks for 15 minutes between them). \"Sync\" fetches right away."),
        }
    });
    let deferred = deferred.map(|d| view! { <p class="muted" data-testid="ksef-deferred">{d}</p> });
    let bar = (running || status.done).then(|| view! {
        <div data-testid="ksef-progress" data-done=status.done.to_string()>
            <progress max=total.max(1) value=if status.done { total.max(1) } else { done }></progress>
            <span data-testid="ksef-counts">{match lang {
                Lang::Pl => format!("pobrane: {}, nowe: {}, już zapisane: {}", p.invoices_received, p.invoices_new, p.duplicates),
                Lang::En => format!("received: {}, new: {}, already stored: {}", p.invoices_received, p.invoices_new, p.duplicates),
            }}</span>
            {waiting.map(|w| view! { <p data-testid="ksef-wait">{w}</p> })}
        </div>
    });
    (bar, deferred)
}
