//! The list of invoices issued in Kwit with where each stands: draft, sending, sent
//! (reference number), accepted (KSeF number) or rejected. Sending happens on the form
//! (FAQ: the "Faktury KSeF" list is for fetching invoices, not for sending).

use leptos::prelude::*;

use crate::api::OrProblem;
use crate::components::problem_view;
use crate::drafts::{self, DraftRecord, SendState};
use crate::i18n::Lang;
use crate::i18n::tr;
use crate::state::nav::{FORM_HASH, form_href, go_to_form};
use crate::state::task::Task;

/// The route of the list.
pub const LIST_HASH: &str = "#/faktury";

/// The current company's invoices, newest first (another company's are never listed).
#[component]
pub fn InvoicesPage() -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    let records = LocalResource::new(move || {
        let company = ctx.current_company();
        async move {
            match company {
                Some(c) => drafts::list_for(&ctx.db().await?, &c).await,
                None => Ok(Vec::new()),
            }
        }
    });
    let progress = RwSignal::new((0, 0, 0, 0));
    let batch = Task::new();
    // `ids` from a click (empty: nothing ticked), `None` from the resume on login.
    let send_batch = move |ids: Option<Vec<String>>| {
        let l = lang.get_untracked();
        // The selected drafts as the list holds them (their owner is checked on these).
        let picked: Vec<DraftRecord> = records
            .get_untracked()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| ids.as_ref().is_some_and(|ids| ids.contains(&r.id)))
            .collect();
        let clicked = ids.is_some();
        batch.run(async move {
            let outcome = crate::batch::run(ctx, picked, clicked, progress, l).await;
            records.refetch();
            outcome
        });
    };
    // A batch cut off by a reload carries on (never a second session) once logged in.
    Effect::new(move |was: Option<bool>| {
        let logged_in = ctx.session.with(Option::is_some);
        if logged_in && was != Some(true) {
            send_batch(None);
        }
        logged_in
    });
    view! {
        <section class="card" aria-labelledby="invoices-title">
            <h2 id="invoices-title">{move || tr(lang.get(), "Wystawione faktury", "Issued invoices")}</h2>
            <p class="muted">
                {move || tr(lang.get(),
                    "Szkice zapisują się same. Fakturę wysyłasz do KSeF z formularza (Fakturowanie → Wyślij do KSeF).",
                    "Drafts save themselves. Send an invoice to KSeF from its form (Invoicing → Send to KSeF).")}
            </p>
            <p>
                <a href=format!("/{FORM_HASH}") data-testid="new-invoice"
                    on:click=move |ev| { ev.prevent_default(); go_to_form(None); }>
                    {move || tr(lang.get(), "Nowa faktura", "New invoice")}
                </a>
            </p>
            <p>
                <button type="button" data-testid="send-batch"
                    disabled=move || batch.pending()
                    on:click=move |_| send_batch(Some(checked_ids()))>
                    {move || tr(lang.get(), "Wyślij zaznaczone (sesja wsadowa)", "Send selected (batch session)")}
                </button>
            </p>
            <p data-testid="batch-progress">{move || {
                let (p, pn, i, n) = progress.get();
                (n > 0).then(|| format!("{} {p}/{pn} · {} {i}/{n}", tr(lang.get(), "części:", "parts:"), tr(lang.get(), "faktury:", "invoices:")))
            }}</p>
            {move || problem_view(batch.problem(), lang.get(), "batch-error", None)}
            {move || match records.get() {
                None => view! { <p aria-busy="true">{tr(lang.get(), "Ładowanie…", "Loading…")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message(lang.get())}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p data-testid="no-invoices">{tr(lang.get(), "Nie ma jeszcze żadnej faktury.", "No invoices yet.")}</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <table data-testid="invoice-list">
                        <thead>
                            <tr>
                                <th>{move || tr(lang.get(), "Numer", "Number")}</th>
                                <th>{move || tr(lang.get(), "Nabywca", "Buyer")}</th>
                                <th>{move || tr(lang.get(), "Brutto", "Gross")}</th>
                                <th>{move || tr(lang.get(), "Stan", "State")}</th>
                                <th>{move || tr(lang.get(), "KSeF", "KSeF")}</th>
                                <th></th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|r| row(r, records)).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            }}
        </section>
    }
}

fn row(
    r: DraftRecord,
    records: LocalResource<Result<Vec<DraftRecord>, crate::store::StorageError>>,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    let href = form_href(&r.id);
    let gross = ksef_core::money::display_amount(r.draft.live_totals().gross, &r.draft.currency);
    let ksef = match &r.send {
        SendState::Accepted { ksef_number, .. } => ksef_number.clone(),
        SendState::Rejected { code, .. } => format!("{code}"),
        s => s.invoice_reference().map(str::to_owned).unwrap_or_default(),
    };
    let state = r.send.clone();
    let key = state.key();
    let is_draft = state == SendState::Draft;
    let id = r.id.clone();
    let ready = is_draft && r.draft.validate_on(crate::state::clock::today()).is_ok();
    let open_id = r.id.clone();
    let title = r.clone();
    view! {
        <tr data-testid="invoice-row" data-state=key data-id=r.id.clone()>
            <td>
                {ready.then(|| view! {
                    <input type="checkbox" data-testid="batch-select" value=id.clone()
                        aria-label=move || tr(lang.get(), "Zaznacz do wysyłki", "Select for sending") />
                })}
            </td>
            <td data-testid="invoice-title">
                <a href=href on:click=move |ev| { ev.prevent_default(); go_to_form(Some(&open_id)); }>
                    {move || title.title(lang.get())}
                </a>
            </td>
            <td>{r.draft.buyer.name.clone()}</td>
            <td>{gross}</td>
            <td data-testid="invoice-state">{move || drafts::state_label(&state, lang.get())}</td>
            <td><code data-testid="invoice-ksef">{ksef}</code></td>
            <td>
                {is_draft.then(|| {
                    let id = id.clone();
                    let task = Task::new();
                    view! {
                        <button type="button" class="link" disabled=move || task.pending() on:click=move |_| {
                            let (id, l) = (id.clone(), lang.get_untracked());
                            task.run(async move {
                                let outcome = async { drafts::delete_draft(&ctx.db().await?, &id).await }
                                    .await
                                    .or_problem(l);
                                records.refetch();
                                outcome
                            });
                        }>{move || tr(lang.get(), "Usuń szkic", "Delete draft")}</button>
                        {move || problem_view(task.problem(), lang.get(), "delete-error", None)}
                    }
                })}
            </td>
        </tr>
    }
}

/// The ids of the drafts whose box is ticked (read when "send selected" is clicked: no signal
/// per row to keep in step with the list).
fn checked_ids() -> Vec<String> {
    use wasm_bindgen::JsCast as _;
    let Some(list) = web_sys::window().and_then(|w| w.document()).and_then(|d| {
        d.query_selector_all(r#"input[data-testid="batch-select"]:checked"#)
            .ok()
    }) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| input.value())
        .collect()
}
