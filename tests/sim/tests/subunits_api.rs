//! Subunits and entity roles over real HTTP: `POST /permissions/subunits/grants` (InternalId
//! with its check digit, subordinate NIPs of a VAT group), the administrator's effect (a
//! XAdES login to the unit, granting there), `POST /permissions/query/subunits/grants`,
//! `GET /permissions/query/entities/roles` and `POST /permissions/query/subordinate-entities/roles`.
//! Every answer is checked against open-api.json by the common helpers.

mod common;

use common::xades::*;
use common::*;
use ksef_sim::RunningSim;
use reqwest::Method;
use serde_json::{Value, json};

/// The subunit administrator (a valid NIP, not the demo company).
const ADMIN_NIP: &str = "7010002137";
/// A VAT group and its member (valid NIPs).
const GROUP: &str = "3936518395";
const MEMBER: &str = "7762811692";
/// A valid NIP outside the group.
const OUTSIDER: &str = "1112223332";

/// `{nip}-{4 digits}` with the check digit of open-api's algorithm appended.
fn internal_id(prefix: &str) -> String {
    let sum: u32 = prefix
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{prefix}{}", sum % 10)
}

fn subunit_grant(subject: Value, unit: Value, name: Option<&str>) -> Value {
    let mut v = json!({"subjectIdentifier": subject, "contextIdentifier": unit,
        "description": "Administrator jednostki",
        "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
            "personById": {"firstName": "Adam", "lastName": "Abacki"}}});
    if let Some(n) = name {
        v["subunitName"] = json!(n);
    }
    v
}

async fn grant(sim: &RunningSim, access: &str, body: Value) -> Resp {
    post(
        sim,
        "/permissions/subunits/grants",
        "/permissions/subunits/grants",
        Some(access),
        Some(body),
    )
    .await
}

