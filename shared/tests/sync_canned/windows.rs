//! Which path a window takes and how wide it is: metadata query for a small one, the 15-minute
//! interval, a manual run, three-month windows for an old cursor.

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::sync::{MemoryStore, Step, Trigger};

use super::{DAY, Fake, MINUTE, Shared, Tab, finish, iso, key, open, real_now_ms, stored_numbers};

#[tokio::test]
async fn second_sync_fetches_only_new_invoices_through_the_metadata_query_and_respects_15_minutes()
{
    let now = real_now_ms();
    let hwm1 = now - MINUTE;
    let fake: Shared = Rc::new(RefCell::new(Fake::new(hwm1)));
    fake.borrow_mut().add_many(20, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().add(1, hwm1); // stored exactly at the HWM: in both adjacent windows
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Automatic, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 21);
    drop(run);

    // Three new invoices arrive after the HWM; the HWM moves on.
    fake.borrow_mut().add_many(3, hwm1 + 2 * MINUTE, 1_000);
    fake.borrow_mut().hwm_ms = hwm1 + 10 * MINUTE;
    let exports_before = fake.borrow().count("POST", "/invoices/exports");
    let sent = fake.borrow().log.len();

    tab.now = now + 5 * MINUTE;
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Deferred {
            next_allowed_ms: now + 15 * MINUTE
        },
        "automatic syncs are at least 15 minutes apart"
    );
    assert_eq!(
        fake.borrow().log.len(),
        sent,
        "a deferred run sends nothing"
    );

    tab.now = now + 15 * MINUTE;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Continue
    );
    finish(&mut run, &mut tab, 50).await;
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        exports_before,
        "a small window needs no export"
    );
    assert_eq!(f.count("POST", "/invoices/query/metadata"), 1);
    assert_eq!(
        f.count_prefix("/v2/invoices/ksef/"),
        3,
        "only the new invoices are downloaded"
    );
    assert_eq!(stored_numbers(&store).len(), 24);
    assert!(store.no_double_writes());
    let p = run.progress();
    assert_eq!(
        (p.invoices_new, p.duplicates, p.single_downloads),
        (3, 1, 3),
        "the HWM invoice is a duplicate"
    );
    assert_eq!(store.cursors.borrow()[&key()].from, iso(hwm1 + 10 * MINUTE));
}

#[tokio::test]
async fn a_manual_sync_is_never_deferred_and_a_busy_small_window_falls_back_to_an_export() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(15, now - 60 * MINUTE, 60_000);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 2 * 3_600_000).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(
        run.begin(Trigger::Manual, tab.now + 1_000).await.unwrap(),
        Step::Continue
    );
    finish(&mut run, &mut tab, 50).await;
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/query/metadata"),
        2,
        "a 2-hour window is asked by metadata first"
    );
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        1,
        "15 > 10 single downloads: one export instead"
    );
    assert_eq!(f.count_prefix("/v2/invoices/ksef/"), 0);
    assert_eq!(stored_numbers(&store).len(), 15);
}

#[tokio::test]
async fn an_old_cursor_is_split_into_adjacent_windows_of_at_most_three_months() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(40, now - 200 * DAY, 5 * DAY);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let first = now - 210 * DAY;
    let mut run = open(&fake, &store, first).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 100).await;
    let f = fake.borrow();
    let ranges: Vec<(String, Option<String>)> = f
        .log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/invoices/exports"))
        .map(|(_, _, b)| {
            let r = &b["filters"]["dateRange"];
            (
                r["from"].as_str().unwrap().to_owned(),
                r["to"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert_eq!(ranges[0].0, iso(first));
    assert_eq!(ranges[0].1.as_deref(), Some(iso(first + 89 * DAY).as_str()));
    assert_eq!(
        Some(ranges[1].0.clone()),
        ranges[0].1,
        "windows are adjacent"
    );
    assert_eq!(Some(ranges[2].0.clone()), ranges[1].1);
    assert_eq!(ranges[2].1, None, "the last window runs to the HWM");
    assert_eq!(stored_numbers(&store).len(), 40);
}
