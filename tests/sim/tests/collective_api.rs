//! 2.7.0 collective identifiers (implemented from the changelog; shapes in
//! `src/collective.rs`): permission, creation from the context's invoices, listing, the
//! invoices of up to 10 identifiers with pageSize up to 500, the rate-limit group.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn collective_identifiers_group_the_contexts_invoices() {
    let sim = start().await;
    // The demo token lacks CollectiveIdentifierManage: 403 missing-permissions.
    let (plain, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let r = call(
        &sim,
        Method::POST,
        "/collective-identifiers",
        "/collective-identifiers",
        Some(&plain),
        Some(json!({"ksefNumbers": ["a", "b"]})),
        &[],
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasonCode"], "missing-permissions");
    assert_eq!(
        r.body["security"]["requiredAnyOfPermissions"],
        json!(["CollectiveIdentifierManage"])
    );

    let token = mint(
        &sim,
        &sim.demo.nip,
        &["InvoiceRead", "CollectiveIdentifierManage"],
    )
    .await;
    let (access, _) = login(&sim, &token, &sim.demo.nip).await;
    let from = (time::OffsetDateTime::now_utc() - time::Duration::days(80))
        .date()
        .to_string();
    let r = post(
        &sim,
        "/invoices/query/metadata",
        "/invoices/query/metadata",
        Some(&access),
        Some(json!({"subjectType": "Subject2", "dateRange": {"dateType": "Issue", "from": from}})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let numbers: Vec<String> = r.body["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|i| i["ksefNumber"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(numbers.len(), 3);

    let r = post(
        &sim,
        "/collective-identifiers",
        "/collective-identifiers",
        Some(&access),
        Some(json!({"ksefNumbers": numbers, "description": "Przelew za marzec"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["collectiveIdentifierNumber"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "{id}");

    let r = get(
        &sim,
        "/collective-identifiers",
        "/collective-identifiers",
        Some(&access),
    )
    .await;
    assert_eq!(
        r.body["collectiveIdentifiers"][0]["collectiveIdentifierNumber"],
        id
    );
    assert_eq!(r.body["collectiveIdentifiers"][0]["invoiceCount"], 3);

    let r = post(
        &sim,
        "/collective-identifiers/invoices",
        "/collective-identifiers/invoices?pageSize=500",
        Some(&access),
        Some(json!({"collectiveIdentifierNumbers": [id]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = r.body["invoices"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed
            .iter()
            .all(|i| i["collectiveIdentifierNumber"] == id.as_str())
    );
    assert_eq!(listed[0]["ksefNumber"], numbers[0].as_str());

    // The 2.7.0 GET form still answers (pageSize up to 200 there).
    let r = get(
        &sim,
        "/collective-identifiers/{n}/invoices",
        &format!("/collective-identifiers/{id}/invoices"),
        Some(&access),
    )
    .await;
    assert_eq!(r.body["invoices"].as_array().unwrap().len(), 3);

    // Limits of the request: pageSize ≤ 500, at most 10 identifiers, own invoices only.
    let r = post(
        &sim,
        "/collective-identifiers/invoices",
        "/collective-identifiers/invoices?pageSize=501",
        Some(&access),
        Some(json!({"collectiveIdentifierNumbers": [id]})),
    )
    .await;
    assert_eq!(r.code(), 21405);
    let eleven: Vec<&str> = std::iter::repeat_n(id.as_str(), 11).collect();
    let r = post(
        &sim,
        "/collective-identifiers/invoices",
        "/collective-identifiers/invoices",
        Some(&access),
        Some(json!({"collectiveIdentifierNumbers": eleven})),
    )
    .await;
    assert_eq!(r.code(), 21405);
    let r = post(
        &sim,
        "/collective-identifiers",
        "/collective-identifiers",
        Some(&access),
        Some(json!({"ksefNumbers": [numbers[0], "1111111111-20260101-000000000000-00"]})),
    )
    .await;
    assert_eq!(r.code(), 21164);

    // Its own rate-limit group, 30 a minute in PRD.
    let r = client()
        .post(format!("{}/sim/rate-limits", sim.base_url))
        .json(&json!({"profile": "production"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = get(&sim, "/rate-limits", "/rate-limits", Some(&access)).await;
    assert_eq!(r.body["collectiveIdentifier"]["perMinute"], 30);
    sim.shutdown().await;
}
