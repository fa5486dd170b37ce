//! Kwit in the browser: a Leptos client-side-rendered app. Components stay thin; logic lives
//! in plain modules ([`api`], [`i18n`]) and in the `ksef-core` crate.

pub mod api;
pub mod i18n;

use leptos::prelude::*;

use crate::api::{Env, PublicKeyCertificate, display_date, fetch_public_keys};
use crate::i18n::{Lang, Msg};

const LANG_KEY: &str = "kwit.lang";

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

/// The whole application.
#[component]
pub fn App() -> impl IntoView {
    let lang = RwSignal::new(stored_lang());
    Effect::new(move |_| store_lang(lang.get()));
    provide_context(lang);
    let env = RwSignal::new(Env::Sim);

    view! {
        <header class="top">
            <h1>"Kwit"</h1>
            <span class="muted">{move || lang.get().t(Msg::AppTagline)}</span>
            <span class="spacer"></span>
            <span class="muted">
                {move || lang.get().t(Msg::Environment)} ": "
                <strong data-testid="env">{move || env.get().label()}</strong>
            </span>
            <button on:click=move |_| lang.update(|l| *l = l.other())>
                {move || lang.get().t(Msg::SwitchLanguage)}
            </button>
        </header>
        <main>
            <PublicKeys env=env.read_only() />
        </main>
    }
}

/// The KSeF public key certificates of an environment: usage and validity, fetched through
/// the relay. The first thing every KSeF operation needs, so the first thing shown.
#[component]
pub fn PublicKeys(
    /// The environment whose keys to show.
    env: ReadSignal<Env>,
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
                usage.iter().map(|u| lang.get().usage(u)).collect::<Vec<_>>().join(", ")
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
