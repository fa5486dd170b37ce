//! IndexedDB store: round trips and schema upgrades, in headless Chromium.
#![cfg(target_arch = "wasm32")]

use kwit_web::store::{self, Record, SCHEMA_VERSION, Store};
use serde::{Deserialize, Serialize};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: String,
    name: String,
    #[serde(default)]
    added_in_v2: Option<String>,
}

impl Record for Item {
    const STORE: Store = Store::Companies;
    fn key(&self) -> String {
        self.id.clone()
    }
}

fn item(id: &str, name: &str) -> Item {
    Item {
        id: id.into(),
        name: name.into(),
        added_in_v2: None,
    }
}

#[wasm_bindgen_test]
async fn put_get_list_delete_round_trip() {
    let name = "kwit-test-roundtrip";
    store::delete_database(name).await.unwrap();
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(db.version(), SCHEMA_VERSION);
    let mut names = db.store_names();
    names.sort();
    assert_eq!(
        names,
        [
            "companies",
            "credentials",
            "drafts",
            "invoices",
            "ksef_documents",
            "ksef_invoices",
            "ksef_sync",
            "series",
            "sessions",
            "settings"
        ]
    );

    db.put(Store::Drafts, "b", &item("b", "Druga"))
        .await
        .unwrap();
    db.put(Store::Drafts, "a", &item("a", "Pierwsza"))
        .await
        .unwrap();
    assert_eq!(
        db.get::<Item>(Store::Drafts, "a").await.unwrap(),
        Some(item("a", "Pierwsza"))
    );
    assert_eq!(db.get::<Item>(Store::Drafts, "zzz").await.unwrap(), None);
    // Stores are separate: the same key in another store is another record.
    assert_eq!(db.get::<Item>(Store::Invoices, "a").await.unwrap(), None);

    db.put(Store::Drafts, "a", &item("a", "Zmieniona"))
        .await
        .unwrap();
    let all: Vec<Item> = db.list(Store::Drafts).await.unwrap();
    assert_eq!(all, vec![item("a", "Zmieniona"), item("b", "Druga")]);

    db.delete(Store::Drafts, "a").await.unwrap();
    let all: Vec<Item> = db.list(Store::Drafts).await.unwrap();
    assert_eq!(all, vec![item("b", "Druga")]);

    // Typed records pick their store and key.
    db.save(&item("c1", "Firma")).await.unwrap();
    assert_eq!(db.load::<Item>("c1").await.unwrap().unwrap().name, "Firma");
    assert_eq!(db.load_all::<Item>().await.unwrap().len(), 1);
    db.remove::<Item>("c1").await.unwrap();
    assert!(db.load_all::<Item>().await.unwrap().is_empty());
    db.close();
}

