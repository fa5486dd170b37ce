//! Long on purpose: one table of request builders for every open-api operation plus the walk over it, meant to be read and extended in one place.
//!
//! Conformance, measured: every operation of open-api.json (2.6.0) is either called with a
//! valid request from [`builders`] — its answer must be 2xx, documented, and its body must
//! match the operation's response schema — or probed to learn whether the simulator
//! serves it at all. Prints "served N of 78 operations" and what is not served.
//!
//! To cover a new endpoint, add one line to [`builders`]: `(METHOD, template, |ctx| ...)`.
//! Operations the simulator serves but that have no builder yet are listed (and fail
//! nothing); an operation with a builder that answers outside the schema fails the test.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::flows::*;
use common::*;
use ksef_sim::SimConfig;
use ksef_sim::limits::RateProfile;
use reqwest::Method;
use serde_json::{Value, json};

/// Everything the request builders need, prepared once (see [`prepare`]).
struct Ctx {
    nip: String,
    access: String,
    refresh: String,
    /// A finished auth operation of `access`: `(referenceNumber, authenticationToken)`.
    auth_ref: String,
    auth_op_token: String,
    /// A finished, not yet redeemed operation token.
    unredeemed_op_token: String,
    /// Another login's auth reference (revoked by reference).
    other_auth_ref: String,
    /// A third login's access token (revokes itself: `DELETE /auth/sessions/current`).
    last_access: String,
    /// A fresh `POST /auth/ksef-token` body (its challenge unused).
    ksef_token_body: Value,
    encryption: Value,
    /// A processed session with one accepted invoice.
    session: String,
    invoice_ref: String,
    ksef_number: String,
    upo_ref: String,
    /// An open session for send/close.
    open_session: String,
    invoice_body: Value,
    export_ref: String,
    token_ref: String,
    /// A finished permission operation (a person grant made in [`prepare`]).
    permission_operation: String,
    /// Ids of grants made in [`prepare`], revoked last.
    person_permission_id: String,
    authorization_permission_id: String,
}

struct Req {
    path: String,
    bearer: Option<String>,
    body: Option<Value>,
}

fn req(path: impl Into<String>, bearer: &str) -> Req {
    Req {
        path: path.into(),
        bearer: Some(bearer.to_string()),
        body: None,
    }
}

fn with(path: impl Into<String>, bearer: &str, body: Value) -> Req {
    Req {
        path: path.into(),
        bearer: Some(bearer.to_string()),
        body: Some(body),
    }
}

/// A public call (the TEST environment's `/testdata` endpoints take no token).
fn open(path: impl Into<String>, body: Value) -> Req {
    Req {
        path: path.into(),
        bearer: None,
        body: Some(body),
    }
}

/// A valid NIP that is neither the demo company nor a context of the calls above.
const TD_COMPANY: &str = "3936518395";
const OFFICE_NIP: &str = "7010002137";
const PESEL: &str = "15062788702";

type Builder = fn(&Ctx) -> Req;

fn storage_range() -> Value {
    let from = (time::OffsetDateTime::now_utc() - time::Duration::days(30))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    json!({"dateType": "PermanentStorage", "from": from})
}

