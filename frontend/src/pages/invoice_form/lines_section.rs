//! The lines: price basis, one row per line with its value, totals per rate.

use ksef_core::invoice::{InvoiceDraft, LineDraft, VatRate};
use leptos::prelude::*;

use super::fields::Fields;
use super::totals::TotalsTable;
use crate::components::{group_error, text_field};
use crate::i18n::{Lang, tr};
use ksef_core::invoice::ValidationErrors;
use ksef_core::invoice::totals::draft_line_value;
use ksef_core::money::display_amount;

/// The lines and their totals.
pub(super) fn lines_section(f: Fields) -> impl IntoView {
    let Fields {
        draft,
        errors,
        locked,
    } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let line_count = Memo::new(move |_| draft.with(|d| d.lines.len()));
    let lines_view = move || {
        (0..line_count.get())
            .map(|i| line_row(draft, errors, locked, i))
            .collect_view()
    };

    view! {
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
    }
}

pub(super) fn line_row(
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
