//! Collective identifiers (identyfikatory zbiorcze, API 2.7.0; art. 108g of the VAT Act:
//! one transfer title for several invoices). The vendored open-api.json is 2.6.0 and the
//! 2.7 spec could not be obtained, so this module follows the changelog only
//! (`api-changelog.md`: 2.7.0 and the unreleased change) and its request/response shapes
//! are the simulator's own reading of it:
//!
//! * `POST /collective-identifiers` `{"ksefNumbers": [..], "description"?}` → 201
//!   `{"collectiveIdentifierNumber"}` — invoices of which the context is the seller or the
//!   buyer (21164 otherwise), 2..=10 000 of them, each at most once.
//! * `GET /collective-identifiers` (`pageSize` 10..100, `x-continuation-token`) →
//!   `{"collectiveIdentifiers": [{collectiveIdentifierNumber, createdDate, invoiceCount,
//!   description}], "hasMore", "continuationToken"?}`; `GET /collective-identifiers/{n}`.
//! * `POST /collective-identifiers/invoices` (`pageSize` 10..500)
//!   `{"collectiveIdentifierNumbers": [1..=10]}` → `{"invoices": [{collectiveIdentifierNumber,
//!   ksefNumber, invoiceNumber, issueDate, grossAmount, currency, seller}], "hasMore", ..}`
//!   (the unreleased change); `GET /collective-identifiers/{n}/invoices` (2.7.0, `pageSize`
//!   ≤ 200) stays for clients written against 2.7.0.
//!
//! Every operation needs `CollectiveIdentifierManage`; all are in the `collectiveIdentifier`
//! rate-limit group (limits.rs).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, Permission, next_token, paging};
use crate::error::ApiError;
use crate::query::{SubjectType, matches_subject};
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util::{self, rfc3339};

const MANAGE: [Permission; 1] = [Permission::CollectiveIdentifierManage];

/// One collective identifier.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Collective {
    pub number: String,
    pub context_nip: String,
    pub created: OffsetDateTime,
    pub description: Option<String>,
    pub ksef_numbers: Vec<String>,
}

/// The identifiers of every context (a field of `SimState`).
#[derive(Debug, Default)]
pub struct CollectiveStore {
    pub items: BTreeMap<String, Collective>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    ksef_numbers: Vec<String>,
    description: Option<String>,
}

fn not_found(number: &str) -> ApiError {
    ApiError::bad(
        21164,
        "Faktura o podanym identyfikatorze nie istnieje.",
        vec![format!(
            "Nie znaleziono faktury {number} w bieżącym kontekście."
        )],
    )
}

fn unknown_collective(number: &str) -> ApiError {
    ApiError::bad(
        21405,
        "Błąd walidacji danych wejściowych.",
        vec![format!(
            "Identyfikator zbiorczy {number} nie istnieje w bieżącym kontekście."
        )],
    )
}

/// `POST /collective-identifiers` → 201.
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<CreateRequest>,
) -> Result<Response, ApiError> {
    auth.require(&MANAGE)?;
    if !(2..=10_000).contains(&req.ksef_numbers.len()) {
        return Err(ApiError::validation(
            "ksefNumbers musi zawierać od 2 do 10000 numerów KSeF.",
        ));
    }
    if req
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 256)
    {
        return Err(ApiError::validation(
            "description może mieć najwyżej 256 znaków.",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let nip = auth.context.value.clone();
    let mut st = state.lock();
    for k in &req.ksef_numbers {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::validation(format!(
                "Numer KSeF {k} występuje więcej niż raz."
            )));
        }
        let party = st
            .invoices
            .by_ksef
            .get(k)
            .and_then(|i| st.invoices.invoices.get(*i))
            .is_some_and(|r| {
                matches_subject(r, SubjectType::Subject1, &nip)
                    || matches_subject(r, SubjectType::Subject2, &nip)
            });
        if !party {
            return Err(not_found(k));
        }
    }
    let number = util::reference_number("IZ");
    st.collective.items.insert(
        number.clone(),
        Collective {
            number: number.clone(),
            context_nip: nip,
            created: util::now(),
            description: req.description,
            ksef_numbers: req.ksef_numbers,
        },
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"collectiveIdentifierNumber": number})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_size: Option<String>,
}

