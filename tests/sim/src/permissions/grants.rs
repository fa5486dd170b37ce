//! The grant endpoints: `POST /permissions/persons|entities|indirect|authorizations/grants`
//! (202 + an operation) and the checks of their bodies.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Auth, ContextId, Permission, SubjectId};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::{Grant, GrantKind, UnitInfo, accepted, same, start_operation};

// ---------------------------------------------------------------- validation

pub(super) fn check_description(d: &str) -> Result<(), ApiError> {
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
pub(super) fn check_identifier(id: &SubjectId, allowed: &[&str]) -> Result<(), ApiError> {
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

pub(super) fn grantor_context(auth: &Auth) -> Result<(), ApiError> {
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

/// What one grant request adds: one grant per scope, all alike otherwise.
pub(super) struct NewGrants {
    pub kind: GrantKind,
    pub authorized: SubjectId,
    pub target: Option<ContextId>,
    /// `(permission, canDelegate)`.
    pub scopes: Vec<(String, bool)>,
    pub description: String,
    pub subject_details: Value,
    pub unit: Option<UnitInfo>,
}

/// Adds grants made by `auth` in its context; returns the operation reference.
pub(super) fn add_grants(state: &AppState, auth: &Auth, new: NewGrants) -> String {
    let now = util::now();
    let delay = crate::sessions::processing_delay(state);
    let mut st = state.lock();
    let reference = start_operation(&mut st, &auth.context, delay);
    let ready = st.permissions.operations[&reference].ready_at;
    for (scope, can_delegate) in new.scopes {
        // Granting the same permission again replaces the old grant (no duplicates).
        st.permissions.grants.retain(|_, g| {
            !(g.kind == new.kind
                && g.granted_in == auth.context
                && same(&g.authorized, &new.authorized)
                && g.target == new.target
                && g.scope == scope)
        });
        let id = util::uuid_v4();
        st.permissions.grants.insert(
            id.clone(),
            Grant {
                id,
                kind: new.kind,
                granted_in: auth.context.clone(),
                target: new.target.clone(),
                authorized: new.authorized.clone(),
                scope,
                can_delegate,
                description: new.description.clone(),
                author: auth.subject.clone(),
                subject_details: new.subject_details.clone(),
                start: now,
                active_from: ready,
                unit: new.unit.clone(),
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

pub(super) fn check_scopes(names: &[String], allowed: &[&str]) -> Result<(), ApiError> {
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

pub(super) fn check_details(details: &Value) -> Result<(), ApiError> {
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
        NewGrants {
            kind: GrantKind::Person,
            authorized: req.subject_identifier,
            target: None,
            scopes,
            description: req.description,
            subject_details: req.subject_details,
            unit: None,
        },
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
        NewGrants {
            kind: GrantKind::Entity,
            authorized: req.subject_identifier,
            target: None,
            scopes,
            description: req.description,
            subject_details: req.subject_details,
            unit: None,
        },
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
        NewGrants {
            kind: GrantKind::Indirect,
            authorized: req.subject_identifier,
            target,
            scopes,
            description: req.description,
            subject_details: req.subject_details,
            unit: None,
        },
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
        NewGrants {
            kind: GrantKind::Authorization,
            authorized: req.subject_identifier,
            target: None,
            scopes: vec![(req.permission, false)],
            description: req.description,
            subject_details: req.subject_details,
            unit: None,
        },
    );
    Ok(accepted(reference))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/permissions/persons/grants", post(grant_persons))
        .route("/permissions/entities/grants", post(grant_entities))
        .route("/permissions/indirect/grants", post(grant_indirect))
        .route(
            "/permissions/authorizations/grants",
            post(grant_authorization),
        )
}
