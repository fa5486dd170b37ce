//! Access and login: the vault passphrase, the company's KSeF tokens and certificates, the
//! default credential, logging in/out and the session state, with the FAQ's advice
//! (/work/shared/seed-faq.md "Nie mogę się zalogować do KSeF", "Nie widzę akcji KSeF").

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{display_date, fetch_public_keys};
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::{Lang, pick, tr};
use crate::session::{self, Session, permission_name};
use crate::signer::{self, KeyAlgorithm};
use crate::state::{AppCtx, VAULT_META_KEY};
use crate::store::{self, Store};
use crate::vault::Vault;

/// The lock screen: the passphrase opens the vault again.
#[component]
pub fn UnlockForm() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let pass = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let unlock = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(meta) = ctx.vault_meta.get_untracked() else {
            return;
        };
        let p = pass.get_untracked();
        busy.set(true);
        spawn_local(async move {
            match Vault::unlock(&p, &meta).await {
                Ok(v) => {
                    error.set(None);
                    pass.set(String::new());
                    ctx.last_activity.set(js_sys::Date::now());
                    ctx.vault.set(Some(v));
                }
                Err(e) => error.set(Some(pick(lang.get_untracked(), &e.to_string()))),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" data-testid="lock-screen">
            <h2>{move || tr(lang.get(), "Kwit jest zablokowany", "Kwit is locked")}</h2>
            <p class="muted">
                {move || tr(
                    lang.get(),
                    "Twoje tokeny i klucze KSeF są zaszyfrowane. Podaj hasło, aby odblokować.",
                    "Your KSeF tokens and keys are encrypted. Enter your passphrase to unlock.",
                )}
            </p>
            <form on:submit=unlock>
                <label>
                    {move || tr(lang.get(), "Hasło", "Passphrase")}
                    <input
                        type="password"
                        data-testid="unlock-passphrase"
                        autocomplete="current-password"
                        prop:value=pass
                        on:input=move |ev| pass.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary" data-testid="unlock" disabled=move || busy.get()>
                    {move || tr(lang.get(), "Odblokuj", "Unlock")}
                </button>
            </form>
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="unlock-error">{e}</div> })}
        </section>
    }
}

/// Sets the vault passphrase the first time.
#[component]
fn VaultSetup() -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let pass = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let p = pass.get_untracked();
        if p != again.get_untracked() {
            error.set(Some(
                tr(l, "Hasła się różnią.", "The passphrases differ.").into(),
            ));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let result = async {
                let (vault, meta) = Vault::create(&p)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
                db.put(Store::Settings, VAULT_META_KEY, &meta)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                Ok::<_, String>((vault, meta))
            }
            .await;
            match result {
                Ok((vault, meta)) => {
                    error.set(None);
                    ctx.last_activity.set(js_sys::Date::now());
                    ctx.vault.set(Some(vault));
                    ctx.vault_meta.set(Some(meta));
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" data-testid="vault-setup">
            <h2>{move || tr(lang.get(), "Hasło do sejfu", "Vault passphrase")}</h2>
            <p class="muted">
                {move || tr(
                    lang.get(),
                    "Tokeny i klucze KSeF przechowujemy w przeglądarce zaszyfrowane tym hasłem (PBKDF2 + AES-GCM). Nie wysyłamy go nigdzie i nie da się go odzyskać.",
                    "KSeF tokens and keys are kept in this browser, encrypted with this passphrase (PBKDF2 + AES-GCM). It is never sent anywhere and cannot be recovered.",
                )}
            </p>
            <form on:submit=create>
                <label>
                    {move || tr(lang.get(), "Hasło (min. 8 znaków)", "Passphrase (min. 8 characters)")}
                    <input
                        type="password"
                        data-testid="vault-passphrase"
                        autocomplete="new-password"
                        prop:value=pass
                        on:input=move |ev| pass.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    {move || tr(lang.get(), "Powtórz hasło", "Repeat passphrase")}
                    <input
                        type="password"
                        data-testid="vault-passphrase-again"
                        autocomplete="new-password"
                        prop:value=again
                        on:input=move |ev| again.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" class="primary" data-testid="vault-create" disabled=move || busy.get()>
                    {move || tr(lang.get(), "Ustaw hasło", "Set passphrase")}
                </button>
            </form>
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="vault-error">{e}</div> })}
        </section>
    }
}

/// The Owner's permissions (ksef-guide §9: logging in with a certificate that names the context
/// NIP gives all invoice and administration permissions).
const OWNER_PERMISSIONS: [&str; 6] = [
    "InvoiceRead",
    "InvoiceWrite",
    "CredentialsRead",
    "CredentialsManage",
    "SubunitManage",
    "Introspection",
];

