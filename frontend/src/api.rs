//! Calls to KSeF through the relay (`/ksef/{env}/v2/...`, same origin: the relay adds no CORS
//! for anyone else and the CSP allows only `connect-src 'self'`).

use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, pick};

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
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Sim => crate::i18n::tr(lang, "Symulator", "Simulator"),
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
        /// KSeF's `exceptionCode` (or `status.code`), when the answer had one.
        code: Option<i64>,
        /// KSeF's description and details, readable (never the raw JSON).
        detail: String,
    },
    /// The answer did not parse.
    #[error("unexpected answer: {0}")]
    BadResponse(String),
}

/// A failure as the user sees it: a sentence saying what happened and what to do, and the
/// codes and KSeF's own words behind a "Szczegóły" toggle ([`crate::components::details`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What happened and what to do, in the user's language.
    pub message: String,
    /// HTTP status, KSeF's code and words, for support; `None` when there is nothing more.
    pub details: Option<String>,
}

/// An error that says, in the user's language, what happened and what to do.
pub trait Explain {
    /// The message in `lang`, written for that language (never one text split in two).
    fn message_in(&self, lang: Lang) -> String;
}

/// `result.or_problem(lang)?` in button work: any [`Explain`] error becomes a [`Problem`].
pub trait OrProblem<T> {
    /// The error as the user sees it.
    fn or_problem(self, lang: Lang) -> Result<T, Problem>;
}

impl<T, E: Explain> OrProblem<T> for Result<T, E> {
    fn or_problem(self, lang: Lang) -> Result<T, Problem> {
        self.map_err(|e| Problem::from(e.message_in(lang)))
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self {
            message,
            details: None,
        }
    }
}

impl NetError {
    /// A message for the user in their language: what happened and what to do (the FAQ's
    /// advice where one applies). The codes and KSeF's words are in [`Self::details`].
    pub fn user_message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Unreachable(_), Lang::Pl) => "Brak połączenia z serwerem Kwit (przekaźnikiem). Sprawdź połączenie z internetem i spróbuj ponownie.".into(),
            (Self::Unreachable(_), Lang::En) => "Cannot reach the Kwit server (relay). Check your internet connection and try again.".into(),
            (Self::Upstream { .. }, Lang::Pl) => "KSeF jest chwilowo niedostępny. Spróbuj ponownie za kilka minut.".into(),
            (Self::Upstream { .. }, Lang::En) => "KSeF is unavailable right now. Try again in a few minutes.".into(),
            (Self::Ksef { status, code, .. }, lang) => ksef_advice(*status, *code, lang).to_owned(),
            (Self::BadResponse(_), Lang::Pl) => "KSeF odpowiedział w nieoczekiwany sposób. Spróbuj ponownie później; jeśli się powtarza, zgłoś błąd.".into(),
            (Self::BadResponse(_), Lang::En) => "KSeF answered in an unexpected way. Try again later; if it keeps happening, report it.".into(),
        }
    }

    /// The codes and words behind the message: KSeF's code and description, the relay's
    /// explanation, the HTTP status. Never a token or a raw page.
    pub fn details(&self, lang: Lang) -> Option<String> {
        let (status, code, detail) = match self {
            Self::Unreachable(_) | Self::BadResponse(_) => return None,
            Self::Upstream { status, detail } => (*status, None, detail),
            Self::Ksef {
                status,
                code,
                detail,
            } => (*status, *code, detail),
        };
        let detail = sentence(&pick(lang, detail));
        let mut out = format!("HTTP {status}");
        if let Some(code) = code {
            out.push_str(crate::i18n::tr(lang, " · kod KSeF ", " · KSeF code "));
            out.push_str(&code.to_string());
        }
        if !detail.is_empty() {
            out.push_str(" · „");
            out.push_str(&detail);
            out.push('”');
        }
        Some(out)
    }

    /// The message and its details.
    pub fn problem(&self, lang: Lang) -> Problem {
        Problem {
            message: self.user_message(lang),
            details: self.details(lang),
        }
    }
}

/// What to do after a KSeF refusal, by its code or HTTP status (seed-faq.md).
fn ksef_advice(status: u16, code: Option<i64>, lang: Lang) -> &'static str {
    use crate::i18n::tr;
    match (code, status) {
        // Unknown or withdrawn key: FAQ "Wysyłka kończy się błędem szyfrowania lub sesji".
        (Some(21470), _) => tr(
            lang,
            "KSeF nie zna klucza, którym zaszyfrowano dane. Pobierz certyfikaty publiczne KSeF (Start) i zaloguj się ponownie.",
            "KSeF does not know the key the data was encrypted with. Fetch the KSeF public certificates (Start) and log in again.",
        ),
        (Some(21111), _) => tr(
            lang,
            "Wyzwanie logowania wygasło lub jest nieprawidłowe. Zaloguj się ponownie.",
            "The login challenge expired or is invalid. Log in again.",
        ),
        (Some(21301), _) => tr(
            lang,
            "KSeF nie przyjął tego tokena (unieważniony lub już użyty). Zaloguj się ponownie lub dodaj nowy token.",
            "KSeF refused this token (revoked or already used). Log in again or add a new token.",
        ),
        (_, 401) => tr(
            lang,
            "Logowanie do KSeF wygasło lub zostało odrzucone. Zaloguj się ponownie.",
            "The KSeF login expired or was refused. Log in again.",
        ),
        (_, 403) => tr(
            lang,
            "Brak uprawnień do tej operacji w KSeF. Sprawdź uprawnienia tokena lub certyfikatu dla tej firmy.",
            "No permission for this KSeF operation. Check the token's or certificate's permissions for this company.",
        ),
        (_, 429) => tr(
            lang,
            "KSeF chwilowo ogranicza liczbę zapytań. Poczekaj chwilę i spróbuj ponownie.",
            "KSeF is limiting requests for a moment. Wait a little and try again.",
        ),
        (_, 500..=599) => tr(
            lang,
            "KSeF ma chwilowy problem. Spróbuj ponownie za kilka minut.",
            "KSeF has a temporary problem. Try again in a few minutes.",
        ),
        _ => tr(lang, "KSeF odrzucił żądanie.", "KSeF refused the request."),
    }
}

