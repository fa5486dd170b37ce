//! KSeF certificates over their life: the query's filter and paging, limits, revoke.

use ksef_core::api::certificates::{
    CertificateStatus, CertificateType, RevocationReason, query::Filter,
};
use ksef_core::error::Error;
use ksef_core::flow;
use serde_json::json;

use super::{body, client, path, response};

fn certificate(serial: &str, status: &str) -> serde_json::Value {
    json!({
        "certificateSerialNumber": serial, "name": "Kwit", "type": "Offline",
        "commonName": "Anna Nowak", "status": status,
        "subjectIdentifier": {"type": "Nip", "value": "5265877635"},
        "validFrom": "2026-01-01T00:00:00+00:00", "validTo": "2027-01-01T00:00:00+00:00",
        "requestDate": "2026-01-01T00:00:00+00:00"
    })
}

#[tokio::test]
async fn certificate_query_sends_the_filter_and_follows_has_more() {
    let (client, log, _) = client(|req, n| {
        assert_eq!(req.method(), "POST");
        assert_eq!(path(req), "/certificates/query");
        assert_eq!(
            req.uri().query().unwrap(),
            format!("pageSize=50&pageOffset={n}")
        );
        assert_eq!(req.headers()["content-type"], "application/json");
        assert_eq!(body(req), json!({"type": "Offline", "status": "Active"}));
        if n == 0 {
            response(
                200,
                json!({"certificates": [certificate("0123456789ABCDEF", "Active")], "hasMore": true}),
            )
        } else {
            let mut last = certificate("FEDCBA9876543210", "Active");
            last["lastUseDate"] = json!("2026-02-01T00:00:00+00:00");
            response(200, json!({"certificates": [last], "hasMore": false}))
        }
    });
    let filter = Filter {
        certificate_type: Some(CertificateType::Offline),
        status: Some(CertificateStatus::Active),
        ..Filter::default()
    };
    let certs = flow::query_certificates(&client, "access", &filter, 5)
        .await
        .unwrap();
    assert_eq!(log.borrow().len(), 2, "stops when hasMore is false");
    assert_eq!(certs[0].certificate_type, CertificateType::Offline);
    assert_eq!(
        certs[0].subject_identifier.value.as_deref(),
        Some("5265877635")
    );
    assert_eq!(certs[0].last_use_date, None);
    assert_eq!(
        certs[1].last_use_date.as_deref(),
        Some("2026-02-01T00:00:00+00:00")
    );
}

#[tokio::test]
async fn an_empty_filter_is_an_empty_object_and_every_status_parses() {
    let (client, _, _) = client(|req, _| {
        assert_eq!(body(req), json!({}));
        let all =
            ["Active", "Blocked", "Revoked", "Expired"].map(|s| certificate("0123456789ABCDEF", s));
        response(200, json!({"certificates": all, "hasMore": false}))
    });
    let certs = flow::query_certificates(&client, "access", &Filter::default(), 1)
        .await
        .unwrap();
    assert_eq!(
        certs.iter().map(|c| c.status).collect::<Vec<_>>(),
        [
            CertificateStatus::Active,
            CertificateStatus::Blocked,
            CertificateStatus::Revoked,
            CertificateStatus::Expired
        ]
    );
}

#[tokio::test]
async fn limits_parse() {
    let (client, _, _) = client(|req, _| {
        assert_eq!(
            (req.method().as_str(), path(req).as_str()),
            ("GET", "/certificates/limits")
        );
        response(
            200,
            json!({"canRequest": false, "enrollment": {"remaining": 0, "limit": 300}, "certificate": {"remaining": 3, "limit": 100}}),
        )
    });
    let limits = flow::certificate_limits(&client, "access").await.unwrap();
    assert!(!limits.can_request);
    assert_eq!(
        (limits.enrollment.remaining, limits.certificate.limit),
        (0, 100)
    );
}

#[tokio::test]
async fn revoke_posts_the_reason_and_maps_25009() {
    let (client, log, _) = client(|req, n| {
        assert_eq!(req.method(), "POST");
        assert_eq!(path(req), "/certificates/0123456789ABCDEF/revoke");
        if n == 0 {
            assert_eq!(body(req), json!({"revocationReason": "Superseded"}));
            response(204, serde_json::Value::Null)
        } else {
            assert_eq!(body(req), json!({}));
            response(
                400,
                json!({"exception": {"exceptionDetailList": [{"exceptionCode": 25009, "exceptionDescription": "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny."}]}}),
            )
        }
    });
    flow::revoke_certificate(
        &client,
        "access",
        "0123456789ABCDEF",
        Some(RevocationReason::Superseded),
    )
    .await
    .unwrap();
    let err = flow::revoke_certificate(&client, "access", "0123456789ABCDEF", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ksef { code: 25009, .. }), "{err:?}");
    assert_eq!(log.borrow()[0].2.as_deref(), Some("Bearer access"));
}

#[test]
fn a_certificate_is_due_for_renewal_a_month_before_it_ends() {
    let cert: ksef_core::api::certificates::query::Certificate =
        serde_json::from_value(certificate("0123456789ABCDEF", "Active")).unwrap();
    // validTo 2027-01-01T00:00:00Z = 1798761600.
    let day = 86_400;
    assert_eq!(cert.days_left(1_798_761_600 - 31 * day), Some(31));
    assert!(!cert.needs_renewal(1_798_761_600 - 31 * day));
    assert!(cert.needs_renewal(1_798_761_600 - 29 * day));
    assert_eq!(cert.days_left(1_798_761_600 + 1), Some(-1), "expired");
    let revoked: ksef_core::api::certificates::query::Certificate =
        serde_json::from_value(certificate("0123456789ABCDEF", "Revoked")).unwrap();
    assert!(
        !revoked.needs_renewal(1_798_761_600 - day),
        "nothing to renew"
    );
}
