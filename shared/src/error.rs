//! One error type for the protocol half of the crate. Every message says, in
//! Polish first and English second, what the user should do next.
//!
//! KSeF codes come from /work/shared/ksef-guide.md Appendix A and §3.5, §4.6, §12.

use std::fmt;

/// Everything that can go wrong while talking to KSeF or preparing a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No usable KSeF public certificate for the needed usage was fetched yet.
    #[error(
        "Brak certyfikatów publicznych KSeF ({usage}) — pobierz certyfikaty publiczne. / No KSeF public certificate for {usage}: fetch the public certificates."
    )]
    NoPublicKey {
        /// `KsefTokenEncryption` or `SymmetricKeyEncryption`.
        usage: String,
    },
    /// KSeF does not know the public key we used (21470): keys were rotated.
    #[error(
        "KSeF nie zna użytego klucza publicznego (21470) — pobierz certyfikaty publiczne ponownie. / KSeF does not know the public key used (21470): fetch the public certificates again."
    )]
    UnknownPublicKey,
    /// A certificate or key could not be read.
    #[error("Nieprawidłowy certyfikat lub klucz: {0}. / Invalid certificate or key: {0}.")]
    InvalidCertificate(String),
    /// Encryption/signing failed (should not happen with valid keys).
    #[error("Błąd kryptograficzny: {0}. / Cryptographic error: {0}.")]
    Crypto(String),
    /// Input data given by the caller is malformed.
    #[error("Nieprawidłowe dane: {0}. / Invalid input: {0}.")]
    InvalidInput(String),
    /// The network request did not complete (offline, DNS, relay down).
    #[error(
        "Brak połączenia z KSeF: {0} — sprawdź połączenie i spróbuj ponownie. / Cannot reach KSeF: {0}; check the connection and try again."
    )]
    Network(String),
    /// 401: the access token is missing or expired.
    #[error(
        "Brak aktywnego dostępu do KSeF (401) — zaloguj się ponownie. / No active KSeF access (401): log in again."
    )]
    Unauthorized,
    /// 403 with the KSeF `reasonCode`.
    #[error(
        "Brak uprawnień w KSeF ({reason}): {detail} — zaloguj się tokenem lub certyfikatem z wymaganymi uprawnieniami. / Missing KSeF permissions ({reason}): {detail}; log in with a token or certificate that has them."
    )]
    Forbidden {
        /// KSeF `reasonCode`, e.g. `missing-permissions`.
        reason: String,
        /// KSeF `detail`.
        detail: String,
    },
    /// 410: an asynchronous operation expired.
    #[error(
        "Operacja KSeF wygasła (410) — rozpocznij ją od nowa. / The KSeF operation expired (410): start it again."
    )]
    Gone,
    /// 429: too many requests; retry after the given number of seconds.
    #[error(
        "Przekroczono limit zapytań KSeF — spróbuj ponownie za {retry_after_secs} s. / KSeF rate limit hit: try again in {retry_after_secs} s."
    )]
    RateLimited {
        /// Value of the `Retry-After` header (seconds).
        retry_after_secs: u64,
    },
    /// 21173/21180: the session does not exist, expired or is closed.
    #[error(
        "Brak aktywnej sesji lub sesja wygasła ({code}) — otwórz nową sesję. / No active session or the session expired ({code}): open a new session."
    )]
    NoSession {
        /// KSeF exception code.
        code: i64,
    },
    /// 21111: the auth challenge is invalid or expired (10 minutes).
    #[error(
        "Wyzwanie autoryzacyjne wygasło (21111) — zaloguj się ponownie. / The login challenge expired (21111): log in again."
    )]
    ChallengeExpired,
    /// Authentication finished with a failure status (§3.5).
    #[error("{}", auth_failed_message(*code, description, details))]
    AuthFailed {
        /// Auth status code (400, 415, 425, 450, 460, …).
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details.
        details: Vec<String>,
    },
    /// 21301/21304/21308: tokens were already redeemed, the operation is unknown, or the KSeF token was revoked.
    #[error(
        "KSeF odmówił wydania tokenów dostępu ({code}: {description}) — zaloguj się ponownie; jeśli używasz tokena KSeF, sprawdź czy jest aktywny. / KSeF refused to issue access tokens ({code}: {description}); log in again and, with a KSeF token, check that it is active."
    )]
    TokenRedeemRefused {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// 26001/26002: the KSeF token cannot be created with these permissions/context.
    #[error(
        "Nie można utworzyć tokena KSeF ({code}: {description}) — wybierz uprawnienia, które masz, w kontekście NIP. / Cannot create the KSeF token ({code}: {description}): choose permissions you hold, in a NIP context."
    )]
    TokenPermissions {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// The invoice was rejected by KSeF (invoice status ≥ 400, §4.6).
    #[error("{}", invoice_rejected_message(*code, description, details))]
    InvoiceRejected {
        /// Invoice status code.
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details (validation messages).
        details: Vec<String>,
    },
    /// The session ended with a failure status (§4.5: 415, 440, 445, 500).
    #[error(
        "Sesja KSeF zakończona błędem ({code}: {description}) — otwórz nową sesję i wyślij ponownie. / The KSeF session failed ({code}: {description}): open a new session and send again."
    )]
    SessionFailed {
        /// Session status code.
        code: i64,
        /// KSeF description.
        description: String,
    },
    /// Any other documented 400 `exceptionCode`.
    #[error("{}", ksef_message(*code, description, details))]
    Ksef {
        /// KSeF exception code.
        code: i64,
        /// KSeF description.
        description: String,
        /// KSeF details.
        details: Vec<String>,
    },
    /// An HTTP status we did not expect (5xx, unknown 4xx).
    #[error(
        "KSeF zwrócił nieoczekiwany status HTTP {status} — spróbuj ponownie później. / KSeF returned unexpected HTTP status {status}: try again later. {body}"
    )]
    Http {
        /// HTTP status code.
        status: u16,
        /// First part of the body, for diagnosis (never contains our secrets).
        body: String,
    },
    /// The response body did not match the KSeF contract.
    #[error(
        "Nieoczekiwana odpowiedź KSeF: {0} — spróbuj ponownie; jeśli się powtarza, zgłoś błąd. / Unexpected KSeF response: {0}; try again and report it if it persists."
    )]
    Decode(String),
    /// Polling gave up before KSeF reached a final status.
    #[error(
        "KSeF nie zakończył przetwarzania ({what}) w oczekiwanym czasie — pobierz status ponownie za kilka minut. / KSeF did not finish processing ({what}) in time: fetch the status again in a few minutes."
    )]
    StillProcessing {
        /// What was being waited for.
        what: String,
    },
    /// The device could not store the send state, so nothing was sent.
    #[error(
        "Nie udało się zapisać faktury w przeglądarce ({0}) — nic nie zostało wysłane; zwolnij miejsce lub spróbuj ponownie. / Could not store the invoice in the browser ({0}): nothing was sent; free some space or try again."
    )]
    Storage(String),
    /// Signing the XAdES document failed.
    #[error(
        "Nie udało się podpisać dokumentu XAdES: {0}. / Could not sign the XAdES document: {0}."
    )]
    Signature(String),
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn joined(details: &[String]) -> String {
    if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join("; "))
    }
}

fn auth_failed_message(code: i64, description: &str, details: &[String]) -> String {
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
    format!(
        "Logowanie do KSeF nieudane ({code}: {description}{}) — {pl}. / KSeF login failed ({code}): {en}.",
        joined(details)
    )
}

fn invoice_rejected_message(code: i64, description: &str, details: &[String]) -> String {
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
    format!(
        "KSeF odrzucił fakturę ({code}: {description}{}) — {pl}. / KSeF rejected the invoice ({code}): {en}.",
        joined(details)
    )
}

fn ksef_message(code: i64, description: &str, details: &[String]) -> String {
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
        21405 | 21401 => (
            "popraw dane zgodnie ze szczegółami",
            "fix the data as described in the details",
        ),
        _ => (
            "spróbuj ponownie lub popraw dane",
            "try again or fix the data",
        ),
    };
    format!(
        "KSeF zgłosił błąd {code}: {description}{} — {pl}. / KSeF reported error {code}: {description} — {en}.",
        joined(details)
    )
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
