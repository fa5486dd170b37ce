//! Authentication sessions: the list's continuation token and `isCurrent`, revoking the others.

use ksef_core::flow;
use serde_json::json;

use super::{client, path, response};

fn session(reference: &str, current: bool) -> serde_json::Value {
    json!({
        "startDate": "2026-12-01T10:00:00+00:00",
        "authenticationMethod": "Token",
        "authenticationMethodInfo": {"category": "Token", "code": "token", "displayName": "Token KSeF"},
        "status": {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"},
        "isTokenRedeemed": true,
        "refreshTokenValidUntil": "2026-12-08T10:00:00+00:00",
        "referenceNumber": reference,
        "isCurrent": current
    })
}

#[tokio::test]
async fn list_follows_the_continuation_token_and_revoke_others_spares_the_current() {
    let (client, log, _) = client(|req, _| match (req.method().as_str(), path(req).as_str()) {
        ("GET", "/auth/sessions") => {
            assert_eq!(req.uri().query(), Some("pageSize=100"));
            match req.headers().get("x-continuation-token") {
                None => response(
                    200,
                    json!({"continuationToken": "next", "items": [session("here", true), session("phone", false)]}),
                ),
                Some(t) => {
                    assert_eq!(t, "next");
                    response(
                        200,
                        json!({"continuationToken": "", "items": [session("laptop", false)]}),
                    )
                }
            }
        }
        ("DELETE", p) => {
            assert!(
                p == "/auth/sessions/phone" || p == "/auth/sessions/laptop",
                "{p}"
            );
            response(204, serde_json::Value::Null)
        }
        other => panic!("unexpected {other:?}"),
    });
    let sessions = flow::list_auth_sessions(&client, "access", 5)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 3);
    assert!(sessions[0].is_current && !sessions[1].is_current);
    assert_eq!(sessions[0].authentication_method_info.category, "Token");
    assert_eq!(sessions[0].is_token_redeemed, Some(true));
    let revoked = flow::revoke_other_auth_sessions(&client, "access", 5)
        .await
        .unwrap();
    assert_eq!(revoked, ["phone", "laptop"]);
    let deletes = log.borrow().iter().filter(|(m, ..)| m == "DELETE").count();
    assert_eq!(deletes, 2);
}

#[tokio::test]
async fn a_session_without_the_optional_fields_parses() {
    let (client, _, _) = client(|_, _| {
        response(
            200,
            json!({"items": [{
                "startDate": "2026-12-01T10:00:00+00:00",
                "authenticationMethodInfo": {"category": "XadesSignature", "code": "x", "displayName": "Podpis"},
                "status": {"code": 200, "description": "ok"},
                "referenceNumber": "r"
            }]}),
        )
    });
    let sessions = flow::list_auth_sessions(&client, "access", 5)
        .await
        .unwrap();
    assert!(!sessions[0].is_current);
    assert_eq!(sessions[0].authentication_method, None);
}