/// The first value of `"name":` in a JSON text — a number, or a string without escapes.
fn json_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    let rest = json[json.find(&key)? + key.len()..].trim_start();
    match rest.strip_prefix('"') {
        Some(text) => text.split('"').next().filter(|t| !t.contains('\\')),
        None => rest
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .filter(|n| !n.is_empty()),
    }
}

/// `text` without its final full stop (the message adds its own), trimmed.
fn sentence(text: &str) -> String {
    text.trim().trim_end_matches('.').trim().to_owned()
}

/// Classifies a non-success response: the relay marks its own failures as JSON problems
/// (`application/problem+json`) with 502/504; anything else comes from KSeF, whose error
/// formats (the `exception` list, `status`, problem details) are read into plain words.
pub fn classify_error(status: u16, content_type: &str, body: &str) -> NetError {
    #[derive(Deserialize)]
    struct Problem {
        #[serde(default)]
        detail: Option<String>,
        #[serde(default)]
        title: Option<String>,
    }
    // KSeF's exception list is read by its two fields, not by a serde model of it: every
    // derived reader costs wasm, and the first-load budget has no room for one more.
    let code = json_field(body, "exceptionCode").and_then(|c| c.parse().ok());
    let detail = match json_field(body, "exceptionDescription") {
        Some(d) => d.to_owned(),
        // A problem (the relay's, or KSeF's problem details); anything else — an HTML error
        // page, a proxy's text — puts no raw markup in a message.
        None => serde_json::from_slice::<Problem>(body.as_bytes())
            .ok()
            .and_then(|p| p.detail.or(p.title))
            .unwrap_or_default(),
    };
    if matches!(status, 502..=504) && content_type.contains("problem+json") {
        NetError::Upstream { status, detail }
    } else {
        NetError::Ksef {
            status,
            code,
            detail,
        }
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

/// ksef-core's error as a [`NetError`] when it is KSeF's refusal or the network's failure —
/// what the FAQ's advice is keyed on (code or status) — and `None` for the errors ksef-core
/// words itself (a login refused with a status, no public key, a timeout, bad input).
pub fn refusal(e: &ksef_core::error::Error) -> Option<NetError> {
    use ksef_core::error::Error;
    matches!(
        e,
        Error::Network(_)
            | Error::Http { .. }
            | Error::Ksef { .. }
            | Error::UnknownPublicKey
            | Error::ChallengeExpired
            | Error::TokenRedeemRefused { .. }
            | Error::Unauthorized
            | Error::Forbidden { .. }
            | Error::RateLimited { .. }
    )
    .then(|| net_error(e))
}

/// A ksef-core error as a [`NetError`]: no answer at all, the relay's own 502/504 (KSeF down),
/// or KSeF's refusal.
pub fn net_error(e: &ksef_core::error::Error) -> NetError {
    use ksef_core::error::Error;
    let status = match e {
        Error::Network(m) => return NetError::Unreachable(m.clone()),
        Error::Http { status, body } => {
            let content_type = if (502..=504).contains(status) {
                "application/problem+json"
            } else {
                ""
            };
            return classify_error(*status, content_type, body);
        }
        Error::Ksef {
            code,
            description,
            details,
        } => {
            let mut detail = description.clone();
            for d in details {
                detail = format!("{}. {d}", sentence(&detail));
            }
            return NetError::Ksef {
                status: 400,
                code: Some(*code),
                detail,
            };
        }
        // KSeF's codes the advice is keyed on (ksef-core names them; the advice needs the number).
        Error::UnknownPublicKey => return ksef_code(21470, ""),
        Error::ChallengeExpired => return ksef_code(21111, ""),
        Error::TokenRedeemRefused { code, description } => return ksef_code(*code, description),
        Error::Unauthorized => 401,
        Error::Forbidden { .. } => 403,
        Error::Gone => 410,
        Error::RateLimited { .. } => 429,
        _ => 400,
    };
    NetError::Ksef {
        status,
        code: None,
        detail: e.to_string(),
    }
}

fn ksef_code(code: i64, detail: &str) -> NetError {
    NetError::Ksef {
        status: 400,
        code: Some(code),
        detail: detail.to_owned(),
    }
}

/// The date part of an RFC 3339 timestamp, for display.
pub fn display_date(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}
