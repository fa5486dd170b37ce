//! Access and login: the vault passphrase, the company's KSeF tokens and certificates, the
//! default credential, logging in/out and the session state, with the FAQ's advice
//! (/work/shared/seed-faq.md "Nie mogę się zalogować do KSeF", "Nie widzę akcji KSeF").

mod add_certificate;
mod add_token;
mod credential_list;
mod enroll;
mod help;
mod session_card;
mod vault;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::credentials::{self, Credential};
use crate::i18n::tr;
use crate::state::AppCtx;

use add_certificate::AddCertificate;
use add_token::AddToken;
use credential_list::CredentialList;
pub use credential_list::status_word;
use enroll::EnrollCertificate;
use help::LoginHelp;
use session_card::SessionCard;
pub use vault::UnlockForm;
use vault::VaultSetup;

/// The access page.
#[component]
pub fn AccessPage() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let creds = RwSignal::new(Vec::<Credential>::new());
    let reload = move || {
        let Some(company_id) = ctx.current.get_untracked() else {
            creds.set(Vec::new());
            return;
        };
        spawn_local(async move {
            let result = async {
                let db = ctx.db().await?;
                credentials::for_company(&db, &company_id).await
            }
            .await;
            match result {
                Ok(list) => creds.set(list),
                Err(e) => ctx.storage_error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        ctx.current.track();
        reload();
    });

    view! {
        {move || {
            if ctx.current_company().is_none() {
                view! {
                    <section class="card">
                        <p data-testid="no-company">
                            {tr(lang.get(), "Najpierw dodaj firmę: ", "Add a company first: ")}
                            <a href="#/companies">{tr(lang.get(), "Firmy", "Companies")}</a>
                        </p>
                    </section>
                }
                .into_any()
            } else if ctx.vault_meta.with(Option::is_none) {
                view! { <VaultSetup /> }.into_any()
            } else {
                view! {
                    <SessionCard creds=creds reload=reload />
                    <CredentialList creds=creds reload=reload />
                    <EnrollCertificate creds=creds reload=reload />
                    <AddToken reload=reload />
                    <AddCertificate reload=reload />
                    <LoginHelp creds=creds />
                }
                .into_any()
            }
        }}
    }
}
