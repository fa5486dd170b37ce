//! The TEST environment's `/testdata/*` endpoints (open-api tag "Dane testowe",
//! `dane-testowe-scenariusze.md`): test subjects and persons, permissions granted by the
//! system, the attachment consent and blocking a context's logins (status 480). No bearer
//! token, as on KSeF TEST. `/testdata/limits*` and `/testdata/rate-limits*` live in
//! `limits.rs`. Blocking is also available as `/sim/contexts/block|unblock`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::{ContextId, SubjectId};
use crate::error::ApiError;
use crate::permissions::{Grant, GrantKind};
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestSubject {
    pub subject_type: String,
    pub description: String,
    pub subunits: Vec<String>,
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestPerson {
    pub pesel: String,
    pub is_bailiff: bool,
    pub is_deceased: bool,
    pub description: String,
    /// When it was added (the `CourtBailiff` role's `startDate`).
    #[serde(default = "util::now")]
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachmentConsent {
    pub granted: OffsetDateTime,
    pub revoked: Option<OffsetDateTime>,
}

/// Field `SimState.testdata` (saved in the state file).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TestDataStore {
    /// Test subjects by NIP (`/testdata/subject`).
    pub subjects: BTreeMap<String, TestSubject>,
    /// Test persons by NIP (`/testdata/person`): the PESEL is an owner of that NIP.
    pub persons: BTreeMap<String, TestPerson>,
    /// Attachment consents by NIP (`/testdata/attachment`).
    pub attachments: BTreeMap<String, AttachmentConsent>,
    /// Contexts whose logins end with status 480 (`type:value`).
    pub blocked: BTreeSet<String>,
}

impl TestDataStore {
    pub fn is_blocked(&self, context: &ContextId) -> bool {
        self.blocked
            .contains(&format!("{}:{}", context.kind, context.value))
    }
}

fn exists(what: &str) -> ApiError {
    ApiError::bad(
        30001,
        "Podmiot lub uprawnienie już istnieje.",
        vec![what.to_string()],
    )
}

fn check_nip(nip: &str) -> Result<(), ApiError> {
    if util::nip_is_valid(nip) {
        Ok(())
    } else {
        Err(ApiError::validation(format!("Nieprawidłowy NIP: {nip}.")))
    }
}

fn check_description(d: &str) -> Result<(), ApiError> {
    if (5..=256).contains(&d.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::validation(
            "description musi mieć od 5 do 256 znaków.",
        ))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubunitIn {
    subject_nip: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectCreate {
    subject_nip: String,
    subject_type: String,
    #[serde(default)]
    subunits: Option<Vec<SubunitIn>>,
    description: String,
}

/// `POST /testdata/subject` → 200.
async fn subject_create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SubjectCreate>,
) -> Result<StatusCode, ApiError> {
    check_nip(&req.subject_nip)?;
    check_description(&req.description)?;
    if !["EnforcementAuthority", "VatGroup", "JST"].contains(&req.subject_type.as_str()) {
        return Err(ApiError::validation(format!(
            "Nieznany subjectType: {}.",
            req.subject_type
        )));
    }
    let subunits = req.subunits.unwrap_or_default();
    for s in &subunits {
        check_nip(&s.subject_nip)?;
        check_description(&s.description)?;
    }
    let mut st = state.lock();
    if st.testdata.subjects.contains_key(&req.subject_nip) {
        return Err(exists(&format!(
            "Podmiot {} już istnieje.",
            req.subject_nip
        )));
    }
    for s in &subunits {
        st.company_names
            .entry(s.subject_nip.clone())
            .or_insert_with(|| s.description.clone());
    }
    st.company_names
        .entry(req.subject_nip.clone())
        .or_insert_with(|| req.description.clone());
    st.testdata.subjects.insert(
        req.subject_nip,
        TestSubject {
            subject_type: req.subject_type,
            description: req.description,
            subunits: subunits.into_iter().map(|s| s.subject_nip).collect(),
            created: util::now(),
        },
    );
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectRemove {
    subject_nip: String,
}

/// Forgets every grant made in or to `nip`.
fn drop_grants_of(st: &mut crate::state::SimState, nip: &str) {
    st.permissions.grants.retain(|_, g| {
        g.granted_in.value != nip && !(g.authorized.kind == "Nip" && g.authorized.value == nip)
    });
}

/// `POST /testdata/subject/remove` → 200 (its grants go with it).
async fn subject_remove(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<SubjectRemove>,
) -> Result<StatusCode, ApiError> {
    let mut st = state.lock();
    if let Some(subject) = st.testdata.subjects.remove(&req.subject_nip) {
        for unit in subject.subunits {
            drop_grants_of(&mut st, &unit);
        }
    }
    drop_grants_of(&mut st, &req.subject_nip);
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonCreate {
    nip: String,
    pesel: String,
    is_bailiff: bool,
    description: String,
    #[serde(default)]
    is_deceased: bool,
}

/// `POST /testdata/person` → 200: the PESEL gets owner rights in the NIP's context.
async fn person_create(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PersonCreate>,
) -> Result<StatusCode, ApiError> {
    check_nip(&req.nip)?;
    check_description(&req.description)?;
    if req.pesel.len() != 11 || !req.pesel.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(format!(
            "Nieprawidłowy PESEL: {}.",
            req.pesel
        )));
    }
    let mut st = state.lock();
    if st.testdata.persons.contains_key(&req.nip) {
        return Err(exists(&format!("Osoba z NIP {} już istnieje.", req.nip)));
    }
    st.testdata.persons.insert(
        req.nip,
        TestPerson {
            pesel: req.pesel,
            is_bailiff: req.is_bailiff,
            is_deceased: req.is_deceased,
            description: req.description,
            created: util::now(),
        },
    );
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
struct PersonRemove {
    nip: String,
}

/// `POST /testdata/person/remove` → 200.
async fn person_remove(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PersonRemove>,
) -> StatusCode {
    let mut st = state.lock();
    if let Some(p) = st.testdata.persons.remove(&req.nip) {
        st.permissions
            .grants
            .retain(|_, g| !(g.authorized.kind == "Pesel" && g.authorized.value == p.pesel));
    }
    StatusCode::OK
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestPermission {
    description: String,
    permission_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionsGrant {
    context_identifier: ContextId,
    authorized_identifier: SubjectId,
    permissions: Vec<TestPermission>,
}

const TEST_PERMISSIONS: [&str; 7] = [
    "InvoiceRead",
    "InvoiceWrite",
    "Introspection",
    "CredentialsRead",
    "CredentialsManage",
    "EnforcementOperations",
    "SubunitManage",
];

fn check_authorized(id: &SubjectId) -> Result<(), ApiError> {
    let v = id.value.as_str();
    let ok = match id.kind.as_str() {
        "Nip" => crate::auth::nip_format_ok(v),
        "Pesel" => v.len() == 11 && v.bytes().all(|b| b.is_ascii_digit()),
        "Fingerprint" => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Nieprawidłowy authorizedIdentifier {} {v}.",
            id.kind
        )))
    }
}

/// `POST /testdata/permissions` → 200: grants made by the system, active at once.
async fn permissions_grant(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PermissionsGrant>,
) -> Result<StatusCode, ApiError> {
    if req.context_identifier.kind != "Nip" {
        return Err(ApiError::validation("contextIdentifier.type musi być Nip."));
    }
    req.context_identifier.validate()?;
    check_authorized(&req.authorized_identifier)?;
    if req.permissions.is_empty() {
        return Err(ApiError::validation("Lista uprawnień nie może być pusta."));
    }
    for p in &req.permissions {
        check_description(&p.description)?;
        if !TEST_PERMISSIONS.contains(&p.permission_type.as_str()) {
            return Err(ApiError::validation(format!(
                "Nieznane uprawnienie: {}.",
                p.permission_type
            )));
        }
    }
    let now = util::now();
    let mut st = state.lock();
    for p in req.permissions {
        st.permissions.grants.retain(|_, g| {
            !(g.kind == GrantKind::Person
                && g.granted_in == req.context_identifier
                && g.authorized == req.authorized_identifier
                && g.scope == p.permission_type)
        });
        let id = util::uuid_v4();
        st.permissions.grants.insert(
            id.clone(),
            Grant {
                id,
                kind: GrantKind::Person,
                granted_in: req.context_identifier.clone(),
                target: None,
                authorized: req.authorized_identifier.clone(),
                scope: p.permission_type,
                can_delegate: false,
                description: p.description,
                author: SubjectId {
                    kind: "System".into(),
                    value: String::new(),
                },
                subject_details: Value::Null,
                start: now,
                active_from: now,
                unit: None,
            },
        );
    }
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionsRevoke {
    context_identifier: ContextId,
    authorized_identifier: SubjectId,
}

/// `POST /testdata/permissions/revoke` → 200: every grant of that subject in the context.
async fn permissions_revoke(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<PermissionsRevoke>,
) -> Result<StatusCode, ApiError> {
    check_authorized(&req.authorized_identifier)?;
    let mut st = state.lock();
    st.permissions.grants.retain(|_, g| {
        !(g.granted_in == req.context_identifier && g.authorized == req.authorized_identifier)
    });
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentGrant {
    nip: String,
}

/// `POST /testdata/attachment` → 200: the NIP may send invoices with attachments.
async fn attachment_grant(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<AttachmentGrant>,
) -> Result<StatusCode, ApiError> {
    check_nip(&req.nip)?;
    state.lock().testdata.attachments.insert(
        req.nip,
        AttachmentConsent {
            granted: util::now(),
            revoked: None,
        },
    );
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentRevoke {
    nip: String,
    #[serde(default)]
    expected_end_date: Option<String>,
}

/// `POST /testdata/attachment/revoke` → 200 (at once, or at the end of `expectedEndDate`).
async fn attachment_revoke(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<AttachmentRevoke>,
) -> Result<StatusCode, ApiError> {
    check_nip(&req.nip)?;
    let now = util::now();
    let end = match req.expected_end_date.as_deref() {
        None => now,
        Some(d) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(d, &format)
                .map_err(|_| ApiError::validation("expectedEndDate musi być datą RRRR-MM-DD."))?;
            date.next_day()
                .unwrap_or(date)
                .midnight()
                .assume_utc()
                .max(now)
        }
    };
    let mut st = state.lock();
    if let Some(c) = st.testdata.attachments.get_mut(&req.nip) {
        c.revoked = Some(end);
    }
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContextBlock {
    #[serde(default)]
    context_identifier: Option<ContextId>,
}

fn block_key(req: ContextBlock) -> Result<String, ApiError> {
    let c = req
        .context_identifier
        .ok_or_else(|| ApiError::validation("Podaj contextIdentifier."))?;
    c.validate()?;
    Ok(format!("{}:{}", c.kind, c.value))
}

/// `POST /testdata/context/block` → 200: logins in the context end with status 480.
async fn context_block(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ContextBlock>,
) -> Result<StatusCode, ApiError> {
    let key = block_key(req)?;
    state.lock().testdata.blocked.insert(key);
    Ok(StatusCode::OK)
}

/// `POST /testdata/context/unblock` → 200.
async fn context_unblock(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<ContextBlock>,
) -> Result<StatusCode, ApiError> {
    let key = block_key(req)?;
    state.lock().testdata.blocked.remove(&key);
    Ok(StatusCode::OK)
}

/// `GET /sim/contexts/blocked` — the blocked contexts (control API).
async fn list_blocked(State(state): State<AppState>) -> Json<Value> {
    Json(json!(state.lock().testdata.blocked))
}

/// `/v2/testdata/...` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/testdata/subject", post(subject_create))
        .route("/testdata/subject/remove", post(subject_remove))
        .route("/testdata/person", post(person_create))
        .route("/testdata/person/remove", post(person_remove))
        .route("/testdata/permissions", post(permissions_grant))
        .route("/testdata/permissions/revoke", post(permissions_revoke))
        .route("/testdata/attachment", post(attachment_grant))
        .route("/testdata/attachment/revoke", post(attachment_revoke))
        .route("/testdata/context/block", post(context_block))
        .route("/testdata/context/unblock", post(context_unblock))
}

/// `/sim/contexts/block|unblock` (same body as the `/testdata` ones) and the list.
pub fn control_routes() -> Router<AppState> {
    Router::new()
        .route("/sim/contexts/block", post(context_block))
        .route("/sim/contexts/unblock", post(context_unblock))
        .route("/sim/contexts/blocked", axum::routing::get(list_blocked))
}