fn session_limits() -> Value {
    let l = json!({"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000});
    json!({"onlineSession": l, "batchSession": l})
}

fn own_rate_limits() -> Value {
    let v = json!({"perSecond": 1000, "perMinute": 10000, "perHour": 100000});
    let mut m = serde_json::Map::new();
    for g in ksef_sim::limits::GROUPS {
        m.insert(g.0.to_string(), v.clone());
    }
    json!({"rateLimits": m})
}

/// The request for each operation the simulator answers, in call order (destructive
/// ones last). Extend here.
fn builders() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        ("GET", "/security/public-key-certificates", |_| Req {
            path: "/security/public-key-certificates".into(),
            bearer: None,
            body: None,
        }),
        ("POST", "/auth/challenge", |_| Req {
            path: "/auth/challenge".into(),
            bearer: None,
            body: None,
        }),
        ("POST", "/auth/ksef-token", |c| Req {
            path: "/auth/ksef-token".into(),
            bearer: None,
            body: Some(c.ksef_token_body.clone()),
        }),
        ("GET", "/auth/{referenceNumber}", |c| {
            req(format!("/auth/{}", c.auth_ref), &c.auth_op_token)
        }),
        ("POST", "/auth/token/redeem", |c| {
            req("/auth/token/redeem", &c.unredeemed_op_token)
        }),
        ("POST", "/auth/token/refresh", |c| {
            req("/auth/token/refresh", &c.refresh)
        }),
        ("GET", "/auth/sessions", |c| {
            req("/auth/sessions", &c.access)
        }),
        ("GET", "/rate-limits", |c| req("/rate-limits", &c.access)),
        ("GET", "/limits/context", |c| {
            req("/limits/context", &c.access)
        }),
        ("GET", "/limits/subject", |c| {
            req("/limits/subject", &c.access)
        }),
        ("POST", "/testdata/limits/context/session", |c| {
            with(
                "/testdata/limits/context/session",
                &c.access,
                session_limits(),
            )
        }),
        ("DELETE", "/testdata/limits/context/session", |c| {
            req("/testdata/limits/context/session", &c.access)
        }),
        ("POST", "/testdata/limits/subject/certificate", |c| {
            with(
                "/testdata/limits/subject/certificate",
                &c.access,
                json!({"subjectIdentifierType": "Nip", "enrollment": {"maxEnrollments": 5}, "certificate": {"maxCertificates": 2}}),
            )
        }),
        ("DELETE", "/testdata/limits/subject/certificate", |c| {
            req("/testdata/limits/subject/certificate", &c.access)
        }),
        ("POST", "/testdata/rate-limits", |c| {
            with("/testdata/rate-limits", &c.access, own_rate_limits())
        }),
        ("DELETE", "/testdata/rate-limits", |c| {
            req("/testdata/rate-limits", &c.access)
        }),
        ("GET", "/tokens", |c| req("/tokens", &c.access)),
        ("GET", "/tokens/{referenceNumber}", |c| {
            req(format!("/tokens/{}", c.token_ref), &c.access)
        }),
        ("POST", "/sessions/online", |c| {
            with(
                "/sessions/online",
                &c.access,
                json!({"formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}, "encryption": c.encryption}),
            )
        }),
        ("POST", "/sessions/online/{referenceNumber}/invoices", |c| {
            with(
                format!("/sessions/online/{}/invoices", c.open_session),
                &c.access,
                c.invoice_body.clone(),
            )
        }),
        ("POST", "/sessions/online/{referenceNumber}/close", |c| {
            req(
                format!("/sessions/online/{}/close", c.open_session),
                &c.access,
            )
        }),
        ("GET", "/sessions", |c| {
            req("/sessions?sessionType=Online", &c.access)
        }),
        ("GET", "/sessions/{referenceNumber}", |c| {
            req(format!("/sessions/{}", c.session), &c.access)
        }),
        ("GET", "/sessions/{referenceNumber}/invoices", |c| {
            req(format!("/sessions/{}/invoices", c.session), &c.access)
        }),
        (
            "GET",
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            |c| {
                req(
                    format!("/sessions/{}/invoices/{}", c.session, c.invoice_ref),
                    &c.access,
                )
            },
        ),
        ("GET", "/sessions/{referenceNumber}/invoices/failed", |c| {
            req(
                format!("/sessions/{}/invoices/failed", c.session),
                &c.access,
            )
        }),
        (
            "GET",
            "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
            |c| {
                req(
                    format!(
                        "/sessions/{}/invoices/ksef/{}/upo",
                        c.session, c.ksef_number
                    ),
                    &c.access,
                )
            },
        ),
        (
            "GET",
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
            |c| {
                req(
                    format!("/sessions/{}/invoices/{}/upo", c.session, c.invoice_ref),
                    &c.access,
                )
            },
        ),
        (
            "GET",
            "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
            |c| {
                req(
                    format!("/sessions/{}/upo/{}", c.session, c.upo_ref),
                    &c.access,
                )
            },
        ),
        ("GET", "/invoices/ksef/{ksefNumber}", |c| {
            req(format!("/invoices/ksef/{}", c.ksef_number), &c.access)
        }),
        ("POST", "/invoices/query/metadata", |c| {
            with(
                "/invoices/query/metadata",
                &c.access,
                json!({"subjectType": "Subject1", "dateRange": storage_range()}),
            )
        }),
        ("POST", "/invoices/exports", |c| {
            with(
                "/invoices/exports",
                &c.access,
                json!({"encryption": c.encryption, "filters": {"subjectType": "Subject2", "dateRange": storage_range()}, "compressionType": "TarGz"}),
            )
        }),
        ("GET", "/invoices/exports/{referenceNumber}", |c| {
            req(format!("/invoices/exports/{}", c.export_ref), &c.access)
        }),
        ("GET", "/certificates/limits", |c| {
            req("/certificates/limits", &c.access)
        }),
        ("POST", "/certificates/query", |c| {
            with("/certificates/query", &c.access, json!({}))
        }),
        ("POST", "/certificates/retrieve", |c| {
            with(
                "/certificates/retrieve",
                &c.access,
                json!({"certificateSerialNumbers": ["0123456789ABCDEF"]}),
            )
        }),
        ("GET", "/permissions/attachments/status", |c| {
            req("/permissions/attachments/status", &c.access)
        }),
        ("POST", "/permissions/persons/grants", |c| {
            with(
                "/permissions/persons/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Pesel", "value": PESEL}, "permissions": ["InvoiceRead"],
                    "description": "Księgowa", "subjectDetails": {"subjectDetailsType": "PersonByIdentifier",
                    "personById": {"firstName": "Anna", "lastName": "Kowalska"}}}),
            )
        }),
        ("POST", "/permissions/entities/grants", |c| {
            with(
                "/permissions/entities/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP},
                    "permissions": [{"type": "InvoiceRead", "canDelegate": false}],
                    "description": "Biuro rachunkowe", "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}}),
            )
        }),
        ("POST", "/permissions/authorizations/grants", |c| {
            with(
                "/permissions/authorizations/grants",
                &c.access,
                json!({"subjectIdentifier": {"type": "Nip", "value": OFFICE_NIP}, "permission": "SelfInvoicing",
                    "description": "Samofakturowanie", "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}}),
            )
        }),
        ("GET", "/permissions/operations/{referenceNumber}", |c| {
            req(
                format!("/permissions/operations/{}", c.permission_operation),
                &c.access,
            )
        }),
        ("POST", "/permissions/query/personal/grants", |c| {
            with("/permissions/query/personal/grants", &c.access, json!({}))
        }),
        ("POST", "/permissions/query/persons/grants", |c| {
            with(
                "/permissions/query/persons/grants",
                &c.access,
                json!({"queryType": "PermissionsInCurrentContext"}),
            )
        }),
        ("POST", "/permissions/query/entities/grants", |c| {
            with("/permissions/query/entities/grants", &c.access, json!({}))
        }),
        ("POST", "/permissions/query/authorizations/grants", |c| {
            with(
                "/permissions/query/authorizations/grants",
                &c.access,
                json!({"queryType": "Granted"}),
            )
        }),
        ("POST", "/testdata/subject", |_| {
            open(
                "/testdata/subject",
                json!({"subjectNip": TD_COMPANY, "subjectType": "VatGroup", "description": "Grupa VAT testowa",
                    "subunits": [{"subjectNip": "7762811692", "description": "Członek grupy"}]}),
            )
        }),
        ("POST", "/testdata/person", |_| {
            open(
                "/testdata/person",
                json!({"nip": "7762811692", "pesel": PESEL, "isBailiff": false, "description": "Osoba testowa"}),
            )
        }),
        ("POST", "/testdata/permissions", |_| {
            open(
                "/testdata/permissions",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY},
                    "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP},
                    "permissions": [{"permissionType": "InvoiceRead", "description": "Odczyt faktur"}]}),
            )
        }),
        ("POST", "/testdata/attachment", |_| {
            open("/testdata/attachment", json!({"nip": TD_COMPANY}))
        }),
        ("POST", "/testdata/attachment/revoke", |_| {
            open("/testdata/attachment/revoke", json!({"nip": TD_COMPANY}))
        }),
        ("POST", "/testdata/permissions/revoke", |_| {
            open(
                "/testdata/permissions/revoke",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY},
                    "authorizedIdentifier": {"type": "Nip", "value": OFFICE_NIP}}),
            )
        }),
        ("POST", "/testdata/context/block", |_| {
            open(
                "/testdata/context/block",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY}}),
            )
        }),
        ("POST", "/testdata/context/unblock", |_| {
            open(
                "/testdata/context/unblock",
                json!({"contextIdentifier": {"type": "Nip", "value": TD_COMPANY}}),
            )
        }),
        ("POST", "/testdata/person/remove", |_| {
            open("/testdata/person/remove", json!({"nip": "7762811692"}))
        }),
        ("POST", "/testdata/subject/remove", |_| {
            open(
                "/testdata/subject/remove",
                json!({"subjectNip": TD_COMPANY}),
            )
        }),
        ("DELETE", "/permissions/common/grants/{permissionId}", |c| {
            req(
                format!("/permissions/common/grants/{}", c.person_permission_id),
                &c.access,
            )
        }),
        (
            "DELETE",
            "/permissions/authorizations/grants/{permissionId}",
            |c| {
                req(
                    format!(
                        "/permissions/authorizations/grants/{}",
                        c.authorization_permission_id
                    ),
                    &c.access,
                )
            },
        ),
        ("POST", "/testdata/rate-limits/production", |c| {
            req("/testdata/rate-limits/production", &c.access)
        }),
        ("DELETE", "/tokens/{referenceNumber}", |c| {
            req(format!("/tokens/{}", c.token_ref), &c.access)
        }),
        ("DELETE", "/auth/sessions/{referenceNumber}", |c| {
            req(format!("/auth/sessions/{}", c.other_auth_ref), &c.access)
        }),
        ("DELETE", "/auth/sessions/current", |c| {
            req("/auth/sessions/current", &c.last_access)
        }),
    ]
}

