//! Entity roles (`uprawnienia.md` "Pobranie listy ról podmiotu", "Pobranie listy podmiotów
//! podrzędnych"): `GET /permissions/query/entities/roles` and
//! `POST /permissions/query/subordinate-entities/roles`.
//!
//! Roles are not granted through the API; on TEST they come from `/testdata`: a subject of
//! type `EnforcementAuthority` → `EnforcementAuthority`, `VatGroup` → `VatGroupUnit` (its
//! subunits → `VatGroupSubUnit`), `JST` → `LocalGovernmentUnit` (its subunits →
//! `LocalGovernmentSubUnit`), a person with `isBailiff` → `CourtBailiff` for that NIP.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Auth, Permission};
use crate::error::ApiError;
use crate::state::{AppState, SimState};
use crate::util;

use super::queries::{IdFilter, PageQuery, optional_json, page};

/// The role a parent of `subject_type` gives its subunits, with its description.
fn subunit_role(subject_type: &str, parent: &str) -> Option<(&'static str, String)> {
    match subject_type {
        "VatGroup" => Some(("VatGroupSubUnit", format!("Członek grupy VAT {parent}"))),
        "JST" => Some(("LocalGovernmentSubUnit", format!("Podrzędna JST {parent}"))),
        _ => None,
    }
}

/// The roles (`EntityRole`) of the entity `nip`, newest first.
fn roles_of(st: &SimState, nip: &str) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(s) = st.testdata.subjects.get(nip) {
        let role = match s.subject_type.as_str() {
            "EnforcementAuthority" => Some(("EnforcementAuthority", "Organ egzekucyjny")),
            "VatGroup" => Some(("VatGroupUnit", "Grupa VAT")),
            "JST" => Some(("LocalGovernmentUnit", "Nadrzędna JST")),
            _ => None,
        };
        if let Some((role, description)) = role {
            out.push((
                s.created,
                json!({"role": role, "description": description, "startDate": util::rfc3339(s.created)}),
            ));
        }
    }
    for (parent, s) in &st.testdata.subjects {
        if s.subunits.iter().any(|u| u == nip)
            && let Some((role, description)) = subunit_role(&s.subject_type, parent)
        {
            out.push((
                s.created,
                json!({"parentEntityIdentifier": {"type": "Nip", "value": parent},
                    "role": role, "description": description, "startDate": util::rfc3339(s.created)}),
            ));
        }
    }
    if let Some(p) = st.testdata.persons.get(nip).filter(|p| p.is_bailiff) {
        out.push((
            p.created,
            json!({"role": "CourtBailiff", "description": "Komornik sądowy", "startDate": util::rfc3339(p.created)}),
        ));
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.0));
    out.into_iter().map(|(_, v)| v).collect()
}

fn page_of(items: Vec<Value>, (offset, size): (usize, usize)) -> Value {
    let total = items.len();
    let start = offset.saturating_mul(size);
    let roles: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    json!({"roles": roles, "hasMore": start.saturating_add(size) < total})
}

/// `GET /permissions/query/entities/roles` — the roles of the current context's entity.
async fn entity_roles(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Permission::CredentialsManage, Permission::CredentialsRead])?;
    let paging = page(&pq)?;
    let st = state.lock();
    let roles = if auth.context.kind == "Nip" {
        roles_of(&st, &auth.context.value)
    } else {
        Vec::new()
    };
    Ok(Json(page_of(roles, paging)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SubordinateQuery {
    #[serde(default)]
    subordinate_entity_identifier: Option<IdFilter>,
}

/// `POST /permissions/query/subordinate-entities/roles` — the subordinate entities of the
/// current context when it is a VAT group or a parent JST.
async fn subordinate_roles(
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
    let q: SubordinateQuery = optional_json(&body)?;
    let paging = page(&pq)?;
    if let Some(f) = &q.subordinate_entity_identifier
        && f.kind != "Nip"
    {
        return Err(ApiError::validation(format!(
            "Typ subordinateEntityIdentifier {} nie jest dozwolony (dozwolone: Nip).",
            f.kind
        )));
    }
    let st = state.lock();
    let parent = &auth.context.value;
    let mut roles = Vec::new();
    if auth.context.kind == "Nip"
        && let Some(s) = st.testdata.subjects.get(parent)
        && let Some((role, description)) = subunit_role(&s.subject_type, parent)
    {
        for unit in &s.subunits {
            if q.subordinate_entity_identifier
                .as_ref()
                .is_some_and(|f| f.value.as_ref().is_some_and(|v| v != unit))
            {
                continue;
            }
            roles.push(json!({
                "subordinateEntityIdentifier": {"type": "Nip", "value": unit},
                "role": role,
                "description": description,
                "startDate": util::rfc3339(s.created),
            }));
        }
    }
    Ok(Json(page_of(roles, paging)))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions/query/entities/roles", get(entity_roles))
        .route(
            "/permissions/query/subordinate-entities/roles",
            post(subordinate_roles),
        )
}
