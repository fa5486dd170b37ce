//! Permissions (ksef-docs `uprawnienia.md`, open-api `/permissions/**`): grants to persons
//! (`/permissions/persons/grants`), to entities such as an accounting office
//! (`/permissions/entities/grants`), indirect grants by an intermediary
//! (`/permissions/indirect/grants`), entity authorizations (`/permissions/authorizations/grants`:
//! SelfInvoicing, RRInvoicing, TaxRepresentative, PefInvoicing), revocation, the asynchronous
//! operation status and the query endpoints.
//!
//! Grants have an effect: [`effective`] is what a subject (NIP, PESEL or certificate
//! fingerprint) may do in a context. A login of someone who is not the context's owner
//! succeeds only with a grant there (otherwise status 415 "brak przypisanych uprawnień"),
//! and every request re-checks the grants ([`crate::auth::Auth`]), so a revoked grant stops
//! an accountant at once.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, ContextId, Permission, SubjectId};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::state::{AppState, SimState};
use crate::util;

/// Which grant endpoint made a grant (decides where it is listed and how it is revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantKind {
    /// `/permissions/persons/grants` and `/testdata/permissions`.
    Person,
    /// `/permissions/entities/grants` (InvoiceRead/InvoiceWrite for another NIP).
    Entity,
    /// `/permissions/indirect/grants` (an intermediary passes a delegable grant on).
    Indirect,
    /// `/permissions/authorizations/grants` (entity authorizations; revoked separately).
    Authorization,
}

/// One granted permission (`permissionId` = `id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub kind: GrantKind,
    /// Context in which the grant was made (the grantor's login context).
    pub granted_in: ContextId,
    /// For indirect grants: the client's context (`None` = all partners of the intermediary).
    pub target: Option<ContextId>,
    pub authorized: SubjectId,
    /// Permission name (`InvoiceRead`…, or an authorization like `SelfInvoicing`).
    pub scope: String,
    pub can_delegate: bool,
    pub description: String,
    pub author: SubjectId,
    /// `subjectDetails` of the grant request, echoed in the query answers.
    pub subject_details: Value,
    pub start: OffsetDateTime,
    /// When the grant operation completes (the grant works from then on).
    pub active_from: OffsetDateTime,
}

/// A grant or revoke operation (`GET /permissions/operations/{referenceNumber}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub reference_number: String,
    pub context: ContextId,
    pub created: OffsetDateTime,
    pub ready_at: OffsetDateTime,
    pub code: u16,
    pub description: String,
    pub details: Vec<String>,
}

/// Grants and operations (field `SimState.permissions`; saved in the state file).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PermissionStore {
    pub grants: BTreeMap<String, Grant>,
    pub operations: HashMap<String, Operation>,
}

fn permission_named(name: &str) -> Option<Permission> {
    [
        Permission::InvoiceRead,
        Permission::InvoiceWrite,
        Permission::CredentialsRead,
        Permission::CredentialsManage,
        Permission::SubunitManage,
        Permission::EnforcementOperations,
        Permission::Introspection,
        Permission::VatUeManage,
        Permission::PefInvoiceWrite,
    ]
    .into_iter()
    .find(|p| p.name() == name)
}

fn same(a: &SubjectId, b: &SubjectId) -> bool {
    a.kind.eq_ignore_ascii_case(&b.kind) && a.value.eq_ignore_ascii_case(&b.value)
}

/// Whether `subject` owns `context`: its own NIP, or a person registered for that NIP
/// through `/testdata/person`.
pub fn is_owner(st: &SimState, context: &ContextId, subject: &SubjectId) -> bool {
    if context.kind != "Nip" {
        return false;
    }
    (subject.kind == "Nip" && subject.value == context.value)
        || (subject.kind == "Pesel"
            && st
                .testdata
                .persons
                .get(&context.value)
                .is_some_and(|p| p.pesel == subject.value))
}

