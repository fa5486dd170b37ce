//! The invoice kind and what each kind adds: the correction (KOR), the advance (ZAL), the
//! settled advances (ROZ).

use ksef_core::invoice::{AdvanceRefDraft, KindCode};
use leptos::prelude::*;

use super::fields::Fields;
use crate::components::group_error;
use crate::i18n::{Lang, tr};

/// The invoice kind (VAT, KOR, ZAL, ROZ).
pub(super) fn kind_select(f: Fields) -> impl IntoView {
    let Fields { draft, locked, .. } = f;
    let lang = expect_context::<RwSignal<Lang>>();

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
}

/// The fields the kind adds (none for VAT).
pub(super) fn kind_section(f: Fields) -> impl IntoView {
    let Fields {
        draft,
        errors,
        locked,
    } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
    let date_field = move |path: &str, label, get, set| f.date(path, label, get, set);

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
}
