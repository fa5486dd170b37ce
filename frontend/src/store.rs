//! Kwit's local database: one IndexedDB database (`kwit`) with a versioned schema.
//!
//! How to use it (all functions are `async` and `!Send`: call them from `spawn_local`,
//! `LocalResource` or `Action::new_local`):
//!
//! ```ignore
//! use kwit_web::store::{self, Store};
//! let db = store::open().await?;                              // opens/upgrades to SCHEMA_VERSION
//! db.put(Store::Drafts, &draft.id, &draft).await?;            // insert or replace, key = id
//! let d: Option<Draft> = db.get(Store::Drafts, "id-1").await?;
//! let all: Vec<Draft> = db.list(Store::Drafts).await?;       // every record, key order
//! db.delete(Store::Drafts, "id-1").await?;
//! ```
//!
//! Or implement [`Record`] for a type and use [`Db::save`] / [`Db::load`] / [`Db::load_all`] /
//! [`Db::remove`], which pick the store and key from the type. Values are stored with serde
//! (as JS objects), keys are strings held outside the value ("out-of-line"), so a record
//! type may carry its id or not. Everything that belongs to a company carries a
//! `company_id` field; filter lists with it (`list` + `retain`).
//!
//! Never store plaintext secrets here: the [`crate::vault`] encrypts KSeF tokens and private
//! keys before they reach the `credentials` store.
//!
//! Schema history (bump [`SCHEMA_VERSION`] and add a step to [`upgrade`] for each change; steps
//! run in order from the stored version, so a database of any older version keeps its data):
//! - v1: `companies`, `drafts`, `settings`
//! - v2: + `credentials` (KSeF tokens/certificates, secrets encrypted), `invoices` (outgoing
//!   invoices with their send state)
//! - v3: + `series` (invoice numbering counters per company), `sessions` (the KSeF login and
//!   online sessions per company, sealed by the vault, so a reload does not need a new login)
//! - v4: + `ksef_invoices` (invoices fetched from KSeF, key `{nip}|{ksefNumber}`), `ksef_sync`
//!   (the sync cursor per company and perspective, sealed: it holds an export's AES key)
//! - v5: + `ksef_documents` (each fetched invoice as KSeF gave it, metadata and XML, under
//!   its `ksef_invoices` key), so the list reads only rows: 10,000 rows with their XML inline
//!   were tens of MB cloned on the main thread. Records of v4 keep their inline copy.

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use indexed_db_futures::{DeserialiseFromJs, SerialiseToJs};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// The database name used by the app.
pub const DB_NAME: &str = "kwit";

/// The schema version this build of Kwit writes.
pub const SCHEMA_VERSION: u32 = 5;

/// The object stores of the current schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// Companies (podmioty) the user issues invoices for.
    Companies,
    /// KSeF tokens and certificates per company (secrets encrypted by the vault).
    Credentials,
    /// Invoice drafts (not yet sent).
    Drafts,
    /// Outgoing invoices with their KSeF send state.
    Invoices,
    /// Small app settings (current company, vault salt/check, ...).
    Settings,
    /// Invoice numbering series per company (pattern and last counter per period).
    Series,
    /// KSeF sessions per company (tokens and keys sealed by the vault).
    Sessions,
    /// Invoices fetched from KSeF ("Faktury KSeF"), per company.
    KsefInvoices,
    /// The KSeF sync cursors, per company and perspective (sealed by the vault).
    KsefSync,
    /// Each fetched invoice as KSeF gave it (JSON), beside its row in [`Store::KsefInvoices`].
    KsefDocuments,
}

impl Store {
    /// Every store of the current schema.
    pub const ALL: [Store; 10] = [
        Store::Companies,
        Store::Credentials,
        Store::Drafts,
        Store::Invoices,
        Store::Settings,
        Store::Series,
        Store::Sessions,
        Store::KsefInvoices,
        Store::KsefSync,
        Store::KsefDocuments,
    ];

    /// The IndexedDB object store name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Companies => "companies",
            Self::Credentials => "credentials",
            Self::Drafts => "drafts",
            Self::Invoices => "invoices",
            Self::Settings => "settings",
            Self::Series => "series",
            Self::Sessions => "sessions",
            Self::KsefInvoices => "ksef_invoices",
            Self::KsefSync => "ksef_sync",
            Self::KsefDocuments => kwit_sync::DOCUMENTS_STORE,
        }
    }

    /// The schema version that introduced the store.
    pub fn since_version(self) -> u32 {
        match self {
            Self::Companies | Self::Drafts | Self::Settings => 1,
            Self::Credentials | Self::Invoices => 2,
            Self::Series | Self::Sessions => 3,
            Self::KsefInvoices | Self::KsefSync => 4,
            Self::KsefDocuments => 5,
        }
    }
}

