//! Long on purpose: one capability (who may do what); its scenarios share the grant, login and operation helpers at the top of the file.
//!
//! Who may do what, over real HTTP: auth sessions after a revoke (425, access tokens end),
//! redeem after the KSeF token was revoked, the authorization policy (allowed IPs),
//! blocked contexts (480), permission grants with their effect on logins and requests,
//! and the `/testdata` endpoints a third-party SDK's TEST integration tests call.

mod common;

use common::*;
use ksef_sim::RunningSim;
use reqwest::Method;
use serde_json::{Value, json};

/// An accounting office (valid NIP, not the demo company).
const OFFICE_NIP: &str = "7010002137";
const PESEL: &str = "15062788702";

fn days_ago(n: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::days(n))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn sim_post(sim: &RunningSim, path: &str, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Mints a token authored by `author` for the context `context` (a grantee's token).
async fn mint_for(sim: &RunningSim, author: &str, context: &str, permissions: &[&str]) -> String {
    let r = sim_post(
        sim,
        "/sim/tokens",
        json!({"nip": author, "contextNip": context, "permissions": permissions}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_string()
}

async fn delete(sim: &RunningSim, template: &str, path: &str, bearer: &str) -> Resp {
    call(sim, Method::DELETE, template, path, Some(bearer), None, &[]).await
}

async fn query_invoices(sim: &RunningSim, access: &str) -> Resp {
    post(
        sim,
        "/invoices/query/metadata",
        "/invoices/query/metadata",
        Some(access),
        Some(
            json!({"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": days_ago(85)}}),
        ),
    )
    .await
}

/// Polls a permission operation until it is final; returns its status code.
async fn wait_operation(sim: &RunningSim, access: &str, reference: &str) -> u64 {
    for _ in 0..100 {
        let r = get(
            sim,
            "/permissions/operations/{referenceNumber}",
            &format!("/permissions/operations/{reference}"),
            Some(access),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let code = r.body["status"]["code"].as_u64().unwrap();
        if code != 100 {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(110)).await;
    }
    panic!("operation {reference} never finished");
}

#[tokio::test]
async fn revoked_session_reports_425_and_its_access_token_stops_working() {
    let sim = start().await;
    let (reference, auth_token) =
        start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    assert_eq!(
        wait_auth(&sim, &reference, &auth_token).await["status"]["code"],
        200
    );
    let r = redeem_call(&sim, &auth_token).await;
    let access = r.body["accessToken"]["token"].as_str().unwrap().to_string();
    let (other, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;

    // The list marks the caller's own session.
    let list = get(&sim, "/auth/sessions", "/auth/sessions", Some(&other)).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let mine = items
        .iter()
        .find(|i| i["referenceNumber"] == reference.as_str())
        .unwrap();
    assert_eq!(mine["isCurrent"], false);

    // "Log out other devices": revoke the first session from the second.
    let r = delete(
        &sim,
        "/auth/sessions/{referenceNumber}",
        &format!("/auth/sessions/{reference}"),
        &other,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(
        &sim,
        "/sessions",
        "/sessions?sessionType=Online",
        Some(&access),
    )
    .await;
    assert_eq!(
        r.status, 401,
        "a revoked session's access token still works: {}",
        r.body
    );
    let status = get(
        &sim,
        "/auth/{referenceNumber}",
        &format!("/auth/{reference}"),
        Some(&auth_token),
    )
    .await;
    assert_eq!(status.body["status"]["code"], 425, "{}", status.body);
    let list = get(&sim, "/auth/sessions", "/auth/sessions", Some(&other)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Logging out here ends this access token too.
    let r = delete(
        &sim,
        "/auth/sessions/current",
        "/auth/sessions/current",
        &other,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(&sim, "/auth/sessions", "/auth/sessions", Some(&other)).await;
    assert_eq!(r.status, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn redeem_is_refused_when_the_token_was_revoked_after_the_login() {
    let sim = start().await;
    let token = mint(&sim, &sim.demo.nip, &["InvoiceRead", "CredentialsManage"]).await;
    let (reference, auth_token) = start_token_login(&sim, &token, &sim.demo.nip).await;
    assert_eq!(
        wait_auth(&sim, &reference, &auth_token).await["status"]["code"],
        200
    );
    // Revoke it (from another session) before redeeming.
    let (admin, _) = login(&sim, &token, &sim.demo.nip).await;
    let token_ref = token.split('|').next().unwrap();
    let r = delete(
        &sim,
        "/tokens/{referenceNumber}",
        &format!("/tokens/{token_ref}"),
        &admin,
    )
    .await;
    assert_eq!(r.status, 204);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let r = redeem_call(&sim, &auth_token).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21301), "{}", r.body);
    assert!(
        r.body
            .to_string()
            .contains("Token KSeF został unieważniony"),
        "{}",
        r.body
    );
    sim.shutdown().await;
}

/// A KSeF-token login with an `authorizationPolicy`; returns the access token.
async fn login_with_policy(sim: &RunningSim, policy: Value) -> Resp {
    let (key_id, key) = token_key(sim).await;
    let ch = post(sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(
        ch.body["clientIp"], "127.0.0.1",
        "clientIp is the caller's address"
    );
    let ts = ch.body["timestampMs"].as_i64().unwrap();
    let enc = oaep_encrypt(&key, format!("{}|{ts}", sim.demo.ksef_token).as_bytes());
    post(
        sim,
        "/auth/ksef-token",
        "/auth/ksef-token",
        None,
        Some(json!({"challenge": ch.body["challenge"], "contextIdentifier": {"type":"Nip","value": sim.demo.nip},
            "encryptedToken": enc, "publicKeyId": key_id, "authorizationPolicy": policy})),
    )
    .await
}

async fn redeem_started(sim: &RunningSim, init: &Resp) -> String {
    assert_eq!(init.status, 202, "{}", init.body);
    assert_eq!(wait_started(sim, &init.body).await["status"]["code"], 200);
    let r = redeem_call(
        sim,
        init.body["authenticationToken"]["token"].as_str().unwrap(),
    )
    .await;
    r.body["accessToken"]["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn access_token_works_only_from_the_allowed_ips() {
    let sim = start().await;
    // Only another address: every request with this access token is refused.
    let init = login_with_policy(
        &sim,
        json!({"allowedIps": {"ip4Addresses": ["10.20.30.40"]}}),
    )
    .await;
    let access = redeem_started(&sim, &init).await;
    let r = query_invoices(&sim, &access).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasonCode"], "ip-not-allowed");
    assert_eq!(r.body["security"]["clientIp"], "127.0.0.1");
    // A mask that covers loopback allows it.
    let init = login_with_policy(
        &sim,
        json!({"allowedIps": {"ip4Addresses": [], "ip4Ranges": ["10.0.0.1-10.0.0.9"], "ip4Masks": ["127.0.0.0/8"]}}),
    )
    .await;
    let access = redeem_started(&sim, &init).await;
    assert_eq!(query_invoices(&sim, &access).await.status, 200);
    // A malformed address is a validation error.
    let r = login_with_policy(&sim, json!({"allowedIps": {"ip4Masks": ["127.0.0.0/40"]}})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    sim.shutdown().await;
}

#[tokio::test]
async fn blocked_context_ends_logins_with_480_until_unblocked() {
    let sim = start().await;
    let context = json!({"contextIdentifier": {"type": "Nip", "value": sim.demo.nip}});
    for (block, unblock) in [
        ("/sim/contexts/block", "/sim/contexts/unblock"),
        ("/v2/testdata/context/block", "/v2/testdata/context/unblock"),
    ] {
        assert_eq!(sim_post(&sim, block, context.clone()).await.status(), 200);
        let (reference, auth_token) =
            start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
        let status = wait_auth(&sim, &reference, &auth_token).await;
        assert_eq!(status["status"]["code"], 480, "{status}");
        assert_eq!(
            status["status"]["description"],
            "Uwierzytelnienie zablokowane"
        );
        assert_eq!(redeem_call(&sim, &auth_token).await.code(), 21301);
        assert_eq!(sim_post(&sim, unblock, context.clone()).await.status(), 200);
        login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn accounting_office_reads_the_company_invoices_only_with_a_grant() {
    let sim = start().await;
    let company = sim.demo.nip.clone();
    let office_token = mint_for(&sim, OFFICE_NIP, &company, &["InvoiceRead"]).await;

    // Without a grant the office's login in the company's context fails with 415.
    let (reference, auth_token) = start_token_login(&sim, &office_token, &company).await;
    let status = wait_auth(&sim, &reference, &auth_token).await;
    assert_eq!(status["status"]["code"], 415, "{status}");

    // The owner grants InvoiceRead to the office's NIP.
    let owner_token = mint(
        &sim,
        &company,
        &["CredentialsManage", "CredentialsRead", "InvoiceRead"],
    )
    .await;
    let (owner, _) = login(&sim, &owner_token, &company).await;
    let r = post(&sim, "/permissions/entities/grants", "/permissions/entities/grants", Some(&owner),
        Some(json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP},
            "permissions": [{"type": "InvoiceRead", "canDelegate": false}],
            "description": "Biuro rachunkowe", "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let operation = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_operation(&sim, &owner, &operation).await, 200);

    // Now the office logs in and reads the company's invoices.
    let (office, office_refresh) = login(&sim, &office_token, &company).await;
    let r = query_invoices(&sim, &office).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body["invoices"].as_array().unwrap().is_empty(),
        "{}",
        r.body
    );

    // The owner sees the grant, the office sees it among the entity's received ones.
    let r = post(
        &sim,
        "/permissions/query/persons/grants",
        "/permissions/query/persons/grants",
        Some(&owner),
        Some(json!({"queryType": "PermissionsGrantedInCurrentContext"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let grants = r.body["permissions"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{}", r.body);
    assert_eq!(grants[0]["authorizedIdentifier"]["value"], OFFICE_NIP);
    assert_eq!(grants[0]["permissionScope"], "InvoiceRead");
    let permission_id = grants[0]["id"].as_str().unwrap().to_string();

    // Revoking it stops the office at once and its refresh gives no read rights.
    let r = delete(
        &sim,
        "/permissions/common/grants/{permissionId}",
        &format!("/permissions/common/grants/{permission_id}"),
        &owner,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let operation = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_operation(&sim, &owner, &operation).await, 200);
    let r = query_invoices(&sim, &office).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.body["reasonCode"], "missing-permissions");
    let r = refresh_call(&sim, &office_refresh).await;
    let refreshed = r.body["accessToken"]["token"].as_str().unwrap().to_string();
    assert_eq!(query_invoices(&sim, &refreshed).await.status, 403);
    let (reference, auth_token) = start_token_login(&sim, &office_token, &company).await;
    assert_eq!(
        wait_auth(&sim, &reference, &auth_token).await["status"]["code"],
        415
    );

    // Granting needs CredentialsManage.
    let reader = mint(&sim, &company, &["InvoiceRead"]).await;
    let (reader, _) = login(&sim, &reader, &company).await;
    let r = post(&sim, "/permissions/persons/grants", "/permissions/persons/grants", Some(&reader),
        Some(json!({"subjectIdentifier": {"type": "Pesel", "value": PESEL}, "permissions": ["InvoiceRead"],
            "description": "Księgowa", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
            "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}))).await;
    assert_eq!(r.status, 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn person_grants_are_listed_and_a_token_keeps_only_its_authors_permissions() {
    let sim = start().await;
    let company = sim.demo.nip.clone();
    let owner_token = mint(&sim, &company, &["CredentialsManage", "InvoiceRead"]).await;
    let (owner, _) = login(&sim, &owner_token, &company).await;
    // A person with a NIP (sole trader bookkeeper) gets InvoiceWrite and Introspection.
    let r = post(
        &sim,
        "/permissions/persons/grants",
        "/permissions/persons/grants",
        Some(&owner),
        Some(
            json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP},
            "permissions": ["InvoiceWrite", "Introspection"], "description": "Księgowa Anna",
            "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
                "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}),
        ),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let operation = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_operation(&sim, &owner, &operation).await, 200);

    // Her token asks for more than was granted: only the granted part stays.
    let token = mint_for(&sim, OFFICE_NIP, &company, &["InvoiceWrite", "InvoiceRead"]).await;
    let (access, _) = login(&sim, &token, &company).await;
    assert_eq!(
        query_invoices(&sim, &access).await.status,
        403,
        "InvoiceRead was not granted"
    );
    let r = get(
        &sim,
        "/sessions",
        "/sessions?sessionType=Online",
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Her own view of her permissions.
    let r = post(
        &sim,
        "/permissions/query/personal/grants",
        "/permissions/query/personal/grants",
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut scopes: Vec<&str> = r.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permissionScope"].as_str().unwrap())
        .collect();
    scopes.sort();
    assert_eq!(scopes, ["Introspection", "InvoiceWrite"]);
    // The context's list filtered by permission type.
    let r = post(&sim, "/permissions/query/persons/grants", "/permissions/query/persons/grants?pageSize=10",
        Some(&owner), Some(json!({"queryType": "PermissionsInCurrentContext", "permissionTypes": ["Introspection"]}))).await;
    assert_eq!(
        r.body["permissions"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    assert_eq!(
        r.body["permissions"][0]["subjectPersonDetails"]["lastName"],
        "Kowalska"
    );
    // Malformed identifiers and descriptions are validation errors.
    let r = post(&sim, "/permissions/persons/grants", "/permissions/persons/grants", Some(&owner),
        Some(json!({"subjectIdentifier": {"type": "Pesel", "value": "123"}, "permissions": ["InvoiceRead"],
            "description": "Opis uprawnienia", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier"}}))).await;
    assert_eq!(r.code(), 21405);
    sim.shutdown().await;
}

#[tokio::test]
async fn indirect_grant_passes_a_delegable_permission_to_the_offices_employee() {
    let sim = start().await;
    let company = sim.demo.nip.clone();
    let owner_token = mint(&sim, &company, &["CredentialsManage"]).await;
    let (owner, _) = login(&sim, &owner_token, &company).await;
    let office_admin = mint(&sim, OFFICE_NIP, &["CredentialsManage"]).await;
    let (office, _) = login(&sim, &office_admin, OFFICE_NIP).await;
    let employee = "9876543210";
    let body = json!({"subjectIdentifier": {"type": "Nip", "value": employee},
        "targetIdentifier": {"type": "Nip", "value": company}, "permissions": ["InvoiceRead"],
        "description": "Pracownik biura", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
            "personById": {"firstName": "Jan", "lastName": "Nowak"}}});
    // Without a delegable grant from the client the office cannot pass it on.
    let r = post(
        &sim,
        "/permissions/indirect/grants",
        "/permissions/indirect/grants",
        Some(&office),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.code(), 21405, "{}", r.body);
    let r = post(
        &sim,
        "/permissions/entities/grants",
        "/permissions/entities/grants",
        Some(&owner),
        Some(
            json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP},
            "permissions": [{"type": "InvoiceRead", "canDelegate": true}],
            "description": "Biuro rachunkowe", "subjectDetails": {"fullName": "Biuro Rachunkowe"}}),
        ),
    )
    .await;
    wait_operation(&sim, &owner, r.body["referenceNumber"].as_str().unwrap()).await;
    // The office sees what it received.
    let r = post(
        &sim,
        "/permissions/query/entities/grants",
        "/permissions/query/entities/grants",
        Some(&office),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["permissions"][0]["contextIdentifier"]["value"],
        company.as_str()
    );
    assert_eq!(r.body["permissions"][0]["canDelegate"], true);
    let r = post(
        &sim,
        "/permissions/indirect/grants",
        "/permissions/indirect/grants",
        Some(&office),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_operation(&sim, &office, r.body["referenceNumber"].as_str().unwrap()).await;
    // The employee's token works in the client's context.
    let token = mint_for(&sim, employee, &company, &["InvoiceRead"]).await;
    let (access, _) = login(&sim, &token, &company).await;
    assert_eq!(query_invoices(&sim, &access).await.status, 200);
    sim.shutdown().await;
}

async fn attachment_status(sim: &RunningSim, access: &str) -> Value {
    get(
        sim,
        "/permissions/attachments/status",
        "/permissions/attachments/status",
        Some(access),
    )
    .await
    .body
}

#[tokio::test]
async fn testdata_endpoints_of_ksef_test_work_unchanged() {
    let sim = start().await;
    let company = "3936518395";
    let td = |path: &str| format!("/v2/testdata/{path}");
    let r = sim_post(&sim, &td("subject"), json!({"subjectNip": company, "subjectType": "VatGroup",
        "description": "Grupa VAT testowa", "subunits": [{"subjectNip": "7762811692", "description": "Członek grupy"}]})).await;
    assert_eq!(r.status(), 200);
    let r = sim_post(
        &sim,
        &td("subject"),
        json!({"subjectNip": company, "subjectType": "VatGroup", "description": "Jeszcze raz"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(exception_code(&v), 30001);
    let r = sim_post(
        &sim,
        &td("subject"),
        json!({"subjectNip": "1234567890", "subjectType": "JST", "description": "Zły NIP"}),
    )
    .await;
    assert_eq!(r.status(), 400);

    // A system grant makes a person's token work in the company context.
    let token = mint_for(&sim, OFFICE_NIP, company, &["InvoiceRead"]).await;
    let (reference, auth_token) = start_token_login(&sim, &token, company).await;
    assert_eq!(
        wait_auth(&sim, &reference, &auth_token).await["status"]["code"],
        415
    );
    let grant = json!({"contextIdentifier": {"type": "Nip", "value": company},
        "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP},
        "permissions": [{"permissionType": "InvoiceRead", "description": "Odczyt faktur"}]});
    assert_eq!(
        sim_post(&sim, &td("permissions"), grant).await.status(),
        200
    );
    let (access, _) = login(&sim, &token, company).await;
    assert_eq!(query_invoices(&sim, &access).await.status, 200);
    let revoke = json!({"contextIdentifier": {"type": "Nip", "value": company},
        "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP}});
    assert_eq!(
        sim_post(&sim, &td("permissions/revoke"), revoke)
            .await
            .status(),
        200
    );
    assert_eq!(query_invoices(&sim, &access).await.status, 403);

    // A test person (PESEL) owns the NIP: a token the person authored works with owner rights.
    let r = sim_post(&sim, &td("person"), json!({"nip": "7762811692", "pesel": PESEL, "isBailiff": false, "description": "Osoba testowa"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        sim_post(&sim, &td("person/remove"), json!({"nip": "7762811692"}))
            .await
            .status(),
        200
    );

    // Attachment consent of the context.
    let owner = mint(&sim, company, &["CredentialsRead"]).await;
    let (owner, _) = login(&sim, &owner, company).await;
    assert_eq!(
        attachment_status(&sim, &owner).await["isAttachmentAllowed"],
        false
    );
    assert_eq!(
        sim_post(&sim, &td("attachment"), json!({"nip": company}))
            .await
            .status(),
        200
    );
    assert_eq!(
        attachment_status(&sim, &owner).await["isAttachmentAllowed"],
        true
    );
    assert_eq!(
        sim_post(&sim, &td("attachment/revoke"), json!({"nip": company}))
            .await
            .status(),
        200
    );
    let s = attachment_status(&sim, &owner).await;
    assert_eq!(s["isAttachmentAllowed"], false);
    assert!(s["revokedDate"].is_string());

    assert_eq!(
        sim_post(&sim, &td("subject/remove"), json!({"subjectNip": company}))
            .await
            .status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn grants_and_blocks_survive_a_restart_with_a_state_file() {
    let dir = std::env::temp_dir().join(format!("ksef-sim-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    let mut config = ksef_sim::SimConfig::for_tests_generous();
    config.state_file = Some(file.clone());
    let sim = start_with(config.clone()).await;
    let company = sim.demo.nip.clone();
    let grant = json!({"contextIdentifier": {"type": "Nip", "value": company},
        "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP},
        "permissions": [{"permissionType": "InvoiceRead", "description": "Odczyt faktur"}]});
    assert_eq!(
        sim_post(&sim, "/v2/testdata/permissions", grant)
            .await
            .status(),
        200
    );
    assert_eq!(
        sim_post(
            &sim,
            "/sim/contexts/block",
            json!({"contextIdentifier": {"type": "Nip", "value": "3936518395"}})
        )
        .await
        .status(),
        200
    );
    let token = mint_for(&sim, OFFICE_NIP, &company, &["InvoiceRead"]).await;
    sim.shutdown().await;

    let sim = start_with(config).await;
    let (access, _) = login(&sim, &token, &company).await;
    assert_eq!(query_invoices(&sim, &access).await.status, 200);
    let r = client()
        .get(format!("{}/sim/contexts/blocked", sim.base_url))
        .send()
        .await
        .unwrap();
    let blocked: Value = r.json().await.unwrap();
    assert_eq!(blocked, json!(["Nip:3936518395"]));
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
