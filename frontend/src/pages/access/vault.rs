//! The vault: the lock screen and setting the passphrase the first time.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{pick, tr};
use crate::state::{AppCtx, VAULT_META_KEY};
use crate::store::Store;
use crate::vault::Vault;

/// The lock screen: the passphrase opens the vault again.
#[component]
pub fn UnlockForm() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(meta) = ctx.vault_meta.get_untracked() else {
            return;
        };
        let p = pass.get_untracked();
        busy.set(true);
        spawn_local(async move {
            match Vault::unlock(&p, &meta).await {
                Ok(v) => {
                    error.set(None);
                    pass.set(String::new());
                    ctx.last_activity.set(js_sys::Date::now());
                    ctx.vault.set(Some(v));
                }
                Err(e) => error.set(Some(pick(lang.get_untracked(), &e.to_string()))),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" data-testid="lock-screen">
            <h2>{move || tr(lang.get(), "Kwit jest zablokowany", "Kwit is locked")}</h2>
            <p class="muted">
                {move || tr(
                    lang.get(),
                    "Twoje tokeny i klucze KSeF są zaszyfrowane. Podaj hasło, aby odblokować.",
                    "Your KSeF tokens and keys are encrypted. Enter your passphrase to unlock.",
                )}
            </p>
            <form on:submit=unlock>
                <label>
                    {move || tr(lang.get(), "Hasło", "Passphrase")}
                    <input
                        type="password"
                        data-testid="unlock-passphrase"
                        autocomplete="current-password"
                        prop:value=pass
                        on:input=move |ev| pass.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary" data-testid="unlock" disabled=move || busy.get()>
                    {move || tr(lang.get(), "Odblokuj", "Unlock")}
                </button>
            </form>
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="unlock-error">{e}</div> })}
        </section>
    }
}

/// Sets the vault passphrase the first time.
#[component]
pub(super) fn VaultSetup() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let pass = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let p = pass.get_untracked();
        if p != again.get_untracked() {
            error.set(Some(
                tr(l, "Hasła się różnią.", "The passphrases differ.").into(),
            ));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = async {
                let (vault, meta) = Vault::create(&p)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
                db.put(Store::Settings, VAULT_META_KEY, &meta)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                Ok::<_, String>((vault, meta))
            }
            .await;
            match result {
                Ok((vault, meta)) => {
                    error.set(None);
                    ctx.last_activity.set(js_sys::Date::now());
                    ctx.vault.set(Some(vault));
                    ctx.vault_meta.set(Some(meta));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" data-testid="vault-setup">
            <h2>{move || tr(lang.get(), "Hasło do sejfu", "Vault passphrase")}</h2>
            <p class="muted">
                {move || tr(
                    lang.get(),
                    "Tokeny i klucze KSeF przechowujemy w przeglądarce zaszyfrowane tym hasłem (PBKDF2 + AES-GCM). Nie wysyłamy go nigdzie i nie da się go odzyskać.",
                    "KSeF tokens and keys are kept in this browser, encrypted with this passphrase (PBKDF2 + AES-GCM). It is never sent anywhere and cannot be recovered.",
                )}
            </p>
            <form on:submit=create>
                <label>
                    {move || tr(lang.get(), "Hasło (min. 8 znaków)", "Passphrase (min. 8 characters)")}
                    <input
                        type="password"
                        data-testid="vault-passphrase"
                        autocomplete="new-password"
                        prop:value=pass
                        on:input=move |ev| pass.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    {move || tr(lang.get(), "Powtórz hasło", "Repeat passphrase")}
                    <input
                        type="password"
                        data-testid="vault-passphrase-again"
                        autocomplete="new-password"
                        prop:value=again
                        on:input=move |ev| again.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary" data-testid="vault-create" disabled=move || busy.get()>
                    {move || tr(lang.get(), "Ustaw hasło", "Set passphrase")}
                </button>
            </form>
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="vault-error">{e}</div> })}
        </section>
    }
}
