//! Shared in-memory state. One `AppState` per simulator instance, cloned into every handler.
//!
//! Modules keep their data in their own struct and add one field to [`SimState`] (the type
//! must implement `Default`). Lock with [`AppState::lock`], never hold the guard across
//! `.await`.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::auth::AuthStore;
use crate::certificates::CertificateStore;
use crate::config::SimConfig;
use crate::control::Faults;
use crate::keys::KeyStore;
use crate::limits::RateLimiter;
use crate::tokens::TokenStore;

/// Demo company seeded at start (also `GET /sim/demo`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoInfo {
    pub nip: String,
    pub ksef_token: String,
    pub company_name: String,
}

/// All mutable simulator data.
#[derive(Default)]
pub struct SimState {
    /// Challenges, auth operations, revoked auth sessions (auth.rs).
    pub auth: AuthStore,
    /// KSeF tokens (tokens.rs).
    pub tokens: TokenStore,
    /// Issued KSeF certificates and enrollments (certificates.rs).
    pub certificates: CertificateStore,
    /// Injected faults (control.rs).
    pub faults: Faults,
    /// Rate-limit windows (limits.rs).
    pub rate: RateLimiter,
    /// Collective identifiers, 2.7.0 (collective.rs).
    pub collective: crate::collective::CollectiveStore,
    /// Session and certificate limits set through `/testdata/limits/...` (limits.rs).
    pub limits: crate::limits::LimitsStore,
    /// Extra delay before async operations (sessions, invoices) finish processing.
    pub processing_delay: Duration,
    /// Company names by NIP, for display (`/sim/demo`, seeded sellers).
    pub company_names: HashMap<String, String>,
    /// Online sessions, accepted invoices, exports (sessions.rs, invoices.rs).
    pub invoices: crate::sessions::InvoiceStore,
    /// Permission grants and their operations (permissions.rs).
    pub permissions: crate::permissions::PermissionStore,
    /// `/testdata` subjects, persons, attachment consents, blocked contexts (testdata.rs).
    pub testdata: crate::testdata::TestDataStore,
    /// Part uploads of open batch sessions (batch.rs).
    pub batch: crate::batch::BatchStore,
    /// What KSeF's availability service reports (latarnia.rs).
    pub latarnia: crate::latarnia::LatarniaStore,
}

/// Cheap-to-clone handle given to every handler (`State<AppState>`).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<SimConfig>,
    /// The published MF keys + decrypt helper.
    pub keys: Arc<KeyStore>,
    /// HMAC key for the simulator's JWTs (random per instance).
    pub jwt_secret: Arc<Vec<u8>>,
    /// Public base URL for absolute links, e.g. `http://127.0.0.1:8081` (no trailing slash).
    pub public_url: Arc<String>,
    pub inner: Arc<Mutex<SimState>>,
    pub demo: Arc<Mutex<DemoInfo>>,
    /// Set after a request that may have changed data; the state-file saver clears it.
    pub dirty: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(config: SimConfig, public_url: String) -> Self {
        let keys = KeyStore::new(config.key_rotation);
        let state = SimState {
            rate: RateLimiter::new(config.rate_profile),
            ..SimState::default()
        };
        AppState {
            config: Arc::new(config),
            keys: Arc::new(keys),
            jwt_secret: Arc::new(crate::util::random_bytes(32)),
            public_url: Arc::new(public_url.trim_end_matches('/').to_string()),
            inner: Arc::new(Mutex::new(state)),
            demo: Arc::new(Mutex::new(DemoInfo::default())),
            dirty: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Locks the state. A poisoned lock (a panicking handler) is recovered: the data is
    /// plain maps and stays usable.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn demo(&self) -> DemoInfo {
        self.demo.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
