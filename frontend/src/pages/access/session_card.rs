//! The KSeF session card: log in, refresh, log out, and what the session is.

use leptos::prelude::*;

use crate::api::display_date;
use crate::components::problem_view;
use crate::credentials::{Credential, CredentialKind};
use crate::i18n::tr;
use crate::login::do_login;
use crate::session::{self, permission_name};
use crate::state::AppCtx;
use crate::state::task::Task;

#[component]
pub(super) fn SessionCard(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let task = Task::new();
    let login = move |_| {
        let l = lang.get_untracked();
        task.run(async move {
            let (s, _) = do_login(ctx, l).await?;
            ctx.session.set(Some(s));
            reload();
            Ok(())
        });
    };
    let logout = move |_| {
        let Some(s) = ctx.session.get_untracked() else {
            return;
        };
        let l = lang.get_untracked();
        task.run(async move {
            // The session ends locally in any case; KSeF's answer only decides the message.
            let outcome = session::logout(s.env, &s.access.token).await;
            ctx.session.set(None);
            outcome.map_err(|e| e.problem(l))
        });
    };
    let refresh_now = move |_| {
        let Some(s) = ctx.session.get_untracked() else {
            return;
        };
        let l = lang.get_untracked();
        task.run(async move {
            let access = session::refresh(s.env, &s.refresh.token)
                .await
                .map_err(|e| e.problem(l))?;
            crate::state::sessions::adopt_refreshed(ctx, &s.reference_number, access);
            Ok(())
        });
    };
    let default_label =
        move || creds.with(|c| c.iter().find(|c| c.is_default).map(|c| c.label.clone()));
    view! {
        <section class="card">
            <h2>{move || tr(lang.get(), "Sesja KSeF", "KSeF session")}</h2>
            <div data-testid="session-state">
                {move || match ctx.current_session() {
                    None => view! {
                        <p>
                            <strong>{tr(lang.get(), "Nie zalogowano", "Not logged in")}</strong>
                            {move || default_label().map(|l| format!(
                                " · {} {l}",
                                tr(lang.get(), "domyślne dane logowania:", "default credential:")
                            ))}
                        </p>
                    }
                    .into_any(),
                    Some(s) => {
                        let l = lang.get();
                        let perms = if s.permissions.is_empty() {
                            tr(l, "nieznane", "unknown").to_owned()
                        } else {
                            s.permissions
                                .iter()
                                .map(|p| format!("{p} ({})", permission_name(p, l)))
                                .collect::<Vec<_>>()
                                .join(", ")
                        };
                        let used = creds.with(|c| {
                            c.iter().find(|c| c.id == s.credential_id).map(|c| {
                                let how = match c.kind {
                                    CredentialKind::Token => tr(l, "token KSeF", "KSeF token"),
                                    CredentialKind::Certificate => tr(l, "certyfikat KSeF (podpis XAdES)", "KSeF certificate (XAdES signature)"),
                                };
                                format!("{} · {how}", c.label)
                            })
                        });
                        view! {
                            <p class="ok"><strong>{tr(l, "Zalogowano do KSeF", "Logged in to KSeF")}</strong></p>
                            <table>
                                <tr><th>{tr(l, "Środowisko", "Environment")}</th><td>{s.env.label(l)}</td></tr>
                                <tr><th>"NIP"</th><td data-testid="session-nip">{s.nip.clone()}</td></tr>
                                <tr><th>{tr(l, "Zalogowano przez", "Logged in with")}</th><td data-testid="session-credential">{used}</td></tr>
                                <tr><th>{tr(l, "Numer referencyjny", "Reference number")}</th><td><code>{if s.reference_number.is_empty() { "—".to_owned() } else { s.reference_number.clone() }}</code></td></tr>
                                <tr><th>{tr(l, "Token dostępu ważny do", "Access token valid until")}</th><td data-testid="session-valid-until">{s.access.valid_until.clone()}</td></tr>
                                <tr><th>{tr(l, "Odświeżanie ważne do", "Refresh valid until")}</th><td>{display_date(&s.refresh.valid_until).to_owned()}</td></tr>
                                <tr><th>{tr(l, "Uprawnienia", "Permissions")}</th><td data-testid="session-permissions">{perms}</td></tr>
                            </table>
                        }
                        .into_any()
                    }
                }}
            </div>
            <p>
                <Show
                    when=move || ctx.current_session().is_some()
                    fallback=move || view! {
                        <button class="primary" data-testid="login" on:click=login disabled=move || task.pending()>
                            {move || tr(lang.get(), "Zaloguj do KSeF", "Log in to KSeF")}
                        </button>
                    }
                >
                    <button data-testid="refresh" on:click=refresh_now disabled=move || task.pending()>
                        {move || tr(lang.get(), "Odśwież token dostępu", "Refresh access token")}
                    </button>
                    " "
                    <button data-testid="logout" on:click=logout disabled=move || task.pending()>
                        {move || tr(lang.get(), "Wyloguj", "Log out")}
                    </button>
                </Show>
                <Show when=move || task.pending()>
                    <span aria-busy="true">" " {move || tr(lang.get(), "Łączenie z KSeF…", "Talking to KSeF…")}</span>
                </Show>
            </p>
            {move || problem_view(task.problem(), lang.get(), "login-error", Some(("Zobacz „Nie mogę się zalogować” poniżej.", "See “Can't log in” below.")))}
        </section>
    }
}
