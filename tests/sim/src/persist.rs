//! `--state-file PATH` (`SimConfig.state_file`): the simulator's data survives a restart.
//!
//! What is saved: the key material (the published MF keys, so KSeF tokens and session keys
//! encrypted before the restart stay decryptable, and the simulator CA key, so issued KSeF
//! certificates stay trusted), the JWT secret (access/refresh tokens stay valid), the demo
//! company, challenges and auth operations, KSeF tokens, issued certificates and
//! enrollments, online sessions with their invoices, the invoice repository (KSeF numbers,
//! seeded inboxes) and company names. Not saved: export jobs (short-lived; a client starts a
//! new export), injected faults, rate-limit windows and the processing delay.
//!
//! When: loaded once at start if the file exists (otherwise the demo company is seeded as
//! usual); saved at most every [`SAVE_INTERVAL`] after a request that may change data (any
//! method other than GET/HEAD/OPTIONS), and once more on graceful shutdown. Writes are
//! atomic: a temporary file in the same directory, fsync, then rename over the old file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rsa::PrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::{Deserialize, Serialize};

use crate::auth::AuthStore;
use crate::certificates::CertificateStore;
use crate::keys::KeyMaterial;
use crate::sessions::InvoiceStore;
use crate::state::{AppState, DemoInfo};
use crate::tokens::TokenStore;
use crate::util;

/// Version of the file layout; a file with another version is refused, not misread.
pub const FORMAT: u32 = 1;
/// Longest time between a data-changing request and the save that includes it.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// Serde helper: `Vec<u8>` as Base64 text.
pub mod base64_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::util::b64(bytes))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        crate::util::b64_decode(&text).ok_or_else(|| serde::de::Error::custom("invalid base64"))
    }
}

/// Serde helper: `Arc<Vec<u8>>` as Base64 text.
pub mod base64_arc {
    use std::sync::Arc;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Arc<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        super::base64_bytes::serialize(bytes.as_slice(), s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<Vec<u8>>, D::Error> {
        super::base64_bytes::deserialize(d).map(Arc::new)
    }
}

/// The private keys as Base64 PKCS#8 DER.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedKeys {
    token_keys: Vec<String>,
    symmetric_keys: Vec<String>,
    ca_key: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut<'a> {
    format: u32,
    keys: SavedKeys,
    jwt_secret: String,
    demo: DemoInfo,
    company_names: &'a HashMap<String, String>,
    auth: &'a AuthStore,
    tokens: &'a TokenStore,
    certificates: &'a CertificateStore,
    invoices: &'a InvoiceStore,
    permissions: &'a crate::permissions::PermissionStore,
    testdata: &'a crate::testdata::TestDataStore,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotIn {
    format: u32,
    keys: SavedKeys,
    jwt_secret: String,
    demo: DemoInfo,
    company_names: HashMap<String, String>,
    auth: AuthStore,
    tokens: TokenStore,
    certificates: CertificateStore,
    invoices: InvoiceStore,
    /// Absent in files written before permissions existed.
    #[serde(default)]
    permissions: crate::permissions::PermissionStore,
    #[serde(default)]
    testdata: crate::testdata::TestDataStore,
}

/// A state file read at start, before the simulator's state exists.
pub struct Loaded {
    snapshot: SnapshotIn,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "Plik stanu {} jest nieprawidłowy ({why}); usuń go albo wskaż inny plik. / The state file is invalid; delete it or use another file.",
            path.display()
        ),
    )
}

fn encode_key(key: &PrivateKey) -> String {
    util::b64(key.to_pkcs8_der().expect("PKCS#8 encoding").as_bytes())
}

fn decode_key(path: &Path, text: &str) -> std::io::Result<PrivateKey> {
    let der = util::b64_decode(text).ok_or_else(|| invalid(path, "klucz nie jest Base64"))?;
    PrivateKey::from_pkcs8_der(&der).map_err(|e| invalid(path, e))
}

