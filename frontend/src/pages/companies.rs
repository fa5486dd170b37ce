//! Companies (podmioty): add, edit, choose the current one and its KSeF environment.

use leptos::prelude::*;

use crate::api::{Env, OrProblem};
use crate::company::{self, CompanyErrors, CompanyForm};
use crate::components::problem_view;
use crate::i18n::tr;
use crate::state::AppCtx;
use crate::state::task::Task;
use crate::store;

/// The companies page.
#[component]
pub fn CompaniesPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    // `None` = adding a new company, `Some(id)` = editing.
    let editing = RwSignal::new(None::<String>);
    let nip = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let address = RwSignal::new(String::new());
    let account = RwSignal::new(String::new());
    let env = RwSignal::new(Env::Sim);
    let errors = RwSignal::new(CompanyErrors::default());
    let saved = RwSignal::new(None::<String>);
    let task = Task::new();

    let clear = move || {
        editing.set(None);
        nip.set(String::new());
        name.set(String::new());
        address.set(String::new());
        account.set(String::new());
        env.set(Env::Sim);
        errors.set(CompanyErrors::default());
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let form = CompanyForm {
            nip: nip.get_untracked(),
            name: name.get_untracked(),
            address: address.get_untracked(),
            bank_account: account.get_untracked(),
            env: env.get_untracked(),
        };
        let id = editing.get_untracked().unwrap_or_else(store::new_id);
        let lang_now = lang.get_untracked();
        match form.validate(id, lang_now) {
            Err(e) => errors.set(e),
            Ok(company) => {
                errors.set(CompanyErrors::default());
                // A KSeF login is made in the context of a NIP: a changed NIP (or environment)
                // ends the company's session, kept or in memory.
                let login_over = ctx.companies.with_untracked(|list| {
                    list.iter().any(|c| {
                        c.id == company.id && (c.nip != company.nip || c.env != company.env)
                    })
                });
                if login_over
                    && ctx
                        .session
                        .with_untracked(|s| s.as_ref().is_some_and(|s| s.company_id == company.id))
                {
                    ctx.session.set(None);
                }
                task.run(async move {
                    async {
                        let db = ctx.db().await?;
                        if login_over {
                            crate::session::forget_kept(&db, &company.id).await?;
                        }
                        db.save(&company).await?;
                        company::set_current(&db, &company.id).await
                    }
                    .await
                    .or_problem(lang_now)?;
                    saved.set(Some(format!(
                        "{} {}",
                        tr(lang_now, "Zapisano firmę", "Saved company"),
                        company.name
                    )));
                    clear();
                    ctx.reload_companies();
                    Ok(())
                });
            }
        }
    };

    let edit = move |id: String| {
        if let Some(c) = ctx
            .companies
            .get_untracked()
            .into_iter()
            .find(|c| c.id == id)
        {
            let f = CompanyForm::from_company(&c);
            nip.set(f.nip);
            name.set(f.name);
            address.set(f.address);
            account.set(f.bank_account);
            env.set(f.env);
            errors.set(CompanyErrors::default());
            editing.set(Some(id));
        }
    };

    let remove = move |id: String| {
        let l = lang.get_untracked();
        task.run(async move {
            let outcome = async {
                let db = ctx.db().await?;
                db.remove::<company::Company>(&id).await?;
                for c in crate::credentials::for_company(&db, &id).await? {
                    db.remove::<crate::credentials::Credential>(&c.id).await?;
                }
                Ok::<_, store::StorageError>(())
            }
            .await
            .or_problem(l);
            if ctx
                .session
                .with_untracked(|s| s.as_ref().is_some_and(|s| s.company_id == id))
            {
                ctx.session.set(None);
            }
            ctx.reload_companies();
            outcome
        });
    };

    let field_error = move |get: fn(&CompanyErrors) -> Option<String>, testid: &'static str| {
        move || {
            errors.with(get).map(|msg| {
                view! { <div class="field-error" role="alert" data-testid=testid>{msg}</div> }
            })
        }
    };

    view! {
        <section class="card">
            <h2>{move || tr(lang.get(), "Twoje firmy", "Your companies")}</h2>
            <Show
                when=move || !ctx.companies.with(Vec::is_empty)
                fallback=move || view! {
                    <p class="muted">{move || tr(lang.get(), "Nie dodano jeszcze żadnej firmy.", "No company added yet.")}</p>
                }
            >
                <table data-testid="companies">
                    <thead>
                        <tr>
                            <th>{move || tr(lang.get(), "Nazwa", "Name")}</th>
                            <th>"NIP"</th>
                            <th>{move || tr(lang.get(), "Środowisko", "Environment")}</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || ctx.companies.get()
                            key=|c| (c.id.clone(), c.name.clone(), c.nip.clone(), c.env)
                            children=move |c| {
                                let id = c.id.clone();
                                let id_current = c.id.clone();
                                let id_edit = c.id.clone();
                                let id_remove = c.id.clone();
                                let is_current = move || ctx.current.get().as_deref() == Some(id.as_str());
                                view! {
                                    <tr data-testid="company-row">
                                        <td>
                                            {c.name.clone()}
                                            <Show when=is_current>
                                                " " <span class="badge">{move || tr(lang.get(), "bieżąca", "current")}</span>
                                            </Show>
                                        </td>
                                        <td>{c.nip.clone()}</td>
                                        <td>{move || c.env.label(lang.get())}</td>
                                        <td>
                                            <button on:click=move |_| ctx.select_company(id_current.clone())>{move || tr(lang.get(), "Wybierz", "Select")}</button>
                                            " "
                                            <button on:click=move |_| edit(id_edit.clone())>
                                                {move || tr(lang.get(), "Edytuj", "Edit")}
                                            </button>
                                            " "
                                            <button on:click=move |_| remove(id_remove.clone())>
                                                {move || tr(lang.get(), "Usuń", "Delete")}
                                            </button>
                                        </td>
                                    </tr>
                                }
                            }
                        />
                    </tbody>
                </table>
            </Show>
            {move || saved.get().map(|m| view! { <p class="ok" role="status" data-testid="company-saved">{m}</p> })}
            {move || problem_view(task.problem(), lang.get(), "company-error", None)}
        </section>
        <section class="card">
            <h2>
                {move || match editing.get() {
                    None => tr(lang.get(), "Dodaj firmę", "Add a company"),
                    Some(_) => tr(lang.get(), "Edytuj firmę", "Edit company"),
                }}
            </h2>
            <form class="form" on:submit=save>
                <label>
                    "NIP"
                    <input
                        data-testid="company-nip"
                        inputmode="numeric"
                        autocomplete="off"
                        prop:value=nip
                        on:input=move |ev| nip.set(event_target_value(&ev))
                    />
                </label>
                {field_error(|e| e.nip.clone(), "company-nip-error")}
                <label>
                    {move || tr(lang.get(), "Nazwa", "Name")}
                    <input
                        data-testid="company-name"
                        prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                {field_error(|e| e.name.clone(), "company-name-error")}
                <label>
                    {move || tr(lang.get(), "Adres", "Address")}
                    <input
                        data-testid="company-address"
                        prop:value=address
                        on:input=move |ev| address.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    {move || tr(lang.get(), "Rachunek bankowy", "Bank account")}
                    <input
                        data-testid="company-account"
                        prop:value=account
                        on:input=move |ev| account.set(event_target_value(&ev))
                    />
                </label>
                {field_error(|e| e.bank_account.clone(), "company-account-error")}
                <label>
                    {move || tr(lang.get(), "Środowisko KSeF", "KSeF environment")}
                    <select
                        data-testid="company-env"
                        on:change=move |ev| {
                            if let Some(e) = Env::from_slug(&event_target_value(&ev)) {
                                env.set(e);
                            }
                        }
                    >
                        {Env::ALL
                            .into_iter()
                            .map(|e| {
                                view! {
                                    <option value=e.slug() selected=move || env.get() == e>
                                        {move || e.label(lang.get())}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <p class="muted">
                    {move || tr(
                        lang.get(),
                        "Symulator nie wymaga konta KSeF. TEST i DEMO to środowiska próbne Ministerstwa Finansów; PROD to prawdziwy KSeF.",
                        "The simulator needs no KSeF account. TEST and DEMO are the Ministry of Finance's trial environments; PROD is the real KSeF.",
                    )}
                </p>
                <p>
                    <button type="submit" class="primary" data-testid="company-save">
                        {move || tr(lang.get(), "Zapisz firmę", "Save company")}
                    </button>
                    " "
                    <Show when=move || editing.with(Option::is_some)>
                        <button type="button" on:click=move |_| clear()>
                            {move || tr(lang.get(), "Anuluj", "Cancel")}
                        </button>
                    </Show>
                </p>
            </form>
        </section>
    }
}
