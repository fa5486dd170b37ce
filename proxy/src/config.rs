//! Configuration from command-line flags and `KWIT_*` environment variables.
//!
//! The upstream hosts for `test`, `demo` and `prod` are fixed here, in code: nothing a
//! client sends can change where the relay connects to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Official KSeF 2.0 hosts (ksef-guide.md §1; ksef-docs srodowiska.md). Paths are
/// appended as `/v2/...` and `/storage/...`.
pub const TEST_HOST: &str = "https://api-test.ksef.mf.gov.pl";
/// DEMO (pre-production) host.
pub const DEMO_HOST: &str = "https://api-demo.ksef.mf.gov.pl";
/// Production host.
pub const PROD_HOST: &str = "https://api.ksef.mf.gov.pl";
/// KSeF's availability service ("Latarnia") for TEST; it has no DEMO.
pub const LATARNIA_TEST_HOST: &str = "https://api-latarnia-test.ksef.mf.gov.pl";
/// KSeF's availability service ("Latarnia") for production.
pub const LATARNIA_PROD_HOST: &str = "https://api-latarnia.ksef.mf.gov.pl";

/// A KSeF environment the relay may forward to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Environment {
    /// The local simulator (`--sim-url`), never enabled by default.
    Sim,
    /// KSeF TEST.
    Test,
    /// KSeF DEMO (pre-production).
    Demo,
    /// KSeF production.
    Prod,
}

impl Environment {
    /// The name used in relay URLs (`/ksef/{env}/...`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Test => "test",
            Self::Demo => "demo",
            Self::Prod => "prod",
        }
    }

    /// Parses the `{env}` path segment; anything but the four names is refused.
    pub fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "sim" => Some(Self::Sim),
            "test" => Some(Self::Test),
            "demo" => Some(Self::Demo),
            "prod" => Some(Self::Prod),
            _ => None,
        }
    }
}

/// Set when the process received SIGTERM: `/readyz` turns 503 so a load balancer
/// stops sending new work while requests in flight finish.
#[derive(Debug, Clone, Default)]
pub struct ShutdownFlag(Arc<AtomicBool>);

