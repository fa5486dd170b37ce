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

/// Which numbers are in force (`--rate-limits`, `POST /sim/rate-limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RateProfile {
    /// PROD values (limity-api.md; since 2.5.0 also TEST's defaults): the default.
    Production,
    /// 10× PROD, what TEST had before 2.5.0: for load tests and interactive poking.
    /// `"test"` is the old name.
    #[serde(alias = "test")]
    Generous,
    /// No limits at all.
    Off,
}

/// `EffectiveApiRateLimitValues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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

/// Groups added after 2.6.0: `collectiveIdentifier` (2.7.0; the changelog names the group
/// but no values yet, so the simulator uses the `other` values).
pub const LATER_GROUPS: [(&str, Limit); 1] = [("collectiveIdentifier", l(10, 30, 120))];

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
        (_, s) if s.starts_with("/collective-identifiers") => "collectiveIdentifier",
        _ => "other",
    }
}

/// Download groups: higher limits from 20:00 to 06:00 Warsaw time (limity-api.md §4).
pub const NIGHT_GROUPS: [&str; 4] = [
    "invoiceMetadata",
    "invoiceExport",
    "invoiceExportStatus",
    "invoiceDownload",
];
/// The doc promises higher night limits but has not published them yet; the simulator
/// doubles the day values (an assumption, stated in the README).
pub const NIGHT_FACTOR: u32 = 2;

impl RateProfile {
    /// The profile's limit for `group` by day.
    pub fn limit(self, group: &str) -> Option<Limit> {
        self.limit_at(group, false)
    }

    /// The profile's limit for `group`, by night (`night`) or day.
    pub fn limit_at(self, group: &str, night: bool) -> Option<Limit> {
        let base = if group == "public" {
            PUBLIC
        } else {
            GROUPS
                .iter()
                .chain(LATER_GROUPS.iter())
                .find(|(g, _)| *g == group)
                .map(|(_, l)| *l)?
        };
        let scale = |b: Limit, f: u32| l(b.per_second * f, b.per_minute * f, b.per_hour * f);
        let base = if night && NIGHT_GROUPS.contains(&group) {
            scale(base, NIGHT_FACTOR)
        } else {
            base
        };
        match self {
            RateProfile::Production => Some(base),
            RateProfile::Generous => Some(scale(base, 10)),
            RateProfile::Off => None,
        }
    }
}

/// Blocks after repeated violations double, up to this long (limity-api.md §2: "Wielokrotne
/// przekroczenia mogą skutkować znacznym wydłużeniem blokady").
pub const MAX_BLOCK: Duration = Duration::from_secs(3600);
/// A violation is forgotten after this long without another one.
pub const STRIKE_MEMORY: Duration = Duration::from_secs(3600);

/// One tripped limit: what the 429 says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tripped {
    pub retry_after: u64,
    /// `(limit, "sekundę"|"minutę"|"godzinę")` of the threshold crossed; `None` while an
    /// earlier block lasts.
    pub threshold: Option<(u32, &'static str)>,
}

