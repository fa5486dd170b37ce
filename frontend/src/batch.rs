//! "Wyślij zaznaczone (sesja wsadowa)": the page checks and writes the selected invoices
//! (the same rules as the online send) and hands them to ksef-core's batch machine, which
//! runs in a `kwit-sync` worker instance (its ZIP, hashing and encryption stay out of the
//! first load and off the main thread; see the worker crate's [`kwit_sync::BatchJob`]).
//! The worker keeps the batch in `settings/batch` until every invoice has its outcome and
//! writes each invoice's state into its draft, so a reload resumes the same session.

use kwit_sync::{BATCH_KEY, BatchJob};
use leptos::prelude::*;

use crate::api::Problem;
use crate::drafts::DraftRecord;
use crate::i18n::{Lang, tr};
use crate::send::login_for;
use crate::store::Store;

/// Parts uploaded, parts, invoices with an outcome, invoices (the progress bar).
pub type Progress = (usize, usize, usize, usize);

/// Sends the drafts `picked` in one batch session, or carries on the stored batch (then
/// `picked` is ignored). None stored and none picked: nothing to do (no worker is started),
/// which is the user's mistake when they `clicked`.
/// The worker reads, checks and writes each invoice from its draft record.
pub async fn run(
    ctx: crate::state::AppCtx,
    picked: Vec<DraftRecord>,
    clicked: bool,
    progress: RwSignal<Progress>,
    lang: Lang,
) -> Result<(), Problem> {
    let say = |pl, en| Problem::from(tr(lang, pl, en));
    let storage = |e: crate::store::StorageError| Problem::from(e.message(lang));
    let db = ctx.db().await.map_err(storage)?;
    let stored = db.has(Store::Settings, BATCH_KEY).await.map_err(storage)?;
    if !stored && picked.is_empty() {
        return match clicked {
            true => Err(say(
                "Zaznacz faktury do wysłania (pole przy szkicu).",
                "Select the invoices to send (the box beside a draft).",
            )),
            false => Ok(()),
        };
    }
    let companies = ctx.companies.get_untracked();
    let current = ctx.current.get_untracked();
    let company = companies.iter().find(|c| Some(&c.id) == current.as_ref());
    let session = ctx.session.get_untracked();
    let login = login_for(session.as_ref(), company).ok_or_else(|| {
        say(
            "Brak logowania do KSeF tej firmy — zaloguj się i kliknij ponownie.",
            "Not logged in to KSeF for this company: log in and click again.",
        )
    })?;
    let mut ids = Vec::new();
    if !stored {
        for r in picked.iter().filter(|r| r.send.editable()) {
            crate::ownership::check_send(r, company, &companies, session.as_ref())
                .map_err(|e| Problem::from(e.message(lang)))?;
            ids.push(r.id.clone());
        }
    }
    let vault = ctx
        .vault
        .get_untracked()
        .ok_or_else(|| crate::sync_worker::locked(lang))?;
    let env = company.map(|c| c.env).unwrap_or_default();
    let (base_url, storage_base) = crate::sync_worker::relay_paths(env);
    let job = BatchJob {
        base_url,
        storage_base,
        env: env.slug().to_owned(),
        access_token: login.token.clone(),
        nip: company.map(|c| c.nip.clone()).unwrap_or_default(),
        today: crate::state::clock::today_string(),
        ids,
    };
    let failure = RwSignal::new(None);
    let outcome = ctx
        .batch_worker
        .get_value()
        .run_batch(&job, vault.key(), move |u| {
            if let Some([p, pn, i, n]) = u.batch {
                progress.set((p, pn, i, n));
            }
            if u.failure.is_some() {
                failure.set(u.failure);
            }
        })
        .await;
    match outcome.err().or_else(|| failure.get_untracked()) {
        None => Ok(()),
        Some(f) => Err(crate::sync_worker::problem(f, lang)),
    }
}
