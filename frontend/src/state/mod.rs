//! The app's state and its services' handles, provided as context ([`AppCtx`]): the
//! signals pages render, one database handle, the KSeF login and the send cache, the signer
//! worker. Pages depend on this module; it never imports a page.

pub mod clock;
pub mod nav;
pub mod sessions;
pub mod task;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Env;
use crate::company::{self, Company};
use crate::i18n::Lang;
use crate::session::Session;
use crate::signer;
use crate::store::{self, Db, StorageError};
use crate::vault::{Vault, VaultMeta};
pub use nav::Page;

const LANG_KEY: &str = "kwit.lang";
/// Settings key of the vault metadata (salt, check value; no secret).
pub const VAULT_META_KEY: &str = "vault";
/// The app locks after this long without a key press, click or touch.
pub const LOCK_AFTER_MS: f64 = 5.0 * 60.0 * 1000.0;

pub fn stored_lang() -> Lang {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
        .map(|c| Lang::from_code(&c))
        .unwrap_or_default()
}

pub fn store_lang(lang: Lang) {
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

/// App-wide state, provided as context by [`crate::App`].
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
    pub storage_error: RwSignal<Option<StorageError>>,
    /// KSeF's public keys and the open online session, kept between sends (and sealed with
    /// the login across reloads, [`keep_session`]).
    pub send_cache: StoredValue<ksef_core::send::SendCache>,
    /// A token refresh is under way (the shell's timer does not start a second one).
    pub refreshing: StoredValue<bool>,
    /// The certificate signer worker, started on first use.
    pub signer: StoredValue<signer::Signer, LocalStorage>,
    /// The sync worker (Faktury KSeF), started on the first sync.
    pub sync_worker: StoredValue<crate::sync_worker::SyncWorker, LocalStorage>,
    /// A second instance of the same worker module for batch sends, so a send never waits
    /// for a sync (or the reverse).
    pub batch_worker: StoredValue<crate::sync_worker::SyncWorker, LocalStorage>,
    /// The app's one database connection, opened on first use ([`AppCtx::db`]).
    pub database: StoredValue<Option<Db>, LocalStorage>,
}

impl AppCtx {
    /// The state of a freshly started app in `lang`.
    pub fn new(lang: RwSignal<Lang>, page: Page) -> Self {
        Self {
            lang,
            companies: RwSignal::new(Vec::new()),
            current: RwSignal::new(None),
            vault: RwSignal::new_local(None),
            vault_meta: RwSignal::new(None),
            session: RwSignal::new(None),
            page: RwSignal::new(page),
            last_activity: RwSignal::new(js_sys::Date::now()),
            loaded: RwSignal::new(false),
            storage_error: RwSignal::new(None),
            send_cache: StoredValue::new(Default::default()),
            refreshing: StoredValue::new(false),
            signer: StoredValue::new_local(signer::Signer::default()),
            sync_worker: StoredValue::new_local(Default::default()),
            batch_worker: StoredValue::new_local(Default::default()),
            database: StoredValue::new_local(None),
        }
    }

    /// The database, opened once and shared by every page and service.
    pub async fn db(&self) -> Result<Db, StorageError> {
        if let Some(db) = self.database.get_value() {
            return Ok(db);
        }
        let db = store::open().await?;
        self.database.set_value(Some(db.clone()));
        Ok(db)
    }

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
        nav::forget_open_draft();
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
                        nav::forget_open_draft();
                    }
                    ctx.companies.set(list);
                    ctx.current.set(current);
                }
                Err(e) => ctx.storage_error.set(Some(e)),
            }
        });
    }
}
