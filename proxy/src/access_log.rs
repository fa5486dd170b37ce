//! The access log (target `kwit_relay::access`): one line per answer, with method,
//! route template, environment, status and latency. Never the path itself (reference
//! numbers), the query (SAS signatures) or any header. The `/ksef` fast path and the
//! router both write it through [`AccessLog`], so its format is defined once.

use std::time::Instant;

use axum::http::{Method, StatusCode};

use crate::config::Environment;

/// The access log's tracing target.
const TARGET: &str = "kwit_relay::access";

/// A request's access log line, begun when the request arrives.
pub(crate) struct AccessLog {
    method: Method,
    started: Instant,
}

impl AccessLog {
    /// Begins the line, or `None` when the access log is off: then nothing is cloned or
    /// timed for it.
    pub(crate) fn begin(method: &Method) -> Option<Self> {
        if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            return None;
        }
        Some(Self {
            method: method.clone(),
            started: Instant::now(),
        })
    }

    /// Writes the line. `route` is a route template (or `fallback`), never a path.
    pub(crate) fn write(self, route: &str, env: Option<Environment>, status: StatusCode) {
        tracing::info!(
            target: TARGET,
            method = %self.method,
            route,
            env = env.map(Environment::as_str),
            status = status.as_u16(),
            latency_ms = self.started.elapsed().as_secs_f64() * 1000.0,
        );
    }
}
