//! Conformance, measured: every operation of open-api.json (2.6.0) is either called with a
//! valid request from [`builders`] — its answer must be 2xx, documented, and its body must
//! match the operation's response schema — or probed to learn whether the simulator
//! serves it at all. Prints "served N of 78 operations" and what is not served; fails
//! unless every operation but Peppol's (out of scope) is served and called.
//!
//! To cover a new endpoint, add one line to a table (`table.rs`, `table_permissions.rs`):
//! `(METHOD, template, |ctx| ...)`; what the request needs goes into `prepare.rs` or
//! `setup.rs`. An operation with a builder that answers outside the schema fails the test.

#[path = "../common/mod.rs"]
mod common;
mod prepare;
mod setup;
mod table;
mod table_permissions;

use std::collections::BTreeSet;

use common::*;
use ksef_sim::SimConfig;
use ksef_sim::limits::RateProfile;
use reqwest::Method;
use serde_json::Value;

use prepare::prepare;
use table::Req;

pub type Builder = fn(&prepare::Ctx) -> Req;

/// The one operation out of scope (Peppol access points).
const PEPPOL: &str = "GET /peppol/query";

/// The request for each operation the simulator answers, in call order (destructive
/// ones last).
fn builders() -> Vec<(&'static str, &'static str, Builder)> {
    let mut all = table::core();
    all.extend(table_permissions::permissions());
    all.extend(table_permissions::testdata());
    all.extend(table_permissions::revokes());
    all.extend(table::last());
    all
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
    let called = served.len();
    println!(
        "served {} of {} operations (called with a valid request and checked against their schemas: {called}, served without a request builder: {})",
        called + without_builder.len(),
        all.len(),
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
    // The goal of issue 15: every operation but Peppol's served, and each one called.
    assert_eq!(
        not_served,
        [PEPPOL],
        "every operation of open-api.json but Peppol is served"
    );
    assert!(
        without_builder.is_empty(),
        "every served operation is called: add builders for {without_builder:?}"
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
    if let Some(xml) = &r.xml {
        rb = rb
            .header("content-type", "application/xml")
            .body(xml.clone());
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