async fn query(sim: &RunningSim, access: &str, template: &str, body: Value) -> Value {
    let r = post(sim, template, template, Some(access), Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn roles(sim: &RunningSim, access: &str) -> Value {
    let r = get(
        sim,
        "/permissions/query/entities/roles",
        "/permissions/query/entities/roles",
        Some(access),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["roles"].clone()
}

async fn owner_access(sim: &RunningSim, nip: &str) -> String {
    let token = mint(
        sim,
        nip,
        &["CredentialsManage", "CredentialsRead", "SubunitManage"],
    )
    .await;
    login(sim, &token, nip).await.0
}

#[tokio::test]
async fn internal_id_administrator_logs_in_to_the_unit_and_grants_there() {
    let sim = start().await;
    let nip = sim.demo.nip.clone();
    let owner = owner_access(&sim, &nip).await;
    let unit_id = internal_id(&format!("{nip}-1234"));
    let admin = json!({"type": "Nip", "value": ADMIN_NIP});
    let unit = json!({"type": "InternalId", "value": unit_id});

    // Refusals (21405): a wrong check digit, another NIP's unit, no subunitName.
    let last = unit_id.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &unit_id[..15], (last + 1) % 10);
    let other = internal_id("7762811692-1234");
    for (body, why) in [
        (
            subunit_grant(
                admin.clone(),
                json!({"type": "InternalId", "value": wrong}),
                Some("Oddział Kraków"),
            ),
            "check digit",
        ),
        (
            subunit_grant(
                admin.clone(),
                json!({"type": "InternalId", "value": other}),
                Some("Oddział Kraków"),
            ),
            "another NIP",
        ),
        (
            subunit_grant(admin.clone(), unit.clone(), None),
            "no subunitName",
        ),
    ] {
        let r = grant(&sim, &owner, body).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (400, 21405),
            "{why}: {}",
            r.body
        );
    }
    // Without SubunitManage: 403.
    let plain = login(&sim, &mint(&sim, &nip, &["CredentialsManage"]).await, &nip)
        .await
        .0;
    let r = grant(
        &sim,
        &plain,
        subunit_grant(admin.clone(), unit.clone(), Some("Oddział Kraków")),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Before the grant the administrator's certificate has nothing in the unit: 415.
    let dir = temp_dir();
    let (key, crt) = self_signed(
        &dir,
        "admin",
        false,
        &format!("/CN=Admin/serialNumber=TINPL-{ADMIN_NIP}"),
    );
    let pair = (key.as_path(), crt.as_path());
    let (status, _) = xades_login_in(
        &sim,
        &dir,
        pair,
        ("InternalId", &unit_id),
        "certificateSubject",
    )
    .await;
    assert_eq!(status["status"]["code"], 415, "{status}");

    let r = grant(
        &sim,
        &owner,
        subunit_grant(admin.clone(), unit.clone(), Some("Oddział Kraków")),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_permission_operation(&sim, &owner, &op).await, 200);

    let listed = query(
        &sim,
        &owner,
        "/permissions/query/subunits/grants",
        json!({}),
    )
    .await;
    let p = &listed["permissions"][0];
    assert_eq!(p["subunitIdentifier"], unit, "{listed}");
    assert_eq!(p["subunitName"], "Oddział Kraków");
    assert_eq!(p["permissionScope"], "CredentialsManage");
    assert_eq!(p["authorizedIdentifier"], admin);
    assert_eq!(p["subjectPersonDetails"]["lastName"], "Abacki");
    let other_unit = json!({"subunitIdentifier": {"type": "InternalId", "value": internal_id(&format!("{nip}-9999"))}});
    let none = query(
        &sim,
        &owner,
        "/permissions/query/subunits/grants",
        other_unit,
    )
    .await;
    assert_eq!(none["permissions"], json!([]), "{none}");
    // The person query of the parent shows the grant in the unit's context.
    let granted = query(
        &sim,
        &owner,
        "/permissions/query/persons/grants",
        json!({"queryType": "PermissionsGrantedInCurrentContext"}),
    )
    .await;
    let here = granted["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["authorizedIdentifier"] == admin)
        .unwrap_or_else(|| panic!("{granted}"));
    assert_eq!(here["contextIdentifier"], unit);

    // The administrator logs in to the unit with CredentialsManage and grants there.
    let (status, auth_token) = xades_login_in(
        &sim,
        &dir,
        pair,
        ("InternalId", &unit_id),
        "certificateSubject",
    )
    .await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    let unit_access = redeem(&sim, &auth_token).await;
    let r = post(&sim, "/permissions/persons/grants", "/permissions/persons/grants", Some(&unit_access),
        Some(json!({"subjectIdentifier": {"type": "Pesel", "value": "15062788702"}, "permissions": ["InvoiceRead"],
            "description": "Księgowa oddziału", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
            "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(
        wait_permission_operation(&sim, &unit_access, &op).await,
        200
    );

    // Revoked by the parent: the administrator's token loses CredentialsManage at once.
    let id = p["id"].as_str().unwrap();
    let r = call(
        &sim,
        Method::DELETE,
        "/permissions/common/grants/{permissionId}",
        &format!("/permissions/common/grants/{id}"),
        Some(&owner),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_permission_operation(&sim, &owner, &op).await, 200);
    let listed = query(
        &sim,
        &owner,
        "/permissions/query/subunits/grants",
        json!({}),
    )
    .await;
    assert_eq!(listed["permissions"], json!([]), "{listed}");
    let r = query_persons_status(&sim, &unit_access).await;
    assert_eq!(r, 403);
    sim.shutdown().await;
}

async fn query_persons_status(sim: &RunningSim, access: &str) -> u16 {
    post(
        sim,
        "/permissions/query/persons/grants",
        "/permissions/query/persons/grants",
        Some(access),
        Some(json!({"queryType": "PermissionsInCurrentContext"})),
    )
    .await
    .status
    .as_u16()
}

async fn testdata(sim: &RunningSim, path: &str, body: Value) {
    let r = client()
        .post(format!("{}/v2{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

#[tokio::test]
async fn vat_group_roles_and_administrators_of_its_members() {
    let sim = start().await;
    testdata(&sim, "/testdata/subject", json!({"subjectNip": GROUP, "subjectType": "VatGroup",
        "description": "Grupa VAT testowa", "subunits": [{"subjectNip": MEMBER, "description": "Członek grupy"}]})).await;
    let group = owner_access(&sim, GROUP).await;
    let member = owner_access(&sim, MEMBER).await;
    let demo = owner_access(&sim, &sim.demo.nip.clone()).await;

    let r = roles(&sim, &group).await;
    assert_eq!(r.as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r[0]["role"], "VatGroupUnit");
    let r = roles(&sim, &member).await;
    assert_eq!(r[0]["role"], "VatGroupSubUnit", "{r}");
    assert_eq!(
        r[0]["parentEntityIdentifier"],
        json!({"type": "Nip", "value": GROUP})
    );
    assert_eq!(roles(&sim, &demo).await, json!([]));

    let template = "/permissions/query/subordinate-entities/roles";
    let subs = query(&sim, &group, template, json!({})).await;
    assert_eq!(
        subs["roles"][0]["subordinateEntityIdentifier"],
        json!({"type": "Nip", "value": MEMBER}),
        "{subs}"
    );
    assert_eq!(subs["roles"][0]["role"], "VatGroupSubUnit");
    let filtered = query(
        &sim,
        &group,
        template,
        json!({"subordinateEntityIdentifier": {"type": "Nip", "value": OUTSIDER}}),
    )
    .await;
    assert_eq!(filtered["roles"], json!([]));
    assert_eq!(
        query(&sim, &demo, template, json!({})).await["roles"],
        json!([])
    );

    // A member's administrator: only from the group, only for its members.
    let pesel = json!({"type": "Pesel", "value": "15062788702"});
    let to = |nip: &str| json!({"type": "Nip", "value": nip});
    let r = grant(
        &sim,
        &group,
        subunit_grant(pesel.clone(), to(OUTSIDER), None),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405), "{}", r.body);
    let r = grant(&sim, &demo, subunit_grant(pesel.clone(), to(MEMBER), None)).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405), "{}", r.body);
    let r = grant(&sim, &group, subunit_grant(pesel.clone(), to(MEMBER), None)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let op = r.body["referenceNumber"].as_str().unwrap().to_string();
    assert_eq!(wait_permission_operation(&sim, &group, &op).await, 200);
    let listed = query(
        &sim,
        &group,
        "/permissions/query/subunits/grants",
        json!({"subunitIdentifier": to(MEMBER)}),
    )
    .await;
    assert_eq!(
        listed["permissions"][0]["authorizedIdentifier"], pesel,
        "{listed}"
    );
    // In the member's context the administrator's permission is current.
    let here = query(
        &sim,
        &member,
        "/permissions/query/persons/grants",
        json!({"queryType": "PermissionsInCurrentContext"}),
    )
    .await;
    let admin = here["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["authorizedIdentifier"] == pesel)
        .unwrap_or_else(|| panic!("{here}"));
    assert_eq!(admin["permissionScope"], "CredentialsManage");
    assert_eq!(admin["contextIdentifier"], to(MEMBER));

    // A bailiff (`/testdata/person` with isBailiff) has the CourtBailiff role.
    testdata(
        &sim,
        "/testdata/person",
        json!({"nip": OUTSIDER, "pesel": "30112206276",
        "isBailiff": true, "description": "Komornik"}),
    )
    .await;
    let bailiff = owner_access(&sim, OUTSIDER).await;
    assert_eq!(roles(&sim, &bailiff).await[0]["role"], "CourtBailiff");
    sim.shutdown().await;
}
