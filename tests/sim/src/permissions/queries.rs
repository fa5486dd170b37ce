//! Reading permissions: `POST /permissions/query/persons|personal|entities|authorizations/grants`
//! and `GET /permissions/attachments/status`.

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, ContextId, Permission, SubjectId};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::{Grant, GrantKind, is_owner, same};

/// `GET /permissions/attachments/status` — the attachment consent of the context
/// (granted on TEST through `/testdata/attachment`).
async fn attachment_status(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Permission::CredentialsManage, Permission::CredentialsRead])?;
    let st = state.lock();
    let consent = st.testdata.attachments.get(&auth.context.value);
    let now = util::now();
    let allowed = consent.is_some_and(|c| c.revoked.is_none_or(|r| r > now));
    Ok(Json(json!({
        "isAttachmentAllowed": allowed,
        "revokedDate": consent.and_then(|c| c.revoked).map(util::rfc3339),
    })))
}

// ---------------------------------------------------------------- queries

/// A request body the spec makes optional: empty means all defaults.
pub(super) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    bytes: &[u8],
) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::validation(format!("Nieprawidłowe dane JSON: {e}.")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageQuery {
    page_offset: Option<String>,
    page_size: Option<String>,
}

/// `pageOffset` (page number from 0) and `pageSize` (10..=100).
pub(super) fn page(q: &PageQuery) -> Result<(usize, usize), ApiError> {
    let offset = match q.page_offset.as_deref() {
        None => 0,
        Some(s) => s
            .parse::<usize>()
            .map_err(|_| ApiError::validation("pageOffset musi być liczbą nieujemną."))?,
    };
    let size = match q.page_size.as_deref() {
        None => 10,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (10..=100).contains(n))
            .ok_or_else(|| ApiError::validation("pageSize musi być z zakresu 10..100."))?,
    };
    Ok((offset, size))
}

pub(super) fn paged(items: Vec<Value>, (offset, size): (usize, usize)) -> Value {
    let total = items.len();
    let start = offset.saturating_mul(size);
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    json!({"permissions": page, "hasMore": start.saturating_add(size) < total})
}

pub(super) fn id_json(id: &SubjectId) -> Value {
    if id.value.is_empty() {
        // `System` (grants made through /testdata) has no value.
        json!({"type": id.kind, "value": null})
    } else {
        json!({"type": id.kind, "value": id.value})
    }
}

pub(super) fn person_details(g: &Grant) -> (Value, Value) {
    let d = &g.subject_details;
    let person = d
        .get("personById")
        .or_else(|| d.get("personByFpWithId"))
        .or_else(|| d.get("personByFpNoId"))
        .filter(|p| p.is_object());
    let entity_name = d
        .get("fullName")
        .and_then(Value::as_str)
        .or_else(|| d.get("entityDetails").and_then(|e| e["fullName"].as_str()));
    let subject_type = d
        .get("subjectDetailsType")
        .and_then(Value::as_str)
        .unwrap_or("PersonByIdentifier");
    let person_json = person.map_or(Value::Null, |p| {
        let mut v = json!({
            "subjectDetailsType": subject_type,
            "firstName": p["firstName"],
            "lastName": p["lastName"],
        });
        if let Some(id) = p.get("identifier").filter(|i| i.is_object()) {
            v["personIdentifier"] = id.clone();
        }
        if let Some(b) = p.get("birthDate").filter(|b| b.is_string()) {
            v["birthDate"] = b.clone();
        }
        if let Some(doc) = p.get("idDocument").filter(|b| b.is_object()) {
            v["idDocument"] = doc.clone();
        }
        v
    });
    let entity_json = entity_name.map_or(
        Value::Null,
        |n| json!({"subjectDetailsType": "EntityByIdentifier", "fullName": n}),
    );
    (person_json, entity_json)
}

/// The context a grant is valid in as the person queries show it (`contextIdentifier`).
fn shown_context(g: &Grant) -> &ContextId {
    match (&g.kind, &g.target) {
        (GrantKind::Subunit, Some(t)) => t,
        _ => &g.granted_in,
    }
}