/// The KSeF API of `env` through the relay, for the signer worker.
fn api_base(env: crate::api::Env) -> String {
    format!("/ksef/{}/v2", env.slug())
}

/// Logs in with a certificate credential (XAdES, ksef-guide §3.4): the worker checks the pair,
/// signs the `AuthTokenRequest` and runs ksef-core's login flow through the relay.
async fn login_with_certificate(
    signer: &signer::Signer,
    nip: &str,
    env: crate::api::Env,
    vault: &Vault,
    cred: &Credential,
    lang: Lang,
) -> Result<(ksef_core::flow::AuthTokens, Vec<String>), String> {
    let cert_pem = cred.certificate_pem.clone().unwrap_or_default();
    let key_pem = vault
        .open_str(&cred.secret)
        .await
        .map_err(|e| pick(lang, &e.to_string()))?;
    let (tokens, owner) = signer
        .login(api_base(env), &cert_pem, &key_pem, nip)
        .await
        .map_err(|e| pick(lang, &e))?;
    let permissions = if owner {
        OWNER_PERMISSIONS.map(str::to_owned).to_vec()
    } else {
        Vec::new()
    };
    Ok((tokens, permissions))
}

async fn do_login(ctx: AppCtx, lang: Lang) -> Result<(Session, Credential), String> {
    let company = ctx.current_company().ok_or_else(|| {
        tr(
            lang,
            "Najpierw dodaj firmę (Firmy).",
            "Add a company first (Companies).",
        )
        .to_owned()
    })?;
    let db = ctx.db().await.map_err(|e| pick(lang, &e.to_string()))?;
    let mut cred = credentials::default_for(&db, &company.id)
        .await
        .map_err(|e| pick(lang, &e.to_string()))?
        .ok_or_else(|| {
            tr(
                lang,
                "Brak domyślnego tokena lub certyfikatu. Sprawdź, czy masz ustawiony domyślny certyfikat lub domyślny token: dodaj token KSeF albo ustaw istniejący jako domyślny.",
                "No default token or certificate. Check that a default certificate or default token is set: add a KSeF token or set an existing one as default.",
            )
            .to_owned()
        })?;
    let vault = ctx
        .vault
        .get_untracked()
        .ok_or_else(|| pick(lang, &crate::vault::VaultError::Locked.to_string()))?;
    let tokens = if cred.kind == CredentialKind::Certificate {
        let (tokens, permissions) = login_with_certificate(
            &ctx.signer.get_value(),
            &company.nip,
            company.env,
            &vault,
            &cred,
            lang,
        )
        .await?;
        cred.permissions = permissions;
        let _ = db.save(&cred).await;
        tokens
    } else {
        let token = vault
            .open_str(&cred.secret)
            .await
            .map_err(|e| pick(lang, &e.to_string()))?;
        let tokens = session::login_with_token(company.env, &company.nip, &token)
            .await
            .map_err(|e| e.user_message(lang))?;
        if let Some(r) = cred.reference_number.clone()
            && let Ok(st) = session::token_status(company.env, &tokens.access_token.token, &r).await
        {
            cred.status = Some(st.status);
            cred.permissions = st.requested_permissions;
            let _ = db.save(&cred).await;
        }
        tokens
    };
    let s = Session {
        company_id: company.id.clone(),
        nip: company.nip.clone(),
        env: company.env,
        credential_id: cred.id.clone(),
        reference_number: tokens.reference_number,
        access: tokens.access_token,
        refresh: tokens.refresh_token,
        permissions: cred.permissions.clone(),
        refreshed_at_ms: js_sys::Date::now(),
    };
    Ok((s, cred))
}

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
                Err(e) => ctx.storage_error.set(Some(e.to_string())),
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

