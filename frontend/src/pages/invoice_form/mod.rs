//! Fakturowanie: the invoice form. Seller, buyer (NIP, EU VAT number or none), lines with
//! live per-rate totals, dates, payment, notes; kinds VAT, KOR, ZAL, ROZ; a numbering series
//! per company; validation messages next to the fields (from `ksef_core`); a preview; the
//! draft saved to IndexedDB within a second of every change; and "Wyślij do KSeF".

use ksef_core::invoice::PaymentMethod;
use ksef_core::invoice::totals::draft_line_value;
use ksef_core::invoice::{
    AdvanceRefDraft, BuyerIdKind, InvoiceDraft, KindCode, LineDraft, NoteDraft, SellerDraft,
    ValidationErrors, VatRate,
};
use ksef_core::money::{display_amount, parse_decimal};
use leptos::prelude::*;

use crate::company::Company;
use crate::components::{group_error, text_field};
use crate::drafts::{self, DraftRecord, SAVE_DELAY_MS, SendState};
use crate::i18n::Lang;
use crate::i18n::tr;
use crate::state::clock::{now_ms, today};
use crate::state::nav::{form_href, query_param, replace_url};
use send_panel::SendPanel;

mod send_panel;

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

    let field = move |path: &str,
                      label: (&'static str, &'static str),
                      get: fn(&InvoiceDraft) -> String,
                      set: fn(&mut InvoiceDraft, String)| {
        text_field(
            draft,
            errors,
            locked,
            path.to_owned(),
            label,
            "text",
            get,
            set,
        )
    };
    let date_field = move |path: &str,
                           label: (&'static str, &'static str),
                           get: fn(&InvoiceDraft) -> String,
                           set: fn(&mut InvoiceDraft, String)| {
        text_field(
            draft,
            errors,
            locked,
            path.to_owned(),
            label,
            "date",
            get,
            set,
        )
    };

    let kind_select = move || {
        let opt = move |code: KindCode, value: &'static str, pl: &'static str, en: &'static str| {
            view! {
                <option value=value selected=move || draft.with(|d| d.kind == code)>
                    {move || tr(lang.get(), pl, en)}
                </option>
            }
        };
        view! {
            <label class="field">
                <span class="field-label">{move || tr(lang.get(), "Rodzaj faktury", "Invoice kind")}</span>
                <select
                    data-field="kind"
                    prop:disabled=move || locked.get()
                    on:change=move |ev| {
                        let kind = match event_target_value(&ev).as_str() {
                            "KOR" => KindCode::Kor,
                            "ZAL" => KindCode::Zal,
                            "ROZ" => KindCode::Roz,
                            _ => KindCode::Vat,
                        };
                        draft.update(|d| d.kind = kind);
                    }
                >
                    {opt(KindCode::Vat, "VAT", "VAT — faktura podstawowa", "VAT — basic invoice")}
                    {opt(KindCode::Kor, "KOR", "KOR — faktura korygująca", "KOR — correction")}
                    {opt(KindCode::Zal, "ZAL", "ZAL — faktura zaliczkowa", "ZAL — advance invoice")}
                    {opt(KindCode::Roz, "ROZ", "ROZ — faktura rozliczeniowa", "ROZ — settlement invoice")}
                </select>
            </label>
        }
    };

    let buyer_kind_select = move || {
        let opt =
            move |kind: BuyerIdKind, value: &'static str, pl: &'static str, en: &'static str| {
                view! {
                    <option value=value selected=move || draft.with(|d| d.buyer.id_kind == kind)>
                        {move || tr(lang.get(), pl, en)}
                    </option>
                }
            };
        view! {
            <label class="field">
                <span class="field-label">{move || tr(lang.get(), "Identyfikator nabywcy", "Buyer identifier")}</span>
                <select
                    data-field="buyer.id_kind"
                    prop:disabled=move || locked.get()
                    on:change=move |ev| {
                        let kind = match event_target_value(&ev).as_str() {
                            "eu_vat" => BuyerIdKind::EuVat,
                            "none" => BuyerIdKind::None,
                            _ => BuyerIdKind::Nip,
                        };
                        draft.update(|d| d.buyer.id_kind = kind);
                    }
                >
                    {opt(BuyerIdKind::Nip, "nip", "NIP (firma w Polsce)", "NIP (Polish company)")}
                    {opt(BuyerIdKind::EuVat, "eu_vat", "Numer VAT UE", "EU VAT number")}
                    {opt(BuyerIdKind::None, "none", "Brak (konsument)", "None (consumer)")}
                </select>
            </label>
        }
    };

    let line_count = Memo::new(move |_| draft.with(|d| d.lines.len()));
    let lines_view = move || {
        (0..line_count.get())
            .map(|i| line_row(draft, errors, locked, i))
            .collect_view()
    };

    let note_count = Memo::new(move |_| draft.with(|d| d.notes.len()));
    let notes_view = move || {
        (0..note_count.get())
            .map(|i| {
                view! {
                    <div class="row">
                        {text_field(draft, errors, locked, format!("notes[{i}].key"), ("Nagłówek", "Heading"), "text",
                            move |d: &InvoiceDraft| d.notes.get(i).map(|n| n.key.clone()).unwrap_or_default(),
                            move |d: &mut InvoiceDraft, v| if let Some(n) = d.notes.get_mut(i) { n.key = v })}
                        {text_field(draft, errors, locked, format!("notes[{i}].value"), ("Treść", "Text"), "text",
                            move |d: &InvoiceDraft| d.notes.get(i).map(|n| n.value.clone()).unwrap_or_default(),
                            move |d: &mut InvoiceDraft, v| if let Some(n) = d.notes.get_mut(i) { n.value = v })}
                    </div>
                }
            })
            .collect_view()
    };

    let kind_specific = move || {
        match draft.with(|d| d.kind) {
        KindCode::Vat => ().into_any(),
        KindCode::Kor => view! {
            <fieldset>
                <legend>{move || tr(lang.get(), "Korekta", "Correction")}</legend>
                {field("correction.reason", ("Przyczyna korekty", "Reason"), |d| d.correction.reason.clone(), |d, v| d.correction.reason = v)}
                {field("correction.original_number", ("Numer korygowanej faktury", "Corrected invoice number"), |d| d.correction.original_number.clone(), |d, v| d.correction.original_number = v)}
                {date_field("correction.original_issue_date", ("Data wystawienia korygowanej", "Corrected invoice issue date"), |d| d.correction.original_issue_date.clone(), |d, v| d.correction.original_issue_date = v)}
                {field("correction.original_ksef_number", ("Numer KSeF korygowanej (jeśli była w KSeF)", "Corrected invoice KSeF number (if in KSeF)"), |d| d.correction.original_ksef_number.clone(), |d, v| d.correction.original_ksef_number = v)}
                <p class="muted">
                    {move || tr(lang.get(),
                        "Pozycje przed korektą: skopiuj obecne pozycje, a potem wpisz w formularzu stan po korekcie.",
                        "Lines before the correction: copy the current lines, then enter the corrected state in the form.")}
                </p>
                <button type="button" data-testid="copy-lines-before" prop:disabled=move || locked.get()
                    on:click=move |_| draft.update(|d| d.correction.lines_before = d.lines.clone())>
                    {move || tr(lang.get(), "Skopiuj pozycje jako stan przed korektą", "Copy lines as the state before correction")}
                </button>
                <span class="muted">{move || draft.with(|d| d.correction.lines_before.len())} " " {move || tr(lang.get(), "poz. przed korektą", "lines before")}</span>
                {group_error(errors, "correction.lines_before")}
            </fieldset>
        }
        .into_any(),
        KindCode::Zal => view! {
            <fieldset>
                <legend>{move || tr(lang.get(), "Zaliczka", "Advance")}</legend>
                {field("advance_received", ("Otrzymana zaliczka (brutto)", "Advance received (gross)"), |d| d.advance_received.clone(), |d, v| d.advance_received = v)}
            </fieldset>
        }
        .into_any(),
        KindCode::Roz => view! {
            <fieldset>
                <legend>{move || tr(lang.get(), "Rozliczenie zaliczek", "Settlement of advances")}</legend>
                {field("advances[0].ksef_number", ("Numer KSeF faktury zaliczkowej", "Advance invoice KSeF number"),
                    |d| d.advances.first().map(|a| a.ksef_number.clone()).unwrap_or_default(),
                    |d, v| { if d.advances.is_empty() { d.advances.push(AdvanceRefDraft::default()); } d.advances[0].ksef_number = v; })}
                {field("advances[0].number", ("Numer faktury zaliczkowej", "Advance invoice number"),
                    |d| d.advances.first().map(|a| a.number.clone()).unwrap_or_default(),
                    |d, v| { if d.advances.is_empty() { d.advances.push(AdvanceRefDraft::default()); } d.advances[0].number = v; })}
                {field("advances_paid", ("Suma otrzymanych zaliczek (brutto)", "Advances received (gross)"), |d| d.advances_paid.clone(), |d, v| d.advances_paid = v)}
            </fieldset>
        }
        .into_any(),
    }
    };

    // The number is taken from the company's series in IndexedDB (one transaction per number,
    // see `series.rs`); the draft is saved right after, like every change.
    let number_error = RwSignal::new(None::<String>);
    let assign_number = move |_| {
        let (nip, issue) = draft.with(|d| (d.seller.nip.clone(), d.issue_date.clone()));
        let company_id = series_company.clone();
        leptos::task::spawn_local(async move {
            let result = async {
                let db = ctx.db().await?;
                crate::series::take_number(&db, &company_id, &nip, &issue).await
            }
            .await;
            match result {
                Ok(number) => {
                    number_error.set(None);
                    draft.update(|d| d.number = number);
                }
                Err(e) => number_error.set(Some(e.to_string())),
            }
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
                    {kind_select}
                    <div class="row">
                        {field("number", ("Numer faktury", "Invoice number"), |d| d.number.clone(), |d, v| d.number = v)}
                        <button type="button" data-testid="assign-number" on:click=assign_number prop:disabled=move || locked.get()>
                            {move || tr(lang.get(), "Nadaj kolejny numer", "Assign next number")}
                        </button>
                    </div>
                    {move || number_error.get().map(|e| view! {
                        <div class="error" role="alert" data-testid="number-error">{crate::i18n::pick(lang.get(), &e)}</div>
                    })}
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
                {kind_specific}
                <fieldset>
                    <legend>{move || tr(lang.get(), "Sprzedawca", "Seller")}</legend>
                    <div class="row">
                        // The seller is the company: its NIP comes from Firmy, never typed here.
                        {text_field(draft, errors, Signal::derive(|| true), "seller.nip".to_owned(), ("NIP sprzedawcy (z zakładki Firmy)", "Seller NIP (from Companies)"), "text", |d: &InvoiceDraft| d.seller.nip.clone(), |d: &mut InvoiceDraft, v| d.seller.nip = v)}
                        {field("seller.name", ("Nazwa sprzedawcy", "Seller name"), |d| d.seller.name.clone(), |d, v| d.seller.name = v)}
                    </div>
                    <div class="row">
                        {field("seller.address_line1", ("Adres", "Address"), |d| d.seller.address_line1.clone(), |d, v| d.seller.address_line1 = v)}
                        {field("seller.address_line2", ("Adres, c.d.", "Address, cont."), |d| d.seller.address_line2.clone(), |d, v| d.seller.address_line2 = v)}
                    </div>
                </fieldset>
                <fieldset>
                    <legend>{move || tr(lang.get(), "Nabywca", "Buyer")}</legend>
                    {buyer_kind_select}
                    {move || match draft.with(|d| d.buyer.id_kind) {
                        BuyerIdKind::Nip => field("buyer.nip", ("NIP nabywcy", "Buyer NIP"), |d| d.buyer.nip.clone(), |d, v| d.buyer.nip = v).into_any(),
                        BuyerIdKind::EuVat => field("buyer.eu_vat", ("Numer VAT UE nabywcy", "Buyer EU VAT number"), |d| d.buyer.eu_vat.clone(), |d, v| d.buyer.eu_vat = v).into_any(),
                        _ => ().into_any(),
                    }}
                    <div class="row">
                        {field("buyer.name", ("Nazwa nabywcy", "Buyer name"), |d| d.buyer.name.clone(), |d, v| d.buyer.name = v)}
                        {field("buyer.country", ("Kraj (kod)", "Country (code)"), |d| d.buyer.country.clone(), |d, v| d.buyer.country = v)}
                    </div>
                    <div class="row">
                        {field("buyer.address_line1", ("Adres", "Address"), |d| d.buyer.address_line1.clone(), |d, v| d.buyer.address_line1 = v)}
                        {field("buyer.address_line2", ("Adres, c.d.", "Address, cont."), |d| d.buyer.address_line2.clone(), |d, v| d.buyer.address_line2 = v)}
                    </div>
                </fieldset>
                <fieldset>
                    <legend>{move || tr(lang.get(), "Pozycje", "Lines")}</legend>
                    <label class="field inline">
                        <input type="checkbox" data-field="prices"
                            prop:checked=move || draft.with(|d| d.prices == ksef_core::invoice::PriceBasis::Gross)
                            prop:disabled=move || locked.get()
                            on:change=move |ev| {
                                let gross = event_target_checked(&ev);
                                draft.update(|d| d.prices = if gross { ksef_core::invoice::PriceBasis::Gross } else { ksef_core::invoice::PriceBasis::Net });
                            } />
                        {move || tr(lang.get(), "Ceny brutto", "Gross prices")}
                    </label>
                    {group_error(errors, "lines")}
                    <div class="lines">{lines_view}</div>
                    <button type="button" data-testid="add-line" prop:disabled=move || locked.get()
                        on:click=move |_| draft.update(|d| d.lines.push(LineDraft::default()))>
                        {move || tr(lang.get(), "Dodaj pozycję", "Add line")}
                    </button>
                    <TotalsTable draft=draft />
                </fieldset>
                <fieldset>
                    <legend>{move || tr(lang.get(), "Płatność", "Payment")}</legend>
                    <div class="row">
                        {date_field("payment.due_date", ("Termin płatności", "Due date"), |d| d.payment.due_date.clone(), |d, v| d.payment.due_date = v)}
                        <label class="field">
                            <span class="field-label">{move || tr(lang.get(), "Forma płatności", "Payment method")}</span>
                            <select data-field="payment.method" prop:disabled=move || locked.get()
                                on:change=move |ev| {
                                    let m = event_target_value(&ev).parse::<u8>().ok().and_then(PaymentMethod::from_code);
                                    draft.update(|d| d.payment.method = m);
                                }>
                                <option value="" selected=move || draft.with(|d| d.payment.method.is_none())>"—"</option>
                                {PaymentMethod::ALL.into_iter().map(|m| view! {
                                    <option value=m.code().to_string() selected=move || draft.with(|d| d.payment.method == Some(m))>{move || method_label(m, lang.get())}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        {field("payment.bank_account", ("Numer rachunku", "Bank account"), |d| d.payment.bank_account.clone(), |d, v| d.payment.bank_account = v)}
                    </div>
                    {group_error(errors, "payment.bank_accounts[0]")}
                    <label class="field inline">
                        <input type="checkbox" data-field="annotations.split_payment"
                            prop:checked=move || draft.with(|d| d.annotations.split_payment)
                            prop:disabled=move || locked.get()
                            on:change=move |ev| { let v = event_target_checked(&ev); draft.update(|d| d.annotations.split_payment = v); } />
                        {move || tr(lang.get(), "Mechanizm podzielonej płatności", "Split payment")}
                    </label>
                    {field("annotations.exemption_basis", ("Podstawa zwolnienia z VAT (dla stawki zw)", "VAT exemption basis (for zw lines)"), |d| d.annotations.exemption_basis.clone(), |d, v| d.annotations.exemption_basis = v)}
                </fieldset>
                <fieldset>
                    <legend>{move || tr(lang.get(), "Uwagi", "Notes")}</legend>
                    {notes_view}
                    <button type="button" data-testid="add-note" prop:disabled=move || locked.get()
                        on:click=move |_| draft.update(|d| d.notes.push(NoteDraft::default()))>
                        {move || tr(lang.get(), "Dodaj uwagę", "Add note")}
                    </button>
                    {field("footer", ("Stopka faktury", "Invoice footer"), |d| d.footer.clone(), |d, v| d.footer = v)}
                </fieldset>
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

fn line_row(
    draft: RwSignal<InvoiceDraft>,
    errors: Memo<Option<ValidationErrors>>,
    locked: Signal<bool>,
    i: usize,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let p = format!("lines[{i}]");
    let value = move || {
        draft.with(|d| {
            d.lines
                .get(i)
                .and_then(draft_line_value)
                .map(|v| display_amount(v, &d.currency))
        })
    };
    let rate_path = format!("{p}.rate");
    let rate_error = {
        let rate_path = rate_path.clone();
        move || {
            errors.with(|e| crate::components::field_message(e.as_ref(), &rate_path, lang.get()))
        }
    };
    view! {
        <div class="row line" data-testid="line">
            {text_field(draft, errors, locked, format!("{p}.description"), ("Nazwa towaru lub usługi", "Goods or service"), "text",
                move |d: &InvoiceDraft| d.lines.get(i).map(|l| l.description.clone()).unwrap_or_default(),
                move |d: &mut InvoiceDraft, v| if let Some(l) = d.lines.get_mut(i) { l.description = v })}
            {text_field(draft, errors, locked, format!("{p}.quantity"), ("Ilość", "Quantity"), "text",
                move |d: &InvoiceDraft| d.lines.get(i).map(|l| l.quantity.clone()).unwrap_or_default(),
                move |d: &mut InvoiceDraft, v| if let Some(l) = d.lines.get_mut(i) { l.quantity = v })}
            {text_field(draft, errors, locked, format!("{p}.unit"), ("Jednostka", "Unit"), "text",
                move |d: &InvoiceDraft| d.lines.get(i).map(|l| l.unit.clone()).unwrap_or_default(),
                move |d: &mut InvoiceDraft, v| if let Some(l) = d.lines.get_mut(i) { l.unit = v })}
            {text_field(draft, errors, locked, format!("{p}.unit_price"), ("Cena jedn.", "Unit price"), "text",
                move |d: &InvoiceDraft| d.lines.get(i).map(|l| l.unit_price.clone()).unwrap_or_default(),
                move |d: &mut InvoiceDraft, v| if let Some(l) = d.lines.get_mut(i) { l.unit_price = v })}
            <label class="field">
                <span class="field-label">{move || tr(lang.get(), "Stawka VAT", "VAT rate")}</span>
                <select data-field=rate_path prop:disabled=move || locked.get()
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        draft.update(|d| if let Some(l) = d.lines.get_mut(i) { l.rate = v });
                    }>
                    {VatRate::OFFERED.into_iter().map(|r| view! {
                        <option value=r.code() selected=move || draft.with(|d| d.lines.get(i).is_some_and(|l| l.rate == r.code()))>
                            {move || rate_label(r, lang.get())}
                        </option>
                    }).collect_view()}
                </select>
                {move || rate_error().map(|m| view! { <span class="field-error">{m}</span> })}
            </label>
            <span class="line-value" data-testid="line-value">{value}</span>
            <button type="button" class="link" prop:disabled=move || locked.get()
                on:click=move |_| draft.update(|d| if i < d.lines.len() { d.lines.remove(i); })>
                {move || tr(lang.get(), "Usuń", "Remove")}
            </button>
        </div>
    }
}

/// A VAT rate as the form offers it, in the user's language.
pub fn rate_label(rate: VatRate, lang: Lang) -> &'static str {
    tr(lang, rate.label_pl(), rate.label_en())
}

/// A payment method in the user's language.
pub fn method_label(method: PaymentMethod, lang: Lang) -> &'static str {
    tr(lang, method.label_pl(), method.label_en())
}

/// Net, VAT and gross per rate and in total, recomputed on every keystroke.
#[component]
pub fn TotalsTable(draft: RwSignal<InvoiceDraft>) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let totals = Memo::new(move |_| draft.with(InvoiceDraft::live_totals));
    let money = move |v| draft.with(|d| display_amount(v, &d.currency));
    view! {
        <table class="totals" data-testid="totals">
            <thead>
                <tr>
                    <th>{move || tr(lang.get(), "Stawka", "Rate")}</th>
                    <th>{move || tr(lang.get(), "Netto", "Net")}</th>
                    <th>"VAT"</th>
                    <th>{move || tr(lang.get(), "Brutto", "Gross")}</th>
                </tr>
            </thead>
            <tbody>
                {move || totals.with(|t| t.by_rate.iter().map(|r| view! {
                    <tr data-testid=format!("total-rate-{}", r.rate.code())>
                        <td>{rate_label(r.rate, lang.get())}</td>
                        <td>{money(r.net)}</td>
                        <td>{money(r.vat)}</td>
                        <td>{money(r.gross)}</td>
                    </tr>
                }).collect_view())}
                <tr class="sum">
                    <th>{move || tr(lang.get(), "Razem", "Total")}</th>
                    <td data-testid="total-net">{move || money(totals.with(|t| t.net))}</td>
                    <td data-testid="total-vat">{move || money(totals.with(|t| t.vat))}</td>
                    <td data-testid="total-gross">{move || money(totals.with(|t| t.gross))}</td>
                </tr>
            </tbody>
        </table>
    }
}

/// The invoice as the buyer will see it.
#[component]
pub fn InvoicePreview(draft: RwSignal<InvoiceDraft>) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let title = move || {
        draft.with(|d| {
            let kind = match (d.kind, lang.get()) {
                (KindCode::Vat, Lang::Pl) => "Faktura VAT",
                (KindCode::Vat, Lang::En) => "VAT invoice",
                (KindCode::Kor, Lang::Pl) => "Faktura korygująca",
                (KindCode::Kor, Lang::En) => "Correction invoice",
                (KindCode::Zal, Lang::Pl) => "Faktura zaliczkowa",
                (KindCode::Zal, Lang::En) => "Advance invoice",
                (KindCode::Roz, Lang::Pl) => "Faktura rozliczeniowa",
                (KindCode::Roz, Lang::En) => "Settlement invoice",
            };
            format!("{kind} {}", d.number)
        })
    };
    let buyer_id = move || {
        draft.with(|d| match d.buyer.id_kind {
            BuyerIdKind::Nip => format!("NIP {}", d.buyer.nip),
            BuyerIdKind::EuVat => format!("VAT UE {}", d.buyer.eu_vat),
            BuyerIdKind::Other => d.buyer.other_id.clone(),
            BuyerIdKind::None => String::new(),
        })
    };
    view! {
        <details class="card preview" open data-testid="preview">
            <summary>{move || tr(lang.get(), "Podgląd faktury", "Invoice preview")}</summary>
            <h3 data-testid="preview-title">{title}</h3>
            <p>
                {move || tr(lang.get(), "Data wystawienia: ", "Issue date: ")} {move || draft.with(|d| d.issue_date.clone())}
                {move || draft.with(|d| (!d.sale_date.is_empty()).then(|| format!(" · {} {}", tr(lang.get(), "data sprzedaży:", "sale date:"), d.sale_date)))}
            </p>
            <div class="row">
                <div>
                    <strong>{move || tr(lang.get(), "Sprzedawca", "Seller")}</strong>
                    <p data-testid="preview-seller">
                        {move || draft.with(|d| d.seller.name.clone())}<br />
                        "NIP " {move || draft.with(|d| d.seller.nip.clone())}<br />
                        {move || draft.with(|d| d.seller.address_line1.clone())}<br />
                        {move || draft.with(|d| d.seller.address_line2.clone())}
                    </p>
                </div>
                <div>
                    <strong>{move || tr(lang.get(), "Nabywca", "Buyer")}</strong>
                    <p data-testid="preview-buyer">
                        {move || draft.with(|d| d.buyer.name.clone())}<br />
                        {buyer_id}<br />
                        {move || draft.with(|d| d.buyer.address_line1.clone())}<br />
                        {move || draft.with(|d| d.buyer.address_line2.clone())}
                    </p>
                </div>
            </div>
            <table>
                <thead>
                    <tr>
                        <th>"Lp."</th>
                        <th>{move || tr(lang.get(), "Nazwa", "Description")}</th>
                        <th>{move || tr(lang.get(), "Ilość", "Qty")}</th>
                        <th>{move || tr(lang.get(), "Cena", "Price")}</th>
                        <th>{move || tr(lang.get(), "Stawka", "Rate")}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || draft.with(|d| d.lines.iter().enumerate().map(|(i, l)| view! {
                        <tr>
                            <td>{i + 1}</td>
                            <td>{l.description.clone()}</td>
                            <td>{format!("{} {}", l.quantity, l.unit)}</td>
                            <td>{display_amount(parse_decimal(&l.unit_price).unwrap_or_default(), &d.currency)}</td>
                            <td>{VatRate::from_code(&l.rate).map(|r| rate_label(r, lang.get()).to_owned()).unwrap_or_else(|| l.rate.clone())}</td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
            <TotalsTable draft=draft />
            <p data-testid="preview-payment">
                {move || draft.with(|d| {
                    let l = lang.get();
                    let mut parts = Vec::new();
                    if let Some(m) = d.payment.method {
                        parts.push(format!("{} {}", tr(l, "Forma płatności:", "Payment method:"), method_label(m, l)));
                    }
                    if !d.payment.due_date.is_empty() {
                        parts.push(format!("{} {}", tr(l, "Termin płatności:", "Due date:"), d.payment.due_date));
                    }
                    if !d.payment.bank_account.trim().is_empty() {
                        parts.push(format!("{} {}", tr(l, "Numer rachunku:", "Bank account:"), d.payment.bank_account.trim()));
                    }
                    parts.join(" · ")
                })}
            </p>
            {move || draft.with(|d| d.notes.iter().map(|n| view! { <p><strong>{n.key.clone()}</strong> " " {n.value.clone()}</p> }).collect_view())}
            <p class="muted">{move || draft.with(|d| d.footer.clone())}</p>
        </details>
    }
}
