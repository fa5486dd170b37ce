//! The company's KSeF tokens and certificates: status, permissions, default, removal.

use leptos::prelude::*;

use crate::api::{OrProblem, Problem};
use crate::components::problem_view;
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::{Lang, tr};
use crate::session::{self, permission_name};
use crate::state::AppCtx;
use crate::state::task::Task;

#[component]
pub(super) fn CredentialList(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let task = Task::new();
    let make_default = move |id: String| {
        let Some(company_id) = ctx.current.get_untracked() else {
            return;
        };
        let l = lang.get_untracked();
        task.run(async move {
            let outcome = async {
                let db = ctx.db().await?;
                credentials::set_default(&db, &company_id, &id).await
            }
            .await;
            reload();
            outcome.or_problem(l)
        });
    };
    let remove = move |id: String| {
        let l = lang.get_untracked();
        task.run(async move {
            let outcome = async {
                let db = ctx.db().await?;
                db.remove::<Credential>(&id).await
            }
            .await;
            reload();
            outcome.or_problem(l)
        });
    };
    let check = move |id: String| {
        let l = lang.get_untracked();
        let Some(s) = ctx.current_session() else {
            return task.fail(
                tr(
                    l,
                    "Aby sprawdzić status i uprawnienia tokena, zaloguj się do KSeF.",
                    "Log in to KSeF to check the token's status and permissions.",
                )
                .into(),
            );
        };
        task.run(async move {
            let outcome = async {
                let db = ctx.db().await.or_problem(l)?;
                let gone = || {
                    Problem::from(tr(
                        l,
                        "Tego tokena już nie ma w przeglądarce — odśwież stronę.",
                        "This token is no longer in this browser: reload the page.",
                    ))
                };
                let mut c: Credential = db.load(&id).await.or_problem(l)?.ok_or_else(gone)?;
                let reference = c.reference_number.clone().ok_or_else(gone)?;
                let st = session::token_status(s.env, &s.access.token, &reference)
                    .await
                    .map_err(|e| e.problem(l))?;
                c.status = Some(st.status);
                c.permissions = st.requested_permissions;
                db.save(&c).await.or_problem(l)
            }
            .await;
            reload();
            outcome
        });
    };
    view! {
        <section class="card">
            <h2>{move || tr(lang.get(), "Tokeny i certyfikaty KSeF", "KSeF tokens and certificates")}</h2>
            <Show
                when=move || !creds.with(Vec::is_empty)
                fallback=move || view! {
                    <p class="muted" data-testid="no-credentials">
                        {move || tr(lang.get(), "Ta firma nie ma jeszcze tokena ani certyfikatu KSeF.", "This company has no KSeF token or certificate yet.")}
                    </p>
                }
            >
                <table>
                    <tbody>
                        <For
                            // The language is in the key: switching it renders the rows anew.
                            each=move || { lang.track(); creds.get() }
                            key=move |c| (lang.get_untracked() == Lang::En, c.id.clone(), c.is_default, c.status.clone(), c.permissions.clone())
                            children=move |c| {
                                let (id1, id2, id3) = (c.id.clone(), c.id.clone(), c.id.clone());
                                let is_token = c.kind == CredentialKind::Token;
                                let l = lang.get_untracked();
                                let perms = c
                                    .permissions
                                    .iter()
                                    .map(|p| format!("{p} ({})", permission_name(p, l)))
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                view! {
                                    <tr data-testid="credential-row">
                                        <td>
                                            <strong>{c.label.clone()}</strong>
                                            " · "
                                            {match c.kind {
                                                CredentialKind::Token => tr(l, "token KSeF", "KSeF token"),
                                                CredentialKind::Certificate => tr(l, "certyfikat KSeF", "KSeF certificate"),
                                            }}
                                            {c.is_default.then(|| view! { " " <span class="badge" data-testid="default-badge">{tr(l, "domyślny", "default")}</span> })}
                                            <br />
                                            <span class="muted">
                                                {c.reference_number.clone().or(c.summary.clone()).unwrap_or_default()}
                                            </span>
                                        </td>
                                        <td data-testid="credential-status">
                                            {c.status.as_deref().map_or_else(|| tr(l, "status nieznany", "status unknown").to_owned(), |st| status_word(st, l))}
                                            <br />
                                            <span class="muted">{perms}</span>
                                        </td>
                                        <td>
                                            {(!c.is_default).then(|| view! {
                                                <button on:click=move |_| make_default(id1.clone())>
                                                    {tr(l, "Ustaw jako domyślny", "Set as default")}
                                                </button>
                                            })}
                                            {is_token.then(|| view! {
                                                <button on:click=move |_| check(id2.clone())>
                                                    {tr(l, "Sprawdź status", "Check status")}
                                                </button>
                                            })}
                                            <button on:click=move |_| remove(id3.clone())>{tr(l, "Usuń", "Delete")}</button>
                                        </td>
                                    </tr>
                                }
                            }
                        />
                    </tbody>
                </table>
            </Show>
            {move || problem_view(task.problem(), lang.get(), "credential-error", None)}
        </section>
    }
}

/// A KSeF token or certificate status (`Active`, `Revoking`…) in the user's words.
pub fn status_word(status: &str, lang: Lang) -> String {
    let (pl, en) = match status {
        "Pending" => ("oczekuje na aktywację", "pending activation"),
        "Active" => ("aktywny", "active"),
        "Revoking" => ("w trakcie unieważniania", "being revoked"),
        "Revoked" => ("unieważniony", "revoked"),
        "Failed" => ("nieudany", "failed"),
        "Blocked" => ("zablokowany", "blocked"),
        "Expired" => ("wygasł", "expired"),
        other => return other.to_owned(),
    };
    tr(lang, pl, en).to_owned()
}