/// A storage failure, with a message that tells the user what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(crate::i18n::Lang::Pl))]
pub enum StorageError {
    /// The database could not be opened (private mode, blocked, storage disabled).
    Open(String),
    /// A read or write failed.
    Io(String),
}

impl StorageError {
    /// What happened and what to do, in `lang`.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang::{En, Pl};
        match (self, lang) {
            (Self::Open(why), Pl) => format!(
                "Nie można otworzyć lokalnej bazy danych przeglądarki ({why}). Sprawdź, czy przeglądarka nie jest w trybie prywatnym i czy zezwala na przechowywanie danych."
            ),
            (Self::Open(why), En) => format!(
                "The browser database cannot be opened ({why}). Check that the browser is not in private mode and allows this site to store data."
            ),
            (Self::Io(why), Pl) => format!(
                "Błąd zapisu lub odczytu danych w przeglądarce ({why}). Odśwież stronę i spróbuj ponownie."
            ),
            (Self::Io(why), En) => format!(
                "Reading or writing browser data failed ({why}). Reload the page and try again."
            ),
        }
    }
}

impl From<indexed_db_futures::error::Error> for StorageError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// A typed record kept in one store, keyed by its id.
pub trait Record: Serialize + DeserializeOwned {
    /// The store holding records of this type.
    const STORE: Store;
    /// The record's key.
    fn key(&self) -> String;
}

/// An open Kwit database.
#[derive(Clone, Debug)]
pub struct Db {
    db: Database,
}

/// Opens (creating or upgrading) the app database at [`SCHEMA_VERSION`].
pub async fn open() -> Result<Db, StorageError> {
    open_named(DB_NAME, SCHEMA_VERSION).await
}

/// Opens database `name` at `version`, running every upgrade step above the stored version.
/// Tests use other names and older versions to check the migrations.
pub async fn open_named(name: &str, version: u32) -> Result<Db, StorageError> {
    let db = Database::open(name)
        .with_version(version)
        .with_on_upgrade_needed(move |event, db| {
            let old = event.old_version() as u32;
            let new = event.new_version().map_or(version, |v| v as u32);
            upgrade(&db, old, new)
        })
        .await
        .map_err(|e| StorageError::Open(e.to_string()))?;
    Ok(Db { db })
}

/// Deletes database `name` (tests, "forget everything").
pub async fn delete_database(name: &str) -> Result<(), StorageError> {
    Database::delete_by_name(name)
        .map_err(|e| StorageError::Io(e.to_string()))?
        .await
        .map_err(|e| StorageError::Io(e.to_string()))
}

/// The schema steps from `old` to `new`. Each step only adds stores, so records written by an
/// older version stay where they are; record shape changes are absorbed by `#[serde(default)]`
/// on new fields.
fn upgrade(db: &Database, old: u32, new: u32) -> indexed_db_futures::Result<()> {
    for store in Store::ALL {
        let since = store.since_version();
        if since > old && since <= new {
            db.create_object_store(store.name()).build()?;
        }
    }
    Ok(())
}

impl Db {
    /// The version of the opened database.
    pub fn version(&self) -> u32 {
        self.db.version() as u32
    }

    /// The names of the object stores that exist.
    pub fn store_names(&self) -> Vec<String> {
        self.db.object_store_names().collect()
    }

    /// Closes the connection (needed before a test reopens the database at a higher version).
    pub fn close(self) {
        self.db.close();
    }

    /// Inserts or replaces the value under `id`.
    pub async fn put<T: Serialize>(
        &self,
        store: Store,
        id: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.put_js(store, id, value.serialise_to_js()?).await
    }

    // The IndexedDB side of get/put/list works on `JsValue`s and is not generic: one copy in the
    // wasm instead of one per record type (only the serde conversion is per type).

