//! Control API under `/sim/...` (never under `/v2`): demo data, minting KSeF tokens, fault
//! injection, processing delay, rate-limit profile, reset. Also the fault-injection
//! middleware applied to every `/v2` route.

use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{ContextId, Permission, SubjectId, bearer_claims};
use crate::error::ApiError;
use crate::limits::{RateProfile, group_of, too_many};
use crate::state::{AppState, DemoInfo};

/// Marker in a response's extensions: the server loop closes the TCP connection without
/// answering (simulates a dropped connection).
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// What an injected fault does.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FaultAction {
    /// Answer with `status` (KSeF-style body; `exceptionCode` for 400, `Retry-After` for 429/503).
    #[serde(rename_all = "camelCase")]
    Status {
        status: u16,
        #[serde(default)]
        exception_code: Option<u32>,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait, then handle the request normally.
    #[serde(rename_all = "camelCase")]
    Delay { delay_ms: u64 },
    /// The HTML 403 page of the KSeF web application firewall.
    Html403,
    /// Close the connection without an answer.
    Drop,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// HTTP method, or `None` for any.
    #[serde(default)]
    pub method: Option<String>,
    /// Route template (`/v2/sessions/online/{referenceNumber}/invoices`) or concrete path;
    /// the `/v2` prefix may be left out.
    pub path: String,
    /// How many matching calls it affects (default 1).
    #[serde(default = "one")]
    pub count: u32,
    #[serde(flatten)]
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// Takes one use of the first rule matching the request.
    fn take(&mut self, method: &str, template: &str, path: &str) -> Option<FaultAction> {
        let idx = self.rules.iter().position(|r| {
            let p = normalize(&r.path);
            r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && (p == template || p == path)
        })?;
        let rule = &mut self.rules[idx];
        let action = rule.action.clone();
        rule.count = rule.count.saturating_sub(1);
        if rule.count == 0 {
            self.rules.remove(idx);
        }
        Some(action)
    }
}

fn normalize(path: &str) -> String {
    if path.starts_with("/v2") || path.starts_with("/storage") {
        path.to_string()
    } else if path.starts_with('/') {
        format!("/v2{path}")
    } else {
        format!("/v2/{path}")
    }
}

const FIREWALL_HTML: &str = "<html><head><title>Request Rejected</title></head><body>\
The requested URL was rejected. Please consult with your administrator.<br><br>\
Your support ID is: 1234567890123456789<br><br><a href='javascript:history.back();'>[Go Back]</a>\
</body></html>";

/// Middleware on every `/v2` and `/storage` route: injected faults first, then rate limits.
pub async fn faults_and_limits(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().as_str().to_string();
    // Inside `nest("/v2")` the URI is stripped; the original one has the full path.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let action = state.lock().faults.take(&method, &template, &path);
    match action {
        Some(FaultAction::Status {
            status,
            exception_code,
            retry_after,
        }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let err = match code.as_u16() {
                400 => Some(ApiError::bad(
                    exception_code.unwrap_or(21405),
                    "Błąd walidacji danych wejściowych.",
                    vec!["Błąd wstrzyknięty przez symulator.".into()],
                )),
                401 => Some(ApiError::Unauthorized(
                    "Błąd wstrzyknięty przez symulator.".into(),
                )),
                429 => Some(too_many(retry_after.unwrap_or(1))),
                410 => Some(ApiError::Gone),
                _ => None,
            };
            if let Some(err) = err {
                return err.render(req.headers(), &path);
            }
            let mut resp = (
                code,
                Json(
                    json!({"title": code.canonical_reason().unwrap_or("Error"), "status": status,
                    "detail": "Błąd wstrzyknięty przez symulator.", "instance": path}),
                ),
            )
                .into_response();
            if let Some(secs) = retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return resp;
        }
        Some(FaultAction::Delay { delay_ms }) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        Some(FaultAction::Html403) => {
            let mut resp = (StatusCode::FORBIDDEN, FIREWALL_HTML).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return resp;
        }
        Some(FaultAction::Drop) => {
            let mut resp = Response::new(Body::empty());
            resp.extensions_mut().insert(DropConnection);
            return resp;
        }
        None => {}
    }

    // Rate limits, per (context, IP); storage links are not limited.
    if path.starts_with("/v2") {
        let group = group_of(&method, &template);
        let ip = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let context = if group == "public" {
            String::new()
        } else {
            bearer_claims(
                &state,
                req.headers(),
                &["ContextToken", "OperationToken", "RefreshToken"],
            )
            .map(|c| {
                format!(
                    "{}:{}:{}",
                    c.cit.unwrap_or_default(),
                    c.civ.unwrap_or_default(),
                    if c.typ == "ContextToken" {
                        ""
                    } else {
                        c.arn.as_str()
                    }
                )
            })
            .unwrap_or_default()
        };
        let bucket = if group == "other" || group == "public" {
            format!("{method} {template}")
        } else {
            group.to_string()
        };
        if let Err(err) = crate::limits::check(&mut state.lock().rate, group, &bucket, &context, ip)
        {
            return err.render(req.headers(), &path);
        }
    }
    next.run(req).await
}

// ---------------------------------------------------------------- control routes

