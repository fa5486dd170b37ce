//! One error type for the protocol half of the crate. Every message says, in
//! Polish first and English second, what the user should do next.
//!
//! KSeF codes come from /work/shared/ksef-guide.md Appendix A and §3.5, §4.6, §12.

use std::fmt;

/// Everything that can go wrong while talking to KSeF or preparing a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No usable KSeF public certificate for the needed usage was fetched yet.
    NoPublicKey {
        /// `KsefTokenEncryption` or `SymmetricKeyEncryption`.
        usage: String,
    },
    /// KSeF does not know the public key we used (21470): keys were rotated.
    UnknownPublicKey,
    /// A certificate or key could not be read.
    InvalidCertificate(String),
    /// Encryption/signing failed (should not happen with valid keys).
    Crypto(String),
    /// Input data given by the caller is malformed.
    InvalidInput(String),
    /// The network request did not complete (offline, DNS, relay down).
    Network(String),
    /// 401: the access token is missing or expired.
    Unauthorized,
    /// 403 with the KSeF `reasonCode`.
    Forbidden {
        /// KSeF `reasonCode`, e.g. `missing-permissions`.
        reason: String,
        /// KSeF `detail`.
        detail: String,
    },
    /// 410: an asynchronous operation expired.
    Gone,
    /// 429: too many requests; retry after the given number of seconds.
    RateLimited {
        /// Value of the `Retry-After` header (seconds).
        retry_after_secs: u64,
    },
    /// 21173/21180: the session does not exist, expired or is closed.
    NoSession {
        /// KSeF exception code.
        code: i64,
    },
    /// 21111: the auth challenge is invalid or expired (10 minutes).
    ChallengeExpired,
    /// Authentication finished with a failure status (§3.5).
    AuthFailed {
        /// Auth status code (400, 415, 425, 450, 460, …).
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details.
        details: Vec<String>,
    },
    /// 21301/21304/21308: tokens were already redeemed, the operation is unknown, or the KSeF token was revoked.
    TokenRedeemRefused {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// 26001/26002: the KSeF token cannot be created with these permissions/context.
    TokenPermissions {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// The invoice was rejected by KSeF (invoice status ≥ 400, §4.6).
    InvoiceRejected {
        /// Invoice status code.
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details (validation messages).
        details: Vec<String>,
    },
    /// The session ended with a failure status (§4.5: 415, 440, 445, 500).
    SessionFailed {
        /// Session status code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// Any other documented 400 `exceptionCode`.
    Ksef {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details.
        details: Vec<String>,
    },
    /// An HTTP status we did not expect (5xx, unknown 4xx).
    Http {
        /// HTTP status code.
        status: u16,
        /// First part of the body, for diagnosis (never contains our secrets).
        body: String,
    },
    /// The response body did not match the KSeF contract.
    Decode(String),
    /// Polling gave up before KSeF reached a final status.
    StillProcessing {
        /// What was being waited for.
        what: String,
    },
    /// The device could not store the send state, so nothing was sent.
    Storage(String),
    /// Signing the XAdES document failed.
    Signature(String),
}

/// A language the messages come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Polish, the default.
    Pl,
    /// English.
    En,
}

/// The half of a `Polish / English` text (a caller's bilingual input) in `lang`.
fn part(text: &str, lang: Language) -> &str {
    match (text.split_once(" / "), lang) {
        (Some((pl, _)), Language::Pl) => pl.trim_end_matches('.'),
        (Some((_, en)), Language::En) => en.trim_end_matches('.'),
        (None, _) => text,
    }
}

impl Error {
    /// What happened and what to do, in `lang`: each language's sentence on its own, never a
    /// bilingual text to split.
    pub fn message(&self, lang: Language) -> String {
        match self {
            Self::NoPublicKey { usage, .. } => match lang {
                Language::Pl => format!("Brak certyfikatów publicznych KSeF ({usage}) — pobierz certyfikaty publiczne."),
                Language::En => format!("No KSeF public certificate for {usage}: fetch the public certificates."),
            },
            Self::UnknownPublicKey => match lang {
                Language::Pl => "KSeF nie zna użytego klucza publicznego (21470) — pobierz certyfikaty publiczne ponownie.".to_owned(),
                Language::En => "KSeF does not know the public key used (21470): fetch the public certificates again.".to_owned(),
            },
            Self::InvalidCertificate(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Nieprawidłowy certyfikat lub klucz: {p}.") }
                Language::En => { let p = part(v0, Language::En); format!("Invalid certificate or key: {p}.") }
            },
            Self::Crypto(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Błąd kryptograficzny: {p}.") }
                Language::En => { let p = part(v0, Language::En); format!("Cryptographic error: {p}.") }
            },
            Self::InvalidInput(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Nieprawidłowe dane: {p}.") }
                Language::En => { let p = part(v0, Language::En); format!("Invalid input: {p}.") }
            },
            Self::Network(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Brak połączenia z KSeF: {p} — sprawdź połączenie i spróbuj ponownie.") }
                Language::En => { let p = part(v0, Language::En); format!("Cannot reach KSeF: {p}; check the connection and try again.") }
            },
            Self::Unauthorized => match lang {
                Language::Pl => "Brak aktywnego dostępu do KSeF (401) — zaloguj się ponownie.".to_owned(),
                Language::En => "No active KSeF access (401): log in again.".to_owned(),
            },
            Self::Forbidden { reason, detail, .. } => match lang {
                Language::Pl => format!("Brak uprawnień w KSeF ({reason}): {detail} — zaloguj się tokenem lub certyfikatem z wymaganymi uprawnieniami."),
                Language::En => format!("Missing KSeF permissions ({reason}): {detail}; log in with a token or certificate that has them."),
            },
            Self::Gone => match lang {
                Language::Pl => "Operacja KSeF wygasła (410) — rozpocznij ją od nowa.".to_owned(),
                Language::En => "The KSeF operation expired (410): start it again.".to_owned(),
            },
            Self::RateLimited { retry_after_secs, .. } => match lang {
                Language::Pl => format!("Przekroczono limit zapytań KSeF — spróbuj ponownie za {retry_after_secs} s."),
                Language::En => format!("KSeF rate limit hit: try again in {retry_after_secs} s."),
            },
            Self::NoSession { code, .. } => match lang {
                Language::Pl => format!("Brak aktywnej sesji lub sesja wygasła ({code}) — otwórz nową sesję."),
                Language::En => format!("No active session or the session expired ({code}): open a new session."),
            },
            Self::ChallengeExpired => match lang {
                Language::Pl => "Wyzwanie autoryzacyjne wygasło (21111) — zaloguj się ponownie.".to_owned(),
                Language::En => "The login challenge expired (21111): log in again.".to_owned(),
            },
            Self::AuthFailed { code, description, details } => auth_failed_message(lang, *code, description, details),
            Self::TokenRedeemRefused { code, description, .. } => match lang {
                Language::Pl => format!("KSeF odmówił wydania tokenów dostępu ({code}: {description}) — zaloguj się ponownie; jeśli używasz tokena KSeF, sprawdź czy jest aktywny."),
                Language::En => format!("KSeF refused to issue access tokens ({code}: {description}); log in again and, with a KSeF token, check that it is active."),
            },
            Self::TokenPermissions { code, description, .. } => match lang {
                Language::Pl => format!("Nie można utworzyć tokena KSeF ({code}: {description}) — wybierz uprawnienia, które masz, w kontekście NIP."),
                Language::En => format!("Cannot create the KSeF token ({code}: {description}): choose permissions you hold, in a NIP context."),
            },
            Self::InvoiceRejected { code, description, details } => invoice_rejected_message(lang, *code, description, details),
            Self::SessionFailed { code, description, .. } => match lang {
                Language::Pl => format!("Sesja KSeF zakończona błędem ({code}: {description}) — otwórz nową sesję i wyślij ponownie."),
                Language::En => format!("The KSeF session failed ({code}: {description}): open a new session and send again."),
            },
            Self::Ksef { code, description, details } => ksef_message(lang, *code, description, details),
            Self::Http { status, body, .. } => match lang {
                Language::Pl => format!("KSeF zwrócił nieoczekiwany status HTTP {status} — spróbuj ponownie później."),
                Language::En => format!("KSeF returned unexpected HTTP status {status}: try again later. {body}"),
            },
            Self::Decode(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Nieoczekiwana odpowiedź KSeF: {p} — spróbuj ponownie; jeśli się powtarza, zgłoś błąd.") }
                Language::En => { let p = part(v0, Language::En); format!("Unexpected KSeF response: {p}; try again and report it if it persists.") }
            },
            Self::StillProcessing { what, .. } => match lang {
                Language::Pl => format!("KSeF nie zakończył przetwarzania ({what}) w oczekiwanym czasie — pobierz status ponownie za kilka minut."),
                Language::En => format!("KSeF did not finish processing ({what}) in time: fetch the status again in a few minutes."),
            },
            Self::Storage(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Nie udało się zapisać faktury w przeglądarce ({p}) — nic nie zostało wysłane; zwolnij miejsce lub spróbuj ponownie.") }
                Language::En => { let p = part(v0, Language::En); format!("Could not store the invoice in the browser ({p}): nothing was sent; free some space or try again.") }
            },
            Self::Signature(v0) => match lang {
                Language::Pl => { let p = part(v0, Language::Pl); format!("Nie udało się podpisać dokumentu XAdES: {p}.") }
                Language::En => { let p = part(v0, Language::En); format!("Could not sign the XAdES document: {p}.") }
            },
        }
    }
}

/// Both languages, Polish first (`Polish / English`), for logs and callers without a language.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {}",
            self.message(Language::Pl),
            self.message(Language::En)
        )
    }
}

