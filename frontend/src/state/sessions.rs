//! The KSeF login kept across reloads: sealed and stored on every change ([`keep_session`]),
//! brought back after unlocking ([`restore_session`]), refreshed before it expires
//! ([`refresh_if_needed`]).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ownership;
use crate::session;
use crate::state::AppCtx;

/// Seals and stores the current KSeF login with its online session, so a reload keeps them
/// (see [`session::keep`]). Needs the vault unlocked; without it nothing is written.
pub fn keep_session(ctx: AppCtx) {
    let (Some(s), Some(vault)) = (ctx.session.get_untracked(), ctx.vault.get_untracked()) else {
        return;
    };
    spawn_local(async move {
        let online = ctx.send_cache.with_value(|c| {
            c.online_of(&s.reference_number)
                .map(session::OnlineSessionData::of)
        });
        let result = async {
            let db = ctx.db().await?;
            session::keep(&db, &vault, &s, online).await
        }
        .await;
        // A locked vault only means the login is not kept across a reload.
        if let Err(session::KeepError::Storage(e)) = result {
            ctx.storage_error.set(Some(e));
        }
    });
}

/// After the vault is unlocked (or the company changes) with no login in memory, brings back
/// the company's stored KSeF sessions ([`session::restore`]).
pub fn restore_session(ctx: AppCtx) {
    let (Some(company_id), Some(vault)) = (ctx.current.get_untracked(), ctx.vault.get_untracked())
    else {
        return;
    };
    if ctx
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.company_id == company_id))
    {
        return;
    }
    spawn_local(async move {
        let result = async {
            let db = ctx.db().await?;
            session::restore(&db, &vault, &company_id, js_sys::Date::now()).await
        }
        .await;
        match result {
            Ok(session::Restored::Session(s, _))
                if !ctx
                    .companies
                    .with_untracked(|list| list.iter().any(|c| ownership::session_of(&s, c))) =>
            {
                // A login from before the company's NIP (or environment) changed: over.
                if let Ok(db) = ctx.db().await {
                    let _ = session::forget_kept(&db, &s.company_id).await;
                }
            }
            Ok(session::Restored::Session(s, online)) => {
                if let Some(online) = online
                    .as_ref()
                    .and_then(session::OnlineSessionData::to_online)
                {
                    ctx.send_cache.update_value(|c| {
                        c.for_env(s.env.slug()).online = Some((s.reference_number.clone(), online));
                    });
                }
                // Unless a login for this company happened meanwhile.
                if ctx
                    .session
                    .with_untracked(|cur| cur.as_ref().is_none_or(|c| c.company_id != s.company_id))
                {
                    ctx.session.set(Some(s));
                }
            }
            Ok(_) => {}
            Err(session::KeepError::Storage(e)) => ctx.storage_error.set(Some(e)),
            // Sealed by another passphrase or damaged: it is useless, log in as usual.
            Err(session::KeepError::Vault(_)) => {}
        }
    });
}

/// Refreshes the access token when it expires within a minute (called every 10 s by the
/// shell); a failed refresh ends the session with a message.
pub fn refresh_if_needed(ctx: AppCtx, now_ms: f64) {
    let Some(s) = ctx.session.get_untracked() else {
        return;
    };
    if s.access_expires_in_ms(now_ms) > 60_000.0 || ctx.refreshing.get_value() {
        return;
    }
    ctx.refreshing.set_value(true);
    spawn_local(async move {
        match session::refresh(s.env, &s.refresh.token).await {
            Ok(access) => adopt_refreshed(ctx, &s.reference_number, access),
            Err(_) => ctx.session.set(None),
        }
        ctx.refreshing.set_value(false);
    });
}

/// Puts a refreshed access token into the login it belongs to (unless that login ended
/// meanwhile); the change is kept by the shell's session effect.
pub fn adopt_refreshed(ctx: AppCtx, reference_number: &str, access: session::TokenInfo) {
    ctx.session.update(|cur| {
        if let Some(cur) = cur
            .as_mut()
            .filter(|c| c.reference_number == reference_number)
        {
            cur.access = access;
            cur.refreshed_at_ms = js_sys::Date::now();
        }
    });
}