#[component]
fn SessionCard(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let login = move |_| {
        busy.set(true);
        error.set(None);
        let l = lang.get_untracked();
        spawn_local(async move {
            match do_login(ctx, l).await {
                Ok((s, _)) => {
                    ctx.session.set(Some(s));
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let logout = move |_| {
        let Some(s) = ctx.session.get_untracked() else {
            return;
        };
        busy.set(true);
        let l = lang.get_untracked();
        spawn_local(async move {
            // The session ends locally in any case; KSeF's answer only decides the message.
            if let Err(e) = session::logout(s.env, &s.access.token).await {
                error.set(Some(e.user_message(l)));
            }
            ctx.session.set(None);
            busy.set(false);
        });
    };
    let refresh_now = move |_| {
        let Some(s) = ctx.session.get_untracked() else {
            return;
        };
        busy.set(true);
        let l = lang.get_untracked();
        spawn_local(async move {
            match session::refresh(s.env, &s.refresh.token).await {
                Ok(access) => ctx.session.update(|cur| {
                    if let Some(cur) = cur.as_mut() {
                        cur.access = access;
                        cur.refreshed_at_ms = js_sys::Date::now();
                    }
                }),
                Err(e) => error.set(Some(e.user_message(l))),
            }
            busy.set(false);
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
                        <button class="primary" data-testid="login" on:click=login disabled=move || busy.get()>
                            {move || tr(lang.get(), "Zaloguj do KSeF", "Log in to KSeF")}
                        </button>
                    }
                >
                    <button data-testid="refresh" on:click=refresh_now disabled=move || busy.get()>
                        {move || tr(lang.get(), "Odśwież token dostępu", "Refresh access token")}
                    </button>
                    " "
                    <button data-testid="logout" on:click=logout disabled=move || busy.get()>
                        {move || tr(lang.get(), "Wyloguj", "Log out")}
                    </button>
                </Show>
                <Show when=move || busy.get()>
                    <span aria-busy="true">" " {move || tr(lang.get(), "Łączenie z KSeF…", "Talking to KSeF…")}</span>
                </Show>
            </p>
            {move || error.get().map(|e| view! {
                <div class="error" role="alert" data-testid="login-error">
                    <p>{e}</p>
                    <p>{tr(lang.get(), "Zobacz „Nie mogę się zalogować” poniżej.", "See “Can't log in” below.")}</p>
                </div>
            })}
        </section>
    }
}

#[component]
fn CredentialList(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let error = RwSignal::new(None::<String>);
    let make_default = move |id: String| {
        let Some(company_id) = ctx.current.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let r = async {
                let db = ctx.db().await?;
                credentials::set_default(&db, &company_id, &id).await
            }
            .await;
            if let Err(e) = r {
                ctx.storage_error.set(Some(e.to_string()));
            }
            reload();
        });
    };
    let remove = move |id: String| {
        spawn_local(async move {
            let r = async {
                let db = ctx.db().await?;
                db.remove::<Credential>(&id).await
            }
            .await;
            if let Err(e) = r {
                ctx.storage_error.set(Some(e.to_string()));
            }
            reload();
        });
    };
    let check = move |id: String| {
        let l = lang.get_untracked();
        let Some(s) = ctx.current_session() else {
            error.set(Some(
                tr(
                    l,
                    "Aby sprawdzić status i uprawnienia tokena, zaloguj się do KSeF.",
                    "Log in to KSeF to check the token's status and permissions.",
                )
                .into(),
            ));
            return;
        };
        spawn_local(async move {
            let r = async {
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
                let mut c: Credential = db
                    .load(&id)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?
                    .ok_or_else(|| "?".to_owned())?;
                let reference = c.reference_number.clone().ok_or_else(|| "?".to_owned())?;
                let st = session::token_status(s.env, &s.access.token, &reference)
                    .await
                    .map_err(|e| e.user_message(l))?;
                c.status = Some(st.status);
                c.permissions = st.requested_permissions;
                db.save(&c).await.map_err(|e| pick(l, &e.to_string()))?;
                Ok::<_, String>(())
            }
            .await;
            error.set(r.err());
            reload();
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
            {move || error.get().map(|e| view! { <div class="error" role="alert">{e}</div> })}
        </section>
    }
}

#[component]
fn AddToken(reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let label = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let (lbl, tok) = (label.get_untracked(), token.get_untracked());
        let reference = match credentials::check_token(&lbl, &tok) {
            Ok(r) => r,
            Err(e) => {
                error.set(Some(e.user_message(l).into()));
                return;
            }
        };
        let (Some(company_id), Some(vault)) =
            (ctx.current.get_untracked(), ctx.vault.get_untracked())
        else {
            return;
        };
        spawn_local(async move {
            let r = async {
                let secret = vault
                    .seal_str(tok.trim())
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
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
                credentials::add(&db, cred)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))
            }
            .await;
            match r {
                Ok(()) => {
                    label.set(String::new());
                    token.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            reload();
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
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="token-error">{e}</div> })}
        </section>
    }
}

#[component]
fn AddCertificate(reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let label = RwSignal::new(String::new());
    let cert = RwSignal::new(String::new());
    let key = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = lang.get_untracked();
        let (lbl, pem, key_pem) = (
            label.get_untracked(),
            cert.get_untracked(),
            key.get_untracked(),
        );
        if let Err(e) = credentials::check_certificate(&lbl, &pem, &key_pem) {
            error.set(Some(e.user_message(l).into()));
            return;
        }
        let (Some(company_id), Some(vault)) =
            (ctx.current.get_untracked(), ctx.vault.get_untracked())
        else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let r = async {
                // The worker checks that the key belongs to the certificate and that it is valid.
                let summary = ctx
                    .signer
                    .get_value()
                    .check(&pem, &key_pem)
                    .await
                    .map_err(|e| pick(l, &e))?;
                let secret = vault
                    .seal_str(&key_pem)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
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
                credentials::add(&db, cred)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))
            }
            .await;
            match r {
                Ok(()) => {
                    label.set(String::new());
                    cert.set(String::new());
                    key.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            reload();
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
                <button type="submit" data-testid="cert-add" disabled=move || busy.get()>
                    {move || tr(lang.get(), "Importuj certyfikat", "Import certificate")}
                </button>
            </form>
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="cert-error">{e}</div> })}
        </section>
    }
}

