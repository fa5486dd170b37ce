//! Rate limits (ksef-guide §12.1; ksef-docs `limity/limity-api.md`): sliding windows per
//! (group, context, IP), any threshold trips, `429` with `Retry-After`. Also the read-only
//! `GET /rate-limits`, `GET /limits/context`, `GET /limits/subject`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

/// Which numbers are in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RateProfile {
    /// PROD defaults (guide §12.1 table).
    Production,
    /// TEST: 10× PROD (`limity-api.md`); the default, so interactive use never trips.
    Test,
    /// No limits at all.
    Off,
}

/// `EffectiveApiRateLimitValues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u32,
    pub per_minute: u32,
    pub per_hour: u32,
}

const fn l(per_second: u32, per_minute: u32, per_hour: u32) -> Limit {
    Limit {
        per_second,
        per_minute,
        per_hour,
    }
}

/// PROD values per group, in `EffectiveApiRateLimits` order.
pub const GROUPS: [(&str, Limit); 12] = [
    ("onlineSession", l(10, 30, 120)),
    ("batchSession", l(10, 20, 60)),
    ("invoiceSend", l(10, 30, 180)),
    ("invoiceStatus", l(30, 120, 1200)),
    ("sessionList", l(5, 10, 60)),
    ("sessionInvoiceList", l(10, 20, 200)),
    ("sessionMisc", l(10, 120, 1200)),
    ("invoiceMetadata", l(8, 16, 20)),
    ("invoiceExport", l(8, 16, 20)),
    ("invoiceExportStatus", l(10, 60, 600)),
    ("invoiceDownload", l(8, 16, 64)),
    ("other", l(10, 30, 120)),
];

/// Public endpoints: 60 requests per second per IP.
pub const PUBLIC: Limit = l(60, 3600, 216_000);

/// The group of an endpoint (`method`, route template under `/v2`), `"public"` for
/// unauthenticated ones.
pub fn group_of(method: &str, template: &str) -> &'static str {
    let t = template.trim_start_matches("/v2");
    match (method, t) {
        (
            _,
            "/auth/challenge"
            | "/auth/xades-signature"
            | "/auth/ksef-token"
            | "/security/public-key-certificates",
        ) => "public",
        ("POST", "/sessions/online" | "/sessions/online/{referenceNumber}/close") => {
            "onlineSession"
        }
        ("POST", "/sessions/online/{referenceNumber}/invoices") => "invoiceSend",
        ("POST", "/sessions/batch" | "/sessions/batch/{referenceNumber}/close") => "batchSession",
        ("GET", "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}") => "invoiceStatus",
        ("GET", "/sessions") => "sessionList",
        (
            "GET",
            "/sessions/{referenceNumber}/invoices" | "/sessions/{referenceNumber}/invoices/failed",
        ) => "sessionInvoiceList",
        ("GET", s) if s.starts_with("/sessions/") => "sessionMisc",
        ("POST", "/invoices/query/metadata") => "invoiceMetadata",
        ("POST", "/invoices/exports") => "invoiceExport",
        ("GET", "/invoices/exports/{referenceNumber}") => "invoiceExportStatus",
        ("GET", "/invoices/ksef/{ksefNumber}") => "invoiceDownload",
        _ => "other",
    }
}

impl RateProfile {
    pub fn limit(self, group: &str) -> Option<Limit> {
        let base = if group == "public" {
            PUBLIC
        } else {
            GROUPS.iter().find(|(g, _)| *g == group).map(|(_, l)| *l)?
        };
        match self {
            RateProfile::Production => Some(base),
            RateProfile::Test => Some(l(
                base.per_second * 10,
                base.per_minute * 10,
                base.per_hour * 10,
            )),
            RateProfile::Off => None,
        }
    }
}

type Key = (String, String, IpAddr);

/// Sliding-window counters.
#[derive(Debug)]
pub struct RateLimiter {
    pub profile: RateProfile,
    hits: HashMap<Key, VecDeque<Instant>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(RateProfile::Test)
    }
}

