//! Fakturowanie: the invoice form. Seller, buyer (NIP, EU VAT number or none), lines with
//! live per-rate totals, dates, payment, notes; kinds VAT, KOR, ZAL, ROZ; a numbering series
//! per company; validation messages next to the fields (from `ksef_core`); a preview; the
//! draft saved to IndexedDB within a second of every change; and "Wyślij do KSeF".

use ksef_core::invoice::{InvoiceDraft, SellerDraft, ValidationErrors};
use leptos::prelude::*;

use crate::api::OrProblem;
use crate::company::Company;
use crate::components::problem_view;
use crate::drafts::{self, DraftRecord, SAVE_DELAY_MS, SendState};
use crate::i18n::Lang;
use crate::i18n::tr;
use crate::state::clock::{now_ms, today};
use crate::state::nav::{form_href, query_param, replace_url};
use crate::state::task::Task;
use fields::Fields;
use kind::{kind_section, kind_select};
use lines_section::lines_section;
pub use lines_section::rate_label;
use parties::{buyer_section, seller_section};
pub use payment::method_label;
use payment::{notes_section, payment_section};
pub use preview::InvoicePreview;
use send_panel::SendPanel;
pub use totals::TotalsTable;

mod fields;
mod kind;
mod lines_section;
mod parties;
mod payment;
mod preview;
mod send_panel;
mod totals;

/// The seller block of a new invoice: the current company.
pub fn seller_of(company: Option<&Company>) -> SellerDraft {
    let mut seller = SellerDraft::default();
    if let Some(c) = company {
        seller.nip = c.nip.clone();
        seller.name = c.name.clone();
        seller.address_line1 = c.address.clone();
    }
    seller
}

/// What the form page shows.
#[derive(Clone)]
enum FormTarget {
    /// No company yet: invoices are issued in a company's name.
    NoCompany,
    /// A record of the current company.
    Open(Box<DraftRecord>),
    /// The address names a record of another company (or of none any more).
    OtherCompany(Option<Company>),
}

/// A new draft of `company`, seller and bank account filled from it.
fn new_record(company: &Company) -> DraftRecord {
    let now = now_ms();
    let id = drafts::new_id(now, js_sys::Math::random());
    let mut draft = InvoiceDraft::new(seller_of(Some(company)), today());
    draft.payment.bank_account = company.bank_account.clone();
    let mut record = DraftRecord::new(id, draft, now);
    record.company_id = company.id.clone();
    record
}

/// Decides what the form opens for `company`: `?draft=ID` if it is the company's, the draft
/// its form had open last (a reload or the tab brings it back), or a new one (`?new=1`).
async fn open_target(
    db: Option<crate::store::Db>,
    company: Option<Company>,
    companies: Vec<Company>,
) -> FormTarget {
    let Some(company) = company else {
        return FormTarget::NoCompany;
    };
    // Without the database nothing can be read back: a new draft (its saving reports the error).
    let Some(db) = db else {
        return FormTarget::Open(Box::new(new_record(&company)));
    };
    let asked = match query_param("draft") {
        Some(id) => drafts::load(&db, &id).await.ok().flatten(),
        None => None,
    };
    let record = match asked {
        Some(r) if !crate::ownership::belongs_to(&r, &company) => {
            let owner = crate::ownership::owner(&r, &companies).cloned();
            return FormTarget::OtherCompany(owner);
        }
        Some(r) => Some(r),
        None if query_param("new").is_none() => drafts::last_open(&db, &company.id)
            .await
            .ok()
            .flatten()
            .filter(|r| crate::ownership::belongs_to(r, &company)),
        None => None,
    };
    let mut record = record.unwrap_or_else(|| new_record(&company));
    if record.company_id.is_empty() {
        record.company_id = company.id.clone();
    }
    // The seller NIP is the company's: an editable draft follows a changed company NIP.
    if record.send.editable() && record.draft.seller.nip != company.nip {
        record.draft.seller.nip = company.nip.clone();
    }
    replace_url(&form_href(&record.id));
    let _ = drafts::remember_open(&db, &company.id, &record.id).await;
    FormTarget::Open(Box::new(record))
}