/// Everything `subject` may do in `context` now: Owner rights, or the active grants.
pub fn effective(
    st: &SimState,
    context: &ContextId,
    subject: &SubjectId,
    now: OffsetDateTime,
) -> Vec<Permission> {
    let mut out: Vec<Permission> = Vec::new();
    if is_owner(st, context, subject) {
        out.extend(Permission::OWNER);
        if subject.kind == "Pesel"
            && st
                .testdata
                .persons
                .get(&context.value)
                .is_some_and(|p| p.is_bailiff)
        {
            out.push(Permission::EnforcementOperations);
        }
    }
    let grants = &st.permissions.grants;
    for g in grants.values() {
        if g.active_from > now || !same(&g.authorized, subject) {
            continue;
        }
        let applies = match g.kind {
            GrantKind::Person | GrantKind::Entity => &g.granted_in == context,
            GrantKind::Indirect => match &g.target {
                Some(t) => t == context,
                // All partners: every client that gave the intermediary a delegable grant.
                None => grants.values().any(|e| {
                    e.kind == GrantKind::Entity
                        && e.can_delegate
                        && e.active_from <= now
                        && &e.granted_in == context
                        && e.authorized.kind == "Nip"
                        && e.authorized.value == g.granted_in.value
                        && e.scope == g.scope
                }),
            },
            GrantKind::Authorization => false,
        };
        if applies && let Some(p) = permission_named(&g.scope) {
            out.push(p);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Limits a login's permissions to what its subject holds now (non-owners); an owner's
/// permissions are kept. Used at login, on refresh and on every request.
pub fn current_permissions(
    st: &SimState,
    context: &ContextId,
    subject: &SubjectId,
    claimed: &[Permission],
    now: OffsetDateTime,
) -> Vec<Permission> {
    if is_owner(st, context, subject) {
        return claimed.to_vec();
    }
    let held = effective(st, context, subject, now);
    claimed
        .iter()
        .copied()
        .filter(|p| held.contains(p))
        .collect()
}

// ---------------------------------------------------------------- validation

fn check_description(d: &str) -> Result<(), ApiError> {
    let n = d.chars().count();
    if (5..=256).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "description musi mieć od 5 do 256 znaków. / The description must have 5–256 characters.",
        ))
    }
}

/// `Nip` (10 digits), `Pesel` (11 digits), `Fingerprint` (SHA-256 hex, 64 characters).
fn check_identifier(id: &SubjectId, allowed: &[&str]) -> Result<(), ApiError> {
    if !allowed.contains(&id.kind.as_str()) {
        return Err(ApiError::validation(format!(
            "Typ identyfikatora {} nie jest tu dozwolony (dozwolone: {}).",
            id.kind,
            allowed.join(", ")
        )));
    }
    let v = id.value.as_str();
    let ok = match id.kind.as_str() {
        "Nip" => crate::auth::nip_format_ok(v),
        "Pesel" => v.len() == 11 && v.bytes().all(|b| b.is_ascii_digit()),
        "Fingerprint" => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
        "PeppolId" => ContextId {
            kind: "PeppolId".into(),
            value: v.into(),
        }
        .validate()
        .is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Nieprawidłowa wartość identyfikatora {}: {v}.",
            id.kind
        )))
    }
}

fn grantor_context(auth: &Auth) -> Result<(), ApiError> {
    if matches!(auth.context.kind.as_str(), "Nip" | "InternalId") {
        Ok(())
    } else {
        Err(ApiError::ForbiddenWith {
            reason_code: "context-type-not-allowed",
            detail: "Operacja nie jest dostępna dla uwierzytelnionego typu kontekstu.".into(),
            security: json!({"contextIdentifierType": auth.context.kind}),
        })
    }
}

/// Starts an operation that completes after the processing delay; returns its reference.
fn start_operation(st: &mut SimState, context: &ContextId, delay: std::time::Duration) -> String {
    let now = util::now();
    let delay = time::Duration::try_from(delay).unwrap_or(time::Duration::ZERO);
    let reference = util::reference_number("OP");
    st.permissions.operations.insert(
        reference.clone(),
        Operation {
            reference_number: reference.clone(),
            context: context.clone(),
            created: now,
            ready_at: now + delay,
            code: 200,
            description: "Operacja zakończona sukcesem".into(),
            details: vec![],
        },
    );
    reference
}

fn accepted(reference: String) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"referenceNumber": reference})),
    )
        .into_response()
}