impl std::error::Error for Error {}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn joined(details: &[String]) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join("; "))
    }
}

fn auth_failed_message(lang: Language, code: i64, description: &str, details: &[String]) -> String {
    let (pl, en) = match code {
        415 => (
            "brak uprawnień w tym kontekście — użyj tokena/certyfikatu z uprawnieniami do tego NIP",
            "no permissions in this context: use a token/certificate with permissions for this NIP",
        ),
        425 => (
            "uwierzytelnienie unieważnione przez użytkownika — zaloguj się ponownie",
            "authentication revoked by the user: log in again",
        ),
        450 => (
            "token KSeF jest nieprawidłowy, nieaktywny lub cofnięty — wygeneruj nowy token lub ustaw inny jako domyślny",
            "the KSeF token is invalid, inactive or revoked: generate a new token or choose another one",
        ),
        400 | 460 => (
            "certyfikat jest nieprawidłowy, niezaufany lub odwołany — użyj innego certyfikatu",
            "the certificate is invalid, untrusted or revoked: use another certificate",
        ),
        480 => (
            "kontekst jest zablokowany — skontaktuj się z administratorem",
            "the context is blocked: contact the administrator",
        ),
        _ => ("spróbuj zalogować się ponownie", "try to log in again"),
    };
    match lang {
        Language::Pl => format!(
            "Logowanie do KSeF nieudane ({code}: {description}{}) — {pl}.",
            joined(details)
        ),
        Language::En => format!("KSeF login failed ({code}): {en}."),
    }
}

