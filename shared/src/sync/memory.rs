//! An in-memory [`SyncStore`]: the reference implementation the tests use (and a model of
//! what the IndexedDB store must do).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;

use super::package::FetchedInvoice;
use super::state::{SyncCursor, SyncKey};
use super::store::SyncStore;

/// Cursors and invoices in `BTreeMap`s behind `RefCell`s (single-threaded, like the browser).
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    /// Saved cursors.
    pub cursors: RefCell<BTreeMap<SyncKey, SyncCursor>>,
    /// Invoices by `(company NIP, KSeF number)`.
    pub invoices: RefCell<BTreeMap<(String, String), FetchedInvoice>>,
    /// How many times each `(company, KSeF number)` was inserted (a test sees any double write).
    pub insert_counts: RefCell<BTreeMap<(String, String), u32>>,
    /// Cursor saves so far.
    pub saves: RefCell<u32>,
}

impl MemoryStore {
    /// Invoices stored for `company_nip`.
    pub fn invoices_of(&self, company_nip: &str) -> Vec<FetchedInvoice> {
        self.invoices
            .borrow()
            .iter()
            .filter(|((c, _), _)| c == company_nip)
            .map(|(_, i)| i.clone())
            .collect()
    }

    /// True when no invoice was ever inserted twice.
    pub fn no_double_writes(&self) -> bool {
        self.insert_counts.borrow().values().all(|&n| n == 1)
    }
}

impl SyncStore for MemoryStore {
    type Error = Infallible;

    async fn load_cursor(&self, key: &SyncKey) -> Result<Option<SyncCursor>, Infallible> {
        Ok(self.cursors.borrow().get(key).cloned())
    }

    async fn save_cursor(&self, cursor: &SyncCursor) -> Result<(), Infallible> {
        *self.saves.borrow_mut() += 1;
        self.cursors
            .borrow_mut()
            .insert(cursor.key.clone(), cursor.clone());
        Ok(())
    }

    async fn known(&self, company_nip: &str, numbers: &[String]) -> Result<Vec<bool>, Infallible> {
        let invoices = self.invoices.borrow();
        Ok(numbers
            .iter()
            .map(|n| invoices.contains_key(&(company_nip.to_owned(), n.clone())))
            .collect())
    }

    async fn insert(
        &self,
        company_nip: &str,
        invoices: Vec<FetchedInvoice>,
    ) -> Result<(), Infallible> {
        for invoice in invoices {
            let id = (company_nip.to_owned(), invoice.ksef_number.clone());
            *self
                .insert_counts
                .borrow_mut()
                .entry(id.clone())
                .or_default() += 1;
            self.invoices.borrow_mut().insert(id, invoice);
        }
        Ok(())
    }
}
