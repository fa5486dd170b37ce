//! Reading sessions: `GET /sessions/{ref}`, its invoice lists and invoice statuses, and
//! the `GET /sessions` list with its filters.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, Permission, paging};
use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

use super::{SESSION_READ, SessionInvoice, no_session};

/// `GET /sessions/{referenceNumber}`.
async fn status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&SESSION_READ)?;
    let now = util::now();
    let mut st = state.lock();
    let s = st
        .invoices
        .sessions
        .get_mut(&reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(&reference))?;
    Ok(axum::Json(s.status_json(&state, now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageSize {
    page_size: Option<String>,
}

fn invoice_list(
    state: &AppState,
    auth: &Auth,
    reference: &str,
    headers: &HeaderMap,
    page_size: Option<&str>,
    failed_only: bool,
) -> Result<Response, ApiError> {
    auth.require(&SESSION_READ)?;
    let (size, offset) = paging(headers, page_size, 10, 1000, 10)?;
    let now = util::now();
    let st = state.lock();
    let s = st
        .invoices
        .sessions
        .get(reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(reference))?;
    let all: Vec<&SessionInvoice> = s
        .invoices
        .iter()
        .filter(|i| !failed_only || i.failed(now))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|i| i.status_json(state, reference, now))
        .collect();
    let token = crate::auth::next_token(offset, size, all.len());
    Ok(axum::Json(json!({"continuationToken": token, "invoices": items})).into_response())
}

/// `GET /sessions/{referenceNumber}/invoices`.
async fn invoices(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageSize>,
) -> Result<Response, ApiError> {
    invoice_list(
        &state,
        &auth,
        &reference,
        &headers,
        q.page_size.as_deref(),
        false,
    )
}

/// `GET /sessions/{referenceNumber}/invoices/failed`.
async fn failed_invoices(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PageSize>,
) -> Result<Response, ApiError> {
    invoice_list(
        &state,
        &auth,
        &reference,
        &headers,
        q.page_size.as_deref(),
        true,
    )
}

fn no_invoice(reference: &str) -> ApiError {
    ApiError::bad(
        21405,
        "Błąd walidacji danych wejściowych.",
        vec![format!(
            "Nie znaleziono faktury {reference} w sesji. / No such invoice in the session."
        )],
    )
}

/// `GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}`.
async fn invoice_status(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, invoice)): Path<(String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&SESSION_READ)?;
    let now = util::now();
    let st = state.lock();
    let s = st
        .invoices
        .sessions
        .get(&reference)
        .filter(|s| s.context_nip == auth.context.value)
        .ok_or_else(|| no_session(&reference))?;
    let inv = s
        .invoices
        .iter()
        .find(|i| i.reference == invoice)
        .ok_or_else(|| no_invoice(&invoice))?;
    Ok(axum::Json(inv.status_json(&state, &reference, now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionsQuery {
    page_size: Option<String>,
    session_type: Option<String>,
    reference_number: Option<String>,
    date_created_from: Option<String>,
    date_created_to: Option<String>,
    date_closed_from: Option<String>,
    date_closed_to: Option<String>,
    date_modified_from: Option<String>,
    date_modified_to: Option<String>,
}

fn parse_opt_date(name: &str, v: &Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    match v {
        None => Ok(None),
        Some(t) => crate::query::parse_date_time(t)
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("Nieprawidłowa data {name}: {t}."))),
    }
}

/// `GET /sessions?sessionType=Online|Batch` — newest first.
async fn list_sessions(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&[
        Permission::InvoiceWrite,
        Permission::Introspection,
        Permission::EnforcementOperations,
    ])?;
    let raw = raw.unwrap_or_default();
    let q: SessionsQuery = serde_urlencoded_lite(&raw)?;
    let statuses: Vec<String> = raw
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| *k == "statuses")
        .map(|(_, v)| v.to_string())
        .collect();
    let kind = q.session_type.clone().ok_or_else(|| {
        ApiError::validation(
            "Parametr sessionType jest wymagany (Online lub Batch). / sessionType is required.",
        )
    })?;
    if kind != "Online" && kind != "Batch" {
        return Err(ApiError::validation(
            "sessionType musi mieć wartość Online lub Batch.",
        ));
    }
    let (size, offset) = paging(&headers, q.page_size.as_deref(), 10, 1000, 10)?;
    let created = (
        parse_opt_date("dateCreatedFrom", &q.date_created_from)?,
        parse_opt_date("dateCreatedTo", &q.date_created_to)?,
    );
    let closed = (
        parse_opt_date("dateClosedFrom", &q.date_closed_from)?,
        parse_opt_date("dateClosedTo", &q.date_closed_to)?,
    );
    let modified = (
        parse_opt_date("dateModifiedFrom", &q.date_modified_from)?,
        parse_opt_date("dateModifiedTo", &q.date_modified_to)?,
    );
    let in_range = |t: Option<OffsetDateTime>,
                    r: &(Option<OffsetDateTime>, Option<OffsetDateTime>)| {
        if r.0.is_none() && r.1.is_none() {
            return true;
        }
        t.is_some_and(|t| r.0.is_none_or(|f| t >= f) && r.1.is_none_or(|to| t <= to))
    };
    let now = util::now();
    let see_all = auth.has(Permission::Introspection);
    let mut st = state.lock();
    let mut items: Vec<(OffsetDateTime, Value)> = Vec::new();
    {
        for s in st.invoices.sessions.values_mut() {
            if s.batch.is_some() != (kind == "Batch") {
                continue;
            }
            if s.context_nip != auth.context.value
                || (!see_all && s.auth_reference != auth.auth_reference)
            {
                continue;
            }
            if q.reference_number
                .as_ref()
                .is_some_and(|r| *r != s.reference)
                || !in_range(Some(s.created), &created)
                || !in_range(s.closed, &closed)
                || !in_range(Some(s.updated), &modified)
            {
                continue;
            }
            let code = s.status(now).0;
            let group = match code {
                100 | 150 | 170 => "InProgress",
                200 => "Succeeded",
                440 => "Cancelled",
                _ => "Failed",
            };
            if !statuses.is_empty() && !statuses.iter().any(|x| x == group) {
                continue;
            }
            items.push((s.created, s.list_item(now)));
        }
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    let total = items.len();
    let page: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|(_, v)| v)
        .collect();
    let token = crate::auth::next_token(offset, size, total);
    Ok(axum::Json(json!({"continuationToken": token, "sessions": page})).into_response())
}

/// Tiny query-string reader for the single-valued parameters (no extra dependency).
fn serde_urlencoded_lite(raw: &str) -> Result<SessionsQuery, ApiError> {
    let mut map = serde_json::Map::new();
    for kv in raw.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if k == "statuses" {
            continue;
        }
        map.insert(k.to_string(), json!(percent_decode(v)));
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::validation(format!("Nieprawidłowe parametry zapytania: {e}.")))
}

/// `%XX` and `+` decoding for query values.
pub fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list_sessions))
        .route("/sessions/{referenceNumber}", get(status))
        .route("/sessions/{referenceNumber}/invoices", get(invoices))
        .route(
            "/sessions/{referenceNumber}/invoices/failed",
            get(failed_invoices),
        )
        .route(
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            get(invoice_status),
        )
}