/// Adds grants (one per scope) made by `auth` in its context; returns the operation reference.
#[allow(clippy::too_many_arguments)]
fn add_grants(
    state: &AppState,
    auth: &Auth,
    kind: GrantKind,
    authorized: SubjectId,
    target: Option<ContextId>,
    scopes: Vec<(String, bool)>,
    description: String,
    subject_details: Value,
) -> String {
    let now = util::now();
    let delay = crate::sessions::processing_delay(state);
    let mut st = state.lock();
    let reference = start_operation(&mut st, &auth.context, delay);
    let ready = st.permissions.operations[&reference].ready_at;
    for (scope, can_delegate) in scopes {
        // Granting the same permission again replaces the old grant (no duplicates).
        st.permissions.grants.retain(|_, g| {
            !(g.kind == kind
                && g.granted_in == auth.context
                && same(&g.authorized, &authorized)
                && g.target == target
                && g.scope == scope)
        });
        let id = util::uuid_v4();
        st.permissions.grants.insert(
            id.clone(),
            Grant {
                id,
                kind,
                granted_in: auth.context.clone(),
                target: target.clone(),
                authorized: authorized.clone(),
                scope,
                can_delegate,
                description: description.clone(),
                author: auth.subject.clone(),
                subject_details: subject_details.clone(),
                start: now,
                active_from: ready,
            },
        );
    }
    reference
}

// ---------------------------------------------------------------- grant handlers

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonGrantRequest {
    subject_identifier: SubjectId,
    permissions: Vec<String>,
    description: String,
    subject_details: Value,
}

const PERSON_SCOPES: [&str; 7] = [
    "CredentialsManage",
    "CredentialsRead",
    "InvoiceWrite",
    "InvoiceRead",
    "Introspection",
    "SubunitManage",
    "EnforcementOperations",
];

fn check_scopes(names: &[String], allowed: &[&str]) -> Result<(), ApiError> {
    if names.is_empty() {
        return Err(ApiError::validation(
            "Lista uprawnień nie może być pusta. / The permission list is empty.",
        ));
    }
    for n in names {
        if !allowed.contains(&n.as_str()) {
            return Err(ApiError::validation(format!(
                "Nieznane lub niedozwolone uprawnienie: {n}."
            )));
        }
    }
    Ok(())
}

fn check_details(details: &Value) -> Result<(), ApiError> {
    if details.is_object() {
        Ok(())
    } else {
        Err(ApiError::validation("subjectDetails musi być obiektem."))
    }
}

