//! KSeF availability ("Latarnia"): MF's status service, a separate host in reality
//! (`https://api-latarnia.ksef.mf.gov.pl`, `https://api-latarnia-test.ksef.mf.gov.pl`), served
//! here under `/latarnia/` — `GET /latarnia/status` and `GET /latarnia/messages` — with a control,
//! `POST /sim/latarnia`, to announce maintenance, declare a failure or take Latarnia itself down
//! (it had outages of its own: ksef-latarnia #28 a 504, #31 a 502 for about four hours).
//!
//! Shapes: `GET /status` → `{"status": "AVAILABLE|MAINTENANCE|FAILURE|TOTAL_FAILURE",
//! "messages": [Message]}` (`messages` absent while AVAILABLE); `GET /messages` → `[Message]`,
//! every published message; `Message = {id, eventId, category, type, title, text, start, end?,
//! version, published}`.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::AppState;

/// What Latarnia says now (one per simulator; the simulator is one environment).
#[derive(Debug, Clone, Default)]
pub struct LatarniaStore {
    status: Availability,
    /// The messages tied to the current status (what `/status` lists).
    current: Vec<Message>,
    /// Every published message, newest last (what `/messages` lists).
    published: Vec<Message>,
    /// Latarnia itself does not answer: the gateway's status and HTML page.
    outage: Option<u16>,
    next_id: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Availability {
    #[default]
    Available,
    Maintenance,
    Failure,
    TotalFailure,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    id: String,
    event_id: String,
    category: Availability,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    text: String,
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    version: u32,
    published: String,
}

/// `POST /sim/latarnia`: the status to report, with its message, or an outage of Latarnia.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Control {
    status: Option<Availability>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// RFC 3339; defaults to now.
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    end: Option<String>,
    /// `502`/`503`/`504`: Latarnia answers with a gateway's HTML page; `null` ends it.
    #[serde(default)]
    outage: Option<u16>,
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl LatarniaStore {
    fn apply(&mut self, control: Control) -> Result<(), String> {
        if let Some(code) = control.outage {
            if !matches!(code, 502..=504) {
                return Err("outage must be 502, 503 or 504".into());
            }
            self.outage = Some(code);
            return Ok(());
        }
        self.outage = None;
        let Some(status) = control.status else {
            return Ok(());
        };
        let now = now_rfc3339();
        // The end of what was going on is published when the status returns to normal.
        if status == Availability::Available {
            let failure = self
                .current
                .last()
                .filter(|m| {
                    matches!(
                        m.category,
                        Availability::Failure | Availability::TotalFailure
                    )
                })
                .cloned();
            if let Some(last) = failure {
                self.next_id += 1;
                let ended = Message {
                    id: format!("msg-{}", self.next_id),
                    kind: "FAILURE_END",
                    title: control
                        .title
                        .unwrap_or_else(|| "Zakończenie niedostępności KSeF".into()),
                    text: control
                        .text
                        .unwrap_or_else(|| "KSeF działa ponownie.".into()),
                    end: Some(now.clone()),
                    version: last.version + 1,
                    published: now,
                    ..last
                };
                self.published.push(ended);
            }
            self.status = status;
            self.current.clear();
            return Ok(());
        }
        let (kind, title) = match status {
            Availability::Maintenance => ("MAINTENANCE_ANNOUNCEMENT", "Prace serwisowe KSeF"),
            Availability::Failure => ("FAILURE_START", "Awaria KSeF"),
            _ => ("FAILURE_START", "Całkowita awaria KSeF"),
        };
        self.next_id += 1;
        let message = Message {
            id: format!("msg-{}", self.next_id),
            event_id: format!("event-{}", self.next_id),
            category: status,
            kind,
            title: control.title.unwrap_or_else(|| title.into()),
            text: control.text.unwrap_or_default(),
            start: control.start.unwrap_or_else(|| now.clone()),
            end: control.end,
            version: 1,
            published: now,
        };
        self.status = status;
        self.current = vec![message.clone()];
        self.published.push(message);
        Ok(())
    }
}

/// A gateway's page, as Latarnia's outages looked: HTML, not JSON.
fn outage_page(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<html><body><h1>{code} {}</h1></body></html>",
            status.canonical_reason().unwrap_or("")
        ),
    )
        .into_response()
}

async fn status(State(state): State<AppState>) -> Response {
    let store = state.lock().latarnia.clone();
    if let Some(code) = store.outage {
        return outage_page(code);
    }
    let body = if store.status == Availability::Available {
        json!({ "status": store.status })
    } else {
        json!({ "status": store.status, "messages": store.current })
    };
    axum::Json(body).into_response()
}

async fn messages(State(state): State<AppState>) -> Response {
    let store = state.lock().latarnia.clone();
    if let Some(code) = store.outage {
        return outage_page(code);
    }
    axum::Json(store.published).into_response()
}

async fn control(
    State(state): State<AppState>,
    body: crate::server::JsonBody<Control>,
) -> Response {
    match state.lock().latarnia.apply(body.0) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": why }))).into_response(),
    }
}

/// Latarnia's API (no auth, no KSeF rate limits: it is another service) and its control.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/latarnia/status", get(status))
        .route("/latarnia/messages", get(messages))
        .route("/sim/latarnia", post(control))
}