fn state_of(g: &Grant, now: OffsetDateTime) -> &'static str {
    if g.active_from <= now {
        "Active"
    } else {
        "Inactive"
    }
}

fn person_json(g: &Grant, now: OffsetDateTime) -> Value {
    let (person, entity) = person_details(g);
    let mut v = json!({
        "id": g.id,
        "authorizedIdentifier": id_json(&g.authorized),
        "authorIdentifier": id_json(&g.author),
        "permissionScope": g.scope,
        "description": g.description,
        "permissionState": state_of(g, now),
        "startDate": util::rfc3339(g.start),
        "canDelegate": g.can_delegate,
    });
    match g.kind {
        GrantKind::Indirect => {
            v["contextIdentifier"] =
                json!({"type": g.granted_in.kind, "value": g.granted_in.value});
            v["targetIdentifier"] = match &g.target {
                Some(t) => json!({"type": t.kind, "value": t.value}),
                None => json!({"type": "AllPartners"}),
            };
        }
        // A subunit administrator's permission is valid in the subunit.
        GrantKind::Subunit => {
            if let Some(t) = &g.target {
                v["contextIdentifier"] = json!({"type": t.kind, "value": t.value});
            }
        }
        _ => {
            v["contextIdentifier"] =
                json!({"type": g.granted_in.kind, "value": g.granted_in.value});
        }
    }
    if !person.is_null() {
        v["subjectPersonDetails"] = person;
    } else if !entity.is_null() {
        v["subjectEntityDetails"] = entity;
    }
    v
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct IdFilter {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) value: Option<String>,
}

