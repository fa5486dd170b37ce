//! The FAQ's checklist for "Nie mogę się zalogować do KSeF", ticked against this company.

use leptos::prelude::*;

use crate::api::fetch_public_keys;
use crate::components::problem_view;
use crate::credentials::Credential;
use crate::i18n::tr;
use crate::state::AppCtx;
use crate::state::task::Task;

/// The FAQ checklists with the current answers filled in.
#[component]
pub(super) fn LoginHelp(creds: RwSignal<Vec<Credential>>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let keys = RwSignal::new(None::<usize>);
    let task = Task::new();
    let fetch_keys = move |_| {
        let env = ctx.env();
        let l = lang.get_untracked();
        keys.set(None);
        task.run(async move {
            let found = fetch_public_keys(env).await.map_err(|e| e.problem(l))?;
            keys.set(Some(found.len()));
            Ok(())
        });
    };
    let mark = |ok: bool| if ok { "✓ " } else { "✗ " };
    view! {
        <section class="card" data-testid="login-help">
            <h2>{move || tr(lang.get(), "Nie mogę się zalogować do KSeF — od czego zacząć?", "I can't log in to KSeF — where to start?")}</h2>
            <ol>
                <li data-testid="help-nip">
                    {move || {
                        let c = ctx.current_company();
                        let ok = c.as_ref().is_some_and(|c| !c.nip.is_empty());
                        format!(
                            "{}{} {}",
                            mark(ok),
                            tr(lang.get(), "Sprawdź, czy firma ma uzupełniony NIP:", "Check the company has a NIP:"),
                            c.map(|c| c.nip).unwrap_or_default()
                        )
                    }}
                </li>
                <li data-testid="help-default">
                    {move || {
                        let ok = creds.with(|c| c.iter().any(|c| c.is_default));
                        format!(
                            "{}{}",
                            mark(ok),
                            tr(
                                lang.get(),
                                "Sprawdź, czy masz ustawiony domyślny certyfikat lub domyślny token.",
                                "Check that a default certificate or default token is set.",
                            )
                        )
                    }}
                </li>
                <li data-testid="help-keys">
                    {move || tr(
                        lang.get(),
                        "Jeśli pojawiają się błędy szyfrowania lub sesji — pobierz certyfikaty publiczne KSeF. ",
                        "If you see encryption or session errors, fetch KSeF's public certificates. ",
                    )}
                    <button data-testid="help-fetch-keys" on:click=fetch_keys>
                        {move || tr(lang.get(), "Sprawdź certyfikaty publiczne", "Check public certificates")}
                    </button>
                    {move || keys.get().map(|n| view! { <span class="ok">{format!(" ✓ {n}")}</span> })}
                    {move || problem_view(task.problem(), lang.get(), "help-keys-error", None)}
                </li>
                <li data-testid="help-token">
                    {move || {
                        let l = lang.get();
                        let default = creds.with(|c| c.iter().find(|c| c.is_default).cloned());
                        let state = match default.as_ref().and_then(|c| c.status.clone()) {
                            Some(s) if s == "Active" => format!("✓ {s}"),
                            Some(s) => format!("✗ {s}"),
                            None => tr(l, "status nieznany — zaloguj się lub sprawdź status", "status unknown — log in or check the status").into(),
                        };
                        format!(
                            "{} ({state})",
                            tr(l, "Jeśli logujesz się tokenem: sprawdź, czy token jest aktywny i ma wymagane uprawnienia.", "If you log in with a token: check that it is active and has the required permissions.")
                        )
                    }}
                </li>
                <li>
                    {move || tr(
                        lang.get(),
                        "Jeśli token mógł wygasnąć lub został cofnięty — wygeneruj nowy w KSeF i wklej go tutaj albo ustaw inny jako domyślny.",
                        "If the token may have expired or was revoked, generate a new one in KSeF and paste it here, or set another one as default.",
                    )}
                </li>
            </ol>
            <h3>{move || tr(lang.get(), "Nie widzę akcji KSeF (np. „Wyślij do KSeF”, „Pobierz status”)", "I don't see KSeF actions (e.g. “Send to KSeF”, “Fetch status”)")}</h3>
            <ol>
                <li data-testid="help-permissions">
                    {move || {
                        let l = lang.get();
                        let base = tr(l, "Sprawdź, czy masz uprawnienia do operacji KSeF: ", "Check you have permissions for KSeF operations: ");
                        match ctx.current_session() {
                            None => format!("{base}{}", tr(l, "nie zalogowano.", "not logged in.")),
                            Some(s) => format!(
                                "{base}{}",
                                ["InvoiceWrite", "InvoiceRead"]
                                    .iter()
                                    .map(|p| format!("{}{p}", mark(s.permissions.iter().any(|x| x == p))))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }
                    }}
                </li>
                <li>
                    {move || format!(
                        "{} {}",
                        tr(lang.get(), "Sprawdź, czy pracujesz na właściwej firmie (podmiocie). Bieżąca:", "Check you work on the right company. Current:"),
                        ctx.current_company().map(|c| format!("{} ({})", c.name, c.nip)).unwrap_or_default()
                    )}
                </li>
            </ol>
        </section>
    }
}
