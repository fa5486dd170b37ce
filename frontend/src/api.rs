//! Calls to KSeF through the relay (`/ksef/{env}/v2/...`, same origin: the relay adds no CORS
//! for anyone else and the CSP allows only `connect-src 'self'`).

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// A KSeF environment as the relay names it in its routes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    /// The local simulator (the default: no KSeF account needed).
    #[default]
    Sim,
    /// KSeF TEST.
    Test,
    /// KSeF DEMO (pre-production).
    Demo,
    /// KSeF PROD.
    Prod,
}

impl Env {
    /// Every environment, in the order offered to the user.
    pub const ALL: [Env; 4] = [Env::Sim, Env::Test, Env::Demo, Env::Prod];

    /// Parses a route slug.
    pub fn from_slug(slug: &str) -> Option<Env> {
        Self::ALL.into_iter().find(|e| e.slug() == slug)
    }

    /// The path segment the relay routes on.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Sim => "sim",
            Self::Test => "test",
            Self::Demo => "demo",
            Self::Prod => "prod",
        }
    }

    /// The label shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sim => "Symulator",
            Self::Test => "TEST",
            Self::Demo => "DEMO",
            Self::Prod => "PROD",
        }
    }

    /// The relay URL of a KSeF API path (`path` starts with `/`).
    pub fn api_url(self, path: &str) -> String {
        format!("/ksef/{}/v2{path}", self.slug())
    }
}

/// One entry of `GET /security/public-key-certificates` (open-api.json `PublicKeyCertificate`):
/// ksef-core's type, so the app and the send flow share one JSON reader for it.
pub use ksef_core::api::security::public_key_certificates::PublicKeyCertificate;

/// What can go wrong talking to KSeF through the relay, with advice for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The relay itself could not be reached (offline, relay stopped).
    #[error("relay unreachable: {0}")]
    Unreachable(String),
    /// The relay answered but KSeF (or the simulator) did not.
    #[error("upstream unavailable ({status}): {detail}")]
    Upstream {
        /// HTTP status from the relay (502/504).
        status: u16,
        /// The relay's explanation.
        detail: String,
    },
    /// KSeF answered with an error status.
    #[error("KSeF error {status}: {detail}")]
    Ksef {
        /// HTTP status.
        status: u16,
        /// Body excerpt or exception description.
        detail: String,
    },
    /// The answer did not parse.
    #[error("unexpected answer: {0}")]
    BadResponse(String),
}

impl NetError {
    /// A message for the user in their language, saying what to do.
    pub fn user_message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Unreachable(_), Lang::Pl) => "Brak połączenia z serwerem Kwit (przekaźnikiem). Sprawdź połączenie z internetem i spróbuj ponownie.".into(),
            (Self::Unreachable(_), Lang::En) => "Cannot reach the Kwit server (relay). Check your internet connection and try again.".into(),
            (Self::Upstream { detail, .. }, Lang::Pl) => format!("KSeF jest chwilowo niedostępny ({detail}). Spróbuj ponownie za kilka minut."),
            (Self::Upstream { detail, .. }, Lang::En) => format!("KSeF is unavailable right now ({detail}). Try again in a few minutes."),
            (Self::Ksef { status, detail }, Lang::Pl) => format!("KSeF odrzucił żądanie (HTTP {status}): {detail}"),
            (Self::Ksef { status, detail }, Lang::En) => format!("KSeF refused the request (HTTP {status}): {detail}"),
            (Self::BadResponse(d), Lang::Pl) => format!("Nieoczekiwana odpowiedź KSeF: {d}. Spróbuj ponownie później."),
            (Self::BadResponse(d), Lang::En) => format!("Unexpected answer from KSeF: {d}. Try again later."),
        }
    }
}

/// Classifies a non-success response: the relay marks its own failures as JSON problems
/// (`application/problem+json`) with 502/504; anything else comes from KSeF.
pub fn classify_error(status: u16, content_type: &str, body: &str) -> NetError {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(default)]
        detail: Option<String>,
        #[serde(default)]
        title: Option<String>,
    }
    // `from_slice` like everywhere else (one serde_json reader in the wasm).
    let problem: Option<Problem> = serde_json::from_slice(body.as_bytes()).ok();
    let detail = problem
        .as_ref()
        .and_then(|p| p.detail.clone().or_else(|| p.title.clone()))
        .unwrap_or_else(|| body.chars().take(200).collect());
    if matches!(status, 502..=504) && content_type.contains("problem+json") {
        NetError::Upstream { status, detail }
    } else {
        NetError::Ksef { status, detail }
    }
}

/// `GET /security/public-key-certificates` through the relay, with the same client (and so the
/// same compiled code) as ksef-core's flows.
pub async fn fetch_public_keys(env: Env) -> Result<Vec<PublicKeyCertificate>, NetError> {
    crate::net::ksef_client(env)
        .execute(
            &ksef_core::api::security::public_key_certificates::Request,
            None,
        )
        .await
        .map_err(|e| net_error(&e))
}

/// A ksef-core error as a [`NetError`]: no answer at all, the relay's own 502/504 (KSeF down),
/// or KSeF's refusal.
pub fn net_error(e: &ksef_core::error::Error) -> NetError {
    use ksef_core::error::Error;
    let status = match e {
        Error::Network(m) => return NetError::Unreachable(m.clone()),
        Error::Http { status, body } if (502..=504).contains(status) => {
            return classify_error(*status, "application/problem+json", body);
        }
        Error::Http { status, .. } => *status,
        Error::Unauthorized => 401,
        Error::Forbidden { .. } => 403,
        Error::Gone => 410,
        Error::RateLimited { .. } => 429,
        _ => 400,
    };
    NetError::Ksef {
        status,
        detail: e.to_string(),
    }
}

/// The date part of an RFC 3339 timestamp, for display.
pub fn display_date(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}
