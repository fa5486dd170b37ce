//! The export path: polls, parts, truncated packages, a failed export, and unpacking ZIP/TarGz.

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::sync::{
    Compression, MemoryStore, Phase, Step, SubjectType, Trigger, WaitReason, parse_package, unpack,
};
use serde_json::json;

use super::{
    DAY, Fake, MINUTE, NIP, Shared, Tab, finish, iso, key, open, real_now_ms, rng, stored_numbers,
};

#[tokio::test]
async fn export_sync_polls_downloads_parts_and_stores_each_invoice_once() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(25, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().polls_before_ready = 2;
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Manual, tab.now).await.unwrap(),
        Step::Continue
    );
    let steps = finish(&mut run, &mut tab, 50).await;

    let waits: Vec<_> = steps
        .iter()
        .filter(|s| {
            matches!(
                s,
                Step::WaitUntil {
                    reason: WaitReason::ExportProcessing,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        waits.len(),
        3,
        "one wait after starting, two while KSeF said 100: {steps:?}"
    );
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        1,
        "a 30-day-old cursor goes through one export"
    );
    assert_eq!(f.count("POST", "/invoices/query/metadata"), 0);
    assert_eq!(
        f.count_prefix("/storage/exports/"),
        2,
        "both package parts downloaded"
    );
    assert_eq!(stored_numbers(&store).len(), 25);
    assert!(store.no_double_writes());
    let stored = store.invoices_of(NIP);
    assert!(
        stored
            .iter()
            .all(|i| i.xml.as_deref().is_some_and(|x| x.starts_with("<Faktura>")))
    );
    assert!(
        stored
            .iter()
            .all(|i| i.metadata.other.get("invoiceType") == Some(&json!("Vat"))),
        "unknown metadata fields are kept"
    );
    let p = run.progress();
    assert_eq!(
        (
            p.exports_started,
            p.parts_total,
            p.parts_done,
            p.invoices_announced,
            p.invoices_new,
            p.duplicates
        ),
        (1, 2, 2, 25, 25, 0)
    );
    assert_eq!(p.status_polls, 3);
    let cursor = store.cursors.borrow()[&key()].clone();
    assert_eq!(
        cursor.from,
        iso(now - MINUTE),
        "the next window starts at the HWM"
    );
    assert_eq!(cursor.phase, Phase::Idle);
}

#[tokio::test]
async fn truncated_package_continues_from_last_permanent_storage_date() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(25, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().cap = 10;
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 100).await;

    let f = fake.borrow();
    let starts: Vec<String> = f
        .log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/invoices/exports"))
        .map(|(_, _, b)| {
            b["filters"]["dateRange"]["from"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(starts.len(), 3, "10 + 10 + the rest: {starts:?}");
    let sorted: Vec<u64> = {
        let mut v: Vec<u64> = f.invoices.iter().map(|i| i.stored_ms).collect();
        v.sort();
        v
    };
    assert_eq!(
        starts[1],
        iso(sorted[9]),
        "second export starts at lastPermanentStorageDate of the first"
    );
    assert_eq!(
        starts[2],
        iso(sorted[18]),
        "each continuation repeats the last invoice of the previous package"
    );
    assert_eq!(stored_numbers(&store).len(), 25);
    assert!(
        store.no_double_writes(),
        "the overlapping invoice is not stored twice"
    );
    assert_eq!(run.progress().duplicates, 2);
    assert_eq!(run.progress().invoices_new, 25);
    assert_eq!(run.progress().windows_done, 3);
}

#[tokio::test]
async fn a_failed_export_is_reported_and_the_next_run_starts_it_again() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(3, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().fail_status = Some(415);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    let err = loop {
        match run.step(&mut tab.keys, "access", tab.now, &mut rng()).await {
            Ok(Step::WaitUntil { until_ms, .. }) => tab.now = until_ms,
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("415"), "{err}");
    assert_eq!(run.cursor().phase, Phase::Planning);
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 3);
}

#[test]
fn packages_unpack_from_deflated_zip_and_targz_with_hash_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sync");
    for (file, compression) in [
        ("package-deflate.zip", Compression::Zip),
        ("package.tar.gz", Compression::TarGz),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let entries = unpack(&bytes, compression, 1 << 20).unwrap();
        assert_eq!(entries.len(), 3, "{file}");
        let invoices = parse_package(entries, SubjectType::Subject2, false).unwrap();
        assert_eq!(invoices.len(), 2, "{file}");
        assert_eq!(
            invoices[0].metadata.seller.name.as_deref(),
            Some("Biuro Rachunkowe Liczydło sp. z o.o.")
        );
        assert!(
            invoices[0]
                .xml
                .as_deref()
                .unwrap()
                .contains("Usługa księgowa za luty"),
            "{file}"
        );
        assert_eq!(invoices[1].metadata.other["invoiceType"], "Kor");
    }
    // A flipped byte in the deflated data fails the CRC instead of yielding a wrong invoice.
    let mut damaged = std::fs::read(dir.join("package-deflate.zip")).unwrap();
    damaged[80] ^= 0x55; // inside the first entry's deflated data
    assert!(unpack(&damaged, Compression::Zip, 1 << 20).is_err());
    // An XML that does not match its invoiceHash is refused.
    let zip = std::fs::read(dir.join("package-deflate.zip")).unwrap();
    let mut entries = unpack(&zip, Compression::Zip, 1 << 20).unwrap();
    let xml = entries
        .iter_mut()
        .find(|e| e.name.ends_with(".xml"))
        .unwrap();
    xml.bytes.extend(b"<!-- changed -->");
    assert!(parse_package(entries, SubjectType::Subject2, false).is_err());
}
