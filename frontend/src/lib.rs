//! Kwit in the browser: a Leptos client-side-rendered app. Components stay thin; logic lives
//! in plain modules ([`store`], [`vault`], [`company`], [`credentials`], [`session`], [`net`],
//! [`api`], [`i18n`]) and in the `ksef-core` crate.
//!
//! The shell ([`App`]) holds the app-wide state in [`AppCtx`] (get it with
//! `expect_context::<AppCtx>()`), a company switcher, navigation by URL hash (`#/companies`)
//! and the lock screen. Pages are listed in [`Page`]: to add one, add a variant, its slug and
//! title, and its view in [`Page::view`].

pub mod api;
pub mod company;
pub mod components;
pub mod credentials;
pub mod drafts;
pub mod i18n;
pub mod net;
pub mod ownership;
pub mod pages;
pub mod send;
pub mod series;
pub mod session;
pub mod signer;
pub mod store;
pub mod vault;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Env, PublicKeyCertificate, display_date, fetch_public_keys};
use crate::company::Company;
use crate::i18n::{Lang, Msg};
use crate::session::Session;
use crate::store::Store;
use crate::vault::{Vault, VaultMeta};

const LANG_KEY: &str = "kwit.lang";
/// Settings key of the vault metadata (salt, check value; no secret).
pub const VAULT_META_KEY: &str = "vault";
/// The app locks after this long without a key press, click or touch.
pub const LOCK_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;

fn stored_lang() -> Lang {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
        .map(|c| Lang::from_code(&c))
        .unwrap_or_default()
}

fn store_lang(lang: Lang) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        // The language is a preference, not a secret: localStorage is fine for it.
        let _ = storage.set_item(LANG_KEY, lang.code());
    }
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = el.set_attribute("lang", lang.code());
    }
}

/// The pages of the app, addressed by URL hash (`#/{slug}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// Start: current company, session state, KSeF public keys (diagnostics).
    Start,
    /// Companies (podmioty).
    Companies,
    /// Credentials, vault and KSeF login.
    Access,
    /// Fakturowanie: the invoice form (draft id in `?draft=`), with Wyślij do KSeF.
    Invoicing,
    /// Invoices issued in Kwit and their KSeF state.
    Invoices,
}

impl Page {
    /// Every page, in navigation order.
    pub const ALL: &'static [Page] = &[
        Page::Start,
        Page::Companies,
        Page::Access,
        Page::Invoicing,
        Page::Invoices,
    ];

    /// The hash slug.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Start => "",
            Self::Companies => "companies",
            Self::Access => "access",
            Self::Invoicing => "fakturowanie",
            Self::Invoices => "faktury",
        }
    }

    /// The navigation label.
    pub fn title(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::Start, Lang::Pl) => "Start",
            (Self::Start, Lang::En) => "Start",
            (Self::Companies, Lang::Pl) => "Firmy",
            (Self::Companies, Lang::En) => "Companies",
            (Self::Access, Lang::Pl) => "Dostęp i logowanie",
            (Self::Access, Lang::En) => "Access and login",
            (Self::Invoicing, Lang::Pl) => "Fakturowanie",
            (Self::Invoicing, Lang::En) => "Invoicing",
            (Self::Invoices, Lang::Pl) => "Wystawione faktury",
            (Self::Invoices, Lang::En) => "Issued invoices",
        }
    }

    /// The page for a location hash (`#/companies`); unknown means Start.
    pub fn from_hash(hash: &str) -> Page {
        let slug = hash.trim_start_matches('#').trim_start_matches('/');
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.slug() == slug)
            .unwrap_or(Page::Start)
    }

    /// The page's view.
    fn view(self) -> AnyView {
        match self {
            Self::Start => view! { <pages::start::StartPage /> }.into_any(),
            Self::Companies => view! { <pages::companies::CompaniesPage /> }.into_any(),
            Self::Access => view! { <pages::access::AccessPage /> }.into_any(),
            Self::Invoicing => view! { <pages::invoice_form::InvoiceFormPage /> }.into_any(),
            Self::Invoices => view! { <pages::invoices::InvoicesPage /> }.into_any(),
        }
    }
}

/// App-wide state, provided as context by [`App`].
#[derive(Clone, Copy)]
pub struct AppCtx {
    /// Interface language.
    pub lang: RwSignal<Lang>,
    /// All companies.
    pub companies: RwSignal<Vec<Company>>,
    /// The current company's id.
    pub current: RwSignal<Option<String>>,
    /// The unlocked vault (`None` = locked or not set up).
    pub vault: RwSignal<Option<Vault>, LocalStorage>,
    /// The vault metadata (`None` = no passphrase set yet).
    pub vault_meta: RwSignal<Option<VaultMeta>>,
    /// The KSeF session of the current company, if logged in.
    pub session: RwSignal<Option<Session>>,
    /// The page shown.
    pub page: RwSignal<Page>,
    /// Time of the last user activity (ms since epoch), for the inactivity lock.
    pub last_activity: RwSignal<f64>,
    /// `true` once the database has been read at start.
    pub loaded: RwSignal<bool>,
    /// A storage error to show, if any.
    pub storage_error: RwSignal<Option<String>>,
    /// KSeF's public keys and the open online session, kept between sends (and sealed with
    /// the login across reloads, [`keep_session`]).
    pub send_cache: StoredValue<ksef_core::send::SendCache>,
    /// A token refresh is under way (the shell's timer does not start a second one).
    pub refreshing: StoredValue<bool>,
    /// The certificate signer worker, started on first use.
    pub signer: StoredValue<signer::Signer, LocalStorage>,
}

