//! Reading invoices: `POST /invoices/query/metadata`, `GET /invoices/ksef/{ksefNumber}`,
//! async exports (ksef-guide §7), plus seeding purchase invoices (`/sim/inbox`).
//!
//! This file holds the metadata query and the download; `exports.rs` the exports and their
//! storage links, `seed.rs` the seeding.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, Permission};
use crate::error::ApiError;
use crate::query::{self, DateType, Filters, InvoiceRecord, RECORD_CAP};
use crate::server::JsonBody;
use crate::state::AppState;
use crate::upo::xml_response;
use crate::util::{self, rfc3339};

mod exports;
mod seed;

pub use exports::{ExportJob, ExportResult};
pub use seed::{purchase_invoice_xml, seed_arrivals, seed_purchases};

const READ: [Permission; 1] = [Permission::InvoiceRead];

/// `permanentStorageHwmDate` at `now`: KSeF stores invoices asynchronously, so the point up
/// to which the set is complete trails the present (pobieranie-faktur/hwm.md); new
/// invoices get a later `permanentStorageDate`, so nothing ever lands at or before it.
pub fn hwm(state: &AppState, now: OffsetDateTime) -> OffsetDateTime {
    now - time::Duration::try_from(state.config.hwm_lag).unwrap_or(time::Duration::ZERO)
}

/// Invoices already through processing (`acquisitionDate` reached).
fn visible(records: &[InvoiceRecord], now: OffsetDateTime) -> impl Iterator<Item = &InvoiceRecord> {
    records.iter().filter(move |r| r.acquisition_date <= now)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryParams {
    sort_order: Option<String>,
    page_offset: Option<String>,
    page_size: Option<String>,
}

/// `POST /invoices/query/metadata`.
async fn query_metadata(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<QueryParams>,
    JsonBody(filters): JsonBody<Filters>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&READ)?;
    let descending = match params.sort_order.as_deref() {
        None | Some("Asc") => false,
        Some("Desc") => true,
        Some(o) => {
            return Err(ApiError::validation(format!(
                "sortOrder musi być Asc lub Desc (jest {o})."
            )));
        }
    };
    let offset = match params.page_offset.as_deref() {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| ApiError::validation("pageOffset musi być liczbą ≥ 0."))?,
    };
    let size = match params.page_size.as_deref() {
        None => 10,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (10..=250).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(
                    "pageSize musi być z zakresu 10..250. / pageSize must be 10..250.",
                ));
            }
        },
    };
    let now = util::now();
    let hwm = hwm(&state, now);
    let window = query::window(&filters.date_range, now, hwm).map_err(query_error)?;
    let st = state.lock();
    let hits = query::select(
        visible(&st.invoices.invoices, now),
        &auth.context.value,
        &filters,
        &window,
        descending,
    );
    let page = query::page(&hits, offset, size, RECORD_CAP);
    Ok(axum::Json(json!({
        "hasMore": page.has_more,
        "isTruncated": page.is_truncated,
        "permanentStorageHwmDate": if window.kind == DateType::PermanentStorage { json!(rfc3339(hwm)) } else { Value::Null },
        "invoices": page.records.iter().map(|r| r.metadata()).collect::<Vec<_>>(),
    })))
}

fn query_error((code, detail): query::QueryError) -> ApiError {
    if code == 21405 {
        ApiError::validation(detail)
    } else {
        ApiError::bad(
            code,
            "Zakres filtrowania wykracza poza dostępny zakres danych.",
            vec![detail],
        )
    }
}

/// `GET /invoices/ksef/{ksefNumber}` — the raw XML, if the context is a party to it.
async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Path(ksef): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&READ)?;
    let now = util::now();
    let st = state.lock();
    let nip = &auth.context.value;
    let record = st
        .invoices
        .by_ksef
        .get(&ksef)
        .and_then(|i| st.invoices.invoices.get(*i))
        .filter(|r| {
            [
                query::SubjectType::Subject1,
                query::SubjectType::Subject2,
                query::SubjectType::Subject3,
                query::SubjectType::SubjectAuthorized,
            ]
            .into_iter()
            .any(|s| query::matches_subject(r, s, nip))
        })
        .ok_or_else(|| {
            ApiError::bad(
                21164,
                "Faktura o podanym identyfikatorze nie istnieje.",
                vec![format!(
                    "Nie znaleziono faktury {ksef}. / Invoice not found."
                )],
            )
        })?;
    if record.acquisition_date > now {
        return Err(ApiError::bad(
            21165,
            "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
            vec!["Spróbuj ponownie za chwilę. / Try again shortly.".into()],
        ));
    }
    Ok(xml_response(record.xml.to_vec()))
}

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices/query/metadata", post(query_metadata))
        .route("/invoices/ksef/{ksefNumber}", get(download))
        .merge(exports::routes())
}

/// `/storage/...` routes of this module (no auth).
pub fn storage_routes() -> Router<AppState> {
    exports::storage_routes()
}

/// `/sim/...` control routes of this module.
pub fn control_routes() -> Router<AppState> {
    seed::control_routes()
}
