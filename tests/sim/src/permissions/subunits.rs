//! Administrators of subunits (`uprawnienia.md` "Nadanie uprawnień administratora podmiotu
//! podrzędnego"): `POST /permissions/subunits/grants` (202 + an operation) and
//! `POST /permissions/query/subunits/grants`.
//!
//! The grant gives `CredentialsManage` (nothing else, whatever the request says) in the
//! subunit's context: an `InternalId` `{context NIP}-{5 digits}` whose last digit is the
//! weighted checksum of open-api's description (weights 1, 3, 1, 3, … over the 14 digits,
//! mod 10; `subunitName` required), or the NIP of a subordinate entity — only when the
//! caller's entity is a parent (a `/testdata/subject` of type `VatGroup` or `JST` that
//! lists it). The administrator can then log in to that context and grant there.

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Auth, ContextId, Permission, SubjectId};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::details;
use super::grants::{NewGrants, add_grants, check_description, check_identifier, grantor_context};
use super::queries::{
    IdFilter, PageQuery, id_json, optional_json, page, paged, person_details, sorted,
};
use super::{GrantKind, UnitInfo, accepted};

/// The InternalId check digit: `{nip}-{dddd}` digits weighted 1, 3, 1, 3, … mod 10.
pub(super) fn internal_id_checksum_ok(value: &str) -> bool {
    let digits: Vec<u32> = value
        .chars()
        .filter(|c| *c != '-')
        .filter_map(|c| c.to_digit(10))
        .collect();
    if digits.len() != 15 {
        return false;
    }
    let sum: u32 = digits[..14]
        .iter()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { *d } else { d * 3 })
        .sum();
    sum % 10 == digits[14]
}

/// The NIP of the caller's entity (an `InternalId` begins with it).
fn context_nip(auth: &Auth) -> &str {
    &auth.context.value[..10.min(auth.context.value.len())]
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubunitGrantRequest {
    subject_identifier: SubjectId,
    context_identifier: ContextId,
    description: String,
    #[serde(default)]
    subunit_name: Option<String>,
    subject_details: Value,
}

/// `POST /permissions/subunits/grants` → 202 `{referenceNumber}`.
async fn grant_subunit(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<SubunitGrantRequest>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::SubunitManage])?;
    grantor_context(&auth)?;
    check_identifier(&req.subject_identifier, &["Nip", "Pesel", "Fingerprint"])?;
    check_description(&req.description)?;
    details::check(&req.subject_details, &details::PERSON_TYPES)?;
    if let Some(name) = &req.subunit_name
        && !(5..=256).contains(&name.chars().count())
    {
        return Err(ApiError::validation(
            "subunitName musi mieć od 5 do 256 znaków. / subunitName must have 5–256 characters.",
        ));
    }
    let unit = &req.context_identifier;
    let parent = context_nip(&auth).to_string();
    match unit.kind.as_str() {
        "InternalId" => {
            unit.validate()?;
            if !unit.value.starts_with(&format!("{parent}-")) {
                return Err(ApiError::validation(format!(
                    "Identyfikator wewnętrzny {} musi zaczynać się od NIP podmiotu kontekstu ({parent}). / The internal id must start with the context's NIP.",
                    unit.value
                )));
            }
            if !internal_id_checksum_ok(&unit.value) {
                return Err(ApiError::validation(format!(
                    "Nieprawidłowa cyfra kontrolna identyfikatora wewnętrznego {}. / Invalid internal id checksum.",
                    unit.value
                )));
            }
            if req.subunit_name.is_none() {
                return Err(ApiError::validation(
                    "subunitName jest wymagane dla jednostki z identyfikatorem wewnętrznym. / subunitName is required for an InternalId.",
                ));
            }
        }
        "Nip" => {
            if !util::nip_is_valid(&unit.value) {
                return Err(ApiError::validation(format!(
                    "Nieprawidłowy NIP podmiotu podrzędnego: {}.",
                    unit.value
                )));
            }
            let subordinate = {
                let st = state.lock();
                st.testdata.subjects.get(&parent).is_some_and(|s| {
                    matches!(s.subject_type.as_str(), "VatGroup" | "JST")
                        && s.subunits.contains(&unit.value)
                })
            };
            if !subordinate {
                return Err(ApiError::validation(format!(
                    "Podmiot {} nie jest podmiotem podrzędnym podmiotu {parent} (wymagana rola VatGroupUnit lub LocalGovernmentUnit). / Not a subordinate entity of the context.",
                    unit.value
                )));
            }
        }
        other => {
            return Err(ApiError::validation(format!(
                "Typ contextIdentifier {other} nie jest tu dozwolony (dozwolone: InternalId, Nip)."
            )));
        }
    }
    let reference = add_grants(
        &state,
        &auth,
        NewGrants {
            kind: GrantKind::Subunit,
            authorized: req.subject_identifier,
            target: Some(req.context_identifier),
            scopes: vec![("CredentialsManage".into(), false)],
            description: req.description,
            subject_details: req.subject_details,
            unit: Some(UnitInfo {
                name: req.subunit_name,
                details: None,
            }),
        },
    );
    Ok(accepted(reference))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SubunitsQuery {
    #[serde(default)]
    subunit_identifier: Option<IdFilter>,
}