/// The Fakturowanie page: the current company's draft (see [`open_target`]); switching the
/// company opens that company's.
#[component]
pub fn InvoiceFormPage() -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    // Only a change of the current company (or of its data) reopens: not every reload of
    // the company list, which would remount the form under the user's fingers.
    let company = Memo::new(move |_| ctx.current_company());
    // A signal filled by a task, not a `LocalResource`: one more async-derived type would
    // cost ~8 KB of wasm.
    let target: RwSignal<Option<FormTarget>> = RwSignal::new(None);
    let open = move || {
        let c = company.get_untracked();
        let companies = ctx.companies.get_untracked();
        leptos::task::spawn_local(async move {
            let t = open_target(ctx.db().await.ok(), c, companies).await;
            target.set(Some(t));
        });
    };
    Effect::new(move |_| {
        company.track();
        open();
    });
    // Keeps `?draft=` (unlike the header's switcher): the draft asked for opens.
    let switch_to = move |c: Company| {
        ctx.current.set(Some(c.id.clone()));
        leptos::task::spawn_local(async move {
            if let Ok(db) = ctx.db().await {
                let _ = crate::company::set_current(&db, &c.id).await;
            }
        });
    };
    view! {
        {move || match target.get() {
            None => view! { <p aria-busy="true">{move || tr(lang.get(), "Ładowanie…", "Loading…")}</p> }.into_any(),
            Some(FormTarget::NoCompany) => view! {
                <p class="error" role="alert" data-testid="form-no-company">
                    {move || crate::ownership::SendRefusal::NoCompany.message(lang.get())} " "
                    <a href="#/companies">{move || tr(lang.get(), "Firmy", "Companies")}</a>
                </p>
            }.into_any(),
            Some(FormTarget::OtherCompany(owner)) => {
                let refusal = crate::ownership::SendRefusal::OtherCompany {
                    owner: owner.as_ref().map(|c| format!("{} ({})", c.name, c.nip)),
                };
                view! {
                    <div class="error" role="alert" data-testid="form-other-company">
                        <p>{move || refusal.message(lang.get())}</p>
                        {owner.map(|c| view! {
                            <button type="button" data-testid="switch-to-owner" on:click=move |_| switch_to(c.clone())>
                                {move || tr(lang.get(), "Przełącz firmę", "Switch company")}
                            </button>
                        })}
                    </div>
                }.into_any()
            }
            Some(FormTarget::Open(record)) => view! { <InvoiceForm record=*record /> }.into_any(),
        }}
    }
}

