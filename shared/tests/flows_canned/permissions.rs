//! The accountant's access: grant request shapes, waiting for the operation, a refused
//! operation, revoke, and the paged grant queries.

use ksef_core::api::Identifier;
use ksef_core::api::permissions::query::{entities, persons};
use ksef_core::api::permissions::{
    Permission, PermissionState, PersonDetails, grant_entity, grant_person,
};
use ksef_core::error::Error;
use ksef_core::flow;
use serde_json::json;

use super::{body, client, path, response};

const OP: &str = "20261203-OP-1234567890-ABCDEF1234-01";
const GRANT_ID: &str = "0b5c0a6e-6c4c-4a55-9a3e-2a8e3c8b1f01";

#[tokio::test]
async fn entity_grant_sends_the_schema_shape_and_waits_for_the_operation() {
    let (client, log, sleeps) = client(|req, n| {
        match (n, req.method().as_str(), path(req).as_str()) {
            (0, "POST", "/permissions/entities/grants") => {
                assert_eq!(
                    body(req),
                    json!({
                        "subjectIdentifier": {"type": "Nip", "value": "1111111111"},
                        "permissions": [{"type": "InvoiceRead", "canDelegate": false}, {"type": "InvoiceWrite", "canDelegate": false}],
                        "description": "Biuro rachunkowe",
                        "subjectDetails": {"fullName": "Biuro Rachunkowe Sp. z o.o."}
                    })
                );
                response(202, json!({"referenceNumber": OP}))
            }
            (1, "GET", p) => {
                assert_eq!(p, format!("/permissions/operations/{OP}"));
                response(
                    200,
                    json!({"status": {"code": 100, "description": "Operacja przyjęta do realizacji"}}),
                )
            }
            (2, "GET", _) => response(
                200,
                json!({"status": {"code": 200, "description": "Operacja zakończona sukcesem"}}),
            ),
            other => panic!("unexpected {other:?}"),
        }
    });
    let request = grant_entity::Request::invoices(
        "1111111111",
        "Biuro Rachunkowe Sp. z o.o.",
        &[Permission::InvoiceRead, Permission::InvoiceWrite],
        "Biuro rachunkowe",
    );
    let reference = flow::grant_entity_permissions(&client, "access", &request)
        .await
        .unwrap();
    assert_eq!(reference, OP);
    assert_eq!(log.borrow().len(), 3);
    assert_eq!(sleeps.borrow().len(), 1, "one wait while the operation ran");
}

