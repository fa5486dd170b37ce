//! The list of fetched invoices: search and filters on the local copy, pages of 50 rows (a
//! list of 10,000 stays as light as one of 50), and, when nothing shows, why.

use ksef_core::sync::{EmptyCause, EmptyFacts, Filter, Row, SubjectType};
use leptos::prelude::*;

use crate::i18n::{Lang, tr};

const PAGE: usize = 50;

/// The filters, the table and the empty-result advice.
#[component]
pub fn List(
    filter: RwSignal<Filter>,
    subject: RwSignal<SubjectType>,
    synced: RwSignal<u32>,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let ctx = expect_context::<crate::state::AppCtx>();
    let page = RwSignal::new(0usize);
    // Everything the company holds, read again after each sync; filtering happens in memory.
    let data = LocalResource::new(move || {
        let company = ctx.current_company();
        let _ = synced.get();
        async move {
            let Some(company) = company else {
                return Ok((Vec::new(), Vec::new()));
            };
            let db = ctx.db().await?;
            let rows = crate::received::rows_for(&db, &company.nip).await?;
            let done = crate::received::synced_subjects(&db, &company.nip).await;
            Ok::<_, crate::store::StorageError>((rows, done))
        }
    });
    Effect::new(move |_| {
        if filter.with(|f| f.subject.is_none()) {
            filter.update(|f| f.subject = Some(subject.get_untracked()));
        }
    });
    let text = move |set: fn(&mut Filter, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            page.set(0);
            filter.update(|f| set(f, v));
        }
    };
    view! {
        <fieldset class="filters">
            <legend>{move || tr(lang.get(), "Szukaj i filtruj", "Search and filter")}</legend>
            <input type="search" data-testid="ksef-search"
                placeholder=move || tr(lang.get(), "Kontrahent, NIP, numer faktury lub numer KSeF", "Counterparty, NIP, invoice or KSeF number")
                on:input=text(|f, v| f.text = v) />
            <label>{move || tr(lang.get(), "Od ", "From ")}<input type="date" data-testid="ksef-from" on:change=text(|f, v| f.from = v) /></label>
            <label>{move || tr(lang.get(), "Do ", "To ")}<input type="date" data-testid="ksef-to" on:change=text(|f, v| f.to = v) /></label>
            <label>{move || tr(lang.get(), "Brutto od ", "Gross from ")}<input inputmode="decimal" size="8" data-testid="ksef-min" on:change=text(|f, v| f.min_gross = amount(&v)) /></label>
            <label>{move || tr(lang.get(), "do ", "to ")}<input inputmode="decimal" size="8" data-testid="ksef-max" on:change=text(|f, v| f.max_gross = amount(&v)) /></label>
            <label>{move || tr(lang.get(), "Waluta ", "Currency ")}<input size="3" maxlength="3" data-testid="ksef-currency" on:change=text(|f, v| f.currency = v) /></label>
            <label>{move || tr(lang.get(), "Rodzaj ", "Kind ")}
                <select data-testid="ksef-kind" on:change=text(|f, v| f.kind = v)>
                    <option value="">{move || tr(lang.get(), "wszystkie", "all")}</option>
                    {["Vat", "Kor", "Zal", "Roz", "Upr", "KorZal", "KorRoz"].map(|k| view! { <option value=k>{k.to_uppercase()}</option> }).collect_view()}
                </select>
            </label>
        </fieldset>
        {move || match data.get() {
            None => view! { <p aria-busy="true">{tr(lang.get(), "Ładowanie…", "Loading…")}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message(lang.get())}</p> }.into_any(),
            Some(Ok((rows, done))) => {
                let f = filter.get();
                let shown = f.apply(&rows);
                if shown.is_empty() {
                    let other = Filter { subject: None, ..f.clone() }.apply(&rows).len();
                    let facts = EmptyFacts {
                        logged_in: ctx.current_session().is_some(),
                        synced: done.contains(&subject.get()),
                        total_rows: rows.len(),
                        rows_other_perspective: other,
                        other_companies: ctx.companies.with(|c| c.len() > 1),
                    };
                    return empty_view(&f, &facts, lang.get()).into_any();
                }
                let count = shown.len();
                let pages = count.div_ceil(PAGE);
                let at = page.get().min(pages - 1);
                let (first, last) = (at == 0, at + 1 >= pages);
                let slice: Vec<Row> = shown.into_iter().skip(at * PAGE).take(PAGE).collect();
                view! {
                    <p data-testid="ksef-count">{match lang.get() {
                        Lang::Pl => format!("Faktur: {count} (strona {} z {pages})", at + 1),
                        Lang::En => format!("Invoices: {count} (page {} of {pages})", at + 1),
                    }}</p>
                    <table data-testid="ksef-list">
                        <thead><tr>
                            <th>{tr(lang.get(), "Data", "Date")}</th>
                            <th>{tr(lang.get(), "Numer", "Number")}</th>
                            <th>{tr(lang.get(), "Kontrahent", "Counterparty")}</th>
                            <th>{tr(lang.get(), "NIP", "Tax ID")}</th>
                            <th>{tr(lang.get(), "Brutto", "Gross")}</th>
                            <th>{tr(lang.get(), "Rodzaj", "Kind")}</th>
                            <th>{tr(lang.get(), "Numer KSeF", "KSeF number")}</th>
                        </tr></thead>
                        <tbody>
                            {slice.into_iter().map(|r| { let key = r.ksef_number.clone(); view! {
                                <tr data-testid="ksef-row" data-ksef=key>
                                    <td>{r.issue_date}</td>
                                    <td>{r.invoice_number}</td>
                                    <td>{r.counterparty_name}</td>
                                    <td>{r.counterparty_id}</td>
                                    <td>{format!("{:.2} {}", r.gross, r.currency)}</td>
                                    <td>{r.kind.to_uppercase()}</td>
                                    <td><code>{r.ksef_number}</code></td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                    <p>
                        <button type="button" data-testid="ksef-prev" disabled=first
                            on:click=move |_| page.set(at.saturating_sub(1))>{tr(lang.get(), "← Poprzednia", "← Previous")}</button>
                        " "
                        <button type="button" data-testid="ksef-next" disabled=last
                            on:click=move |_| page.set(at + 1)>{tr(lang.get(), "Następna →", "Next →")}</button>
                    </p>
                }.into_any()
            }
        }}
    }
}

/// An amount as typed (`1 234,50` or `1234.5`); anything else filters nothing.
fn amount(v: &str) -> Option<f64> {
    v.trim()
        .replace([' ', '\u{a0}'], "")
        .replace(',', ".")
        .parse()
        .ok()
}

/// Nothing to show: the FAQ's causes, the ones that apply here first and marked.
fn empty_view(filter: &Filter, facts: &EmptyFacts, lang: Lang) -> impl IntoView {
    let mut causes: Vec<(EmptyCause, Option<bool>)> = EmptyCause::ALL
        .into_iter()
        .map(|c| (c, c.applies(filter, facts)))
        .filter(|(_, a)| *a != Some(false))
        .collect();
    causes.sort_by_key(|(_, a)| *a != Some(true));
    view! {
        <div data-testid="ksef-empty">
            <p><strong>{tr(lang, "Brak faktur do pokazania.", "No invoices to show.")}</strong>
                " " {tr(lang, "Możliwe przyczyny:", "Likely causes:")}</p>
            <ul>
                {causes.into_iter().map(|(c, applies)| view! {
                    <li data-testid="ksef-empty-cause" data-cause=c.key() data-applies=(applies == Some(true)).to_string()>
                        {(applies == Some(true)).then(|| view! { <strong>{tr(lang, "To tutaj: ", "This is it: ")}</strong> })}
                        {match lang { Lang::Pl => c.pl(), Lang::En => c.en() }}
                    </li>
                }).collect_view()}
            </ul>
        </div>
    }
}
