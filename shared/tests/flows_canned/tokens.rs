//! KSeF tokens: listing with continuation tokens.

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