/// Reads `path`: `Ok(None)` when it does not exist yet (first start), and installs its key
/// material as this process's keys (see [`crate::keys::install_key_material`]).
pub fn load(path: &Path) -> std::io::Result<Option<Loaded>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let snapshot: SnapshotIn = serde_json::from_slice(&bytes).map_err(|e| invalid(path, e))?;
    if snapshot.format != FORMAT {
        return Err(invalid(
            path,
            format!("wersja {} zamiast {FORMAT}", snapshot.format),
        ));
    }
    let pair = |keys: &[String]| -> std::io::Result<[PrivateKey; 2]> {
        match keys {
            [a, b] => Ok([decode_key(path, a)?, decode_key(path, b)?]),
            _ => Err(invalid(path, "oczekiwano dwóch kluczy na zastosowanie")),
        }
    };
    let material = KeyMaterial {
        token_keys: pair(&snapshot.keys.token_keys)?,
        symmetric_keys: pair(&snapshot.keys.symmetric_keys)?,
        ca_key: decode_key(path, &snapshot.keys.ca_key)?,
    };
    crate::keys::install_key_material(material)
        .map_err(|e| std::io::Error::other(format!("{e} ({})", path.display())))?;
    Ok(Some(Loaded { snapshot }))
}

/// Puts a loaded state into a new `AppState` (before it is shared with the server).
pub fn restore(state: &mut AppState, loaded: Loaded) {
    let s = loaded.snapshot;
    if let Some(secret) = util::b64_decode(&s.jwt_secret) {
        state.jwt_secret = std::sync::Arc::new(secret);
    }
    *state.demo.lock().unwrap_or_else(|p| p.into_inner()) = s.demo;
    let mut st = state.lock();
    st.company_names = s.company_names;
    st.auth = s.auth;
    st.tokens = s.tokens;
    st.certificates = s.certificates;
    st.permissions = s.permissions;
    st.testdata = s.testdata;
    let mut invoices = s.invoices;
    // Derived data is not in the file: rejection texts, the KSeF-number index, duplicates.
    for session in invoices.sessions.values_mut() {
        for invoice in &mut session.invoices {
            if let Err(rejection) = &mut invoice.outcome {
                rejection.description = crate::fa3check::status_description(rejection.code);
            }
        }
    }
    let records = std::mem::take(&mut invoices.invoices);
    invoices.by_ksef = HashMap::new();
    invoices.duplicates = HashMap::new();
    invoices.exports = BTreeMap::new();
    for record in records {
        invoices.insert(record);
    }
    st.invoices = invoices;
}

/// Writes the whole state to `path` atomically (temp file + fsync + rename).
pub fn save(state: &AppState, path: &Path) -> std::io::Result<()> {
    let material = crate::keys::key_material();
    let keys = SavedKeys {
        token_keys: material.token_keys.iter().map(encode_key).collect(),
        symmetric_keys: material.symmetric_keys.iter().map(encode_key).collect(),
        ca_key: encode_key(&material.ca_key),
    };
    let demo = state.demo();
    let bytes = {
        let st = state.lock();
        serde_json::to_vec(&SnapshotOut {
            format: FORMAT,
            keys,
            jwt_secret: util::b64(&state.jwt_secret),
            demo,
            company_names: &st.company_names,
            auth: &st.auth,
            tokens: &st.tokens,
            certificates: &st.certificates,
            invoices: &st.invoices,
            permissions: &st.permissions,
            testdata: &st.testdata,
        })
        .map_err(std::io::Error::other)?
    };
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "ksef-sim-state".into());
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

/// Saves in the background at most every [`SAVE_INTERVAL`] while requests change data.
pub fn spawn_saver(state: AppState, path: PathBuf) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAVE_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.dirty.swap(false, Ordering::SeqCst) {
                save_logged(state.clone(), path.clone()).await;
            }
        }
    })
}

/// Saves on a blocking thread; a failure is logged (the simulator keeps running).
pub async fn save_logged(state: AppState, path: PathBuf) {
    let shown = path.display().to_string();
    match tokio::task::spawn_blocking(move || save(&state, &path)).await {
        Ok(Ok(())) => tracing::debug!("state saved to {shown}"),
        Ok(Err(e)) => {
            tracing::warn!("Nie udało się zapisać stanu do {shown} / could not save the state: {e}")
        }
        Err(e) => tracing::warn!("state save task failed: {e}"),
    }
}
