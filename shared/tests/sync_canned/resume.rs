//! Resuming: a 429 wait that survives a reload, and a crash after any step.

use std::cell::RefCell;
use std::rc::Rc;

use ksef_core::flow::PublicKeys;
use ksef_core::sync::{MemoryStore, Step, Trigger, WaitReason};

use super::{
    DAY, Fake, MINUTE, Shared, Tab, finish, iso, key, open, real_now_ms, rng, stored_numbers,
};

#[tokio::test]
async fn rate_limit_429_becomes_a_wait_that_survives_a_reload_and_then_continues() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(5, now - 10 * DAY, 3_600_000);
    // Request 0 = public keys: throttled; 1 = public keys again, 2 = the export: throttled.
    fake.borrow_mut().throttle.insert(0);
    fake.borrow_mut().throttle.insert(2);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    assert_eq!(
        run.step(&mut tab.keys, "access", tab.now, &mut rng())
            .await
            .unwrap(),
        Step::Continue,
        "planning"
    );
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        },
        "a throttled public-key fetch waits too"
    );
    tab.now = now + 30_000;
    let now = tab.now;
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        },
        "Retry-After: 30 → wait until now + 30 s"
    );
    assert_eq!(run.progress().rate_limited, 2);
    drop(run);

    // A reload 10 s later: the wait is still honoured and nothing is sent.
    let sent = fake.borrow().log.len();
    tab.now = now + 10_000;
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Continue,
        "an unfinished run resumes"
    );
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        }
    );
    assert_eq!(fake.borrow().log.len(), sent, "no request while waiting");
    tab.now = now + 30_000;
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 5);
    assert_eq!(
        fake.borrow().count("POST", "/invoices/exports"),
        2,
        "the throttled export and its retry"
    );
}

#[tokio::test]
async fn a_crash_after_any_step_resumes_from_the_cursor_without_duplicates() {
    let now = real_now_ms();
    // Count the steps of an uninterrupted run first.
    let total = {
        let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
        fake.borrow_mut().add_many(12, now - 10 * DAY, 3_600_000);
        fake.borrow_mut().cap = 5;
        let store = MemoryStore::default();
        let mut tab = Tab::new(now);
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        run.begin(Trigger::Manual, tab.now).await.unwrap();
        finish(&mut run, &mut tab, 200).await.len()
    };
    assert!(total > 10, "{total}");
    for crash_after in 1..total {
        let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
        fake.borrow_mut().add_many(12, now - 10 * DAY, 3_600_000);
        fake.borrow_mut().cap = 5;
        let store = MemoryStore::default();
        let mut tab = Tab::new(now);
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        run.begin(Trigger::Manual, tab.now).await.unwrap();
        for _ in 0..crash_after {
            if let Step::WaitUntil { until_ms, .. } = run
                .step(&mut tab.keys, "access", tab.now, &mut rng())
                .await
                .unwrap()
            {
                tab.now = until_ms;
            }
        }
        drop(run); // the tab is closed: memory (downloaded parts) is gone, the store stays
        let mut tab = Tab {
            now: tab.now + 1_000,
            keys: PublicKeys::default(),
        };
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        assert_eq!(
            run.begin(Trigger::Automatic, tab.now).await.unwrap(),
            Step::Continue,
            "crash after {crash_after}: resumes"
        );
        finish(&mut run, &mut tab, 200).await;
        assert_eq!(
            stored_numbers(&store).len(),
            12,
            "crash after step {crash_after}"
        );
        assert!(store.no_double_writes(), "crash after step {crash_after}");
        assert!(
            fake.borrow().count("POST", "/invoices/exports") <= 4,
            "crash after {crash_after}: a started export is resumed, not repeated"
        );
        assert_eq!(store.cursors.borrow()[&key()].from, iso(now - MINUTE));
    }
}