impl AppCtx {
    /// The current company.
    pub fn current_company(&self) -> Option<Company> {
        let id = self.current.get()?;
        self.companies.get().into_iter().find(|c| c.id == id)
    }

    /// The environment of the current company (the simulator without one).
    pub fn env(&self) -> Env {
        self.current_company().map(|c| c.env).unwrap_or_default()
    }

    /// The KSeF session, if it belongs to the current company.
    pub fn current_session(&self) -> Option<Session> {
        let s = self.session.get()?;
        (Some(&s.company_id) == self.current.get().as_ref()).then_some(s)
    }

    /// `None` when a KSeF action needing `permission` may run now; otherwise why not
    /// (not logged in, or which permission is missing), in the user's language.
    pub fn missing_permission(&self, permission: &str) -> Option<String> {
        let lang = self.lang.get();
        match self.current_session() {
            None => Some(
                match lang {
                    Lang::Pl => "Zaloguj się do KSeF (Dostęp i logowanie), aby wykonać tę akcję.",
                    Lang::En => "Log in to KSeF (Access and login) to do this.",
                }
                .into(),
            ),
            Some(s) => s.missing(permission, lang),
        }
    }

    /// Whether the app is locked (a vault exists but is not unlocked).
    pub fn locked(&self) -> bool {
        self.vault_meta.with(Option::is_some) && self.vault.with(Option::is_none)
    }

    /// Locks the app now: forgets the vault key (secrets unreadable until the passphrase).
    pub fn lock(&self) {
        self.vault.set(None);
    }

    /// Makes company `id` the current one (remembered across reloads). The draft open in
    /// the form is the previous company's, so the form opens this company's own.
    pub fn select_company(&self, id: String) {
        pages::invoice_form::forget_open_draft();
        self.current.set(Some(id.clone()));
        spawn_local(async move {
            if let Ok(db) = store::open().await {
                let _ = company::set_current(&db, &id).await;
            }
        });
    }

    /// Re-reads the companies and the current company from the database.
    pub fn reload_companies(&self) {
        let ctx = *self;
        spawn_local(async move {
            let result = async {
                let db = store::open().await?;
                let list = company::list(&db).await?;
                let mut current = company::current_id(&db).await?;
                if current
                    .as_ref()
                    .is_none_or(|id| !list.iter().any(|c| &c.id == id))
                {
                    current = list.first().map(|c| c.id.clone());
                }
                Ok::<_, store::StorageError>((list, current))
            }
            .await;
            match result {
                Ok((list, current)) => {
                    // Another company became current (a new one was saved): the form opens its
                    // own draft, not the one in the address.
                    if ctx
                        .current
                        .get_untracked()
                        .is_some_and(|c| Some(&c) != current.as_ref())
                    {
                        pages::invoice_form::forget_open_draft();
                    }
                    ctx.companies.set(list);
                    ctx.current.set(current);
                }
                Err(e) => ctx.storage_error.set(Some(e.to_string())),
            }
        });
    }
}

/// Seals and stores the current KSeF login with its online session, so a reload keeps them
/// (see [`session::keep`]). Needs the vault unlocked; without it nothing is written.
pub fn keep_session(ctx: AppCtx) {
    let (Some(s), Some(vault)) = (ctx.session.get_untracked(), ctx.vault.get_untracked()) else {
        return;
    };
    spawn_local(async move {
        let online = ctx.send_cache.with_value(|c| {
            c.online_of(&s.reference_number)
                .map(session::OnlineSessionData::of)
        });
        let result = async {
            let db = store::open().await?;
            session::keep(&db, &vault, &s, online).await
        }
        .await;
        if let Err(e) = result {
            ctx.storage_error.set(Some(e.to_string()));
        }
    });
}

