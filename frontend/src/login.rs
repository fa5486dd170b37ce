//! Logging in with the company's default credential: a KSeF token through ksef-core's flow,
//! or a certificate through the signer worker; the credential's status and permissions kept.

use leptos::prelude::*;

use crate::api::{OrProblem, Problem};
use crate::credentials::{self, Credential, CredentialKind};
use crate::i18n::{Lang, tr};
use crate::session::{self, Session};
use crate::signer::{self};
use crate::state::AppCtx;
use crate::vault::Vault;

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
pub fn api_base(env: crate::api::Env) -> String {
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
) -> Result<(ksef_core::flow::AuthTokens, Vec<String>), Problem> {
    let cert_pem = cred.certificate_pem.clone().unwrap_or_default();
    let key_pem = vault.open_str(&cred.secret).await.or_problem(lang)?;
    let (tokens, owner) = signer
        .login(api_base(env), &cert_pem, &key_pem, nip)
        .await
        .or_problem(lang)?;
    let permissions = if owner {
        OWNER_PERMISSIONS.map(str::to_owned).to_vec()
    } else {
        Vec::new()
    };
    Ok((tokens, permissions))
}

pub async fn do_login(ctx: AppCtx, lang: Lang) -> Result<(Session, Credential), Problem> {
    let company = ctx.current_company().ok_or_else(|| {
        tr(
            lang,
            "Najpierw dodaj firmę (Firmy).",
            "Add a company first (Companies).",
        )
        .to_owned()
    })?;
    let db = ctx.db().await.or_problem(lang)?;
    let mut cred = credentials::default_for(&db, &company.id)
        .await
        .or_problem(lang)?
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
        .ok_or_else(|| crate::vault::VaultError::Locked.message(lang))?;
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
        let token = vault.open_str(&cred.secret).await.or_problem(lang)?;
        let tokens = session::login_with_token(company.env, &company.nip, &token)
            .await
            .map_err(|e| e.problem(lang))?;
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