fn summary(c: &Collective) -> Value {
    json!({
        "collectiveIdentifierNumber": c.number,
        "createdDate": rfc3339(c.created),
        "invoiceCount": c.ksef_numbers.len(),
        "description": c.description,
    })
}

/// `GET /collective-identifiers` — newest first.
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&MANAGE)?;
    let (size, offset) = paging(&headers, q.page_size.as_deref(), 10, 100, 10)?;
    let st = state.lock();
    let mut mine: Vec<&Collective> = st
        .collective
        .items
        .values()
        .filter(|c| c.context_nip == auth.context.value)
        .collect();
    mine.sort_by(|a, b| b.created.cmp(&a.created).then(b.number.cmp(&a.number)));
    let total = mine.len();
    let page: Vec<Value> = mine
        .iter()
        .skip(offset)
        .take(size)
        .map(|c| summary(c))
        .collect();
    let token = next_token(offset, size, total);
    Ok(axum::Json(json!({
        "collectiveIdentifiers": page,
        "hasMore": token.is_some(),
        "continuationToken": token,
    })))
}

/// `GET /collective-identifiers/{collectiveIdentifierNumber}`.
async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(number): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&MANAGE)?;
    let st = state.lock();
    let c = st
        .collective
        .items
        .get(&number)
        .filter(|c| c.context_nip == auth.context.value)
        .ok_or_else(|| unknown_collective(&number))?;
    let mut v = summary(c);
    v["ksefNumbers"] = json!(c.ksef_numbers);
    Ok(axum::Json(v))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvoicesRequest {
    collective_identifier_numbers: Vec<String>,
}

/// The invoices of `numbers`, paged.
fn invoices_page(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    numbers: &[String],
    page_size: Option<&str>,
    max_page: usize,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&MANAGE)?;
    let (size, offset) = paging(headers, page_size, 10, max_page, 10)?;
    let st = state.lock();
    let mut rows = Vec::new();
    for n in numbers {
        let c = st
            .collective
            .items
            .get(n)
            .filter(|c| c.context_nip == auth.context.value)
            .ok_or_else(|| unknown_collective(n))?;
        for k in &c.ksef_numbers {
            if let Some(r) = st
                .invoices
                .by_ksef
                .get(k)
                .and_then(|i| st.invoices.invoices.get(*i))
            {
                rows.push((n.clone(), r));
            }
        }
    }
    let total = rows.len();
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(size)
        .map(|(n, r)| {
            let m = r.metadata();
            json!({
                "collectiveIdentifierNumber": n,
                "ksefNumber": r.ksef_number,
                "invoiceNumber": m["invoiceNumber"],
                "issueDate": m["issueDate"],
                "grossAmount": m["grossAmount"],
                "currency": m["currency"],
                "seller": m["seller"],
            })
        })
        .collect();
    let token = next_token(offset, size, total);
    Ok(axum::Json(json!({
        "invoices": page,
        "hasMore": token.is_some(),
        "continuationToken": token,
    })))
}

/// `POST /collective-identifiers/invoices` (unreleased change: ≤ 10 identifiers, pageSize ≤ 500).
async fn invoices(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
    JsonBody(req): JsonBody<InvoicesRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    if !(1..=10).contains(&req.collective_identifier_numbers.len()) {
        return Err(ApiError::validation(
            "collectiveIdentifierNumbers musi zawierać od 1 do 10 identyfikatorów.",
        ));
    }
    invoices_page(
        &state,
        &auth,
        &headers,
        &req.collective_identifier_numbers,
        q.page_size.as_deref(),
        500,
    )
}

/// `GET /collective-identifiers/{collectiveIdentifierNumber}/invoices` (2.7.0, pageSize ≤ 200).
async fn invoices_of_one(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    invoices_page(
        &state,
        &auth,
        &headers,
        &[number],
        q.page_size.as_deref(),
        200,
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/collective-identifiers", post(create).get(list))
        .route("/collective-identifiers/invoices", post(invoices))
        .route(
            "/collective-identifiers/{collectiveIdentifierNumber}",
            get(get_one),
        )
        .route(
            "/collective-identifiers/{collectiveIdentifierNumber}/invoices",
            get(invoices_of_one),
        )
}