/// After the vault is unlocked (or the company changes) with no login in memory, brings back
/// the company's stored KSeF sessions ([`session::restore`]).
fn restore_session(ctx: AppCtx) {
    let (Some(company_id), Some(vault)) = (ctx.current.get_untracked(), ctx.vault.get_untracked())
    else {
        return;
    };
    if ctx
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.company_id == company_id))
    {
        return;
    }
    spawn_local(async move {
        let result = async {
            let db = store::open().await?;
            session::restore(&db, &vault, &company_id, js_sys::Date::now()).await
        }
        .await;
        match result {
            Ok(session::Restored::Session(s, _))
                if !ctx
                    .companies
                    .with_untracked(|list| list.iter().any(|c| ownership::session_of(&s, c))) =>
            {
                // A login from before the company's NIP (or environment) changed: over.
                if let Ok(db) = store::open().await {
                    let _ = session::forget_kept(&db, &s.company_id).await;
                }
            }
            Ok(session::Restored::Session(s, online)) => {
                if let Some(online) = online
                    .as_ref()
                    .and_then(session::OnlineSessionData::to_online)
                {
                    ctx.send_cache.update_value(|c| {
                        c.for_env(s.env.slug()).online = Some((s.reference_number.clone(), online));
                    });
                }
                // Unless a login for this company happened meanwhile.
                if ctx
                    .session
                    .with_untracked(|cur| cur.as_ref().is_none_or(|c| c.company_id != s.company_id))
                {
                    ctx.session.set(Some(s));
                }
            }
            Ok(_) => {}
            Err(session::KeepError::Storage(e)) => ctx.storage_error.set(Some(e.to_string())),
            // Sealed by another passphrase or damaged: it is useless, log in as usual.
            Err(session::KeepError::Vault(_)) => {}
        }
    });
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The whole application.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(stored_lang());
    Effect::new(move |_| store_lang(lang.get()));
    provide_context(lang);
    let ctx = AppCtx {
        lang,
        companies: RwSignal::new(Vec::new()),
        current: RwSignal::new(None),
        vault: RwSignal::new_local(None),
        vault_meta: RwSignal::new(None),
        session: RwSignal::new(None),
        page: RwSignal::new(Page::from_hash(&current_hash())),
        last_activity: RwSignal::new(js_sys::Date::now()),
        loaded: RwSignal::new(false),
        storage_error: RwSignal::new(None),
        send_cache: StoredValue::new(Default::default()),
        refreshing: StoredValue::new(false),
        signer: StoredValue::new_local(signer::Signer::default()),
    };
    provide_context(ctx);

    // Start: read companies and the vault metadata.
    spawn_local(async move {
        let result = async {
            let db = store::open().await?;
            let meta: Option<VaultMeta> = db.get(Store::Settings, VAULT_META_KEY).await?;
            Ok::<_, store::StorageError>(meta)
        }
        .await;
        match result {
            Ok(meta) => ctx.vault_meta.set(meta),
            Err(e) => ctx.storage_error.set(Some(e.to_string())),
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
                    if let Ok(db) = store::open().await {
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
        ctx.page.set(Page::from_hash(&current_hash()));
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
            pages::access::refresh_if_needed(ctx, now);
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
            {move || ctx.storage_error.get().map(|e| view! { <div class="error" role="alert">{e}</div> })}
            {move || match shown.get() {
                None => view! { <pages::access::UnlockForm /> }.into_any(),
                Some(page) => page.view(),
            }}
        </main>
    }
}

/// The KSeF public key certificates of an environment: usage and validity, fetched through
/// the relay. The first thing every KSeF operation needs, so the first thing shown.
#[component]
pub fn PublicKeys(
    /// The environment whose keys to show.
    #[prop(into)]
    env: Signal<Env>,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    let keys = LocalResource::new(move || fetch_public_keys(env.get()));

    view! {
        <section class="card" aria-labelledby="keys-title">
            <h2 id="keys-title">{move || lang.get().t(Msg::PublicKeysTitle)}</h2>
            <p class="muted">{move || lang.get().t(Msg::PublicKeysIntro)}</p>
            {move || match keys.get() {
                None => view! { <p aria-busy="true">{lang.get().t(Msg::Loading)}</p> }.into_any(),
                Some(Ok(list)) => view! { <KeyTable keys=list /> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="error" role="alert" data-testid="keys-error">
                        {e.user_message(lang.get())}
                    </div>
                }
                .into_any(),
            }}
            <p>
                <button on:click=move |_| keys.refetch()>{move || lang.get().t(Msg::Retry)}</button>
            </p>
        </section>
    }
}

/// A table of certificates.
#[component]
pub fn KeyTable(
    /// The certificates as KSeF returned them.
    keys: Vec<PublicKeyCertificate>,
) -> impl IntoView {
    let lang = expect_context::<RwSignal<Lang>>();
    if keys.is_empty() {
        return view! { <p class="error" role="alert">{move || lang.get().t(Msg::NoKeys)}</p> }
            .into_any();
    }
    let rows = keys
        .into_iter()
        .map(|k| {
            let usage = k.usage.clone();
            let usage_text = move || {
                usage
                    .iter()
                    .map(|u| lang.get().usage(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            view! {
                <tr data-testid="key-row">
                    <td data-testid="key-usage">{usage_text}</td>
                    <td data-testid="key-valid-from">{display_date(&k.valid_from).to_owned()}</td>
                    <td data-testid="key-valid-to">{display_date(&k.valid_to).to_owned()}</td>
                    <td><code>{k.public_key_id.clone().unwrap_or_default()}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="keys">
            <thead>
                <tr>
                    <th>{move || lang.get().t(Msg::Usage)}</th>
                    <th>{move || lang.get().t(Msg::ValidFrom)}</th>
                    <th>{move || lang.get().t(Msg::ValidTo)}</th>
                    <th>{move || lang.get().t(Msg::KeyId)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
