//! Start page: the current company, the KSeF session and the KSeF public keys (the first
//! thing every KSeF operation needs, so a good diagnostic).

use leptos::prelude::*;

use crate::PublicKeys;
use crate::i18n::Lang;
use crate::state::AppCtx;

/// The start page.
#[component]
pub fn StartPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    // A memo: loading the companies must not refetch the keys of an unchanged environment.
    let env = Memo::new(move |_| ctx.env());
    view! {
        <section class="card">
            {move || match ctx.current_company() {
                None => view! {
                    <p data-testid="no-company">
                        {match lang.get() {
                            Lang::Pl => "Nie masz jeszcze żadnej firmy. ",
                            Lang::En => "You have no company yet. ",
                        }}
                        <a href="#/companies">
                            {match lang.get() { Lang::Pl => "Dodaj firmę", Lang::En => "Add a company" }}
                        </a>
                    </p>
                }
                .into_any(),
                Some(c) => view! {
                    <p>
                        <strong>{c.name.clone()}</strong>
                        " · NIP " {c.nip.clone()} " · "
                        {move || c.env.label(lang.get())}
                    </p>
                    <p data-testid="start-session">
                        {match (ctx.current_session().is_some(), lang.get()) {
                            (true, Lang::Pl) => "Zalogowano do KSeF.",
                            (true, Lang::En) => "Logged in to KSeF.",
                            (false, Lang::Pl) => "Nie zalogowano do KSeF.",
                            (false, Lang::En) => "Not logged in to KSeF.",
                        }}
                        " "
                        <a href="#/access">
                            {match lang.get() { Lang::Pl => "Dostęp i logowanie", Lang::En => "Access and login" }}
                        </a>
                    </p>
                }
                .into_any(),
            }}
        </section>
        <PublicKeys env=env />
    }
}
