//! Issued certificates: `POST /certificates/retrieve`, `POST /certificates/query`,
//! `POST /certificates/{serial}/revoke`, and `PUT /testdata/certificates/{serialNumber}`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::{IssuedCertificate, cert_error, owned};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetrieveRequest {
    certificate_serial_numbers: Vec<String>,
}

/// `POST /certificates/retrieve`.
async fn retrieve(
    State(state): State<AppState>,
    auth: Auth,
    body: JsonBody<RetrieveRequest>,
) -> Result<Json<Value>, ApiError> {
    if body.0.certificate_serial_numbers.is_empty() || body.0.certificate_serial_numbers.len() > 10
    {
        return Err(ApiError::validation("Podaj od 1 do 10 numerów seryjnych."));
    }
    let st = state.lock();
    let certs: Vec<Value> = body
        .0
        .certificate_serial_numbers
        .iter()
        .filter_map(|s| st.certificates.issued.get(&s.to_ascii_uppercase()))
        .filter(|c| c.owner == auth.subject.value)
        .map(|c| json!({"certificate": util::b64(&c.der), "certificateName": c.name, "certificateSerialNumber": c.serial_hex, "certificateType": c.kind}))
        .collect();
    Ok(Json(json!({"certificates": certs})))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct QueryRequest {
    certificate_serial_number: Option<String>,
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    page_size: Option<String>,
    page_offset: Option<String>,
}

fn status_of(c: &IssuedCertificate, now: OffsetDateTime) -> &'static str {
    if c.revoked {
        "Revoked"
    } else if now > c.valid_to {
        "Expired"
    } else if now < c.valid_from {
        "Blocked"
    } else {
        "Active"
    }
}

/// `POST /certificates/query?pageSize=10..50&pageOffset=`.
async fn query(
    State(state): State<AppState>,
    auth: Auth,
    Query(page): Query<QueryPage>,
    body: JsonBody<QueryRequest>,
) -> Result<Json<Value>, ApiError> {
    let size = match page.page_size.as_deref().map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (10..=50).contains(&n) => n,
        _ => return Err(ApiError::validation("pageSize musi być z zakresu 10..50.")),
    };
    let offset = match page.page_offset.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        _ => {
            return Err(ApiError::validation(
                "pageOffset musi być liczbą nieujemną.",
            ));
        }
    };
    let q = body.0;
    let now = util::now();
    let st = state.lock();
    let mut certs: Vec<&IssuedCertificate> = owned(&st.certificates, &auth)
        .filter(|c| {
            q.certificate_serial_number
                .as_ref()
                .is_none_or(|s| s.eq_ignore_ascii_case(&c.serial_hex))
        })
        .filter(|c| q.name.as_ref().is_none_or(|n| c.name.contains(n.as_str())))
        .filter(|c| q.kind.as_ref().is_none_or(|k| k == &c.kind))
        .filter(|c| q.status.as_ref().is_none_or(|s| s == status_of(c, now)))
        .collect();
    certs.sort_by(|a, b| {
        b.requested
            .cmp(&a.requested)
            .then(a.serial_hex.cmp(&b.serial_hex))
    });
    let total = certs.len();
    let items: Vec<Value> = certs
        .into_iter()
        .skip(offset.saturating_mul(size))
        .take(size)
        .map(|c| json!({
            "certificateSerialNumber": c.serial_hex, "name": c.name, "type": c.kind, "commonName": c.common_name,
            "status": status_of(c, now), "subjectIdentifier": {"type": c.owner_kind, "value": c.owner},
            "validFrom": util::rfc3339(c.valid_from), "validTo": util::rfc3339(c.valid_to), "requestDate": util::rfc3339(c.requested),
        }))
        .collect();
    Ok(Json(
        json!({"certificates": items, "hasMore": (offset + 1).saturating_mul(size) < total}),
    ))
}

/// `POST /certificates/{certificateSerialNumber}/revoke` → 204.
async fn revoke(
    State(state): State<AppState>,
    auth: Auth,
    Path(serial): Path<String>,
) -> Result<StatusCode, ApiError> {
    let now = util::now();
    let mut st = state.lock();
    let c = st
        .certificates
        .issued
        .get_mut(&serial.to_ascii_uppercase())
        .filter(|c| c.owner == auth.subject.value)
        .ok_or_else(|| {
            cert_error(
                25008,
                "Certyfikat o podanym numerze seryjnym nie istnieje.",
                format!("Certyfikat {serial} nie został znaleziony."),
            )
        })?;
    if status_of(c, now) != "Active" {
        return Err(cert_error(
            25009,
            "Nie można odwołać wskazanego certyfikatu, ponieważ jest już odwołany, zablokowany lub nieważny.",
            format!("Certyfikat {serial} ma status {}.", status_of(c, now)),
        ));
    }
    c.revoked = true;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidityChange {
    valid_to: String,
}

/// `PUT /testdata/certificates/{serialNumber}` (KSeF 2.7, `api-changelog.md`; not in the
/// vendored 2.6.0 spec): shortens a KSeF certificate's `validTo` so expiry can be tested.
/// Body `{"validTo": "<RFC 3339>"}` → 200; a later date than the current one is 21405.
async fn testdata_validity(
    State(state): State<AppState>,
    Path(serial): Path<String>,
    JsonBody(req): JsonBody<ValidityChange>,
) -> Result<StatusCode, ApiError> {
    let valid_to = OffsetDateTime::parse(
        &req.valid_to,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| ApiError::validation("validTo musi być datą i czasem ISO 8601 (RFC 3339)."))?;
    let mut st = state.lock();
    let c = st
        .certificates
        .issued
        .get_mut(&serial.to_ascii_uppercase())
        .ok_or_else(|| {
            cert_error(
                25008,
                "Certyfikat o podanym numerze seryjnym nie istnieje.",
                format!("Certyfikat {serial} nie został znaleziony."),
            )
        })?;
    if valid_to > c.valid_to {
        return Err(ApiError::validation(format!(
            "validTo można tylko skrócić (obecnie {}). / validTo can only be shortened.",
            util::rfc3339(c.valid_to)
        )));
    }
    if valid_to < c.valid_from {
        return Err(ApiError::validation(
            "validTo nie może być wcześniejsze niż validFrom. / validTo before validFrom.",
        ));
    }
    c.valid_to = valid_to;
    Ok(StatusCode::OK)
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/testdata/certificates/{serialNumber}",
            axum::routing::put(testdata_validity),
        )
        .route("/certificates/retrieve", post(retrieve))
        .route("/certificates/query", post(query))
        .route(
            "/certificates/{certificateSerialNumber}/revoke",
            post(revoke),
        )
}
