//! EU entities over real HTTP: an owner appoints the administrator of a `NipVatUe` context
//! (`POST /permissions/eu-entities/administration/grants`), who logs in there with a
//! certificate fingerprint and appoints representatives (`POST /permissions/eu-entities/grants`);
//! `POST /permissions/query/eu-entities/grants` lists both; a revoke ends the representative's
//! logins. Every answer is checked against open-api.json by the common helpers.

mod common;

use common::xades::*;
use common::*;
use ksef_sim::RunningSim;
use reqwest::Method;
use serde_json::{Value, json};

const VAT_UE: &str = "DE123456789";

fn admin_grant(fp: &str, context: &str) -> Value {
    json!({"subjectIdentifier": {"type": "Fingerprint", "value": fp},
        "contextIdentifier": {"type": "NipVatUe", "value": context},
        "description": "Administrator podmiotu unijnego", "euEntityName": "Firma G.m.b.H.",
        "subjectDetails": {"subjectDetailsType": "PersonByFingerprintWithIdentifier",
            "personByFpWithId": {"firstName": "Adam", "lastName": "Abacki",
                "identifier": {"type": "Pesel", "value": "15062788702"}}},
        "euEntityDetails": {"fullName": "Firma G.m.b.H.", "address": "Berlin, Unter den Linden 1"}})
}

fn representative_grant(fp: &str, permissions: &[&str]) -> Value {
    json!({"subjectIdentifier": {"type": "Fingerprint", "value": fp}, "permissions": permissions,
        "description": "Reprezentant podmiotu unijnego",
        "subjectDetails": {"subjectDetailsType": "PersonByFingerprintWithoutIdentifier",
            "personByFpNoId": {"firstName": "Hans", "lastName": "Müller", "birthDate": "1980-05-17",
                "idDocument": {"type": "Passport", "number": "C01X00T47", "country": "DE"}}}})
}

async fn send(sim: &RunningSim, access: &str, template: &str, body: Value) -> Resp {
    post(sim, template, template, Some(access), Some(body)).await
}

async fn accepted(sim: &RunningSim, access: &str, r: Resp) {
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_permission_operation(sim, access, &op).await, 200);
}