/// The form for one stored record.
#[component]
pub fn InvoiceForm(record: DraftRecord) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    let id = record.id.clone();
    let company_id = record.company_id.clone();
    let series_company = record.company_id.clone();
    let panel_company = record.company_id.clone();
    let draft = RwSignal::new(record.draft.clone());
    let send = RwSignal::new(record.send.clone());
    let checked = RwSignal::new(false);
    let save_state = RwSignal::new("saved");
    let today = today();

    let errors: Memo<Option<ValidationErrors>> = Memo::new(move |_| {
        if checked.get() {
            draft.with(|d| d.validate_on(today).err())
        } else {
            None
        }
    });
    let locked = Signal::derive(move || !send.with(SendState::editable));

    // Debounced save: every change (draft or send state) is written SAVE_DELAY_MS later.
    let pending: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    let first = StoredValue::new(true);
    {
        let id = id.clone();
        Effect::new(move |_| {
            let d = draft.get();
            let s = send.get();
            if first.get_value() {
                first.set_value(false);
                return;
            }
            save_state.set("pending");
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            let record = DraftRecord {
                id: id.clone(),
                updated_ms: now_ms(),
                company_id: company_id.clone(),
                draft: d,
                send: s,
            };
            let handle = set_timeout_with_handle(
                move || {
                    leptos::task::spawn_local(async move {
                        let saved = match ctx.db().await {
                            Ok(db) => drafts::save(&db, &record).await,
                            Err(e) => Err(e),
                        };
                        match saved {
                            Ok(()) => save_state.set("saved"),
                            Err(_) => save_state.set("error"),
                        }
                    });
                },
                std::time::Duration::from_millis(SAVE_DELAY_MS),
            );
            pending.set_value(handle.ok());
        });
    }

    let f = Fields {
        draft,
        errors,
        locked,
    };
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
    let date_field = move |path: &str, label, get, set| f.date(path, label, get, set);

    // The number is taken from the company's series in IndexedDB (one transaction per number,
    // see `series.rs`); the draft is saved right after, like every change.
    let numbering = Task::new();
    let assign_number = move |_| {
        let (nip, issue) = draft.with(|d| (d.seller.nip.clone(), d.issue_date.clone()));
        let company_id = series_company.clone();
        let l = lang.get_untracked();
        numbering.run(async move {
            let number = async {
                let db = ctx.db().await?;
                crate::series::take_number(&db, &company_id, &nip, &issue).await
            }
            .await
            .or_problem(l)?;
            draft.update(|d| d.number = number);
            Ok(())
        });
    };

    let id_for_send = id.clone();
    view! {
        <section class="card invoice-form" aria-labelledby="form-title" data-testid="invoice-form" data-draft-id=id.clone()>
            <h2 id="form-title">{move || tr(lang.get(), "Fakturowanie", "Invoicing")}</h2>
            <p class="muted">
                <span data-testid="save-status" data-state=move || save_state.get()>
                    {move || match save_state.get() {
                        "saved" => tr(lang.get(), "Szkic zapisany w przeglądarce.", "Draft saved in this browser."),
                        "error" => tr(lang.get(), "Nie udało się zapisać szkicu — sprawdź miejsce w przeglądarce.", "Could not save the draft — check browser storage."),
                        _ => tr(lang.get(), "Zapisywanie…", "Saving…"),
                    }}
                </span>
            </p>
            <form on:submit=move |ev| ev.prevent_default()>
                <fieldset>
                    <legend>{move || tr(lang.get(), "Faktura", "Invoice")}</legend>
                    {kind_select(f)}
                    <div class="row">
                        {field("number", ("Numer faktury", "Invoice number"), |d| d.number.clone(), |d, v| d.number = v)}
                        <button type="button" data-testid="assign-number" on:click=assign_number prop:disabled=move || locked.get()>
                            {move || tr(lang.get(), "Nadaj kolejny numer", "Assign next number")}
                        </button>
                    </div>
                    {move || problem_view(numbering.problem(), lang.get(), "number-error", None)}
                    <div class="row">
                        {date_field("issue_date", ("Data wystawienia", "Issue date"), |d| d.issue_date.clone(), |d, v| d.issue_date = v)}
                        {date_field("sale_date", ("Data sprzedaży", "Sale date"), |d| d.sale_date.clone(), |d, v| d.sale_date = v)}
                        {field("place_of_issue", ("Miejsce wystawienia", "Place of issue"), |d| d.place_of_issue.clone(), |d, v| d.place_of_issue = v)}
                    </div>
                    <div class="row">
                        {field("currency", ("Waluta", "Currency"), |d| d.currency.clone(), |d, v| d.currency = v)}
                        {field("exchange_rate", ("Kurs waluty (PLN)", "Exchange rate (PLN)"), |d| d.exchange_rate.clone(), |d, v| d.exchange_rate = v)}
                    </div>
                </fieldset>
                {kind_section(f)}
                {seller_section(f)}
                {buyer_section(f)}
                {lines_section(f)}
                {payment_section(f)}
                {notes_section(f)}
            </form>
            <div class="actions">
                <button type="button" data-testid="check-invoice" on:click=move |_| checked.set(true)>
                    {move || tr(lang.get(), "Sprawdź fakturę", "Check the invoice")}
                </button>
            </div>
            {move || errors.with(|e| e.as_ref().map(|e| e.errors.len())).map(|n| view! {
                <p class="error" role="alert" data-testid="form-errors">
                    {move || tr(lang.get(), "Popraw zaznaczone pola przed wysłaniem. Liczba błędów: ", "Fix the marked fields before sending. Errors: ")}
                    {n}
                </p>
            })}
            {move || (checked.get() && errors.with(Option::is_none)).then(|| view! {
                <p class="ok" data-testid="form-valid">{move || tr(lang.get(), "Faktura jest poprawna.", "The invoice is valid.")}</p>
            })}
            <SendPanel id=id_for_send company_id=panel_company draft=draft send=send checked=checked errors=errors />
            <InvoicePreview draft=draft />
        </section>
    }
}
