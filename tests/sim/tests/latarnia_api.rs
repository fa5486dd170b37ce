//! Latarnia (KSeF availability) over real HTTP: `GET /latarnia/status` and `/latarnia/messages`
//! in the shapes of MF's service, changed through `POST /sim/latarnia` — a maintenance
//! announcement, a failure and its end, and an outage of Latarnia itself (an HTML 502, as its
//! real outages looked).

mod common;

use common::*;
use serde_json::{Value, json};

async fn get_json(base: &str, path: &str) -> (u16, String, Value) {
    let r = client().get(format!("{base}{path}")).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn control(base: &str, body: Value) -> u16 {
    let r = client()
        .post(format!("{base}/sim/latarnia"))
        .json(&body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test]
async fn available_by_default_without_messages() {
    let sim = start().await;
    let (status, ct, body) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert_eq!(body, json!({"status": "AVAILABLE"}));
    let (_, _, messages) = get_json(&sim.base_url, "/latarnia/messages").await;
    assert_eq!(messages, json!([]));
}

#[tokio::test]
async fn maintenance_is_announced_with_its_window() {
    let sim = start().await;
    let body = json!({"status": "MAINTENANCE", "title": "Prace serwisowe",
        "text": "KSeF będzie niedostępny.", "start": "2026-12-05T20:00:00Z", "end": "2026-12-05T23:00:00Z"});
    assert_eq!(control(&sim.base_url, body).await, 204);
    let (_, _, body) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!(body["status"], "MAINTENANCE");
    let message = &body["messages"][0];
    assert_eq!(message["category"], "MAINTENANCE");
    assert_eq!(message["type"], "MAINTENANCE_ANNOUNCEMENT");
    assert_eq!(message["title"], "Prace serwisowe");
    assert_eq!(message["start"], "2026-12-05T20:00:00Z");
    assert_eq!(message["end"], "2026-12-05T23:00:00Z");
    for field in ["id", "eventId", "version", "published", "text"] {
        assert!(message.get(field).is_some(), "{field} missing: {message}");
    }
}

#[tokio::test]
async fn a_failure_and_its_end_are_published() {
    let sim = start().await;
    assert_eq!(
        control(
            &sim.base_url,
            json!({"status": "FAILURE", "text": "Awaria"})
        )
        .await,
        204
    );
    let (_, _, body) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!(body["status"], "FAILURE");
    assert_eq!(body["messages"][0]["type"], "FAILURE_START");
    let event = body["messages"][0]["eventId"].clone();

    assert_eq!(
        control(&sim.base_url, json!({"status": "AVAILABLE"})).await,
        204
    );
    let (_, _, body) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!(body, json!({"status": "AVAILABLE"}));
    let (_, _, messages) = get_json(&sim.base_url, "/latarnia/messages").await;
    let kinds: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["FAILURE_START", "FAILURE_END"]);
    assert_eq!(
        messages[1]["eventId"], event,
        "the end belongs to the same event"
    );
    assert!(messages[1]["end"].is_string());
}

#[tokio::test]
async fn latarnia_itself_can_be_down() {
    let sim = start().await;
    assert_eq!(control(&sim.base_url, json!({"outage": 502})).await, 204);
    let (status, ct, _) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!(status, 502);
    assert!(ct.starts_with("text/html"), "{ct}");
    // KSeF itself still answers.
    let r = client()
        .get(format!(
            "{}/v2/security/public-key-certificates",
            sim.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(control(&sim.base_url, json!({"outage": 418})).await, 400);
    assert_eq!(
        control(&sim.base_url, json!({"status": "AVAILABLE"})).await,
        204
    );
    let (status, _, _) = get_json(&sim.base_url, "/latarnia/status").await;
    assert_eq!(status, 200);
}
