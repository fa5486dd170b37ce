//! Simulator configuration (`SimConfig`): everything tests may want to shorten or switch.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::limits::RateProfile;

/// How a simulator instance behaves. `Default` = the binary's defaults.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Base for absolute storage links (`{public_url}/storage/...`). `None` = `http://{bound addr}`.
    pub public_url: Option<String>,
    /// If set, state is loaded from this JSON file at start (when it exists) and saved to it
    /// after changes and on graceful shutdown (`persist.rs` says what and when).
    pub state_file: Option<PathBuf>,
    /// Lifetime of access tokens (KSeF: 15 minutes).
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens (KSeF: 7 days).
    pub refresh_token_ttl: Duration,
    /// Lifetime of the `authenticationToken` (operation token; KSeF examples: 45 minutes).
    pub authentication_token_ttl: Duration,
    /// Lifetime of a challenge (KSeF: 10 minutes).
    pub challenge_ttl: Duration,
    /// How long `/auth/{ref}` stays at status 100 before the final status.
    pub auth_processing_delay: Duration,
    /// How long a new KSeF token stays `Pending` before it becomes `Active`.
    pub token_activation_delay: Duration,
    /// How long `GET /auth/{ref}` answers before `410 Gone` (ksef-guide §3.5: 7 days).
    pub auth_retention: Duration,
    /// How long `GET /invoices/exports/{ref}` answers before `410 Gone` (ksef-guide §7: 7 days).
    pub export_retention: Duration,
    /// How long a UPO storage link works after the status call that gave it
    /// (`upoDownloadUrlExpirationDate`); then the storage host answers 403.
    pub storage_link_ttl: Duration,
    /// How far `permanentStorageHwmDate` trails the present (storage is asynchronous in
    /// KSeF; `pobieranie-faktur/hwm.md`).
    pub hwm_lag: Duration,
    /// Export parts before encryption: KSeF's 50 MB by default (a 10,000-invoice package is one
    /// part, as on KSeF); tests that need a multi-part package set it small.
    pub export_part_size: usize,
    /// How long a finished export package (and its part links) can be downloaded
    /// (`packageExpirationDate`); then status 210, and 410 after `export_retention`.
    pub export_package_ttl: Duration,
    /// How long `GET /certificates/enrollments/{ref}` answers before `410 Gone` (30 days).
    pub enrollment_retention: Duration,
    /// Publish two certificates per usage (planned key rotation scenario).
    pub key_rotation: bool,
    /// Rate-limit profile in force at start.
    pub rate_profile: RateProfile,
    /// Seed the demo company (NIP, KSeF token, purchase invoices) at start.
    pub seed_demo: bool,
    /// Print the demo company on start (the binary does, tests don't).
    pub print_demo: bool,
    /// Largest request body accepted (bytes); larger → 413.
    pub max_body_bytes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            public_url: None,
            state_file: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            authentication_token_ttl: Duration::from_secs(45 * 60),
            challenge_ttl: Duration::from_secs(10 * 60),
            auth_processing_delay: Duration::from_millis(300),
            token_activation_delay: Duration::from_millis(300),
            auth_retention: Duration::from_secs(7 * 24 * 3600),
            export_retention: Duration::from_secs(7 * 24 * 3600),
            enrollment_retention: Duration::from_secs(30 * 24 * 3600),
            storage_link_ttl: Duration::from_secs(3600),
            hwm_lag: Duration::from_secs(5),
            export_part_size: crate::export::MAX_PART_SIZE,
            export_package_ttl: Duration::from_secs(24 * 3600),
            key_rotation: false,
            rate_profile: RateProfile::Production,
            seed_demo: true,
            print_demo: false,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

impl SimConfig {
    /// A config for tests: port 0, no delays worth waiting for, PRD rate limits (what a
    /// client must live with: ksef-core's and the relay's tests pace themselves under them).
    pub fn for_tests() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth_processing_delay: Duration::from_millis(50),
            token_activation_delay: Duration::from_millis(50),
            // Exports of what a test has just sent see it at once; HWM tests set a lag.
            hwm_lag: Duration::ZERO,
            ..SimConfig::default()
        }
    }

    /// [`SimConfig::for_tests`] with the generous (10× PRD) limits: for the simulator's own
    /// handler tests, which fire requests faster than a paced client and on a busy CI machine
    /// would trip PRD's 10/s at random.
    pub fn for_tests_generous() -> Self {
        SimConfig {
            rate_profile: RateProfile::Generous,
            ..Self::for_tests()
        }
    }
}
