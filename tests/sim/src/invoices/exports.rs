//! Async exports (ksef-guide §7): `POST /invoices/exports`, `GET /invoices/exports/{ref}` and
//! the encrypted parts under `/storage/exports/{ref}/{part}` (no auth).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::export;
use crate::query::{self, DateType, Filters, InvoiceRecord, RECORD_CAP};
use crate::server::JsonBody;
use crate::sessions::{EncryptionIn, processing_delay, unwrap_key};
use crate::state::AppState;
use crate::util::{self, rfc3339};

use super::{READ, hwm, query_error, visible};

/// One export job.
pub struct ExportJob {
    pub context_nip: String,
    pub created: OffsetDateTime,
    pub ready_at: OffsetDateTime,
    /// `Err(code, description, details)` for failed exports (415 key error, 420 HWM).
    pub result: Result<ExportResult, (u16, &'static str, Option<&'static str>)>,
}

pub struct ExportResult {
    pub package: export::Package,
    pub reference: String,
    pub is_truncated: bool,
    pub date_type: DateType,
    pub last_date: Option<(String, String)>,
    pub hwm: Option<OffsetDateTime>,
    pub compression: export::Compression,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    encryption: EncryptionIn,
    filters: Filters,
    #[serde(default)]
    only_metadata: bool,
    #[serde(default)]
    compression_type: export::Compression,
}

/// `POST /invoices/exports` → 201.
async fn start_export(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<ExportRequest>,
) -> Result<Response, ApiError> {
    auth.require(&READ)?;
    let key = unwrap_key(&state, &req.encryption)?;
    let now = util::now();
    let hwm = hwm(&state, now);
    // `from` after the HWM with restrictToPermanentStorageHwmDate: not a 400 but the
    // export's asynchronous status 420 (open-api InvoiceExportStatusResponse).
    let window = match query::window(&req.filters.date_range, now, hwm) {
        Ok(w) => Ok(w),
        Err((21183, _)) => Err((
            420,
            "Zakres filtrowania wykracza poza dostępny zakres danych",
            Some(query::HWM_DETAIL),
        )),
        Err(e) => return Err(query_error(e)),
    };
    let reference = util::reference_number("EH");
    let delay = time::Duration::try_from(processing_delay(&state)).unwrap_or(time::Duration::ZERO);
    let mut st = state.lock();
    // At most 10 exports in progress per context (21182).
    let running = st
        .invoices
        .exports
        .values()
        .filter(|j| j.context_nip == auth.context.value && now < j.ready_at)
        .count();
    if running >= 10 {
        return Err(ApiError::bad(
            21182,
            "Osiągnięto limit trwających eksportów.",
            vec!["Poczekaj na zakończenie trwających eksportów. / Wait for running exports to finish.".into()],
        ));
    }
    let result = match (key, window) {
        (None, _) => Err((415, "Błąd odszyfrowania dostarczonego klucza", None)),
        (_, Err(e)) => Err(e),
        (Some((k, iv)), Ok(window)) => {
            let hits = query::select(
                visible(&st.invoices.invoices, now),
                &auth.context.value,
                &req.filters,
                &window,
                false,
            );
            let is_truncated = hits.len() > RECORD_CAP;
            let taken: Vec<&InvoiceRecord> = hits.into_iter().take(RECORD_CAP).collect();
            let last_date = taken.last().map(|r| match window.kind {
                DateType::Issue => ("lastIssueDate".to_string(), r.facts.issue_date.clone()),
                DateType::Invoicing => ("lastInvoicingDate".to_string(), rfc3339(r.invoicing_date)),
                DateType::PermanentStorage => (
                    "lastPermanentStorageDate".to_string(),
                    rfc3339(r.permanent_storage_date),
                ),
            });
            export::build_as(
                req.compression_type,
                &taken,
                req.only_metadata,
                &k,
                &iv,
                state.config.export_part_size,
            )
            .map(|package| ExportResult {
                package,
                reference: reference.clone(),
                is_truncated,
                date_type: window.kind,
                last_date,
                hwm: (window.kind == DateType::PermanentStorage).then_some(hwm),
                compression: req.compression_type,
            })
            .map_err(|_| (500, "Nieznany błąd", None))
        }
    };
    st.invoices.exports.insert(
        reference.clone(),
        ExportJob {
            context_nip: auth.context.value.clone(),
            created: now,
            ready_at: now + delay,
            result,
        },
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"referenceNumber": reference})),
    )
        .into_response())
}