impl RateLimiter {
    pub fn new(profile: RateProfile) -> Self {
        RateLimiter {
            profile,
            hits: HashMap::new(),
        }
    }

    pub fn set_profile(&mut self, profile: RateProfile) {
        self.profile = profile;
        self.hits.clear();
    }

    /// Counts one request of `bucket` (group, or group + endpoint for `other`) by
    /// (`context`, `ip`). `Err(seconds)` = over a limit, retry after that many seconds.
    pub fn hit(&mut self, group: &str, bucket: &str, context: &str, ip: IpAddr) -> Result<(), u64> {
        let Some(limit) = self.profile.limit(group) else {
            return Ok(());
        };
        let now = Instant::now();
        let window = self
            .hits
            .entry((bucket.to_string(), context.to_string(), ip))
            .or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            window.pop_front();
        }
        for (span, max) in [
            (1u64, limit.per_second),
            (60, limit.per_minute),
            (3600, limit.per_hour),
        ] {
            let span_d = Duration::from_secs(span);
            let in_window: Vec<&Instant> = window
                .iter()
                .filter(|t| now.duration_since(**t) < span_d)
                .collect();
            if in_window.len() as u32 >= max {
                // Retry when the oldest request in the window leaves it.
                let oldest = in_window[0];
                let wait = span_d.saturating_sub(now.duration_since(*oldest));
                return Err(wait.as_secs().max(1));
            }
        }
        window.push_back(now);
        Ok(())
    }
}

fn values(limit: Option<Limit>) -> Value {
    let l = limit.unwrap_or(l(1_000_000, 1_000_000, 1_000_000));
    json!({"perSecond": l.per_second, "perMinute": l.per_minute, "perHour": l.per_hour})
}

/// `GET /rate-limits` → `EffectiveApiRateLimits`.
async fn rate_limits(State(state): State<AppState>, _auth: Auth) -> Json<Value> {
    let profile = state.lock().rate.profile;
    let mut out = serde_json::Map::new();
    for (group, _) in GROUPS {
        out.insert(group.to_string(), values(profile.limit(group)));
    }
    Json(Value::Object(out))
}

/// `GET /limits/context` → `EffectiveContextLimits` (guide §12.1).
async fn context_limits(_auth: Auth) -> Json<Value> {
    let session = json!({"maxInvoiceSizeInMB": 1, "maxInvoiceWithAttachmentSizeInMB": 3, "maxInvoices": 10000});
    Json(json!({"onlineSession": session, "batchSession": session}))
}

/// `GET /limits/subject` → `EffectiveSubjectLimits` (certificate limits).
async fn subject_limits(_auth: Auth) -> Json<Value> {
    let c = crate::certificates::LIMITS;
    Json(json!({
        "enrollment": {"maxEnrollments": c.max_enrollments},
        "certificate": {"maxCertificates": c.max_certificates},
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rate-limits", get(rate_limits))
        .route("/limits/context", get(context_limits))
        .route("/limits/subject", get(subject_limits))
}

/// Retry-After error for a tripped limit.
pub fn too_many(retry_after: u64) -> ApiError {
    ApiError::TooManyRequests {
        retry_after,
        detail: format!("Przekroczono limit żądań. Spróbuj ponownie po {retry_after} sekundach."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_second_limit_trips_and_reports_retry_after() {
        let mut r = RateLimiter::new(RateProfile::Production);
        let ip = IpAddr::from([127, 0, 0, 1]);
        for _ in 0..8 {
            r.hit("invoiceMetadata", "invoiceMetadata", "Nip:1", ip)
                .unwrap();
        }
        let wait = r
            .hit("invoiceMetadata", "invoiceMetadata", "Nip:1", ip)
            .unwrap_err();
        assert!(wait >= 1);
        // Another context has its own bucket.
        r.hit("invoiceMetadata", "invoiceMetadata", "Nip:2", ip)
            .unwrap();
    }
}