fn invoice_rejected_message(
    lang: Language,
    code: i64,
    description: &str,
    details: &[String],
) -> String {
    let (pl, en) = match code {
        440 => (
            "faktura o tym numerze została już przesłana — sprawdź numer faktury",
            "an invoice with this number was already sent: check the invoice number",
        ),
        410 => (
            "brak uprawnień do wystawiania faktur dla tego NIP sprzedawcy",
            "no permission to issue invoices for this seller NIP",
        ),
        450 | 430 => (
            "popraw dane faktury zgodnie ze szczegółami i wyślij ponownie",
            "fix the invoice data as described and send it again",
        ),
        550 => (
            "KSeF anulował przetwarzanie — wyślij fakturę ponownie",
            "KSeF cancelled processing: send the invoice again",
        ),
        _ => (
            "sprawdź szczegóły i wyślij fakturę ponownie",
            "check the details and send the invoice again",
        ),
    };
    match lang {
        Language::Pl => format!(
            "KSeF odrzucił fakturę ({code}: {description}{}) — {pl}.",
            joined(details)
        ),
        Language::En => format!("KSeF rejected the invoice ({code}): {en}."),
    }
}

fn ksef_message(lang: Language, code: i64, description: &str, details: &[String]) -> String {
    let (pl, en) = match code {
        21402 | 21403 => (
            "niezgodny rozmiar lub skrót pliku — wyślij fakturę ponownie",
            "file size or hash mismatch: send the invoice again",
        ),
        21155 => (
            "przekroczono limit faktur w sesji — otwórz nową sesję",
            "session invoice limit reached: open a new session",
        ),
        21164 => (
            "nie znaleziono faktury — sprawdź numer KSeF",
            "invoice not found: check the KSeF number",
        ),
        21165 => (
            "faktura nie jest jeszcze dostępna — spróbuj ponownie za chwilę",
            "the invoice is not available yet: try again shortly",
        ),
        21178 => (
            "UPO nie jest jeszcze dostępne — spróbuj ponownie za chwilę",
            "the UPO is not available yet: try again shortly",
        ),
        21182 => (
            "za dużo równoczesnych eksportów — poczekaj na zakończenie poprzednich",
            "too many concurrent exports: wait for the previous ones to finish",
        ),
        21183 => (
            "data początkowa jest późniejsza niż znacznik HWM — zmień zakres dat",
            "the start date is after the HWM: change the date range",
        ),
        21115 => (
            "certyfikat jest nieprawidłowy, unieważniony lub wygasł — użyj innego certyfikatu lub zawnioskuj o nowy certyfikat KSeF",
            "the certificate is invalid, revoked or expired: use another certificate or enroll a new KSeF certificate",
        ),
        21405 | 21401 => (
            "popraw dane zgodnie ze szczegółami",
            "fix the data as described in the details",
        ),
        _ => (
            "spróbuj ponownie lub popraw dane",
            "try again or fix the data",
        ),
    };
    match lang {
        Language::Pl => format!(
            "KSeF zgłosił błąd {code}: {description}{} — {pl}.",
            joined(details)
        ),
        Language::En => format!("KSeF reported error {code}: {description} — {en}."),
    }
}