/// `GET /invoices/exports/{referenceNumber}`.
async fn export_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&READ)?;
    let now = util::now();
    let st = state.lock();
    let job = st
        .invoices
        .exports
        .get(&reference)
        .filter(|j| j.context_nip == auth.context.value)
        .ok_or_else(|| {
            ApiError::bad(
                21175,
                "Wynik zapytania o podanym identyfikatorze nie istnieje.",
                vec![],
            )
        })?;
    // Export status is kept 7 days (ksef-guide §7), then 410 Gone.
    if job.created + state.config.export_retention < now {
        return Err(ApiError::Gone);
    }
    if now < job.ready_at {
        return Ok(axum::Json(
            json!({"status": {"code": 100, "description": "Eksport faktur w toku"}}),
        ));
    }
    let r = match &job.result {
        Err((code, description, details)) => {
            let mut status = json!({"code": code, "description": description});
            if let Some(d) = details {
                status["details"] = json!([d]);
            }
            return Ok(axum::Json(json!({ "status": status })));
        }
        Ok(r) => r,
    };
    // Whole seconds: the signed link expires exactly at the reported date.
    let package_ttl =
        time::Duration::try_from(state.config.export_package_ttl).unwrap_or(time::Duration::DAY);
    let expires_at = (job.ready_at + package_ttl)
        .replace_nanosecond(0)
        .unwrap_or(job.ready_at);
    // The package is gone before the status is (status 210, then 410 after the retention).
    if now >= expires_at {
        return Ok(axum::Json(json!({"status": {"code": 210,
            "description": "Eksport faktur wygasł i nie jest już dostępny do pobrania"}})));
    }
    let expires = rfc3339(expires_at);
    let parts: Vec<Value> = r
        .package
        .parts
        .iter()
        .map(|p| {
            let name = part_name(r, p.ordinal);
            let path = format!("/storage/exports/{}/{name}", r.reference);
            json!({
                "ordinalNumber": p.ordinal,
                "partName": name,
                "method": "GET",
                "url": crate::storage::link(&state, &path, expires_at),
                "partSize": p.plain_size,
                "partHash": p.plain_hash,
                "encryptedPartSize": p.encrypted.len(),
                "encryptedPartHash": p.encrypted_hash,
                "expirationDate": expires,
            })
        })
        .collect();
    let mut package = json!({
        "invoiceCount": r.package.invoice_count,
        "size": r.package.size,
        "parts": parts,
        "isTruncated": r.is_truncated,
        "permanentStorageHwmDate": r.hwm.map(rfc3339),
    });
    if let Some((k, v)) = &r.last_date {
        package[k.as_str()] = json!(v);
    }
    let _ = r.date_type;
    Ok(axum::Json(json!({
        "status": {"code": 200, "description": "Eksport faktur zakończony sukcesem"},
        "completedDate": rfc3339(job.ready_at),
        "packageExpirationDate": expires,
        "package": package,
    })))
}

/// `{ref}-001.zip.aes` or `{ref}-001.tar.gz.aes`.
fn part_name(r: &ExportResult, ordinal: usize) -> String {
    format!(
        "{}-{ordinal:03}.{}.aes",
        r.reference,
        r.compression.extension()
    )
}

/// `GET /storage/exports/{reference}/{partName}` — encrypted part (no auth; the link's
/// signature and expiry are checked like a blob host's SAS: 403, unknown blobs 404).
async fn storage_part(
    State(state): State<AppState>,
    Path((reference, name)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(refused) = crate::storage::check(&state, uri.path(), uri.query()) {
        return refused;
    }
    let st = state.lock();
    let part = st
        .invoices
        .exports
        .get(&reference)
        .and_then(|job| job.result.as_ref().ok())
        .and_then(|r| {
            r.package
                .parts
                .iter()
                .find(|p| part_name(r, p.ordinal) == name)
        });
    let Some(part) = part else {
        return crate::storage::not_found();
    };
    let mut resp = (StatusCode::OK, part.encrypted.clone()).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&part.encrypted_hash) {
        resp.headers_mut().insert("x-ms-meta-hash", v);
    }
    resp
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices/exports", post(start_export))
        .route("/invoices/exports/{referenceNumber}", get(export_status))
}

/// `/storage/...` routes of this file (no auth).
pub(super) fn storage_routes() -> Router<AppState> {
    Router::new().route("/storage/exports/{reference}/{name}", get(storage_part))
}