/// "Wygeneruj klucz i certyfikat KSeF": in a certificate session, a key is generated in the
/// signer worker, its CSR enrolled at KSeF (`flow::enrollment_data`, `flow::enroll_certificate`,
/// ksef-docs `certyfikaty-KSeF.md`), and the issued certificate stored with the key sealed by
/// the vault. The private key never leaves the browser.
#[component]
fn EnrollCertificate(
    creds: RwSignal<Vec<Credential>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let name = RwSignal::new(String::from("Kwit"));
    let offline = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
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
            error.set(Some(
                credentials::CredentialError::EmptyLabel
                    .user_message(l)
                    .into(),
            ));
            return;
        }
        let kind = if offline.get_untracked() {
            "Offline"
        } else {
            "Authentication"
        };
        // EC P-256: what KSeF recommends, and fast to generate (RSA 2048 is in the protocol).
        let algorithm = KeyAlgorithm::EcP256;
        busy.set(true);
        error.set(None);
        done.set(None);
        spawn_local(async move {
            let r = async {
                let (pem, key_pem, summary) = ctx
                    .signer
                    .get_value()
                    .enroll(api_base(s.env), &s.access.token, &label, kind, algorithm)
                    .await
                    .map_err(|e| pick(l, &e))?;
                let secret = vault
                    .seal_str(&key_pem)
                    .await
                    .map_err(|e| pick(l, &e.to_string()))?;
                let db = ctx.db().await.map_err(|e| pick(l, &e.to_string()))?;
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
                .map_err(|e| pick(l, &e.to_string()))?;
                Ok::<_, String>(summary)
            }
            .await;
            match r {
                Ok(summary) => done.set(Some(summary)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            reload();
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
                    <button type="submit" class="primary" data-testid="enroll" disabled=move || busy.get()>
                        {move || tr(lang.get(), "Wygeneruj klucz i certyfikat KSeF", "Generate a key and a KSeF certificate")}
                    </button>
                    <Show when=move || busy.get()>
                        <span aria-busy="true">" " {move || tr(lang.get(), "Generowanie klucza i wniosek do KSeF…", "Generating the key and requesting the certificate…")}</span>
                    </Show>
                </form>
            </Show>
            {move || done.get().map(|d| view! {
                <p class="ok" data-testid="enroll-done">
                    {tr(lang.get(), "Certyfikat KSeF wydany i zapisany: ", "KSeF certificate issued and saved: ")}{d}
                </p>
            })}
            {move || error.get().map(|e| view! { <div class="error" role="alert" data-testid="enroll-error">{e}</div> })}
        </section>
    }
}

/// The FAQ checklists with the current answers filled in.
#[component]
fn LoginHelp(creds: RwSignal<Vec<Credential>>) -> impl IntoView {
    let ctx = expect_context::<AppCtx>();
    let lang = ctx.lang;
    let keys = RwSignal::new(None::<Result<usize, String>>);
    let fetch_keys = move |_| {
        let env = ctx.env();
        let l = lang.get_untracked();
        spawn_local(async move {
            keys.set(Some(
                fetch_public_keys(env)
                    .await
                    .map(|k| k.len())
                    .map_err(|e| e.user_message(l)),
            ));
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
                    {move || keys.get().map(|r| match r {
                        Ok(n) => view! { <span class="ok">{format!(" ✓ {n}")}</span> }.into_any(),
                        Err(e) => view! { <span class="error">{e}</span> }.into_any(),
                    })}
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
