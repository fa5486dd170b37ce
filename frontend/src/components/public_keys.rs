//! The KSeF public key certificates of an environment, as the Start and Access pages show them.

use leptos::prelude::*;

use crate::api::{Env, PublicKeyCertificate, display_date, fetch_public_keys};
use crate::i18n::{Lang, Msg};

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
                        <p>{e.user_message(lang.get())}</p>
                        {crate::components::details(e.details(lang.get()), lang.get())}
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
