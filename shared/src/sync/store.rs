//! Where the sync keeps its cursor and the invoices: IndexedDB in the browser, memory in tests.

use std::fmt;
use std::future::Future;

use super::package::FetchedInvoice;
use super::state::{SyncCursor, SyncKey};
use crate::error::Error;

/// Persistence the sync needs. The machine saves the cursor before every KSeF request, so a
/// reload, crash or lost connection resumes from the last saved cursor; invoices are keyed by
/// company NIP and KSeF number, and the machine inserts only numbers [`known`](Self::known)
/// reported absent, so nothing is stored twice.
pub trait SyncStore {
    /// The store's own failure (quota, closed database).
    type Error: fmt::Display;

    /// The saved cursor of `key`, if any.
    fn load_cursor(
        &self,
        key: &SyncKey,
    ) -> impl Future<Output = Result<Option<SyncCursor>, Self::Error>>;

    /// Replaces the saved cursor of `cursor.key`.
    fn save_cursor(&self, cursor: &SyncCursor) -> impl Future<Output = Result<(), Self::Error>>;

    /// For each number, whether the company already holds that invoice (any perspective).
    fn known(
        &self,
        company_nip: &str,
        ksef_numbers: &[String],
    ) -> impl Future<Output = Result<Vec<bool>, Self::Error>>;

    /// Stores new invoices (all absent per [`known`](Self::known)); one transaction if possible.
    fn insert(
        &self,
        company_nip: &str,
        invoices: Vec<FetchedInvoice>,
    ) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A sync failure: KSeF/network (see [`Error`]) or the local store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// KSeF, the network or the package; the cursor is saved, run the sync again.
    #[error(transparent)]
    Ksef(#[from] Error),
    /// The local database failed.
    #[error(
        "Nie udało się zapisać danych synchronizacji w przeglądarce: {0} — zwolnij miejsce lub odśwież stronę i uruchom synchronizację ponownie. / Could not save sync data in the browser: {0}; free some space or reload and run the sync again."
    )]
    Store(String),
}

impl SyncError {
    /// True when the user has to log in again before the sync can continue.
    pub fn needs_login(&self) -> bool {
        matches!(self, Self::Ksef(e) if e.needs_login())
    }
}

pub(crate) fn store_error<E: fmt::Display>(e: E) -> SyncError {
    SyncError::Store(e.to_string())
}

impl<S: SyncStore> SyncStore for &S {
    type Error = S::Error;

    fn load_cursor(
        &self,
        key: &SyncKey,
    ) -> impl Future<Output = Result<Option<SyncCursor>, Self::Error>> {
        (**self).load_cursor(key)
    }

    fn save_cursor(&self, cursor: &SyncCursor) -> impl Future<Output = Result<(), Self::Error>> {
        (**self).save_cursor(cursor)
    }

    fn known(
        &self,
        company_nip: &str,
        ksef_numbers: &[String],
    ) -> impl Future<Output = Result<Vec<bool>, Self::Error>> {
        (**self).known(company_nip, ksef_numbers)
    }

    fn insert(
        &self,
        company_nip: &str,
        invoices: Vec<FetchedInvoice>,
    ) -> impl Future<Output = Result<(), Self::Error>> {
        (**self).insert(company_nip, invoices)
    }
}