    async fn put_js(&self, store: Store, id: &str, value: JsValue) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(store.name())
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        {
            let os = tx.object_store(store.name())?;
            os.put(value).with_key(id.to_owned()).primitive()?.await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts or replaces every `(id, value)` in ONE transaction (a sync's package of
    /// thousands of invoices is one write, not thousands).
    pub async fn put_many<T: Serialize>(
        &self,
        store: Store,
        items: &[(String, T)],
    ) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(store.name())
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        {
            let os = tx.object_store(store.name())?;
            for (id, value) in items {
                os.put(value.serialise_to_js()?)
                    .with_key(id.clone())
                    .primitive()?
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the store holds `id` (its value is not decoded).
    pub async fn has(&self, store: Store, id: &str) -> Result<bool, StorageError> {
        Ok(self.get_js(store, id).await?.is_some())
    }

    /// The value under `id`, if any.
    pub async fn get<T: DeserializeOwned>(
        &self,
        store: Store,
        id: &str,
    ) -> Result<Option<T>, StorageError> {
        match self.get_js(store, id).await? {
            Some(js) => Ok(Some(T::deserialise_from_js(js)?)),
            None => Ok(None),
        }
    }

    async fn get_js(&self, store: Store, id: &str) -> Result<Option<JsValue>, StorageError> {
        let tx = self.db.transaction(store.name()).build()?;
        let os = tx.object_store(store.name())?;
        let value: Option<JsValue> = os.get(id).primitive()?.await?;
        Ok(value)
    }

    /// Every value of the store, in key order.
    pub async fn list<T: DeserializeOwned>(&self, store: Store) -> Result<Vec<T>, StorageError> {
        let mut out = Vec::new();
        for js in self.list_js(store).await? {
            out.push(T::deserialise_from_js(js)?);
        }
        Ok(out)
    }

    async fn list_js(&self, store: Store) -> Result<Vec<JsValue>, StorageError> {
        let tx = self.db.transaction(store.name()).build()?;
        let os = tx.object_store(store.name())?;
        let iter = os.get_all::<JsValue>().primitive()?.await?;
        let mut out = Vec::new();
        for item in iter {
            out.push(item?);
        }
        Ok(out)
    }

    /// Removes the value under `id` (no error if it does not exist).
    pub async fn delete(&self, store: Store, id: &str) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(store.name())
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        {
            let os = tx.object_store(store.name())?;
            os.delete(id).primitive()?.await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Reads the value under `id` and writes what `change` makes of it, in ONE readwrite
    /// transaction. IndexedDB runs readwrite transactions on a store one after another (also
    /// across tabs), so two callers never both see the same old value (numbering counters).
    /// When `change` fails nothing is written.
    pub async fn update<T, R, E>(
        &self,
        store: Store,
        id: &str,
        change: impl FnOnce(Option<T>) -> Result<(T, R), E>,
    ) -> Result<R, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<StorageError>,
    {
        let io = |e: indexed_db_futures::error::Error| E::from(StorageError::from(e));
        let tx = self
            .db
            .transaction(store.name())
            .with_mode(TransactionMode::Readwrite)
            .build()
            .map_err(io)?;
        let out = {
            let os = tx.object_store(store.name()).map_err(io)?;
            let old: Option<T> = os.get(id).serde().map_err(io)?.await.map_err(io)?;
            // On error the transaction is dropped uncommitted, i.e. aborted.
            let (new, out) = change(old)?;
            let _key: String = os
                .put(&new)
                .with_key(id.to_owned())
                .serde()
                .map_err(io)?
                .await
                .map_err(io)?;
            out
        };
        tx.commit().await.map_err(io)?;
        Ok(out)
    }

    /// Saves a typed record under its own key.
    pub async fn save<R: Record>(&self, record: &R) -> Result<(), StorageError> {
        self.put(R::STORE, &record.key(), record).await
    }

    /// Loads a typed record by key.
    pub async fn load<R: Record>(&self, id: &str) -> Result<Option<R>, StorageError> {
        self.get(R::STORE, id).await
    }

    /// Loads every record of a type.
    pub async fn load_all<R: Record>(&self) -> Result<Vec<R>, StorageError> {
        self.list(R::STORE).await
    }

    /// Removes a typed record by key.
    pub async fn remove<R: Record>(&self, id: &str) -> Result<(), StorageError> {
        self.delete(R::STORE, id).await
    }
}

/// Sorts a short list (what the app shows: companies, invoices) by insertion, stable. The
/// standard library's sort is faster on long lists but costs about 4 KB of wasm per element
/// type; these lists are short.
pub fn sort_small_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

/// A fresh random id (UUID v4 format) for new records.
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    // getrandom with `wasm_js` uses crypto.getRandomValues; failure means no WebCrypto at all.
    if getrandom::fill(&mut b).is_err() {
        let t = js_sys::Date::now() as u64;
        b[..8].copy_from_slice(&t.to_le_bytes());
        b[8..].copy_from_slice(&((js_sys::Math::random() * 1e15) as u64).to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl crate::api::Explain for StorageError {
    fn message_in(&self, lang: crate::i18n::Lang) -> String {
        self.message(lang)
    }
}
