//! Invoice numbering series in IndexedDB (`series` store), in headless Chromium: numbers per
//! company, per month, never twice (also when taken at the same time), the one-time move from
//! localStorage, and the counter surviving a reopened database.
#![cfg(target_arch = "wasm32")]

use kwit_web::series::{self, PeriodCounter, SeriesError, SeriesRecord, legacy_key, parse_legacy};
use kwit_web::store::{self, Db, SCHEMA_VERSION};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh(name: &str) -> Db {
    store::delete_database(name).await.unwrap();
    store::open_named(name, SCHEMA_VERSION).await.unwrap()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
async fn numbers_count_on_per_company_and_month_and_survive_reopening() {
    let name = "kwit-test-series";
    let db = fresh(name).await;
    let take = |company: &'static str, date: &'static str| {
        let db = db.clone();
        async move { series::take_number(&db, company, "", date).await.unwrap() }
    };
    assert_eq!(take("c1", "2026-11-05").await, "FV/1/11/2026");
    assert_eq!(take("c1", "2026-11-20").await, "FV/2/11/2026");
    // Another company has its own series.
    assert_eq!(take("c2", "2026-11-20").await, "FV/1/11/2026");
    // A new month starts at 1...
    assert_eq!(take("c1", "2026-12-01").await, "FV/1/12/2026");
    // ...and an invoice dated back in November continues November's count: no repeated number.
    assert_eq!(take("c1", "2026-11-30").await, "FV/3/11/2026");
    assert_eq!(take("c1", "2026-12-02").await, "FV/2/12/2026");
    db.close();

    // After a reload (a new connection) the counter goes on.
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    assert_eq!(
        series::take_number(&db, "c1", "", "2026-11-30")
            .await
            .unwrap(),
        "FV/4/11/2026"
    );
    let stored: SeriesRecord = series::load(&db, "c1").await.unwrap().unwrap();
    assert_eq!(stored.pattern, series::DEFAULT_SERIES);
    db.close();
}

#[wasm_bindgen_test]
async fn numbers_taken_at_the_same_time_all_differ() {
    let db = fresh("kwit-test-series-race").await;
    let promises = js_sys::Array::new();
    for _ in 0..5 {
        let db = db.clone();
        promises.push(&future_to_promise(async move {
            series::take_number(&db, "c1", "", "2026-11-05")
                .await
                .map(|n| JsValue::from_str(&n))
                .map_err(|e| JsValue::from_str(&e.to_string()))
        }));
    }
    let all = JsFuture::from(js_sys::Promise::all(&promises))
        .await
        .unwrap();
    let mut numbers: Vec<String> = js_sys::Array::from(&all)
        .iter()
        .map(|v| v.as_string().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        [
            "FV/1/11/2026",
            "FV/2/11/2026",
            "FV/3/11/2026",
            "FV/4/11/2026",
            "FV/5/11/2026"
        ]
    );
    db.close();
}

#[wasm_bindgen_test]
async fn a_series_in_local_storage_moves_to_indexed_db_once() {
    let db = fresh("kwit-test-series-legacy").await;
    let nip = "5265877635";
    local_storage()
        .set_item(
            &legacy_key(nip),
            r#"{"pattern":"FV/{n}/{MM}/{YYYY}","last":[7,"2026-11-03"]}"#,
        )
        .unwrap();
    assert_eq!(
        series::take_number(&db, "c1", nip, "2026-11-10")
            .await
            .unwrap(),
        "FV/8/11/2026",
        "continues from the old counter"
    );
    assert_eq!(
        local_storage().get_item(&legacy_key(nip)).unwrap(),
        None,
        "removed from localStorage"
    );
    // A stale copy put back in localStorage is not read again: IndexedDB is the truth now.
    local_storage()
        .set_item(
            &legacy_key(nip),
            r#"{"pattern":"FV/{n}/{MM}/{YYYY}","last":[1,"2026-11-03"]}"#,
        )
        .unwrap();
    assert_eq!(
        series::take_number(&db, "c1", nip, "2026-11-10")
            .await
            .unwrap(),
        "FV/9/11/2026"
    );
    local_storage().remove_item(&legacy_key(nip)).unwrap();
    db.close();
}

#[wasm_bindgen_test]
async fn a_bad_date_or_no_company_takes_no_number() {
    let db = fresh("kwit-test-series-bad").await;
    assert_eq!(
        series::take_number(&db, "c1", "", "jutro").await,
        Err(SeriesError::Date)
    );
    assert_eq!(
        series::take_number(&db, "", "", "2026-11-05").await,
        Err(SeriesError::NoCompany)
    );
    assert_eq!(
        series::load(&db, "c1").await.unwrap(),
        None,
        "nothing burnt"
    );
    assert_eq!(
        series::take_number(&db, "c1", "", "2026-11-05")
            .await
            .unwrap(),
        "FV/1/11/2026"
    );
    db.close();
}

#[wasm_bindgen_test]
fn the_stored_text_and_the_old_local_storage_json_read_back() {
    let r = SeriesRecord {
        pattern: "FV/{n}/{MM}/{YYYY}".into(),
        counters: vec![
            PeriodCounter {
                period: "2026-11".into(),
                last: 12,
            },
            PeriodCounter {
                period: String::new(),
                last: 3,
            },
        ],
    };
    assert_eq!(SeriesRecord::decode(&r.encode()), r);
    assert_eq!(
        parse_legacy(r#"{"pattern":"R/{n}/{YYYY}","last":[7,"2026-11-03"]}"#),
        Some(("R/{n}/{YYYY}".into(), Some((7, "2026-11-03".into()))))
    );
    assert_eq!(
        parse_legacy(r#"{"pattern":"FV/{n}/{MM}/{YYYY}","last":null}"#),
        Some(("FV/{n}/{MM}/{YYYY}".into(), None))
    );
    assert_eq!(parse_legacy("nie json"), None);
}
