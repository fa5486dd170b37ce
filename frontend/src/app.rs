//! The shell: header (company switcher, environment, lock, language), the tabs, the lock
//! screen and the page shown. It creates the state ([`AppCtx`]) and wires its effects.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Lang, Msg};
use crate::pages;
use crate::session::{self, Session};
use crate::state::sessions::{keep_session, refresh_if_needed, restore_session};
use crate::state::{AppCtx, LOCK_AFTER_MS, Page, VAULT_META_KEY, store_lang, stored_lang};
use crate::store::{self, Store};
use crate::vault::VaultMeta;

/// The whole application.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(stored_lang());
    Effect::new(move |_| store_lang(lang.get()));
    provide_context(lang);
    let ctx = AppCtx::new(lang, Page::from_hash(&crate::state::nav::current_hash()));
    provide_context(ctx);

    // Start: read companies and the vault metadata.
    spawn_local(async move {
        let result = async {
            let db = ctx.db().await?;
            let meta: Option<VaultMeta> = db.get(Store::Settings, VAULT_META_KEY).await?;
            Ok::<_, store::StorageError>(meta)
        }
        .await;
        match result {
            Ok(meta) => ctx.vault_meta.set(meta),
            Err(e) => ctx.storage_error.set(Some(e)),
        }
        ctx.loaded.set(true);
    });
    ctx.reload_companies();

    // KSeF sessions across reloads: restored once the vault is unlocked, kept on every change
    // (login, refresh), dropped when the login ends (logout, refused refresh or send).
    Effect::new(move |_| {
        let unlocked = ctx.vault.with(Option::is_some);
        ctx.current.track();
        if unlocked {
            restore_session(ctx);
        }
    });
    Effect::new(move |previous: Option<Option<Session>>| {
        let current = ctx.session.get();
        match (&previous, &current) {
            (_, Some(s)) if previous.as_ref().and_then(Option::as_ref) != Some(s) => {
                keep_session(ctx);
            }
            (Some(Some(old)), None) => {
                ctx.send_cache.update_value(|c| c.online = None);
                let company_id = old.company_id.clone();
                spawn_local(async move {
                    if let Ok(db) = ctx.db().await {
                        let _ = session::forget_kept(&db, &company_id).await;
                    }
                });
            }
            _ => {}
        }
        current
    });

    // Navigation by hash.
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        ctx.page
            .set(Page::from_hash(&crate::state::nav::current_hash()));
    });
    // Inactivity lock.
    let touch = move || ctx.last_activity.set(js_sys::Date::now());
    let _ = window_event_listener(leptos::ev::keydown, move |_| touch());
    let _ = window_event_listener(leptos::ev::pointerdown, move |_| touch());
    let _ = set_interval_with_handle(
        move || {
            let now = js_sys::Date::now();
            if ctx.vault.with_untracked(Option::is_some)
                && now - ctx.last_activity.get_untracked() > LOCK_AFTER_MS
            {
                ctx.lock();
            }
            refresh_if_needed(ctx, now);
        },
        std::time::Duration::from_secs(10),
    );

    // The page shown, `None` while locked. A memo, so that start-up loads (vault metadata,
    // companies) that change nothing the user sees do not remount the page and lose its state.
    let shown = Memo::new(move |_| (!ctx.locked()).then(|| ctx.page.get()));

    let switch_company = move |ev: leptos::ev::Event| ctx.select_company(event_target_value(&ev));

    view! {
        <header class="top">
            <h1>"Kwit"</h1>
            <span class="muted tagline">{move || lang.get().t(Msg::AppTagline)}</span>
            <span class="spacer"></span>
            <Show when=move || !ctx.companies.with(Vec::is_empty)>
                <label class="muted">
                    {move || match lang.get() { Lang::Pl => "Firma: ", Lang::En => "Company: " }}
                    <select data-testid="company-switcher" on:change=switch_company>
                        <For
                            each=move || ctx.companies.get()
                            key=|c| (c.id.clone(), c.name.clone(), c.nip.clone())
                            children=move |c| {
                                let id = c.id.clone();
                                let selected = move || ctx.current.get().as_deref() == Some(id.as_str());
                                view! {
                                    <option value=c.id.clone() selected=selected>
                                        {format!("{} ({})", c.name, c.nip)}
                                    </option>
                                }
                            }
                        />
                    </select>
                </label>
            </Show>
            <span class="muted">
                {move || lang.get().t(Msg::Environment)} ": "
                <strong data-testid="env">{move || ctx.env().label(lang.get())}</strong>
            </span>
            <Show when=move || ctx.vault.with(Option::is_some)>
                <button data-testid="lock" on:click=move |_| ctx.lock()>
                    {move || match lang.get() { Lang::Pl => "Zablokuj", Lang::En => "Lock" }}
                </button>
            </Show>
            <button data-testid="lang-switch" on:click=move |_| lang.update(|l| *l = l.other())>
                {move || lang.get().t(Msg::SwitchLanguage)}
            </button>
        </header>
        <nav class="tabs">
            {Page::ALL
                .iter()
                .map(|&p| {
                    view! {
                        <a
                            href=format!("#/{}", p.slug())
                            class:active=move || ctx.page.get() == p
                            data-testid=format!("nav-{}", if p.slug().is_empty() { "start" } else { p.slug() })
                        >
                            {move || p.title(lang.get())}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <main>
            <crate::components::availability::AvailabilityBanner />
            {move || ctx.storage_error.get().map(|e| view! { <div class="error" role="alert">{e.message(ctx.lang.get())}</div> })}
            {move || match shown.get() {
                None => view! { <pages::access::UnlockForm /> }.into_any(),
                Some(page) => page_view(page),
            }}
        </main>
    }
}

/// The view of `page`.
fn page_view(page: Page) -> AnyView {
    match page {
        Page::Start => view! { <pages::start::StartPage /> }.into_any(),
        Page::Companies => view! { <pages::companies::CompaniesPage /> }.into_any(),
        Page::Access => view! { <pages::access::AccessPage /> }.into_any(),
        Page::Invoicing => view! { <pages::invoice_form::InvoiceFormPage /> }.into_any(),
        Page::Invoices => view! { <pages::invoices::InvoicesPage /> }.into_any(),
        Page::KsefInvoices => view! { <pages::ksef_invoices::KsefInvoicesPage /> }.into_any(),
    }
}
