//! The vault: the lock screen and setting the passphrase the first time.

use leptos::prelude::*;

use crate::api::OrProblem;
use crate::components::problem_view;
use crate::i18n::tr;
use crate::state::task::Task;
use crate::state::{AppCtx, VAULT_META_KEY};
use crate::store::Store;
use crate::vault::Vault;

/// The lock screen: the passphrase opens the vault again.
#[component]
pub fn UnlockForm() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let pass = RwSignal::new(String::new());
    let task = Task::new();
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(meta) = ctx.vault_meta.get_untracked() else {
            return;
        };
        let (p, l) = (pass.get_untracked(), lang.get_untracked());
        task.run(async move {
            let vault = Vault::unlock(&p, &meta).await.or_problem(l)?;
            pass.set(String::new());
            ctx.last_activity.set(js_sys::Date::now());
            ctx.vault.set(Some(vault));
            Ok(())
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
                <button type="submit" class="primary" data-testid="unlock" disabled=move || task.pending()>
                    {move || tr(lang.get(), "Odblokuj", "Unlock")}
                </button>
            </form>
            {move || problem_view(task.problem(), lang.get(), "unlock-error", None)}
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
    let task = Task::new();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let p = pass.get_untracked();
        if p != again.get_untracked() {
            return task.fail(tr(l, "Hasła się różnią.", "The passphrases differ.").into());
        }
        task.run(async move {
            let (vault, meta) = Vault::create(&p).await.or_problem(l)?;
            let db = ctx.db().await.or_problem(l)?;
            db.put(Store::Settings, VAULT_META_KEY, &meta)
                .await
                .or_problem(l)?;
            ctx.last_activity.set(js_sys::Date::now());
            ctx.vault.set(Some(vault));
            ctx.vault_meta.set(Some(meta));
            Ok(())
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
                <button type="submit" class="primary" data-testid="vault-create" disabled=move || task.pending()>
                    {move || tr(lang.get(), "Ustaw hasło", "Set passphrase")}
                </button>
            </form>
            {move || problem_view(task.problem(), lang.get(), "vault-error", None)}
        </section>
    }
}