impl ShutdownFlag {
    /// Marks the relay as draining.
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything the relay can be told. Every flag has a `KWIT_*` environment variable.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "kwit-relay",
    version,
    about = "Blind CORS relay to the KSeF API that also serves the Kwit web app"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "KWIT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Extra browser origins allowed to call the API cross-origin (CORS), comma separated,
    /// e.g. `https://kwit.example.com`. The relay's own origin (the SPA it serves) always
    /// works without CORS; requests from any other origin are refused.
    #[arg(long = "allowed-origins", env = "KWIT_ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// KSeF environments to offer, comma separated (`test,demo,prod`). `sim` is added
    /// automatically when `--sim-url` is given.
    #[arg(
        long,
        env = "KWIT_ENVIRONMENTS",
        value_delimiter = ',',
        default_value = "test,demo,prod"
    )]
    pub environments: Vec<Environment>,

    /// Base URL of a local KSeF simulator, e.g. `http://127.0.0.1:8081`; enables `sim`.
    #[arg(long, env = "KWIT_SIM_URL", value_parser = parse_sim_url)]
    pub sim_url: Option<String>,

    /// Directory with the Trunk build of the web app (`dist`), served at `/`.
    #[arg(long, env = "KWIT_SPA_DIR")]
    pub spa_dir: Option<PathBuf>,

    /// Set when a TLS-terminating proxy sits in front: adds `Strict-Transport-Security`.
    #[arg(long, env = "KWIT_BEHIND_TLS")]
    pub behind_tls: bool,

    /// Take the client address from the last `X-Forwarded-For` entry (only behind a
    /// trusted reverse proxy; otherwise clients could dodge the rate limit).
    #[arg(long, env = "KWIT_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// Largest request body forwarded, in MiB (KSeF batch parts reach 100 MB).
    #[arg(long, env = "KWIT_MAX_BODY_MIB", default_value_t = 110)]
    pub max_body_mib: u64,

    /// Seconds to wait for a TCP/TLS connection to KSeF.
    #[arg(
        long = "connect-timeout",
        env = "KWIT_CONNECT_TIMEOUT",
        default_value_t = 10
    )]
    pub connect_timeout_secs: u64,

    /// Seconds to wait for KSeF's response headers once the request body is sent.
    #[arg(
        long = "upstream-timeout",
        env = "KWIT_UPSTREAM_TIMEOUT",
        default_value_t = 60
    )]
    pub upstream_timeout_secs: u64,

    /// Seconds a body transfer from KSeF may stall before it is abandoned.
    #[arg(long = "idle-timeout", env = "KWIT_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Largest buffer per connection, in KiB, on each side (the browser's and KSeF's).
    /// Bigger moves large bodies with less CPU, smaller holds less memory per open
    /// transfer: at 1,000 parallel 1 MB downloads 32 KiB peaks at ~130 MiB, 128 KiB at
    /// ~300 MiB with ~40% less CPU per download (proxy/README.md, Benchmark).
    #[arg(long = "buffer-kib", env = "KWIT_BUFFER_KIB", default_value_t = 32)]
    pub buffer_kib: usize,

    /// Worker threads, each with its own event loop, listening socket (`SO_REUSEPORT`)
    /// and upstream connection pool, like nginx's worker processes (0 = one per CPU).
    #[arg(long, env = "KWIT_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Seconds a client has to send a request's headers (slowloris protection).
    #[arg(
        long = "header-timeout",
        env = "KWIT_HEADER_TIMEOUT",
        default_value_t = 10
    )]
    pub header_timeout_secs: u64,

    /// Requests per second each client may send to KSeF through the relay (0 = no limit).
    /// KSeF counts its own limits per context *and IP*, and every user shares this IP.
    #[arg(long = "rate-limit", env = "KWIT_RATE_LIMIT", default_value_t = 10.0)]
    pub rate_limit_per_sec: f64,

    /// Burst size of the per-client rate limit.
    #[arg(long, env = "KWIT_RATE_BURST", default_value_t = 60)]
    pub rate_burst: u32,

    /// Seconds to let requests in flight finish after SIGTERM.
    #[arg(
        long = "shutdown-grace",
        env = "KWIT_SHUTDOWN_GRACE",
        default_value_t = 30
    )]
    pub shutdown_grace_secs: u64,

    /// Log format.
    #[arg(long, env = "KWIT_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter (tracing `EnvFilter` syntax; `RUST_LOG` works too). HTTP-client
    /// internals stay silent at any level.
    #[arg(long, env = "KWIT_LOG", default_value = "info")]
    pub log: String,

    /// Probe `/healthz` of the relay at `--listen` and exit 0 if it answers 200
    /// (a container health check for images without curl).
    #[arg(long)]
    pub check_health: bool,

    /// Set by the binary on SIGTERM; not a flag.
    #[arg(skip)]
    pub shutdown: ShutdownFlag,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            allowed_origins: Vec::new(),
            environments: vec![Environment::Test, Environment::Demo, Environment::Prod],
            sim_url: None,
            spa_dir: None,
            behind_tls: false,
            trust_forwarded_for: false,
            max_body_mib: 110,
            connect_timeout_secs: 10,
            upstream_timeout_secs: 60,
            idle_timeout_secs: 60,
            buffer_kib: 32,
            workers: 0,
            header_timeout_secs: 10,
            rate_limit_per_sec: 10.0,
            rate_burst: 60,
            shutdown_grace_secs: 30,
            log_format: LogFormat::Text,
            log: "info".to_owned(),
            check_health: false,
            shutdown: ShutdownFlag::default(),
        }
    }
}

impl Config {
    /// The environments offered, in a stable order (`sim` first when configured).
    pub fn enabled_environments(&self) -> Vec<Environment> {
        let mut envs: Vec<Environment> = self
            .environments
            .iter()
            .copied()
            .filter(|e| *e != Environment::Sim)
            .collect();
        if self.sim_url.is_some() {
            envs.push(Environment::Sim);
        }
        envs.sort();
        envs.dedup();
        envs
    }

    /// Upstream base URL (scheme + host [+ port], no trailing slash) of an enabled environment.
    pub fn upstream(&self, env: Environment) -> Option<&str> {
        if !self.enabled_environments().contains(&env) {
            return None;
        }
        match env {
            Environment::Sim => self.sim_url.as_deref(),
            Environment::Test => Some(TEST_HOST),
            Environment::Demo => Some(DEMO_HOST),
            Environment::Prod => Some(PROD_HOST),
        }
    }

