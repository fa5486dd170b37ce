//! What the request builders need, prepared once before the walk: logins, a processed
//! session with an invoice, an export, tokens and grants (more in `setup.rs`).

use std::time::Duration;

use common::flows::*;
use common::*;
use serde_json::{Value, json};

use super::common;
use super::setup::Extra;
use super::table::storage_range;

/// Everything the request builders need, prepared once (see [`prepare`]).
/// Everything the request builders need, prepared once (see [`prepare`]).
pub struct Ctx {
    pub nip: String,
    pub access: String,
    pub refresh: String,
    /// A finished auth operation of `access`: `(referenceNumber, authenticationToken)`.
    pub auth_ref: String,
    pub auth_op_token: String,
    /// A finished, not yet redeemed operation token.
    pub unredeemed_op_token: String,
    /// Another login's auth reference (revoked by reference).
    pub other_auth_ref: String,
    /// A third login's access token (revokes itself: `DELETE /auth/sessions/current`).
    pub last_access: String,
    /// A fresh `POST /auth/ksef-token` body (its challenge unused).
    pub ksef_token_body: Value,
    pub encryption: Value,
    /// A processed session with one accepted invoice.
    pub session: String,
    pub invoice_ref: String,
    pub ksef_number: String,
    pub upo_ref: String,
    /// An open session for send/close.
    pub open_session: String,
    pub invoice_body: Value,
    pub export_ref: String,
    pub token_ref: String,
    /// A finished permission operation (a person grant made in [`prepare`]).
    pub permission_operation: String,
    /// Ids of grants made in [`prepare`], revoked last.
    pub person_permission_id: String,
    pub authorization_permission_id: String,
    /// The certificates, batch, subunit and EU preparations (see `setup::extra`).
    pub x: Extra,
}

