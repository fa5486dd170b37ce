//! Enrolling a new KSeF certificate in the current session (key generated in the worker).

use leptos::prelude::*;

use crate::api::{OrProblem, Problem};
use crate::components::problem_view;
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::tr;
use crate::login::api_base;
use crate::signer::KeyAlgorithm;
use crate::state::AppCtx;
use crate::state::task::Task;
use crate::store::{self};

/// "Wygeneruj klucz i certyfikat KSeF": in a certificate session, a key is generated in the
/// signer worker, its CSR enrolled at KSeF (`flow::enrollment_data`, `flow::enroll_certificate`,
/// ksef-docs `certyfikaty-KSeF.md`), and the issued certificate stored with the key sealed by
/// the vault. The private key never leaves the browser.
#[component]
pub(super) fn EnrollCertificate(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let name = RwSignal::new(String::from("Kwit"));
    let offline = RwSignal::new(false);
    let task = Task::new();
    let done = RwSignal::new(None::<String>);
    // KSeF enrolls certificates only in sessions opened with a certificate or signature.
    let certificate_session = move || {
        ctx.current_session().is_some_and(|s| {
            creds.with(|c| {
                c.iter()
                    .any(|c| c.id == s.credential_id && c.kind == CredentialKind::Certificate)
            })
        })
    };
    let enroll = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let (Some(s), Some(vault)) = (ctx.current_session(), ctx.vault.get_untracked()) else {
            return;
        };
        let label = name.get_untracked().trim().to_owned();
        if label.is_empty() {
            return task.fail(
                credentials::CredentialError::EmptyLabel
                    .user_message(l)
                    .into(),
            );
        }
        let kind = if offline.get_untracked() {
            "Offline"
        } else {
            "Authentication"
        };
        // EC P-256: what KSeF recommends, and fast to generate (RSA 2048 is in the protocol).
        let algorithm = KeyAlgorithm::EcP256;
        done.set(None);
        task.run(async move {
            let outcome = async {
                let (pem, key_pem, summary) = ctx
                    .signer
                    .get_value()
                    .enroll(api_base(s.env), &s.access.token, &label, kind, algorithm)
                    .await
                    .or_problem(l)?;
                let secret = vault.seal_str(&key_pem).await.or_problem(l)?;
                let db = ctx.db().await.or_problem(l)?;
                credentials::add(
                    &db,
                    Credential {
                        id: store::new_id(),
                        company_id: s.company_id.clone(),
                        label: format!("{label} ({kind})"),
                        kind: CredentialKind::Certificate,
                        secret,
                        reference_number: None,
                        certificate_pem: Some(pem),
                        summary: Some(summary.clone()),
                        is_default: false,
                        status: None,
                        permissions: Vec::new(),
                    },
                )
                .await
                .or_problem(l)?;
                Ok::<_, Problem>(summary)
            }
            .await;
            reload();
            done.set(outcome.as_ref().ok().cloned());
            outcome.map(|_| ())
        });
    };
    view! {
        <section class="card" data-testid="enroll-card">
            <h2>{move || tr(lang.get(), "Wygeneruj klucz i certyfikat KSeF", "Generate a key and a KSeF certificate")}</h2>
            <Show
                when=certificate_session
                fallback=move || view! {
                    <p class="muted" data-testid="enroll-needs-certificate">
                        {move || tr(
                            lang.get(),
                            "KSeF wydaje certyfikaty tylko w sesji otwartej certyfikatem. Zaloguj się certyfikatem (np. zaimportowanym), aby wygenerować certyfikat KSeF.",
                            "KSeF issues certificates only in a session opened with a certificate. Log in with a certificate (e.g. an imported one) to generate a KSeF certificate.",
                        )}
                    </p>
                }
            >
                <p class="muted">
                    {move || tr(
                        lang.get(),
                        "Klucz prywatny powstaje w tej przeglądarce i zostaje w niej, zaszyfrowany hasłem sejfu; do KSeF trafia tylko wniosek (CSR).",
                        "The private key is created in this browser and stays here, encrypted with the vault passphrase; only the request (CSR) goes to KSeF.",
                    )}
                </p>
                <form on:submit=enroll>
                    <label>
                        {move || tr(lang.get(), "Nazwa certyfikatu", "Certificate name")}
                        <input data-testid="enroll-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                    </label>
                    <label>
                        <input type="checkbox" data-testid="enroll-offline" prop:checked=offline on:change=move |ev| offline.set(event_target_checked(&ev)) />
                        {move || tr(lang.get(), " Offline (do kodów QR faktur offline, nie do logowania)", " Offline (for offline invoice QR codes, not for login)")}
                    </label>
                    <button type="submit" class="primary" data-testid="enroll" disabled=move || task.pending()>
                        {move || tr(lang.get(), "Wygeneruj klucz i certyfikat KSeF", "Generate a key and a KSeF certificate")}
                    </button>
                    <Show when=move || task.pending()>
                        <span aria-busy="true">" " {move || tr(lang.get(), "Generowanie klucza i wniosek do KSeF…", "Generating the key and requesting the certificate…")}</span>
                    </Show>
                </form>
            </Show>
            {move || done.get().map(|d| view! {
                <p class="ok" data-testid="enroll-done">
                    {tr(lang.get(), "Certyfikat KSeF wydany i zapisany: ", "KSeF certificate issued and saved: ")}{d}
                </p>
            })}
            {move || problem_view(task.problem(), lang.get(), "enroll-error", None)}
        </section>
    }
}
