//! Net, VAT and gross per rate and in total, as the form shows them.

use ksef_core::invoice::InvoiceDraft;
use ksef_core::money::display_amount;
use leptos::prelude::*;

use super::rate_label;
use crate::i18n::{Lang, tr};

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
