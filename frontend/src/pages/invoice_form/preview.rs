//! The invoice as the buyer will see it.

use ksef_core::invoice::{BuyerIdKind, InvoiceDraft, KindCode, VatRate};
use ksef_core::money::{display_amount, parse_decimal};
use leptos::prelude::*;

use super::{TotalsTable, method_label, rate_label};
use crate::i18n::{Lang, tr};

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
