//! The seller (the company, its NIP read-only) and the buyer (NIP, EU VAT number or none).

use ksef_core::invoice::{BuyerIdKind, InvoiceDraft};
use leptos::prelude::*;

use super::fields::Fields;
use crate::components::text_field;
use crate::i18n::{Lang, tr};

/// The seller: the company; its NIP comes from Firmy.
pub(super) fn seller_section(f: Fields) -> impl IntoView {
    let Fields { draft, errors, .. } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
    view! {
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
    }
}

/// How the buyer is identified.
pub(super) fn buyer_kind_select(f: Fields) -> impl IntoView {
    let Fields { draft, locked, .. } = f;
    let lang = expect_context::<RwSignal<Lang>>();

    let opt = move |kind: BuyerIdKind, value: &'static str, pl: &'static str, en: &'static str| {
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
}

/// The buyer.
pub(super) fn buyer_section(f: Fields) -> impl IntoView {
    let Fields { draft, .. } = f;
    let lang = expect_context::<RwSignal<Lang>>();
    let field = move |path: &str, label, get, set| f.text(path, label, get, set);
    view! {
        <fieldset>
            <legend>{move || tr(lang.get(), "Nabywca", "Buyer")}</legend>
            {buyer_kind_select(f)}
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
    }
}