#[tokio::test]
async fn person_grant_shape_and_a_refused_operation() {
    let (client, _, _) = client(|req, _| match (req.method().as_str(), path(req).as_str()) {
        ("POST", "/permissions/persons/grants") => {
            assert_eq!(
                body(req),
                json!({
                    "subjectIdentifier": {"type": "Pesel", "value": "90010112345"},
                    "permissions": ["InvoiceRead"],
                    "description": "Księgowa Ewa",
                    "subjectDetails": {"subjectDetailsType": "PersonByIdentifier", "personById": {"firstName": "Ewa", "lastName": "Kowalska"}}
                })
            );
            response(202, json!({"referenceNumber": OP}))
        }
        ("GET", _) => response(
            200,
            json!({"status": {"code": 420, "description": "Użyte poświadczenia nie mają uprawnień do wykonania tej operacji", "details": ["CredentialsManage"]}}),
        ),
        other => panic!("unexpected {other:?}"),
    });
    let request = grant_person::Request {
        subject_identifier: Identifier::pesel("90010112345"),
        permissions: vec![Permission::InvoiceRead],
        description: "Księgowa Ewa".into(),
        subject_details: PersonDetails::by_identifier("Ewa", "Kowalska"),
    };
    let err = flow::grant_person_permissions(&client, "access", &request)
        .await
        .unwrap_err();
    match err {
        Error::Ksef {
            code: 420, details, ..
        } => assert_eq!(details, ["CredentialsManage"]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_too_short_description_is_refused_before_sending() {
    let (client, log, _) = client(|_, _| panic!("nothing may be sent"));
    let request =
        grant_entity::Request::invoices("1111111111", "Biuro", &[Permission::InvoiceRead], "abc");
    let err = flow::grant_entity_permissions(&client, "access", &request)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(log.borrow().is_empty());
}

#[tokio::test]
async fn revoke_deletes_the_grant_and_waits() {
    let (client, log, _) = client(|req, n| match n {
        0 => {
            assert_eq!(req.method(), "DELETE");
            assert_eq!(path(req), format!("/permissions/common/grants/{GRANT_ID}"));
            response(202, json!({"referenceNumber": OP}))
        }
        _ => response(200, json!({"status": {"code": 200, "description": "ok"}})),
    });
    flow::revoke_permission(&client, "access", GRANT_ID)
        .await
        .unwrap();
    assert_eq!(log.borrow().len(), 2);
}

fn grant(id: &str, scope: &str) -> serde_json::Value {
    json!({
        "id": id,
        "authorizedIdentifier": {"type": "Nip", "value": "1111111111"},
        "contextIdentifier": {"type": "Nip", "value": "5265877635"},
        "authorIdentifier": {"type": "System"},
        "permissionScope": scope,
        "description": "Biuro rachunkowe",
        "subjectEntityDetails": {"subjectDetailsType": "EntityByIdentifier", "fullName": "Biuro Rachunkowe Sp. z o.o."},
        "permissionState": "Active",
        "startDate": "2026-12-03T00:00:00+00:00",
        "canDelegate": false
    })
}

#[tokio::test]
async fn persons_query_pages_by_offset_until_has_more_is_false() {
    let (client, log, _) = client(|req, n| {
        assert_eq!(path(req), "/permissions/query/persons/grants");
        assert_eq!(
            req.uri().query().unwrap(),
            format!("pageOffset={n}&pageSize=100")
        );
        assert_eq!(
            body(req),
            json!({"permissionTypes": ["InvoiceRead"], "permissionState": "Active", "queryType": "PermissionsGrantedInCurrentContext"})
        );
        response(
            200,
            json!({"permissions": [grant(&format!("id-{n}"), if n == 0 { "InvoiceRead" } else { "SomethingNew" })], "hasMore": n == 0}),
        )
    });
    let filter = persons::Filter {
        permission_types: Some(vec![Permission::InvoiceRead]),
        permission_state: Some(PermissionState::Active),
        ..persons::Filter::all(persons::QueryType::PermissionsGrantedInCurrentContext)
    };
    let grants = flow::query_person_permissions(&client, "access", &filter, 10)
        .await
        .unwrap();
    assert_eq!(log.borrow().len(), 2);
    assert_eq!(grants[0].permission(), Some(Permission::InvoiceRead));
    assert_eq!(grants[1].permission(), None, "a newer name still parses");
    assert_eq!(
        grants[0].author_identifier.value, None,
        "System has no value"
    );
    assert_eq!(
        grants[0].subject_entity_details.as_ref().unwrap().full_name,
        "Biuro Rachunkowe Sp. z o.o."
    );
}

#[tokio::test]
async fn entities_query_sends_an_empty_filter_and_reads_who_granted() {
    let (client, _, _) = client(|req, _| {
        assert_eq!(path(req), "/permissions/query/entities/grants");
        assert_eq!(body(req), json!({}));
        response(
            200,
            json!({"permissions": [{
                "id": GRANT_ID, "contextIdentifier": {"type": "Nip", "value": "5265877635"},
                "permissionScope": "InvoiceRead", "description": "Biuro rachunkowe",
                "startDate": "2026-12-03T00:00:00+00:00", "canDelegate": true
            }], "hasMore": false}),
        )
    });
    let received =
        flow::query_entity_permissions(&client, "access", &entities::Filter::default(), 3)
            .await
            .unwrap();
    assert_eq!(
        received[0].context_identifier,
        Identifier::nip("5265877635")
    );
    assert!(received[0].can_delegate);
}

#[tokio::test]
async fn an_expired_operation_is_gone() {
    let (client, _, _) = client(|_, _| response(410, json!({"title": "Gone", "status": 410})));
    let err = flow::wait_for_permission_operation(&client, "access", OP)
        .await
        .unwrap_err();
    assert_eq!(err, Error::Gone);
}
