//! Payment (due date, method, account, split payment, exemption basis) and notes.

use ksef_core::invoice::{InvoiceDraft, NoteDraft, PaymentMethod};
use leptos::prelude::*;

use super::fields::Fields;
use crate::components::{group_error, text_field};
use crate::i18n::{Lang, tr};

/// Payment.
pub(super) fn payment_section(f: Fields) -> impl IntoView {
    let Fields {
        draft,
        errors,
        locked,
    } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
    let date_field = move |path: &str, label, get, set| f.date(path, label, get, set);
    view! {
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
    }
}

/// Notes and the footer.
pub(super) fn notes_section(f: Fields) -> impl IntoView {
    let Fields {
        draft,
        errors,
        locked,
    } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
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

    view! {
        <fieldset>
            <legend>{move || tr(lang.get(), "Uwagi", "Notes")}</legend>
            {notes_view}
            <button type="button" data-testid="add-note" prop:disabled=move || locked.get()
                on:click=move |_| draft.update(|d| d.notes.push(NoteDraft::default()))>
                {move || tr(lang.get(), "Dodaj uwagę", "Add note")}
            </button>
            {field("footer", ("Stopka faktury", "Invoice footer"), |d| d.footer.clone(), |d, v| d.footer = v)}
        </fieldset>
    }
}

/// A payment method in the user's language.
pub fn method_label(method: PaymentMethod, lang: Lang) -> &'static str {
    tr(lang, method.label_pl(), method.label_en())
}