async fn eu_query(sim: &RunningSim, access: &str, body: Value) -> Vec<Value> {
    let r = send(sim, access, "/permissions/query/eu-entities/grants", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["permissions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn eu_administrator_and_representative_work_in_the_composite_context() {
    let sim = start().await;
    let nip = sim.demo.nip.clone();
    let token = mint(&sim, &nip, &["CredentialsManage", "CredentialsRead"]).await;
    let owner = login(&sim, &token, &nip).await.0;
    let context = format!("{nip}-{VAT_UE}");
    let dir = temp_dir();
    let (admin_key, admin_crt) = self_signed(&dir, "eu-admin", false, "/CN=EU Admin/C=DE");
    let admin_fp = fingerprint(&admin_crt);
    let admin_pair = (admin_key.as_path(), admin_crt.as_path());
    let fp_login = "certificateFingerprint";

    // Refusals (21405): another identifier type, another NIP's composite context, the
    // open-api example's VAT number (12 digits where DE has 9), no euEntityDetails.
    let mut pesel = admin_grant(&admin_fp, &context);
    pesel["subjectIdentifier"] = json!({"type": "Pesel", "value": "15062788702"});
    let mut no_details = admin_grant(&admin_fp, &context);
    no_details
        .as_object_mut()
        .unwrap()
        .remove("euEntityDetails");
    for (body, why) in [
        (pesel, "Pesel"),
        (
            admin_grant(&admin_fp, &format!("7762811692-{VAT_UE}")),
            "other NIP",
        ),
        (
            admin_grant(&admin_fp, &format!("{nip}-DE123456789012")),
            "VAT UE",
        ),
        (no_details, "euEntityDetails"),
    ] {
        let r = send(
            &sim,
            &owner,
            "/permissions/eu-entities/administration/grants",
            body,
        )
        .await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, 21405),
            "{why}: {}",
            r.body
        );
    }

    // Before the grant the fingerprint has nothing in the composite context: 415.
    let (status, _) =
        xades_login_in(&sim, &dir, admin_pair, ("NipVatUe", &context), fp_login).await;
    assert_eq!(status["status"]["code"], 415, "{status}");
    let r = send(
        &sim,
        &owner,
        "/permissions/eu-entities/administration/grants",
        admin_grant(&admin_fp, &context),
    )
    .await;
    accepted(&sim, &owner, r).await;

    // The owner sees the four administrator permissions.
    let listed = eu_query(&sim, &owner, json!({})).await;
    let mut scopes: Vec<&str> = listed
        .iter()
        .map(|p| p["permissionScope"].as_str().unwrap())
        .collect();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "Introspection",
            "InvoiceRead",
            "InvoiceWrite",
            "VatUeManage"
        ]
    );
    assert_eq!(listed[0]["vatUeIdentifier"], VAT_UE);
    assert_eq!(
        listed[0]["authorizedFingerprintIdentifier"],
        admin_fp.as_str()
    );
    assert_eq!(
        listed[0]["euEntityDetails"]["address"],
        "Berlin, Unter den Linden 1"
    );
    assert_eq!(
        listed[0]["subjectPersonDetails"]["personIdentifier"]["value"],
        "15062788702"
    );
    assert_eq!(
        eu_query(&sim, &owner, json!({"permissionTypes": ["VatUeManage"]}))
            .await
            .len(),
        1
    );
    assert!(
        eu_query(&sim, &owner, json!({"vatUeIdentifier": "FRXX123456789"}))
            .await
            .is_empty()
    );
    let r = send(
        &sim,
        &owner,
        "/permissions/query/eu-entities/grants",
        json!({"vatUeIdentifier": "DE1"}),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405), "{}", r.body);

    // The administrator logs in to the composite context; the owner cannot grant there.
    let (status, auth_token) =
        xades_login_in(&sim, &dir, admin_pair, ("NipVatUe", &context), fp_login).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let eu_admin = redeem(&sim, &auth_token).await;
    let (rep_key, rep_crt) = self_signed(&dir, "eu-rep", false, "/CN=EU Rep/C=DE");
    let rep_fp = fingerprint(&rep_crt);
    let rep_pair = (rep_key.as_path(), rep_crt.as_path());
    let r = send(
        &sim,
        &owner,
        "/permissions/eu-entities/grants",
        representative_grant(&rep_fp, &["InvoiceRead"]),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(
        &sim,
        &eu_admin,
        "/permissions/eu-entities/grants",
        representative_grant(&rep_fp, &["InvoiceRead", "InvoiceRead"]),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405), "{}", r.body);

    let (status, _) = xades_login_in(&sim, &dir, rep_pair, ("NipVatUe", &context), fp_login).await;
    assert_eq!(status["status"]["code"], 415, "{status}");
    let r = send(
        &sim,
        &eu_admin,
        "/permissions/eu-entities/grants",
        representative_grant(&rep_fp, &["InvoiceRead"]),
    )
    .await;
    accepted(&sim, &eu_admin, r).await;

    // In the composite context the administrator sees itself and the representative.
    let listed = eu_query(
        &sim,
        &eu_admin,
        json!({"authorizedFingerprintIdentifier": rep_fp}),
    )
    .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let rep = &listed[0];
    assert_eq!(rep["permissionScope"], "InvoiceRead");
    assert_eq!(rep["euEntityName"], "Firma G.m.b.H.");
    assert_eq!(rep["subjectPersonDetails"]["idDocument"]["country"], "DE");
    assert_eq!(
        rep["authorIdentifier"],
        json!({"type": "Fingerprint", "value": admin_fp})
    );
    assert_eq!(eu_query(&sim, &eu_admin, json!({})).await.len(), 5);
    // The owner's NIP context lists the administrators only.
    assert_eq!(eu_query(&sim, &owner, json!({})).await.len(), 4);

    // The representative logs in with InvoiceRead only; after the revoke it cannot.
    let (status, auth_token) =
        xades_login_in(&sim, &dir, rep_pair, ("NipVatUe", &context), fp_login).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let rep_access = redeem(&sim, &auth_token).await;
    let r = send(
        &sim,
        &rep_access,
        "/permissions/eu-entities/grants",
        representative_grant(&admin_fp, &["InvoiceRead"]),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let id = rep["id"].as_str().unwrap();
    let r = call(
        &sim,
        Method::DELETE,
        "/permissions/common/grants/{permissionId}",
        &format!("/permissions/common/grants/{id}"),
        Some(&eu_admin),
        None,
        &[],
    )
    .await;
    accepted(&sim, &eu_admin, r).await;
    let (status, _) = xades_login_in(&sim, &dir, rep_pair, ("NipVatUe", &context), fp_login).await;
    assert_eq!(status["status"]["code"], 415, "{status}");
    assert_eq!(eu_query(&sim, &eu_admin, json!({})).await.len(), 4);
    sim.shutdown().await;
}