impl IdFilter {
    pub(super) fn matches(&self, id: &SubjectId) -> bool {
        self.kind.eq_ignore_ascii_case(&id.kind)
            && self
                .value
                .as_ref()
                .is_none_or(|v| v.eq_ignore_ascii_case(&id.value))
    }
    pub(super) fn matches_context(&self, c: &ContextId) -> bool {
        self.kind == c.kind && self.value.as_ref().is_none_or(|v| v == &c.value)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonsQuery {
    #[serde(default)]
    author_identifier: Option<IdFilter>,
    #[serde(default)]
    authorized_identifier: Option<IdFilter>,
    #[serde(default)]
    context_identifier: Option<IdFilter>,
    #[serde(default)]
    target_identifier: Option<IdFilter>,
    #[serde(default)]
    permission_types: Option<Vec<String>>,
    #[serde(default)]
    permission_state: Option<String>,
    query_type: String,
}

fn check_state_filter(s: &Option<String>) -> Result<(), ApiError> {
    match s.as_deref() {
        None | Some("Active") | Some("Inactive") => Ok(()),
        Some(other) => Err(ApiError::validation(format!(
            "Nieznany permissionState: {other}."
        ))),
    }
}

pub(super) fn sorted(mut grants: Vec<&Grant>) -> Vec<&Grant> {
    grants.sort_by(|a, b| b.start.cmp(&a.start).then(a.id.cmp(&b.id)));
    grants
}

/// `POST /permissions/query/persons/grants` — permissions valid in the current context
/// (`PermissionsInCurrentContext`) or granted in it (`PermissionsGrantedInCurrentContext`).
async fn query_persons(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
    JsonBody(q): JsonBody<PersonsQuery>,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[
        Permission::CredentialsManage,
        Permission::CredentialsRead,
        Permission::SubunitManage,
    ])?;
    let paging = page(&pq)?;
    check_state_filter(&q.permission_state)?;
    let granted_here = match q.query_type.as_str() {
        "PermissionsInCurrentContext" => false,
        "PermissionsGrantedInCurrentContext" => true,
        other => {
            return Err(ApiError::validation(format!(
                "Nieznany queryType: {other}."
            )));
        }
    };
    let now = util::now();
    let st = state.lock();
    let items: Vec<Value> = sorted(
        st.permissions
            .grants
            .values()
            .filter(|g| match g.kind {
                GrantKind::Person | GrantKind::Entity => g.granted_in == auth.context,
                GrantKind::Indirect => {
                    g.granted_in == auth.context
                        || (!granted_here && g.target.as_ref() == Some(&auth.context))
                }
                GrantKind::Subunit => {
                    g.granted_in == auth.context
                        || (!granted_here && g.target.as_ref() == Some(&auth.context))
                }
                // Listed by their own queries (subunits.rs, eu.rs, authorizations below).
                GrantKind::Authorization
                | GrantKind::EuEntityAdmin
                | GrantKind::EuEntityRepresentative => false,
            })
            .filter(|g| {
                !granted_here || same(&g.author, &auth.subject) || g.granted_in == auth.context
            })
            .filter(|g| {
                q.author_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches(&g.author))
            })
            .filter(|g| {
                q.authorized_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches(&g.authorized))
            })
            .filter(|g| {
                q.context_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches_context(shown_context(g)))
            })
            .filter(|g| {
                q.target_identifier
                    .as_ref()
                    .is_none_or(|f| match &g.target {
                        Some(t) => f.matches_context(t),
                        None => f.kind == "AllPartners" && g.kind == GrantKind::Indirect,
                    })
            })
            .filter(|g| {
                q.permission_types
                    .as_ref()
                    .is_none_or(|t| t.is_empty() || t.contains(&g.scope))
            })
            .filter(|g| {
                q.permission_state
                    .as_deref()
                    .is_none_or(|s| s == state_of(g, now))
            })
            .collect(),
    )
    .into_iter()
    .map(|g| person_json(g, now))
    .collect();
    Ok(Json(paged(items, paging)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PersonalQuery {
    #[serde(default)]
    context_identifier: Option<IdFilter>,
    #[serde(default)]
    target_identifier: Option<IdFilter>,
    #[serde(default)]
    permission_types: Option<Vec<String>>,
    #[serde(default)]
    permission_state: Option<String>,
}

/// `POST /permissions/query/personal/grants` — the caller's own permissions: granted to
/// its identity, and (for an owner) those its entity received from other contexts.
async fn query_personal(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let q: PersonalQuery = optional_json(&body)?;
    let paging = page(&pq)?;
    check_state_filter(&q.permission_state)?;
    let now = util::now();
    let st = state.lock();
    let owner = is_owner(&st, &auth.context, &auth.subject);
    let entity = SubjectId {
        kind: "Nip".into(),
        value: auth.context.value.clone(),
    };
    let items: Vec<Value> = sorted(
        st.permissions
            .grants
            .values()
            .filter(|g| {
                // EU grants live in NipVatUe contexts, which `PersonalPermission` cannot name.
                !matches!(
                    g.kind,
                    GrantKind::Authorization
                        | GrantKind::EuEntityAdmin
                        | GrantKind::EuEntityRepresentative
                )
            })
            .filter(|g| {
                same(&g.authorized, &auth.subject) || (owner && same(&g.authorized, &entity))
            })
            .filter(|g| {
                q.context_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches_context(shown_context(g)))
            })
            .filter(|g| {
                q.target_identifier
                    .as_ref()
                    .is_none_or(|f| match &g.target {
                        Some(t) => f.matches_context(t),
                        None => f.kind == "AllPartners" && g.kind == GrantKind::Indirect,
                    })
            })
            .filter(|g| {
                q.permission_types
                    .as_ref()
                    .is_none_or(|t| t.is_empty() || t.contains(&g.scope))
            })
            .filter(|g| {
                q.permission_state
                    .as_deref()
                    .is_none_or(|s| s == state_of(g, now))
            })
            .collect(),
    )
    .into_iter()
    .map(|g| {
        let mut v = person_json(g, now);
        if let Some(o) = v.as_object_mut() {
            o.remove("authorIdentifier");
        }
        v
    })
    .collect();
    Ok(Json(paged(items, paging)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct EntitiesQuery {
    #[serde(default)]
    context_identifier: Option<IdFilter>,
}

/// `POST /permissions/query/entities/grants` — invoice permissions the current context's
/// entity received from other contexts (`contextIdentifier` = who granted them).
async fn query_entities(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[Permission::CredentialsManage, Permission::CredentialsRead])?;
    let q: EntitiesQuery = optional_json(&body)?;
    let paging = page(&pq)?;
    let now = util::now();
    let st = state.lock();
    let items: Vec<Value> = sorted(
        st.permissions
            .grants
            .values()
            .filter(|g| g.kind == GrantKind::Entity && g.active_from <= now)
            .filter(|g| g.authorized.kind == "Nip" && g.authorized.value == auth.context.value)
            .filter(|g| {
                q.context_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches_context(&g.granted_in))
            })
            .collect(),
    )
    .into_iter()
    .map(|g| {
        json!({
            "id": g.id,
            "contextIdentifier": {"type": g.granted_in.kind, "value": g.granted_in.value},
            "permissionScope": g.scope,
            "description": g.description,
            "startDate": util::rfc3339(g.start),
            "canDelegate": g.can_delegate,
        })
    })
    .collect();
    Ok(Json(paged(items, paging)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationsQuery {
    #[serde(default)]
    authorizing_identifier: Option<IdFilter>,
    #[serde(default)]
    authorized_identifier: Option<IdFilter>,
    query_type: String,
    #[serde(default)]
    permission_types: Option<Vec<String>>,
}

/// `POST /permissions/query/authorizations/grants` — entity authorizations granted by the
/// context (`Granted`) or received by it (`Received`).
async fn query_authorizations(
    State(state): State<AppState>,
    auth: Auth,
    Query(pq): Query<PageQuery>,
    JsonBody(q): JsonBody<AuthorizationsQuery>,
) -> Result<Json<Value>, ApiError> {
    auth.require(&[
        Permission::CredentialsManage,
        Permission::CredentialsRead,
        Permission::PefInvoiceWrite,
    ])?;
    let paging = page(&pq)?;
    let granted = match q.query_type.as_str() {
        "Granted" => true,
        "Received" => false,
        other => {
            return Err(ApiError::validation(format!(
                "Nieznany queryType: {other}."
            )));
        }
    };
    let now = util::now();
    let st = state.lock();
    let items: Vec<Value> = sorted(
        st.permissions
            .grants
            .values()
            .filter(|g| g.kind == GrantKind::Authorization && g.active_from <= now)
            .filter(|g| {
                if granted {
                    g.granted_in == auth.context
                } else {
                    g.authorized.value == auth.context.value
                }
            })
            .filter(|g| {
                q.authorizing_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches_context(&g.granted_in))
            })
            .filter(|g| {
                q.authorized_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches(&g.authorized))
            })
            .filter(|g| {
                q.permission_types
                    .as_ref()
                    .is_none_or(|t| t.is_empty() || t.contains(&g.scope))
            })
            .collect(),
    )
    .into_iter()
    .map(|g| {
        let mut v = json!({
            "id": g.id,
            "authorIdentifier": id_json(&g.author),
            "authorizedEntityIdentifier": id_json(&g.authorized),
            "authorizingEntityIdentifier": {"type": "Nip", "value": g.granted_in.value},
            "authorizationScope": g.scope,
            "description": g.description,
            "startDate": util::rfc3339(g.start),
        });
        if let Some(name) = g.subject_details["fullName"].as_str() {
            v["subjectEntityDetails"] =
                json!({"subjectDetailsType": "EntityByIdentifier", "fullName": name});
        }
        v
    })
    .collect();
    let mut page = paged(items, paging);
    let grants = page["permissions"].take();
    Ok(Json(
        json!({"authorizationGrants": grants, "hasMore": page["hasMore"]}),
    ))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions/attachments/status", get(attachment_status))
        .route("/permissions/query/persons/grants", post(query_persons))
        .route("/permissions/query/personal/grants", post(query_personal))
        .route("/permissions/query/entities/grants", post(query_entities))
        .route(
            "/permissions/query/authorizations/grants",
            post(query_authorizations),
        )
}