impl Tripped {
    pub fn into_error(self) -> ApiError {
        let detail = match self.threshold {
            Some((n, unit)) => format!(
                "Przekroczono limit {n} żądań na {unit}. Spróbuj ponownie po {} sekundach.",
                self.retry_after
            ),
            None => format!(
                "Dostęp do API jest czasowo zablokowany po przekroczeniu limitu żądań. Spróbuj ponownie po {} sekundach.",
                self.retry_after
            ),
        };
        ApiError::TooManyRequests {
            retry_after: self.retry_after,
            detail,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

type Key = (String, String, IpAddr);

/// Sliding-window counters, escalating blocks and per-context overrides.
#[derive(Debug)]
pub struct RateLimiter {
    pub profile: RateProfile,
    hits: HashMap<Key, VecDeque<Instant>>,
    strikes: HashMap<Key, Strikes>,
    /// `POST /testdata/rate-limits` (own values) and `/testdata/rate-limits/production`,
    /// by context identifier value; `DELETE /testdata/rate-limits` removes them.
    pub overrides: HashMap<String, HashMap<String, Limit>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(RateProfile::Production)
    }
}

/// The context identifier value inside the limiter's context key (`cit:civ:arn`).
fn context_value(context: &str) -> &str {
    context.split(':').nth(1).unwrap_or("")
}

impl RateLimiter {
    pub fn new(profile: RateProfile) -> Self {
        RateLimiter {
            profile,
            hits: HashMap::new(),
            strikes: HashMap::new(),
            overrides: HashMap::new(),
        }
    }

    pub fn set_profile(&mut self, profile: RateProfile) {
        self.profile = profile;
        self.hits.clear();
        self.strikes.clear();
    }

    /// The limit in force for `group` in the context with identifier value `context_value`.
    pub fn effective(&self, group: &str, context_value: &str, night: bool) -> Option<Limit> {
        if let Some(own) = self.overrides.get(context_value).and_then(|o| o.get(group)) {
            return Some(*own);
        }
        self.profile.limit_at(group, night)
    }

    /// Counts one request of `bucket` (group, or group + endpoint for `other`) by
    /// (`context`, `ip`). `Err` = over a limit or still blocked after an earlier violation.
    pub fn hit(&mut self, group: &str, bucket: &str, context: &str, ip: IpAddr) -> Result<(), u64> {
        self.hit_at(group, bucket, context, ip, Instant::now(), false)
            .map_err(|t| t.retry_after)
    }

    /// [`hit`](Self::hit) at `now`, by night or day.
    pub fn hit_at(
        &mut self,
        group: &str,
        bucket: &str,
        context: &str,
        ip: IpAddr,
        now: Instant,
        night: bool,
    ) -> Result<(), Tripped> {
        let Some(limit) = self.effective(group, context_value(context), night) else {
            return Ok(());
        };
        let key = (bucket.to_string(), context.to_string(), ip);
        if let Some(s) = self.strikes.get(&key) {
            if now < s.blocked_until {
                let left = s.blocked_until.duration_since(now);
                return Err(Tripped {
                    retry_after: ceil_secs(left),
                    threshold: None,
                });
            }
            if now.duration_since(s.last) >= STRIKE_MEMORY {
                self.strikes.remove(&key);
            }
        }
        let window = self.hits.entry(key.clone()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            window.pop_front();
        }
        for (span, max, unit) in [
            (1u64, limit.per_second, "sekundę"),
            (60, limit.per_minute, "minutę"),
            (3600, limit.per_hour, "godzinę"),
        ] {
            let span_d = Duration::from_secs(span);
            let in_window: Vec<&Instant> = window
                .iter()
                .filter(|t| now.duration_since(**t) < span_d)
                .collect();
            if in_window.len() as u32 >= max {
                // The window frees when its oldest request leaves it; each repeated
                // violation (within STRIKE_MEMORY) doubles the block.
                let oldest = in_window.first().map(|t| **t).unwrap_or(now);
                let wait = span_d.saturating_sub(now.duration_since(oldest));
                let strikes = self.strikes.entry(key).or_insert(Strikes {
                    count: 0,
                    last: now,
                    blocked_until: now,
                });
                strikes.count += 1;
                strikes.last = now;
                let factor = 1u32 << (strikes.count - 1).min(12);
                let block = (wait.max(Duration::from_secs(1)) * factor).min(MAX_BLOCK);
                strikes.blocked_until = now + block;
                return Err(Tripped {
                    retry_after: ceil_secs(block),
                    threshold: Some((max, unit)),
                });
            }
        }
        window.push_back(now);
        Ok(())
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The limiter's answer for one request at the current time (called by the middleware).
pub fn check(
    limiter: &mut RateLimiter,
    group: &str,
    bucket: &str,
    context: &str,
    ip: IpAddr,
) -> Result<(), ApiError> {
    let night = crate::clock::is_night(crate::util::now());
    limiter
        .hit_at(group, bucket, context, ip, Instant::now(), night)
        .map_err(Tripped::into_error)
}

fn values(limit: Option<Limit>) -> Value {
    let l = limit.unwrap_or(l(1_000_000, 1_000_000, 1_000_000));
    json!({"perSecond": l.per_second, "perMinute": l.per_minute, "perHour": l.per_hour})
}

/// `GET /rate-limits` → `EffectiveApiRateLimits` (the context's own values if set, the
/// night values from 20:00 to 06:00).
async fn rate_limits(State(state): State<AppState>, auth: Auth) -> Json<Value> {
    let night = crate::clock::is_night(crate::util::now());
    let st = state.lock();
    let mut out = serde_json::Map::new();
    for (group, _) in GROUPS.iter().chain(LATER_GROUPS.iter()) {
        out.insert(
            group.to_string(),
            values(st.rate.effective(group, &auth.context.value, night)),
        );
    }
    Json(Value::Object(out))
}

/// `OnlineSessionEffectiveContextLimits` / `BatchSession...` (sizes in MB = 10^6 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionLimits {
    #[serde(rename = "maxInvoiceSizeInMB")]
    pub max_invoice_size_in_mb: u32,
    #[serde(rename = "maxInvoiceWithAttachmentSizeInMB")]
    pub max_invoice_with_attachment_size_in_mb: u32,
    pub max_invoices: u32,
}

/// KSeF's defaults (limity.md "Limity na kontekst"; weryfikacja-faktury.md: 1 MB = 1 000 000 B).
pub const DEFAULT_SESSION_LIMITS: SessionLimits = SessionLimits {
    max_invoice_size_in_mb: 1,
    max_invoice_with_attachment_size_in_mb: 3,
    max_invoices: 10_000,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextLimits {
    pub online_session: SessionLimits,
    pub batch_session: SessionLimits,
}

/// Per-context and per-subject overrides set through `/testdata/limits/...`.
#[derive(Debug, Default)]
pub struct LimitsStore {
    pub context: HashMap<String, ContextLimits>,
    /// Subject identifier value → (maxEnrollments, maxCertificates) overrides.
    pub subject: HashMap<String, (Option<u32>, Option<u32>)>,
}

impl LimitsStore {
    /// Session limits in force for the context with identifier value `context`.
    pub fn session(&self, context: &str) -> ContextLimits {
        self.context.get(context).copied().unwrap_or(ContextLimits {
            online_session: DEFAULT_SESSION_LIMITS,
            batch_session: DEFAULT_SESSION_LIMITS,
        })
    }

    /// `(maxEnrollments, maxCertificates)` in force for the subject `subject` (certificates.rs
    /// enforces them as 25006/25007).
    pub fn certificates(&self, subject: &str) -> (u32, u32) {
        let c = crate::certificates::LIMITS;
        let (e, n) = self.subject.get(subject).copied().unwrap_or((None, None));
        (
            e.unwrap_or(c.max_enrollments),
            n.unwrap_or(c.max_certificates),
        )
    }
}

/// `GET /limits/context` → `EffectiveContextLimits`.
async fn context_limits(State(state): State<AppState>, auth: Auth) -> Json<Value> {
    let limits = state.lock().limits.session(&auth.context.value);
    Json(json!(limits))
}

/// `GET /limits/subject` → `EffectiveSubjectLimits` (certificate limits).
async fn subject_limits(State(state): State<AppState>, auth: Auth) -> Json<Value> {
    let (enrollments, certificates) = state.lock().limits.certificates(&auth.subject.value);
    Json(json!({
        "enrollment": {"maxEnrollments": enrollments},
        "certificate": {"maxCertificates": certificates},
    }))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rate-limits", get(rate_limits))
        .route("/limits/context", get(context_limits))
        .route("/limits/subject", get(subject_limits))
        .merge(crate::testdata_limits::routes())
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
    fn production_is_the_default_and_generous_is_ten_times_it() {
        assert_eq!(RateLimiter::default().profile, RateProfile::Production);
        assert_eq!(
            RateProfile::Production.limit("invoiceMetadata"),
            Some(l(8, 16, 20))
        );
        assert_eq!(
            RateProfile::Generous.limit("invoiceMetadata"),
            Some(l(80, 160, 200))
        );
        let old: RateProfile = serde_json::from_str("\"test\"").unwrap();
        assert_eq!(old, RateProfile::Generous);
    }

    #[test]
    fn night_doubles_download_limits_only() {
        let p = RateProfile::Production;
        assert_eq!(p.limit_at("invoiceDownload", true), Some(l(16, 32, 128)));
        assert_eq!(p.limit_at("onlineSession", true), p.limit("onlineSession"));
        let mut r = RateLimiter::new(p);
        let ip = IpAddr::from([127, 0, 0, 1]);
        let now = Instant::now();
        for _ in 0..16 {
            r.hit_at(
                "invoiceDownload",
                "invoiceDownload",
                "Nip:1:",
                ip,
                now,
                true,
            )
            .unwrap();
        }
        let t = r
            .hit_at(
                "invoiceDownload",
                "invoiceDownload",
                "Nip:1:",
                ip,
                now,
                true,
            )
            .unwrap_err();
        assert_eq!(t.threshold, Some((16, "sekundę")));
    }

    #[test]
    fn repeated_violations_block_longer_and_a_block_refuses_everything() {
        let mut r = RateLimiter::new(RateProfile::Production);
        let ip = IpAddr::from([127, 0, 0, 1]);
        let t0 = Instant::now();
        let hit = |r: &mut RateLimiter, at: Instant| {
            r.hit_at("other", "GET /tokens", "Nip:1:", ip, at, false)
        };
        for _ in 0..10 {
            hit(&mut r, t0).unwrap();
        }
        let first = hit(&mut r, t0).unwrap_err();
        assert_eq!(first.retry_after, 1);
        assert_eq!(first.threshold, Some((10, "sekundę")));
        // Blocked: even after the per-second window would allow it, until the block ends.
        let during = hit(&mut r, t0 + Duration::from_millis(500)).unwrap_err();
        assert_eq!(during.threshold, None);
        // After the block: 10 more fit in the next second, the 11th trips again, longer.
        let t1 = t0 + Duration::from_millis(1100);
        for _ in 0..10 {
            hit(&mut r, t1).unwrap();
        }
        let second = hit(&mut r, t1).unwrap_err();
        assert!(second.retry_after >= 2, "{second:?}");
        let t2 = t1 + Duration::from_secs(second.retry_after) + Duration::from_millis(10);
        for _ in 0..9 {
            hit(&mut r, t2).unwrap();
        }
        let t3 = t2 + Duration::from_millis(1100);
        hit(&mut r, t3).unwrap();
        // 30 per minute: the 31st request in the minute trips the per-minute threshold.
        let third = hit(&mut r, t3).unwrap_err();
        assert_eq!(third.threshold, Some((30, "minutę")));
        assert!(third.retry_after > second.retry_after);
    }

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