#[wasm_bindgen_test]
async fn data_survives_reopening() {
    let name = "kwit-test-reopen";
    store::delete_database(name).await.unwrap();
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    db.put(Store::Settings, "lang", &"en".to_string())
        .await
        .unwrap();
    db.close();
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(
        db.get::<String>(Store::Settings, "lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    db.close();
}

#[wasm_bindgen_test]
async fn version_1_database_upgrades_and_keeps_its_data() {
    let name = "kwit-test-upgrade";
    store::delete_database(name).await.unwrap();
    let v1 = store::open_named(name, 1).await.unwrap();
    let mut names = v1.store_names();
    names.sort();
    assert_eq!(
        names,
        ["companies", "drafts", "settings"],
        "v1 had no credentials/invoices"
    );
    // A v1 record without the field added later.
    v1.put(
        Store::Companies,
        "c1",
        &serde_json::json!({"id": "c1", "name": "Stara firma"}),
    )
    .await
    .unwrap();
    v1.put(Store::Drafts, "d1", &item("d1", "Szkic"))
        .await
        .unwrap();
    v1.close();

    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(db.version(), SCHEMA_VERSION);
    let mut names = db.store_names();
    names.sort();
    assert_eq!(
        names,
        [
            "companies",
            "credentials",
            "drafts",
            "invoices",
            "ksef_documents",
            "ksef_invoices",
            "ksef_sync",
            "series",
            "sessions",
            "settings"
        ]
    );
    let c: Item = db
        .get(Store::Companies, "c1")
        .await
        .unwrap()
        .expect("v1 company kept");
    assert_eq!(c, item("c1", "Stara firma"));
    assert_eq!(
        db.list::<Item>(Store::Drafts).await.unwrap(),
        vec![item("d1", "Szkic")]
    );
    // New stores work after the upgrade.
    db.put(Store::Credentials, "k1", &item("k1", "token"))
        .await
        .unwrap();
    assert_eq!(db.list::<Item>(Store::Credentials).await.unwrap().len(), 1);
    db.close();
}

#[wasm_bindgen_test]
async fn version_2_database_upgrades_to_3_and_keeps_its_data() {
    let name = "kwit-test-upgrade-v2";
    store::delete_database(name).await.unwrap();
    let v2 = store::open_named(name, 2).await.unwrap();
    let mut names = v2.store_names();
    names.sort();
    assert_eq!(
        names,
        ["companies", "credentials", "drafts", "invoices", "settings"],
        "v2 had no series/sessions"
    );
    v2.put(Store::Credentials, "k1", &item("k1", "Token"))
        .await
        .unwrap();
    v2.put(Store::Invoices, "i1", &item("i1", "Wysłana"))
        .await
        .unwrap();
    v2.put(Store::Settings, "current", &item("current", "c1"))
        .await
        .unwrap();
    v2.close();

    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(db.version(), SCHEMA_VERSION);
    let mut names = db.store_names();
    names.sort();
    assert_eq!(
        names,
        [
            "companies",
            "credentials",
            "drafts",
            "invoices",
            "ksef_documents",
            "ksef_invoices",
            "ksef_sync",
            "series",
            "sessions",
            "settings"
        ]
    );
    assert_eq!(
        db.get::<Item>(Store::Credentials, "k1").await.unwrap(),
        Some(item("k1", "Token"))
    );
    assert_eq!(
        db.get::<Item>(Store::Invoices, "i1").await.unwrap(),
        Some(item("i1", "Wysłana"))
    );
    assert_eq!(
        db.get::<Item>(Store::Settings, "current").await.unwrap(),
        Some(item("current", "c1"))
    );
    // The new stores work after the upgrade.
    db.put(Store::Series, "c1", &item("c1", "FV"))
        .await
        .unwrap();
    db.put(Store::Sessions, "c1", &item("c1", "sealed"))
        .await
        .unwrap();
    assert_eq!(db.list::<Item>(Store::Series).await.unwrap().len(), 1);
    assert_eq!(db.list::<Item>(Store::Sessions).await.unwrap().len(), 1);
    db.close();
}

#[wasm_bindgen_test]
async fn version_3_database_upgrades_to_4_keeps_its_data_and_batches_writes() {
    let name = "kwit-test-upgrade-v3";
    store::delete_database(name).await.unwrap();
    let v3 = store::open_named(name, 3).await.unwrap();
    assert!(
        !v3.store_names().iter().any(|n| n.starts_with("ksef_")),
        "v3 had no KSeF copy"
    );
    v3.put(Store::Sessions, "c1", &item("c1", "sealed"))
        .await
        .unwrap();
    v3.put(Store::Series, "c1", &item("c1", "FV"))
        .await
        .unwrap();
    v3.close();

    let db = store::open_named(name, 4).await.unwrap();
    assert_eq!(db.version(), 4);
    assert_eq!(
        db.get::<Item>(Store::Sessions, "c1").await.unwrap(),
        Some(item("c1", "sealed"))
    );
    assert_eq!(
        db.get::<Item>(Store::Series, "c1").await.unwrap(),
        Some(item("c1", "FV"))
    );
    let many: Vec<(String, Item)> = (0..500)
        .map(|i| {
            (
                format!("5265877635|K{i:04}"),
                item(&format!("K{i:04}"), "faktura"),
            )
        })
        .collect();
    db.put_many(Store::KsefInvoices, &many).await.unwrap();
    assert_eq!(
        db.list::<Item>(Store::KsefInvoices).await.unwrap().len(),
        500
    );
    assert!(
        db.has(Store::KsefInvoices, "5265877635|K0007")
            .await
            .unwrap()
    );
    assert!(
        !db.has(Store::KsefInvoices, "5265877635|K9999")
            .await
            .unwrap()
    );
    db.put(Store::KsefSync, "5265877635|Subject2", &item("c", "sealed"))
        .await
        .unwrap();
    assert_eq!(db.list::<Item>(Store::KsefSync).await.unwrap().len(), 1);
    db.close();
}

#[wasm_bindgen_test]
async fn update_reads_and_writes_in_one_transaction_and_writes_nothing_on_error() {
    let name = "kwit-test-update";
    store::delete_database(name).await.unwrap();
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    let n: u32 = db
        .update(Store::Settings, "n", |old: Option<u32>| {
            let next = old.unwrap_or(0) + 1;
            Ok::<_, store::StorageError>((next, next))
        })
        .await
        .unwrap();
    assert_eq!(n, 1);
    let refused = db
        .update(Store::Settings, "n", |_: Option<u32>| {
            Err::<(u32, ()), _>(store::StorageError::Io("no".into()))
        })
        .await;
    assert!(refused.is_err());
    assert_eq!(db.get::<u32>(Store::Settings, "n").await.unwrap(), Some(1));
    db.close();
}

#[wasm_bindgen_test]
fn new_ids_are_unique_uuids() {
    let a = store::new_id();
    let b = store::new_id();
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
}

#[wasm_bindgen_test]
async fn version_4_database_upgrades_to_5_keeps_fetched_invoices_and_adds_their_documents() {
    let name = "kwit-test-upgrade-v4";
    store::delete_database(name).await.unwrap();
    let v4 = store::open_named(name, 4).await.unwrap();
    assert!(!v4.store_names().iter().any(|n| n == "ksef_documents"));
    // A v4 record: the row with the invoice inline.
    v4.put(
        Store::KsefInvoices,
        "5265877635|K1",
        &item("K1", "{\"ksefNumber\":\"K1\"}"),
    )
    .await
    .unwrap();
    v4.close();

    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(db.version(), 5);
    assert_eq!(
        db.get::<Item>(Store::KsefInvoices, "5265877635|K1")
            .await
            .unwrap(),
        Some(item("K1", "{\"ksefNumber\":\"K1\"}")),
        "the v4 record is kept as it was"
    );
    db.put(Store::KsefDocuments, "5265877635|K2", &"{}".to_owned())
        .await
        .unwrap();
    assert!(db.has(Store::KsefDocuments, "5265877635|K2").await.unwrap());
    assert!(!db.has(Store::KsefDocuments, "5265877635|K1").await.unwrap());
    db.close();
}