async fn prepare(sim: &ksef_sim::RunningSim) -> Ctx {
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
    Ctx {
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

/// Every operation of the spec as `(METHOD, template)`.
fn operations() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in schema::spec()["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                out.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Does the simulator route `method template` at all? Anything but the fallback's 404
/// and the 405 of a known path with another method counts.
async fn routed(sim: &ksef_sim::RunningSim, method: &str, template: &str) -> bool {
    let path: String = template
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/");
    let r = client()
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}/v2{path}", sim.base_url),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let fallback_404 = status == 404 && body["title"] == "Not Found";
    !(fallback_404 || status == 405)
}

#[tokio::test]
async fn every_served_operation_answers_within_its_schema() {
    // Not a rate-limit test: a generous profile, chosen explicitly.
    let sim = start_with(SimConfig {
        rate_profile: RateProfile::Generous,
        ..SimConfig::for_tests()
    })
    .await;
    let ctx = prepare(&sim).await;
    let _ = &ctx.nip;
    let all = operations();
    assert_eq!(all.len(), 78, "open-api.json 2.6.0 has 78 operations");
    let table = builders();
    let mut violations = Vec::new();
    let mut served = BTreeSet::new();
    for (method, template, build) in &table {
        assert!(
            all.iter().any(|(m, t)| m == method && t == template),
            "builder for {method} {template}, which open-api.json does not have"
        );
        let r = build(&ctx);
        let resp = client_call(&sim, method, template, &r).await;
        match resp {
            Ok((status, text)) => {
                served.insert((method.to_string(), template.to_string()));
                if !(200..300).contains(&status) {
                    violations.push(format!(
                        "{method} {template} → {status} for a valid request: {text}"
                    ));
                }
            }
            Err(e) => violations.push(e),
        }
    }
    let mut without_builder = Vec::new();
    let mut not_served = Vec::new();
    for (method, template) in &all {
        if served.contains(&(method.clone(), template.clone())) {
            continue;
        }
        if table.iter().any(|(m, t, _)| m == method && t == template) {
            continue;
        }
        if routed(&sim, method, template).await {
            without_builder.push(format!("{method} {template}"));
        } else {
            not_served.push(format!("{method} {template}"));
        }
    }
    println!(
        "served {} of {} operations (checked against their schemas: {}, served without a request builder yet: {})",
        served.len() + without_builder.len(),
        all.len(),
        served.len(),
        without_builder.len()
    );
    for op in &without_builder {
        println!("  served, no builder: {op}");
    }
    for op in &not_served {
        println!("  not served: {op}");
    }
    assert!(
        violations.is_empty(),
        "schema or status violations:\n{}",
        violations.join("\n")
    );
    sim.shutdown().await;
}

/// Sends one request; `Err` when the answer's status is undocumented or its body breaks
/// the schema, else `Ok((status, body))`.
async fn client_call(
    sim: &ksef_sim::RunningSim,
    method: &str,
    template: &str,
    r: &Req,
) -> Result<(u16, String), String> {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = client().request(m.clone(), format!("{}/v2{}", sim.base_url, r.path));
    if let Some(t) = &r.bearer {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = &r.body {
        rb = rb.json(b);
    }
    let resp = rb
        .send()
        .await
        .map_err(|e| format!("{method} {template}: {e}"))?;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let text = resp.text().await.unwrap_or_default();
    let op = &schema::spec()["paths"][template][method.to_ascii_lowercase()];
    if op["responses"].get(status.to_string()).is_none() {
        return Err(format!(
            "{method} {template} → {status}: not a documented status: {text}"
        ));
    }
    if let Some(schema) = schema::response_schema(method, template, status, &ct) {
        let body: Value = if ct.contains("json") {
            serde_json::from_str(&text)
                .map_err(|e| format!("{method} {template} → {status}: invalid JSON {e}"))?
        } else {
            Value::String(text.clone())
        };
        let errors = schema::validate(schema, &body);
        if !errors.is_empty() {
            return Err(format!(
                "{method} {template} → {status}: {errors:?}\n{body}"
            ));
        }
    }
    Ok((status, text))
}
