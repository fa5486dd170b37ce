//! Permissions (ksef-docs `uprawnienia.md`, open-api `/permissions/**`): grants to persons
//! (`/permissions/persons/grants`), to entities such as an accounting office
//! (`/permissions/entities/grants`), indirect grants by an intermediary
//! (`/permissions/indirect/grants`), entity authorizations (`/permissions/authorizations/grants`:
//! SelfInvoicing, RRInvoicing, TaxRepresentative, PefInvoicing), administrators of subunits
//! (`/permissions/subunits/grants`, `subunits.rs`), administrators and representatives of EU
//! entities (`/permissions/eu-entities/**`, `eu.rs`), entity roles (`roles.rs`), revocation,
//! the asynchronous operation status and the query endpoints.
//!
//! Grants have an effect: [`effective`] is what a subject (NIP, PESEL or certificate
//! fingerprint) may do in a context. A login of someone who is not the context's owner
//! succeeds only with a grant there (otherwise status 415 "brak przypisanych uprawnień"),
//! and every request re-checks the grants ([`crate::auth::Auth`]), so a revoked grant stops
//! an accountant at once.
//!
//! This file holds the store, [`effective`] and the operations (`GET /permissions/operations/{ref}`);
//! the endpoints are in `grants.rs`, `subunits.rs`, `eu.rs`, `revoke.rs`, `queries.rs` and `roles.rs`.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{Auth, ContextId, Permission, SubjectId};
use crate::error::ApiError;
use crate::state::{AppState, SimState};
use crate::util;

mod details;
mod eu;
mod grants;
mod queries;
mod revoke;
mod roles;
mod subunits;

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
    /// `/permissions/subunits/grants`: `CredentialsManage` in `target` (an `InternalId` or
    /// the NIP of a subordinate entity), granted from the parent's context `granted_in`.
    Subunit,
    /// `/permissions/eu-entities/administration/grants`: VatUeManage, InvoiceWrite,
    /// InvoiceRead, Introspection in `target` (`NipVatUe`), granted from the NIP context.
    EuEntityAdmin,
    /// `/permissions/eu-entities/grants`: InvoiceWrite/InvoiceRead in the `NipVatUe`
    /// context `granted_in`, granted there by its administrator.
    EuEntityRepresentative,
}

/// The unit a subunit or EU grant is about: `subunitName`, or `euEntityName` with
/// `euEntityDetails` (`{fullName, address}`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UnitInfo {
    pub name: Option<String>,
    pub details: Option<Value>,
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
    /// Subunit and EU grants: the unit's name and details (absent in older state files).
    #[serde(default)]
    pub unit: Option<UnitInfo>,
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
            GrantKind::Person | GrantKind::Entity | GrantKind::EuEntityRepresentative => {
                &g.granted_in == context
            }
            GrantKind::Subunit | GrantKind::EuEntityAdmin => g.target.as_ref() == Some(context),
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

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(grants::routes())
        .merge(subunits::routes())
        .merge(eu::routes())
        .merge(revoke::routes())
        .route(
            "/permissions/operations/{referenceNumber}",
            get(operation_status),
        )
        .merge(queries::routes())
        .merge(roles::routes())
}