/// `POST /permissions/persons/grants` → 202 `{referenceNumber}`.
async fn grant_persons(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<PersonGrantRequest>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    grantor_context(&auth)?;
    check_identifier(&req.subject_identifier, &["Nip", "Pesel", "Fingerprint"])?;
    check_scopes(&req.permissions, &PERSON_SCOPES)?;
    check_description(&req.description)?;
    check_details(&req.subject_details)?;
    if req.permissions.iter().any(|p| p == "EnforcementOperations") {
        let enforcement = {
            let st = state.lock();
            st.testdata
                .subjects
                .get(&auth.context.value)
                .is_some_and(|s| s.subject_type == "EnforcementAuthority")
        };
        if !enforcement {
            return Err(ApiError::validation(
                "Uprawnienie EnforcementOperations może nadać tylko organ egzekucyjny lub komornik. / Only an enforcement authority may grant EnforcementOperations.",
            ));
        }
    }
    let scopes = req.permissions.into_iter().map(|p| (p, false)).collect();
    let reference = add_grants(
        &state,
        &auth,
        GrantKind::Person,
        req.subject_identifier,
        None,
        scopes,
        req.description,
        req.subject_details,
    );
    Ok(accepted(reference))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntityPermissionIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    can_delegate: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntityGrantRequest {
    subject_identifier: SubjectId,
    permissions: Vec<EntityPermissionIn>,
    description: String,
    subject_details: Value,
}

/// `POST /permissions/entities/grants` → 202 (InvoiceRead/InvoiceWrite for another NIP).
async fn grant_entities(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<EntityGrantRequest>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    grantor_context(&auth)?;
    check_identifier(&req.subject_identifier, &["Nip"])?;
    let names: Vec<String> = req.permissions.iter().map(|p| p.kind.clone()).collect();
    check_scopes(&names, &["InvoiceRead", "InvoiceWrite"])?;
    check_description(&req.description)?;
    check_details(&req.subject_details)?;
    if req.subject_identifier.value == auth.context.value {
        return Err(ApiError::validation(
            "Nie można nadać uprawnień podmiotowi kontekstu. / The context cannot grant itself.",
        ));
    }
    let scopes = req
        .permissions
        .into_iter()
        .map(|p| (p.kind, p.can_delegate))
        .collect();
    let reference = add_grants(
        &state,
        &auth,
        GrantKind::Entity,
        req.subject_identifier,
        None,
        scopes,
        req.description,
        req.subject_details,
    );
    Ok(accepted(reference))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndirectGrantRequest {
    subject_identifier: SubjectId,
    #[serde(default)]
    target_identifier: Option<TargetIn>,
    permissions: Vec<String>,
    description: String,
    subject_details: Value,
}

/// `POST /permissions/indirect/grants` → 202. The caller's context (an intermediary such
/// as an accounting office) passes on a permission a client granted it with `canDelegate`.
async fn grant_indirect(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<IndirectGrantRequest>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    grantor_context(&auth)?;
    check_identifier(&req.subject_identifier, &["Nip", "Pesel", "Fingerprint"])?;
    check_scopes(&req.permissions, &["InvoiceRead", "InvoiceWrite"])?;
    check_description(&req.description)?;
    check_details(&req.subject_details)?;
    let target = match req.target_identifier {
        None => None,
        Some(t) if t.kind == "AllPartners" => None,
        Some(t) if t.kind == "Nip" || t.kind == "InternalId" => {
            let c = ContextId {
                kind: t.kind,
                value: t.value.unwrap_or_default(),
            };
            c.validate()?;
            Some(c)
        }
        Some(t) => {
            return Err(ApiError::validation(format!(
                "Nieznany typ targetIdentifier: {}.",
                t.kind
            )));
        }
    };
    // A selective grant needs a delegable grant of that client for each permission.
    if let Some(t) = &target {
        let st = state.lock();
        let now = util::now();
        for p in &req.permissions {
            let delegable = st.permissions.grants.values().any(|g| {
                g.kind == GrantKind::Entity
                    && g.can_delegate
                    && g.active_from <= now
                    && &g.granted_in == t
                    && g.authorized.kind == "Nip"
                    && g.authorized.value == auth.context.value
                    && &g.scope == p
            });
            if !delegable {
                return Err(ApiError::validation(format!(
                    "Podmiot {} nie ma od {} uprawnienia {p} z prawem dalszego przekazywania (canDelegate). / No delegable grant from that client.",
                    auth.context.value, t.value
                )));
            }
        }
    }
    let scopes = req.permissions.into_iter().map(|p| (p, false)).collect();
    let reference = add_grants(
        &state,
        &auth,
        GrantKind::Indirect,
        req.subject_identifier,
        target,
        scopes,
        req.description,
        req.subject_details,
    );
    Ok(accepted(reference))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationGrantRequest {
    subject_identifier: SubjectId,
    permission: String,
    description: String,
    subject_details: Value,
}

/// `POST /permissions/authorizations/grants` → 202 (SelfInvoicing, RRInvoicing,
/// TaxRepresentative, PefInvoicing for another entity).
async fn grant_authorization(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<AuthorizationGrantRequest>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    grantor_context(&auth)?;
    check_identifier(&req.subject_identifier, &["Nip", "PeppolId"])?;
    check_scopes(
        std::slice::from_ref(&req.permission),
        &[
            "SelfInvoicing",
            "RRInvoicing",
            "TaxRepresentative",
            "PefInvoicing",
        ],
    )?;
    check_description(&req.description)?;
    check_details(&req.subject_details)?;
    let reference = add_grants(
        &state,
        &auth,
        GrantKind::Authorization,
        req.subject_identifier,
        None,
        vec![(req.permission, false)],
        req.description,
        req.subject_details,
    );
    Ok(accepted(reference))
}

fn no_permission(id: &str) -> ApiError {
    ApiError::validation(format!(
        "Uprawnienie {id} nie istnieje w bieżącym kontekście. / No such permission in this context."
    ))
}

/// Removes a grant made in the caller's context (`authorization`: the authorizations endpoint).
fn revoke_grant(
    state: &AppState,
    auth: &Auth,
    id: &str,
    authorization: bool,
) -> Result<Response, ApiError> {
    if id.len() != 36 {
        return Err(ApiError::validation(
            "permissionId musi mieć 36 znaków. / permissionId must be 36 characters.",
        ));
    }
    let delay = crate::sessions::processing_delay(state);
    let mut st = state.lock();
    let grant = st
        .permissions
        .grants
        .get(id)
        .filter(|g| (g.kind == GrantKind::Authorization) == authorization)
        .filter(|g| g.granted_in == auth.context || same(&g.authorized, &auth.subject))
        .ok_or_else(|| no_permission(id))?
        .clone();
    let reference = start_operation(&mut st, &auth.context, delay);
    st.permissions.grants.remove(&grant.id);
    Ok(accepted(reference))
}

/// `DELETE /permissions/common/grants/{permissionId}` → 202.
async fn revoke_common(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&[
        Permission::CredentialsManage,
        Permission::VatUeManage,
        Permission::SubunitManage,
    ])?;
    revoke_grant(&state, &auth, &id, false)
}

/// `DELETE /permissions/authorizations/grants/{permissionId}` → 202.
async fn revoke_authorization(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&[Permission::CredentialsManage])?;
    revoke_grant(&state, &auth, &id, true)
}

/// `GET /permissions/operations/{referenceNumber}` → `PermissionsOperationStatusResponse`.
async fn operation_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = state.lock();
    let op = st
        .permissions
        .operations
        .get(&reference)
        .filter(|o| o.context == auth.context)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "Operacja {reference} nie została znaleziona. / No such operation."
            ))
        })?;
    let now = util::now();
    if op.created + time::Duration::days(30) < now {
        return Err(ApiError::Gone);
    }
    let status = if now < op.ready_at {
        json!({"code": 100, "description": "Operacja przyjęta do realizacji"})
    } else if op.details.is_empty() {
        json!({"code": op.code, "description": op.description})
    } else {
        json!({"code": op.code, "description": op.description, "details": op.details})
    };
    Ok(Json(json!({"status": status})))
}

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
fn optional_json<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::validation(format!("Nieprawidłowe dane JSON: {e}.")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page_offset: Option<String>,
    page_size: Option<String>,
}