async fn demo(State(state): State<AppState>) -> Json<DemoInfo> {
    Json(state.demo())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MintTokenRequest {
    nip: String,
    #[serde(default)]
    permissions: Option<Vec<Permission>>,
    #[serde(default)]
    description: Option<String>,
    /// Context of the token when it is not `nip`'s own (a grantee's token, e.g. an
    /// accounting office's NIP working for a client): it logs in only with a grant there.
    #[serde(default)]
    context_nip: Option<String>,
}

/// Creates an Active KSeF token for `nip` as if its owner had generated it.
pub fn mint_token(
    state: &AppState,
    nip: &str,
    permissions: Vec<Permission>,
    description: &str,
) -> (String, String) {
    state.lock().tokens.create(
        SubjectId {
            kind: "Nip".into(),
            value: nip.into(),
        },
        ContextId::nip(nip),
        description.into(),
        permissions,
        Duration::ZERO,
    )
}

/// `POST /sim/tokens {"nip", "permissions"?, "description"?}` → 201 `{referenceNumber, token}`.
async fn mint(
    State(state): State<AppState>,
    body: crate::server::JsonBody<MintTokenRequest>,
) -> Result<Response, ApiError> {
    let req = body.0;
    if !crate::auth::nip_format_ok(&req.nip) {
        return Err(ApiError::validation("Nieprawidłowy NIP."));
    }
    let permissions = req.permissions.unwrap_or_else(|| {
        vec![
            Permission::InvoiceRead,
            Permission::InvoiceWrite,
            Permission::Introspection,
        ]
    });
    let description = req
        .description
        .as_deref()
        .unwrap_or("Token z API sterującego symulatora");
    let (reference, token) = match &req.context_nip {
        None => mint_token(&state, &req.nip, permissions, description),
        Some(context) if crate::auth::nip_format_ok(context) => state.lock().tokens.create(
            SubjectId {
                kind: "Nip".into(),
                value: req.nip.clone(),
            },
            ContextId::nip(context),
            description.into(),
            permissions,
            Duration::ZERO,
        ),
        Some(_) => return Err(ApiError::validation("Nieprawidłowy contextNip.")),
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({"referenceNumber": reference, "token": token})),
    )
        .into_response())
}

/// `POST /sim/faults` (one rule) → 201; `GET` lists the remaining; `DELETE` clears.
async fn add_fault(
    State(state): State<AppState>,
    body: crate::server::JsonBody<FaultRule>,
) -> Result<StatusCode, ApiError> {
    let rule = body.0;
    if rule.count == 0 {
        return Err(ApiError::validation("count musi być większe od 0."));
    }
    state.lock().faults.rules.push(rule);
    Ok(StatusCode::CREATED)
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    let st = state.lock();
    Json(json!(st.faults.rules.iter().map(|r| json!({"method": r.method, "path": r.path, "count": r.count, "action": format!("{:?}", r.action)})).collect::<Vec<_>>()))
}

async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.lock().faults.rules.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DelayRequest {
    delay_ms: u64,
}

/// `POST /sim/processing-delay {"delayMs"}` — how long invoices/sessions stay "processing".
async fn set_processing_delay(
    State(state): State<AppState>,
    body: crate::server::JsonBody<DelayRequest>,
) -> StatusCode {
    state.lock().processing_delay = Duration::from_millis(body.0.delay_ms);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct ProfileRequest {
    profile: RateProfile,
}

/// `POST /sim/rate-limits {"profile": "production"|"test"|"off"}`.
async fn set_rate_profile(
    State(state): State<AppState>,
    body: crate::server::JsonBody<ProfileRequest>,
) -> StatusCode {
    state.lock().rate.set_profile(body.0.profile);
    StatusCode::NO_CONTENT
}

/// `POST /sim/reset` — forgets everything (keys stay) and seeds the demo company again.
async fn reset(State(state): State<AppState>) -> Json<DemoInfo> {
    {
        let mut st = state.lock();
        let profile = state.config.rate_profile;
        *st = crate::state::SimState::default();
        st.rate.set_profile(profile);
    }
    if state.config.seed_demo {
        seed_demo(&state);
    }
    Json(state.demo())
}

/// The demo company: a valid NIP (checksum ok), an Active KSeF token with all invoice
/// permissions, and (sim-invoices) a dozen purchase invoices from several sellers.
pub const DEMO_NIP: &str = "5265877635";
pub const DEMO_NAME: &str = "Kwit Demo Anna Nowak";

pub fn seed_demo(state: &AppState) {
    let (_, token) = mint_token(
        state,
        DEMO_NIP,
        vec![
            Permission::InvoiceRead,
            Permission::InvoiceWrite,
            Permission::Introspection,
        ],
        "Token demo symulatora",
    );
    state
        .lock()
        .company_names
        .insert(DEMO_NIP.into(), DEMO_NAME.into());
    *state.demo.lock().unwrap_or_else(|p| p.into_inner()) = DemoInfo {
        nip: DEMO_NIP.into(),
        ksef_token: token,
        company_name: DEMO_NAME.into(),
    };
    // sim-invoices: seed the demo company's purchase invoices here.
    crate::invoices::seed_purchases(state, (DEMO_NIP, DEMO_NAME), 12, None);
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sim/demo", get(demo))
        .route("/sim/tokens", post(mint))
        .route(
            "/sim/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/sim/processing-delay", post(set_processing_delay))
        .route("/sim/rate-limits", post(set_rate_profile))
        .route("/sim/reset", post(reset))
}
