//! Adding a KSeF token (sealed by the vault before it is stored).

use leptos::prelude::*;

use crate::api::OrProblem;
use crate::components::problem_view;
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::tr;
use crate::state::AppCtx;
use crate::state::task::Task;
use crate::store::{self};

#[component]
pub(super) fn AddToken(reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let label = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let task = Task::new();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let (lbl, tok) = (label.get_untracked(), token.get_untracked());
        let reference = match credentials::check_token(&lbl, &tok) {
            Ok(r) => r,
            Err(e) => return task.fail(e.user_message(l).into()),
        };
        let (Some(company_id), Some(vault)) =
            (ctx.current.get_untracked(), ctx.vault.get_untracked())
        else {
            return;
        };
        task.run(async move {
            let outcome = async {
                let secret = vault.seal_str(tok.trim()).await.or_problem(l)?;
                let db = ctx.db().await.or_problem(l)?;
                let cred = Credential {
                    id: store::new_id(),
                    company_id,
                    label: lbl.trim().to_owned(),
                    kind: CredentialKind::Token,
                    secret,
                    reference_number: Some(reference),
                    certificate_pem: None,
                    summary: None,
                    is_default: false,
                    status: None,
                    permissions: Vec::new(),
                };
                credentials::add(&db, cred).await.or_problem(l)
            }
            .await;
            if outcome.is_ok() {
                label.set(String::new());
                token.set(String::new());
            }
            reload();
            outcome
        });
    };
    view! {
        <section class="card">
            <h2>{move || tr(lang.get(), "Dodaj token KSeF", "Add a KSeF token")}</h2>
            <form on:submit=add>
                <label>
                    {move || tr(lang.get(), "Nazwa", "Label")}
                    <input data-testid="token-label" prop:value=label on:input=move |ev| label.set(event_target_value(&ev)) />
                </label>
                <label>
                    {move || tr(lang.get(), "Token (wklej z KSeF)", "Token (paste from KSeF)")}
                    <input
                        type="password"
                        data-testid="token-value"
                        autocomplete="off"
                        prop:value=token
                        on:input=move |ev| token.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary" data-testid="token-add">
                    {move || tr(lang.get(), "Dodaj token", "Add token")}
                </button>
            </form>
            {move || problem_view(task.problem(), lang.get(), "token-error", None)}
        </section>
    }
}
