//! "Faktury KSeF": the sync runs in the `kwit-sync` worker (ksef-core's sync machine, off the
//! main thread and out of the first load: see [`crate::sync_worker`]); this file starts it for
//! the company's login and reads the local copy the worker writes. Searching and filtering
//! never call KSeF: [`rows_for`] reads IndexedDB.

use ksef_core::sync::{Row, SubjectType};
use kwit_sync::{Job, KeptRow, Update, done_key};
use leptos::prelude::{GetUntracked, GetValue, RwSignal, Set};

use crate::api::{Env, Problem};
use crate::i18n::Lang;
use crate::store::{Db, StorageError, Store};

/// What the page shows while a sync runs: the worker's last update.
pub type Status = Update;

/// The company's fetched invoices, as list rows.
pub async fn rows_for(db: &Db, nip: &str) -> Result<Vec<Row>, StorageError> {
    let all: Vec<KeptRow> = db.list(Store::KsefInvoices).await?;
    Ok(all
        .into_iter()
        .filter(|k| k.company_nip == nip)
        .map(|k| k.row)
        .collect())
}

/// The perspectives of `nip` whose sync finished at least once.
pub async fn synced_subjects(db: &Db, nip: &str) -> Vec<SubjectType> {
    let mut out = Vec::new();
    for subject in SubjectType::ALL {
        if let Ok(Some(_)) = db
            .get::<f64>(Store::KsefSync, &done_key(nip, subject))
            .await
        {
            out.push(subject);
        }
    }
    out
}

/// The first window of a perspective never synced: the recent quarter (KSeF allows at most
/// three months per query; the sync continues from there on later).
fn first_from(now_ms: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp((now_ms / 1000.0) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        - time::Duration::days(88);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Runs the sync of `nip`'s `subject` perspective in the worker until it is over, with
/// `status` showing each step; the run's failure, in the user's words, if it failed.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    ctx: crate::state::AppCtx,
    env: Env,
    nip: String,
    subject: SubjectType,
    access_token: String,
    manual: bool,
    status: RwSignal<Status>,
    lang: Lang,
) -> Result<(), Problem> {
    let vault = ctx
        .vault
        .get_untracked()
        .ok_or_else(|| crate::sync_worker::locked(lang))?;
    let (base_url, storage_base) = crate::sync_worker::relay_paths(env);
    let job = Job {
        base_url,
        storage_base,
        nip,
        subject,
        access_token,
        manual,
        first_from: first_from(js_sys::Date::now()),
    };
    let last = RwSignal::new(Status::default());
    let worker = ctx.sync_worker.get_value();
    let outcome = worker
        .run(&job, vault.key(), move |u| {
            last.set(u.clone());
            status.set(u);
        })
        .await;
    match outcome.err().or_else(|| last.get_untracked().failure) {
        None => Ok(()),
        Some(f) => Err(crate::sync_worker::problem(f, lang)),
    }
}