/// `POST /permissions/query/subunits/grants` — the administrators appointed from the
/// current context (not the grants those administrators made inside their units).
async fn query_subunits(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[
        Permission::CredentialsManage,
        Permission::CredentialsRead,
        Permission::SubunitManage,
    ])?;
    let q: SubunitsQuery = optional_json(&body)?;
    let paging = page(&pq)?;
    if let Some(f) = &q.subunit_identifier
        && !matches!(f.kind.as_str(), "InternalId" | "Nip")
    {
        return Err(ApiError::validation(format!(
            "Typ subunitIdentifier {} nie jest dozwolony (dozwolone: InternalId, Nip).",
            f.kind
        )));
    }
    let now = util::now();
    let st = state.lock();
    let items: Vec<Value> = sorted(
        st.permissions
            .grants
            .values()
            .filter(|g| g.kind == GrantKind::Subunit && g.active_from <= now)
            .filter(|g| g.granted_in == auth.context)
            .filter(|g| {
                q.subunit_identifier
                    .as_ref()
                    .is_none_or(|f| g.target.as_ref().is_some_and(|t| f.matches_context(t)))
            })
            .collect(),
    )
    .into_iter()
    .map(|g| {
        let unit = g.target.clone().unwrap_or_else(|| g.granted_in.clone());
        let mut v = json!({
            "id": g.id,
            "authorizedIdentifier": id_json(&g.authorized),
            "subunitIdentifier": {"type": unit.kind, "value": unit.value},
            "authorIdentifier": id_json(&g.author),
            "permissionScope": g.scope,
            "description": g.description,
            "startDate": util::rfc3339(g.start),
        });
        let (person, _) = person_details(g);
        if !person.is_null() {
            v["subjectPersonDetails"] = person;
        }
        if let Some(name) = g.unit.as_ref().and_then(|u| u.name.clone()) {
            v["subunitName"] = json!(name);
        }
        v
    })
    .collect();
    Ok(Json(paged(items, paging)))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions/subunits/grants", post(grant_subunit))
        .route("/permissions/query/subunits/grants", post(query_subunits))
}

#[cfg(test)]
mod tests {
    use super::internal_id_checksum_ok;

    #[test]
    fn internal_id_checksum_follows_the_open_api_example() {
        // open-api: "6824515772-1234" → check digit 3.
        assert!(internal_id_checksum_ok("6824515772-12343"));
        assert!(!internal_id_checksum_ok("6824515772-12344"));
        // The request example "7762811692-12345" fails the documented algorithm (digit 7).
        assert!(!internal_id_checksum_ok("7762811692-12345"));
        assert!(internal_id_checksum_ok("7762811692-12347"));
    }
}
