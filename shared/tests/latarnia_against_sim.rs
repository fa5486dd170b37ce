//! KSeF availability against the simulator's Latarnia over real HTTP: what a check finds and
//! which notice Kwit shows — all well, maintenance announced ahead, a failure, and Latarnia
//! itself down (a gateway's HTML page), which must not read as "KSeF is down".
#![cfg(not(target_arch = "wasm32"))]

use ksef_core::error::Language;
use ksef_core::latarnia::{self, Availability, NoticeKind, Status};
use ksef_sim::SimConfig;
use serde_json::{Value, json};
use time::OffsetDateTime;

#[path = "support/sim_http.rs"]
mod sim_http;
use sim_http::Reqwest;

async fn set(base: &str, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/sim/latarnia"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn checks_and_notices_follow_what_latarnia_says() {
    let sim = ksef_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let base = format!("{}/latarnia", sim.base_url);
    let http = Reqwest(reqwest::Client::new());
    let now = OffsetDateTime::now_utc();

    let a = latarnia::check(&http, &base).await;
    assert!(matches!(&a, Availability::Known { status, .. } if status.status == Status::Available));
    assert_eq!(latarnia::notice(&a, now), None);

    // Announced ahead: KSeF is available, the announcement is in /messages.
    let start = now + time::Duration::days(2);
    let end = start + time::Duration::hours(3);
    let rfc = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    set(
        &sim.base_url,
        json!({"status": "MAINTENANCE", "title": "Prace serwisowe",
        "start": rfc(start), "end": rfc(end)}),
    )
    .await;
    set(&sim.base_url, json!({"status": "AVAILABLE"})).await;
    let n = latarnia::notice(&latarnia::check(&http, &base).await, now).unwrap();
    assert_eq!(
        (n.kind, n.title.as_str()),
        (NoticeKind::PlannedMaintenance, "Prace serwisowe")
    );

    set(
        &sim.base_url,
        json!({"status": "FAILURE", "title": "Awaria KSeF", "text": "Trwa awaria."}),
    )
    .await;
    let n = latarnia::notice(&latarnia::check(&http, &base).await, now).unwrap();
    assert_eq!(
        (n.kind, n.text.as_str()),
        (NoticeKind::Failure, "Trwa awaria.")
    );
    assert!(n.message(Language::Pl).contains("trybie awaryjnym"));

    set(&sim.base_url, json!({"outage": 502})).await;
    let a = latarnia::check(&http, &base).await;
    assert_eq!(a, Availability::Unreachable("HTTP 502".into()));
    assert_eq!(
        latarnia::notice(&a, now).unwrap().kind,
        NoticeKind::Unreachable
    );

    sim.shutdown().await;
    let gone = latarnia::check(&http, &base).await;
    assert!(
        matches!(gone, Availability::Unreachable(ref why) if why.starts_with("network")),
        "{gone:?}"
    );
}
