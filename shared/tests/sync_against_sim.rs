//! The sync machine against the KSeF simulator over real HTTP: thousands of inbox invoices
//! synced as buyer through an encrypted export, then a second sync fetching only new ones.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use ksef_core::api::ContextIdentifier;
use ksef_core::flow::{self, KsefClient, PublicKeys};
use ksef_core::sync::{MemoryStore, Step, SubjectType, SyncKey, SyncPolicy, SyncRun, Trigger};
use ksef_sim::SimConfig;
use serde_json::json;

#[path = "support/sim_http.rs"]
mod sim_http;
use sim_http::{Reqwest, now_ms, rng, sleep};

async fn seed(base: &str, nip: &str, count: usize, arriving_now: bool) -> Vec<String> {
    let r = reqwest::Client::new()
        .post(format!("{base}/sim/inbox"))
        .header("content-type", "application/json")
        .body(
            serde_json::to_vec(&json!({"nip": nip, "count": count, "arrivingNow": arriving_now}))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    body["ksefNumbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn sim_buyer_sync_of_3000_invoices_then_only_the_new_ones() {
    let sim = ksef_sim::spawn(SimConfig {
        // Small parts, so the package of 3,000 comes in several (KSeF's are 50 MB).
        export_part_size: 64 * 1024,
        ..SimConfig::for_tests()
    })
    .await
    .unwrap();
    let nip = sim.demo.nip.clone();
    let client = KsefClient::new(
        Reqwest::default(),
        sleep as fn(u64) -> tokio::time::Sleep,
        format!("{}/v2", sim.base_url),
    );
    let mut keys = PublicKeys::default();
    let tokens = flow::login_with_ksef_token(
        &client,
        &mut keys,
        &ContextIdentifier::nip(&nip),
        &sim.demo.ksef_token,
        now_ms() / 1000,
        &mut rng(),
    )
    .await
    .unwrap();
    let access = tokens.access_token.token.clone();
    let seeded: BTreeSet<String> = seed(&sim.base_url, &nip, 3_000, false)
        .await
        .into_iter()
        .collect();
    assert_eq!(seeded.len(), 3_000);

    let store = MemoryStore::default();
    let key = SyncKey {
        company_nip: nip.clone(),
        subject: SubjectType::Subject2,
    };
    let policy = SyncPolicy {
        poll_initial_ms: 100,
        poll_max_ms: 500,
        ..SyncPolicy::default()
    };
    let first_from = {
        let t = time::OffsetDateTime::now_utc() - time::Duration::days(80);
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut run = SyncRun::open(
        client.clone(),
        &store,
        key.clone(),
        first_from.clone(),
        policy,
    )
    .await
    .unwrap();
    let done = run
        .run(
            &mut keys,
            &access,
            Trigger::Automatic,
            now_ms,
            &(sleep as fn(u64) -> tokio::time::Sleep),
            &mut rng(),
            |_, _| {},
        )
        .await
        .unwrap();
    assert!(matches!(done, Step::Done { .. }), "{done:?}");
    let stored: BTreeSet<String> = store
        .invoices_of(&nip)
        .into_iter()
        .map(|i| i.ksef_number)
        .collect();
    // The demo company also starts with seeded purchase invoices of its own.
    assert!(seeded.is_subset(&stored), "every seeded invoice was synced");
    assert!(store.no_double_writes());
    let first_count = stored.len();
    assert_eq!(
        run.progress().exports_started,
        1,
        "3,000 invoices in one export package"
    );
    assert!(run.progress().parts_total > 1, "a multi-part package");
    assert!(
        store
            .invoices_of(&nip)
            .iter()
            .all(|i| i.xml.as_deref().is_some_and(|x| x.contains(&nip)))
    );
    // An automatic sync right after is deferred.
    assert!(matches!(
        run.begin(Trigger::Automatic, now_ms()).await.unwrap(),
        Step::Deferred { .. }
    ));
    drop(run);

    // 400 new invoices arrive; they become visible after the HWM catches up (~2 s).
    let arrived: BTreeSet<String> = seed(&sim.base_url, &nip, 400, true)
        .await
        .into_iter()
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(3_000)).await;
    let mut run = SyncRun::open(
        client.clone(),
        &store,
        key.clone(),
        first_from.clone(),
        policy,
    )
    .await
    .unwrap();
    run.run(
        &mut keys,
        &access,
        Trigger::Manual,
        now_ms,
        &(sleep as fn(u64) -> tokio::time::Sleep),
        &mut rng(),
        |_, _| {},
    )
    .await
    .unwrap();
    let after: BTreeSet<String> = store
        .invoices_of(&nip)
        .into_iter()
        .map(|i| i.ksef_number)
        .collect();
    assert_eq!(after.len(), first_count + 400);
    assert!(arrived.is_subset(&after));
    assert_eq!(run.progress().invoices_new, 400, "only the new ones");
    assert!(
        run.progress().invoices_received <= 401,
        "the window starts at the HWM: at most one repeat"
    );
    assert!(store.no_double_writes());
    drop(run);

    // Three more: a small window goes through the metadata query and single downloads.
    let few: BTreeSet<String> = seed(&sim.base_url, &nip, 3, true)
        .await
        .into_iter()
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(3_000)).await;
    let mut run = SyncRun::open(client, &store, key, first_from, policy)
        .await
        .unwrap();
    run.run(
        &mut keys,
        &access,
        Trigger::Manual,
        now_ms,
        &(sleep as fn(u64) -> tokio::time::Sleep),
        &mut rng(),
        |_, _| {},
    )
    .await
    .unwrap();
    let p = run.progress().clone();
    assert_eq!(
        (
            p.exports_started,
            p.metadata_queries,
            p.single_downloads,
            p.invoices_new
        ),
        (0, 1, 3, 3)
    );
    let last: BTreeSet<String> = store
        .invoices_of(&nip)
        .into_iter()
        .map(|i| i.ksef_number)
        .collect();
    assert!(few.is_subset(&last));
    assert!(store.no_double_writes());
    sim.shutdown().await;
}
