//! Importing a KSeF certificate and its private key (checked by the signer worker).

use leptos::prelude::*;

use crate::api::OrProblem;
use crate::components::problem_view;
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::tr;
use crate::state::AppCtx;
use crate::state::task::Task;
use crate::store::{self};

#[component]
pub(super) fn AddCertificate(reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let label = RwSignal::new(String::new());
    let cert = RwSignal::new(String::new());
    let key = RwSignal::new(String::new());
    let task = Task::new();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let (lbl, pem, key_pem) = (
            label.get_untracked(),
            cert.get_untracked(),
            key.get_untracked(),
        );
        if let Err(e) = credentials::check_certificate(&lbl, &pem, &key_pem) {
            return task.fail(e.user_message(l).into());
        }
        let (Some(company_id), Some(vault)) =
            (ctx.current.get_untracked(), ctx.vault.get_untracked())
        else {
            return;
        };
        task.run(async move {
            let outcome = async {
                // The worker checks that the key belongs to the certificate and that it is valid.
                let summary = ctx
                    .signer
                    .get_value()
                    .check(&pem, &key_pem)
                    .await
                    .or_problem(l)?;
                let secret = vault.seal_str(&key_pem).await.or_problem(l)?;
                let db = ctx.db().await.or_problem(l)?;
                let cred = Credential {
                    id: store::new_id(),
                    company_id,
                    label: lbl.trim().to_owned(),
                    kind: CredentialKind::Certificate,
                    secret,
                    reference_number: None,
                    certificate_pem: Some(pem),
                    summary: Some(summary),
                    is_default: false,
                    status: None,
                    permissions: Vec::new(),
                };
                credentials::add(&db, cred).await.or_problem(l)
            }
            .await;
            if outcome.is_ok() {
                label.set(String::new());
                cert.set(String::new());
                key.set(String::new());
            }
            reload();
            outcome
        });
    };
    view! {
        <section class="card">
            <h2>{move || tr(lang.get(), "Importuj certyfikat KSeF", "Import a KSeF certificate")}</h2>
            <form on:submit=add>
                <label>
                    {move || tr(lang.get(), "Nazwa", "Label")}
                    <input data-testid="cert-label" prop:value=label on:input=move |ev| label.set(event_target_value(&ev)) />
                </label>
                <label>
                    {move || tr(lang.get(), "Certyfikat (PEM)", "Certificate (PEM)")}
                    <textarea data-testid="cert-pem" rows="4" prop:value=cert on:input=move |ev| cert.set(event_target_value(&ev))></textarea>
                </label>
                <label>
                    {move || tr(lang.get(), "Klucz prywatny (PKCS#8 PEM)", "Private key (PKCS#8 PEM)")}
                    <textarea data-testid="cert-key" rows="4" prop:value=key on:input=move |ev| key.set(event_target_value(&ev))></textarea>
                </label>
                <button type="submit" data-testid="cert-add" disabled=move || task.pending()>
                    {move || tr(lang.get(), "Importuj certyfikat", "Import certificate")}
                </button>
            </form>
            {move || problem_view(task.problem(), lang.get(), "cert-error", None)}
        </section>
    }
}