/// `pageOffset` (page number from 0) and `pageSize` (10..=100).
fn page(q: &PageQuery) -> Result<(usize, usize), ApiError> {
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

fn paged(items: Vec<Value>, (offset, size): (usize, usize)) -> Value {
    let total = items.len();
    let start = offset.saturating_mul(size);
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    json!({"permissions": page, "hasMore": start.saturating_add(size) < total})
}

fn id_json(id: &SubjectId) -> Value {
    if id.value.is_empty() {
        // `System` (grants made through /testdata) has no value.
        json!({"type": id.kind, "value": null})
    } else {
        json!({"type": id.kind, "value": id.value})
    }
}

fn person_details(g: &Grant) -> (Value, Value) {
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
struct IdFilter {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: Option<String>,
}

impl IdFilter {
    fn matches(&self, id: &SubjectId) -> bool {
        self.kind.eq_ignore_ascii_case(&id.kind)
            && self
                .value
                .as_ref()
                .is_none_or(|v| v.eq_ignore_ascii_case(&id.value))
    }
    fn matches_context(&self, c: &ContextId) -> bool {
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

fn sorted(mut grants: Vec<&Grant>) -> Vec<&Grant> {
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
                GrantKind::Authorization => false,
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
                    .is_none_or(|f| f.matches_context(&g.granted_in))
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
            .filter(|g| g.kind != GrantKind::Authorization)
            .filter(|g| {
                same(&g.authorized, &auth.subject) || (owner && same(&g.authorized, &entity))
            })
            .filter(|g| {
                q.context_identifier
                    .as_ref()
                    .is_none_or(|f| f.matches_context(&g.granted_in))
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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions/persons/grants", post(grant_persons))
        .route("/permissions/entities/grants", post(grant_entities))
        .route("/permissions/indirect/grants", post(grant_indirect))
        .route(
            "/permissions/authorizations/grants",
            post(grant_authorization),
        )
        .route(
            "/permissions/common/grants/{permissionId}",
            delete(revoke_common),
        )
        .route(
            "/permissions/authorizations/grants/{permissionId}",
            delete(revoke_authorization),
        )
        .route(
            "/permissions/operations/{referenceNumber}",
            get(operation_status),
        )
        .route("/permissions/attachments/status", get(attachment_status))
        .route("/permissions/query/persons/grants", post(query_persons))
        .route("/permissions/query/personal/grants", post(query_personal))
        .route("/permissions/query/entities/grants", post(query_entities))
        .route(
            "/permissions/query/authorizations/grants",
            post(query_authorizations),
        )
}
