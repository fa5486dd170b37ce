//! The request builders of the conformance walk for the authentication, limits, tokens,
//! sessions, invoices and certificates operations, and the destructive calls made last.

use serde_json::{Value, json};

use super::Builder;

pub struct Req {
    pub path: String,
    pub bearer: Option<String>,
    pub body: Option<Value>,
    /// An XML body (`POST /auth/xades-signature`), sent as `application/xml`.
    pub xml: Option<String>,
}

pub fn req(path: impl Into<String>, bearer: &str) -> Req {
    Req {
        path: path.into(),
        bearer: Some(bearer.to_string()),
        body: None,
        xml: None,
    }
}

pub fn with(path: impl Into<String>, bearer: &str, body: Value) -> Req {
    Req {
        body: Some(body),
        ..req(path, bearer)
    }
}

/// A call without a token and body.
pub fn public(path: impl Into<String>) -> Req {
    Req {
        path: path.into(),
        bearer: None,
        body: None,
        xml: None,
    }
}

/// A public call with a body (the TEST environment's `/testdata` endpoints take no token).
pub fn open(path: impl Into<String>, body: Value) -> Req {
    Req {
        body: Some(body),
        ..public(path)
    }
}

pub fn storage_range() -> Value {
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

/// Authentication, limits, tokens, sessions, invoices and certificates, in call order.
pub fn core() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        ("GET", "/security/public-key-certificates", |_| {
            public("/security/public-key-certificates")
        }),
        ("POST", "/auth/challenge", |_| public("/auth/challenge")),
        ("POST", "/auth/ksef-token", |c| {
            open("/auth/ksef-token", c.ksef_token_body.clone())
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
        ("POST", "/auth/xades-signature", |c| Req {
            xml: Some(c.x.xades_document.clone()),
            ..public("/auth/xades-signature")
        }),
        ("POST", "/tokens", |c| {
            with(
                "/tokens",
                &c.x.cert_access,
                json!({"permissions": ["InvoiceRead"], "description": "Token z logowania podpisem"}),
            )
        }),
        ("GET", "/certificates/enrollments/data", |c| {
            req("/certificates/enrollments/data", &c.x.cert_access)
        }),
        ("POST", "/certificates/enrollments", |c| {
            with(
                "/certificates/enrollments",
                &c.x.cert_access,
                c.x.enrollment_body.clone(),
            )
        }),
        ("GET", "/certificates/enrollments/{referenceNumber}", |c| {
            req(
                format!("/certificates/enrollments/{}", c.x.enrollment_ref),
                &c.x.cert_access,
            )
        }),
        ("POST", "/sessions/batch", |c| {
            with("/sessions/batch", &c.access, c.x.batch_open_body.clone())
        }),
        ("POST", "/sessions/batch/{referenceNumber}/close", |c| {
            req(
                format!("/sessions/batch/{}/close", c.x.batch_to_close),
                &c.access,
            )
        }),
    ]
}

/// The destructive calls, after everything else.
pub fn last() -> Vec<(&'static str, &'static str, Builder)> {
    vec![
        (
            "POST",
            "/certificates/{certificateSerialNumber}/revoke",
            |c| {
                with(
                    format!("/certificates/{}/revoke", c.x.certificate_serial),
                    &c.x.cert_access,
                    json!({"revocationReason": "Superseded"}),
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