    /// Latarnia's base URL for an enabled environment, and the path its API is under there:
    /// MF's fixed hosts serve it at the root, the simulator under `/latarnia`. DEMO has none.
    pub fn latarnia_upstream(&self, env: Environment) -> Option<(&str, &'static str)> {
        if !self.enabled_environments().contains(&env) {
            return None;
        }
        match env {
            Environment::Sim => self.sim_url.as_deref().map(|url| (url, "/latarnia")),
            Environment::Test => Some((LATARNIA_TEST_HOST, "")),
            Environment::Demo => None,
            Environment::Prod => Some((LATARNIA_PROD_HOST, "")),
        }
    }

    pub(crate) fn max_body_bytes(&self) -> u64 {
        self.max_body_mib.saturating_mul(1024 * 1024)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs.max(1))
    }

    pub(crate) fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_secs.max(1))
    }

    /// The per-connection buffer cap in bytes; hyper needs at least 8 KiB.
    pub fn buffer_bytes(&self) -> usize {
        self.buffer_kib.clamp(8, 16 * 1024) * 1024
    }

    /// How long a client may take to send a request head.
    pub fn header_timeout(&self) -> Duration {
        Duration::from_secs(self.header_timeout_secs.max(1))
    }

    /// The number of worker threads: `--workers`, or one per CPU.
    pub fn worker_count(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            n => n,
        }
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}

/// Accepts `scheme://host[:port]` only: an origin, exactly as browsers send it.
fn parse_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(origin).map_err(|e| format!("{origin}: {e}"))?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !ok {
        return Err(format!(
            "{origin}: podaj sam origin, np. https://kwit.example.com / give a bare origin such as https://kwit.example.com"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

/// Accepts `http(s)://host[:port]` with no path, user info or query.
fn parse_sim_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("{raw}: {e}"))?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !ok {
        return Err(format!(
            "{raw}: adres symulatora to np. http://127.0.0.1:8081 (bez ścieżki) / the simulator URL looks like http://127.0.0.1:8081 (no path)"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_is_only_enabled_with_a_sim_url() {
        let cfg = Config::parse_from(["kwit-relay", "--environments", "sim,test"]);
        assert_eq!(cfg.enabled_environments(), vec![Environment::Test]);
        assert_eq!(cfg.upstream(Environment::Sim), None);
        let cfg = Config::parse_from(["kwit-relay", "--sim-url", "http://127.0.0.1:8081/"]);
        assert_eq!(
            cfg.enabled_environments(),
            vec![
                Environment::Sim,
                Environment::Test,
                Environment::Demo,
                Environment::Prod
            ]
        );
        assert_eq!(
            cfg.upstream(Environment::Sim),
            Some("http://127.0.0.1:8081")
        );
    }

    #[test]
    fn rejects_sim_urls_with_paths_or_credentials() {
        for bad in [
            "http://127.0.0.1:8081/v2",
            "http://u:p@127.0.0.1:8081",
            "ftp://x",
            "nonsense",
        ] {
            assert!(
                Config::try_parse_from(["kwit-relay", "--sim-url", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn origins_are_normalised_and_checked() {
        let cfg = Config::parse_from([
            "kwit-relay",
            "--allowed-origins",
            "https://Kwit.Example.com/,http://localhost:8080",
        ]);
        assert_eq!(
            cfg.allowed_origins,
            vec!["https://kwit.example.com", "http://localhost:8080"]
        );
        assert!(
            Config::try_parse_from(["kwit-relay", "--allowed-origins", "https://a.pl/x"]).is_err()
        );
    }

    #[test]
    fn default_matches_an_empty_command_line() {
        let parsed = Config::parse_from(["kwit-relay"]);
        let default = Config::default();
        assert_eq!(parsed.listen, default.listen);
        assert_eq!(
            parsed.enabled_environments(),
            default.enabled_environments()
        );
        assert_eq!(parsed.max_body_bytes(), 110 * 1024 * 1024);
        assert_eq!(parsed.buffer_bytes(), default.buffer_bytes());
        assert_eq!(parsed.buffer_bytes(), 32 * 1024);
        let tiny = Config::parse_from(["kwit-relay", "--buffer-kib", "1"]);
        assert_eq!(tiny.buffer_bytes(), 8 * 1024, "hyper's minimum");
    }
}