pub async fn prepare(sim: &ksef_sim::RunningSim) -> Ctx {
    let nip = sim.demo.nip.clone();
    // A token with the credential permissions too, so /tokens/{ref} may read other tokens.
    let token = mint(
        sim,
        &nip,
        &[
            "InvoiceRead",
            "InvoiceWrite",
            "Introspection",
            "CredentialsRead",
            "CredentialsManage",
            "SubunitManage",
        ],
    )
    .await;
    let (auth_ref, auth_op_token) = start_token_login(sim, &token, &nip).await;
    wait_auth(sim, &auth_ref, &auth_op_token).await;
    let r = redeem_call(sim, &auth_op_token).await;
    let access = r.body["accessToken"]["token"].as_str().unwrap().to_string();
    let refresh = r.body["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (unredeemed_ref, unredeemed_op_token) = start_token_login(sim, &token, &nip).await;
    wait_auth(sim, &unredeemed_ref, &unredeemed_op_token).await;
    let (other_auth_ref, other_op) = start_token_login(sim, &token, &nip).await;
    wait_auth(sim, &other_auth_ref, &other_op).await;
    assert_eq!(redeem_call(sim, &other_op).await.status, 200);
    let last_access = login(sim, &token, &nip).await.0;

    let (key_id, key) = token_key(sim).await;
    let ch = post(sim, "/auth/challenge", "/auth/challenge", None, None).await;
    let ts = ch.body["timestampMs"].as_i64().unwrap();
    let ksef_token_body = json!({"challenge": ch.body["challenge"],
        "contextIdentifier": {"type": "Nip", "value": nip},
        "encryptedToken": oaep_encrypt(&key, format!("{token}|{ts}").as_bytes()), "publicKeyId": key_id});

    let (session, invoice_ref, status) = send_one(sim, &access, &nip, "FV/CONF/1").await;
    let ksef_number = status["ksefNumber"].as_str().unwrap().to_string();
    let r = post(
        sim,
        "/sessions/online/{referenceNumber}/close",
        &format!("/sessions/online/{session}/close"),
        Some(&access),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let mut upo_ref = String::new();
    for _ in 0..400 {
        let r = get(
            sim,
            "/sessions/{referenceNumber}",
            &format!("/sessions/{session}"),
            Some(&access),
        )
        .await;
        if r.body["status"]["code"] == 200 {
            upo_ref = r.body["upo"]["pages"][0]["referenceNumber"]
                .as_str()
                .unwrap()
                .to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(110)).await;
    }
    assert!(!upo_ref.is_empty(), "session {session} processed");
    let open_session = open_online_session(sim, &access, &KEY, &IV).await;
    let invoice_body = send_body(invoice(&nip, "FV/CONF/2").as_bytes());
    let encryption = encryption(sim).await;
    let r = post(sim, "/invoices/exports", "/invoices/exports", Some(&access),
        Some(json!({"encryption": encryption, "filters": {"subjectType": "Subject1", "dateRange": storage_range()}}))).await;
    let export_ref = r.body["referenceNumber"].as_str().unwrap().to_string();
    wait_export(sim, &access, &export_ref).await;
    let r = client()
        .post(format!("{}/sim/tokens", sim.base_url))
        .json(&json!({"nip": nip, "permissions": ["InvoiceRead"], "description": "Token do testu zgodności"}))
        .send()
        .await
        .unwrap();
    let minted: Value = r.json().await.unwrap();
    let (permission_operation, person_permission_id, authorization_permission_id) =
        grants(sim, &access).await;
    let x = super::setup::extra(sim, &access, &nip).await;
    Ctx {
        x,
        permission_operation,
        person_permission_id,
        authorization_permission_id,
        nip,
        access,
        refresh,
        auth_ref,
        auth_op_token,
        unredeemed_op_token,
        other_auth_ref,
        last_access,
        ksef_token_body,
        encryption,
        session,
        invoice_ref,
        ksef_number,
        upo_ref,
        open_session,
        invoice_body,
        export_ref,
        token_ref: minted["referenceNumber"].as_str().unwrap().to_string(),
    }
}

/// A person grant and an authorization grant, finished: the person grant's operation
/// reference and both permission ids (from the queries), for the calls that need them.
async fn grants(sim: &ksef_sim::RunningSim, access: &str) -> (String, String, String) {
    let r = post(sim, "/permissions/persons/grants", "/permissions/persons/grants", Some(access),
        Some(json!({"subjectIdentifier": {"type": "Pesel", "value": "44051401359"}, "permissions": ["InvoiceWrite"],
            "description": "Do odebrania", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
            "personById": {"firstName": "Jan", "lastName": "Nowak"}}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let operation = r.body["referenceNumber"].as_str().unwrap().to_string();
    let r = post(sim, "/permissions/authorizations/grants", "/permissions/authorizations/grants", Some(access),
        Some(json!({"subjectIdentifier": {"type": "Nip", "value": "5265877635"}, "permission": "RRInvoicing",
            "description": "Do odebrania", "subjectDetails": {"fullName": "Rolnik Ryczałtowy"}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let auth_operation = r.body["referenceNumber"].as_str().unwrap().to_string();
    for reference in [&operation, &auth_operation] {
        for _ in 0..100 {
            let r = get(
                sim,
                "/permissions/operations/{referenceNumber}",
                &format!("/permissions/operations/{reference}"),
                Some(access),
            )
            .await;
            if r.body["status"]["code"] != 100 {
                assert_eq!(r.body["status"]["code"], 200, "{}", r.body);
                break;
            }
            tokio::time::sleep(Duration::from_millis(110)).await;
        }
    }
    let r = post(
        sim,
        "/permissions/query/persons/grants",
        "/permissions/query/persons/grants",
        Some(access),
        Some(json!({"queryType": "PermissionsInCurrentContext"})),
    )
    .await;
    let person = r.body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["authorizedIdentifier"]["value"] == "44051401359")
        .unwrap_or_else(|| panic!("the person grant is listed: {}", r.body))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post(
        sim,
        "/permissions/query/authorizations/grants",
        "/permissions/query/authorizations/grants",
        Some(access),
        Some(json!({"queryType": "Granted"})),
    )
    .await;
    let authorization = r.body["authorizationGrants"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|p| p["authorizedEntityIdentifier"]["value"] == "5265877635")
        })
        .unwrap_or_else(|| panic!("the authorization grant is listed: {}", r.body))["id"]
        .as_str()
        .unwrap()
        .to_string();
    (operation, person, authorization)
}