impl Error {
    /// Maps a documented KSeF `exceptionCode` (HTTP 400) to the error the user should see.
    pub fn from_exception(code: i64, description: String, details: Vec<String>) -> Self {
        match code {
            21470 => Self::UnknownPublicKey,
            21173 | 21180 => Self::NoSession { code },
            21111 => Self::ChallengeExpired,
            21301 | 21304 | 21308 => Self::TokenRedeemRefused { code, description },
            26001 | 26002 => Self::TokenPermissions { code, description },
            _ => Self::Ksef {
                code,
                description,
                details,
            },
        }
    }

    /// True when the same request may succeed if sent again later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::RateLimited { .. } | Self::StillProcessing { .. }
        ) || matches!(self, Self::Http { status, .. } if *status >= 500)
            || matches!(
                self,
                Self::Ksef {
                    code: 21165 | 21178,
                    ..
                }
            )
    }

    /// True when the user has to log in again before retrying.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized
                | Self::ChallengeExpired
                | Self::TokenRedeemRefused { .. }
                | Self::AuthFailed { .. }
        )
    }
}

/// Wraps a transport's own error (connection refused, CORS, …) as [`Error::Network`].
pub fn network<E: fmt::Display>(err: E) -> Error {
    Error::Network(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_has_its_own_sentence_and_a_bilingual_input_is_split_once() {
        let e =
            Error::InvalidInput("brak tokena KSeF — wklej token / no KSeF token: paste one".into());
        assert_eq!(
            e.message(Language::Pl),
            "Nieprawidłowe dane: brak tokena KSeF — wklej token."
        );
        assert_eq!(
            e.message(Language::En),
            "Invalid input: no KSeF token: paste one."
        );
        assert_eq!(
            e.to_string(),
            format!("{} / {}", e.message(Language::Pl), e.message(Language::En))
        );
        // KSeF's own words stay in the Polish sentence, where the details are.
        let r = Error::InvoiceRejected {
            code: 440,
            description: "Duplikat faktury".into(),
            details: vec!["Faktura już istnieje".into()],
        };
        assert!(
            r.message(Language::Pl)
                .contains("Duplikat faktury (Faktura już istnieje)")
        );
        assert!(!r.message(Language::En).contains(" / "));
        assert!(
            r.message(Language::En)
                .starts_with("KSeF rejected the invoice (440)")
        );
    }
}
