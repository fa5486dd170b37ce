//! KSeF tokens: listing with continuation tokens and filters, waiting until a new one is active.

use ksef_core::flow;
use serde_json::json;

use super::{client, response};

#[tokio::test]
async fn token_list_sends_continuation_header() {
    let (client, _, _) = client(|req, n| {
        if n == 0 {
            assert!(req.headers().get("x-continuation-token").is_none());
            response(
                200,
                json!({"continuationToken": "next", "tokens": [{"referenceNumber": "a", "description": "app", "requestedPermissions": ["InvoiceRead"], "status": "Active"}]}),
            )
        } else {
            assert_eq!(req.headers()["x-continuation-token"], "next");
            response(
                200,
                json!({"tokens": [{"referenceNumber": "b", "description": "old", "requestedPermissions": [], "status": "Revoked"}]}),
            )
        }
    });
    let tokens = flow::list_tokens(&client, "access", 5).await.unwrap();
    assert_eq!(
        tokens.iter().map(|t| t.status.as_str()).collect::<Vec<_>>(),
        ["Active", "Revoked"]
    );
}

#[tokio::test]
async fn token_list_filters_go_in_the_query() {
    use ksef_core::api::tokens::{TokenState, list};
    let (client, _, _) = client(|req, _| {
        assert_eq!(
            req.uri().query(),
            Some(
                "pageSize=100&status=Active&status=Pending&description=Kwit%20app&authorIdentifierType=Nip"
            )
        );
        response(
            200,
            json!({"tokens": [{
                "referenceNumber": "a", "description": "Kwit app", "requestedPermissions": ["InvoiceRead", "Unknown"],
                "status": "Active", "dateCreated": "2026-12-01T00:00:00+00:00",
                "authorIdentifier": {"type": "Nip", "value": "5265877635"},
                "contextIdentifier": {"type": "Nip", "value": "5265877635"},
                "statusDetails": null
            }]}),
        )
    });
    let filter = list::Request {
        statuses: vec![TokenState::Active, TokenState::Pending],
        description: Some("Kwit app".into()),
        author_identifier_type: Some("Nip".into()),
        ..list::Request::default()
    };
    let tokens = flow::list_tokens_matching(&client, "access", &filter, 3)
        .await
        .unwrap();
    assert_eq!(tokens[0].state(), Some(TokenState::Active));
    assert_eq!(
        tokens[0].permissions(),
        [ksef_core::api::permissions::Permission::InvoiceRead]
    );
    assert_eq!(
        tokens[0].author_identifier,
        Some(ksef_core::api::Identifier::nip("5265877635"))
    );
}

fn token_with(status: &str) -> serde_json::Value {
    json!({"referenceNumber": "a", "description": "Kwit app", "requestedPermissions": [], "status": status, "statusDetails": ["Brak uprawnień"]})
}

#[tokio::test]
async fn a_new_token_is_waited_for_until_active_and_a_failed_one_is_an_error() {
    let (pending, _, sleeps) = client(|req, n| {
        assert_eq!(req.uri().path(), "/v2/tokens/a");
        response(200, token_with(if n == 0 { "Pending" } else { "Active" }))
    });
    let token = flow::wait_for_token_active(&pending, "access", "a")
        .await
        .unwrap();
    assert_eq!(token.status, "Active");
    assert_eq!(sleeps.borrow().len(), 1);

    let (failing, _, _) = client(|_, _| response(200, token_with("Failed")));
    let err = flow::wait_for_token_active(&failing, "access", "a")
        .await
        .unwrap_err();
    match err {
        ksef_core::error::Error::Ksef { details, .. } => assert_eq!(details, ["Brak uprawnień"]),
        other => panic!("{other:?}"),
    }
}
