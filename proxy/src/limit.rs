//! Per-client token bucket.
//!
//! KSeF counts its rate limits per (context, IP) pair (ksef-guide.md §12.1,
//! ksef-docs limity/limity-api.md) and every user of a relay shares its outgoing IP,
//! so one noisy browser could get everybody blocked. Each client address gets its
//! own bucket here, refilled at `rate` tokens per second up to `burst`; a client is
//! its connection's peer address, or the last `X-Forwarded-For` hop behind a proxy.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;

/// Buckets beyond this count trigger a sweep of full (idle) ones.
const SWEEP_THRESHOLD: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The client's address for rate limiting: the connection's peer (`None` in tests that
/// call the router directly), or the last `X-Forwarded-For` hop when told to trust it.
pub(crate) fn client_ip(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trust_forwarded_for: bool,
) -> IpAddr {
    if trust_forwarded_for {
        let last_hop = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|v| v.trim().parse::<IpAddr>().ok())
            .next_back();
        if let Some(ip) = last_hop {
            return ip;
        }
    }
    peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Keyed token-bucket limiter; `rate <= 0` disables it.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client`; on refusal returns the whole seconds to wait.
    pub(crate) fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        if self.rate <= 0.0 || !self.rate.is_finite() {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > SWEEP_THRESHOLD {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate;
            // Saturating float-to-int cast; the wait is small and positive.
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_client() {
        let limiter = RateLimiter::new(2.0, 3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(a, t0).is_ok());
        }
        assert_eq!(limiter.check(a, t0), Err(1));
        // Another client is not affected.
        assert!(limiter.check(b, t0).is_ok());
        // Half a second later one token is back.
        assert!(limiter.check(a, t0 + Duration::from_millis(500)).is_ok());
        assert!(limiter.check(a, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn zero_rate_disables_the_limit() {
        let limiter = RateLimiter::new(0.0, 1);
        let a: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check(a, t0).is_ok());
        }
    }
}
