//! KSeF login state: log in with a KSeF token (ksef-guide §3.3, ksef-docs
//! `uwierzytelnianie.md`), refresh the access token (§3.6), log out (revokes the
//! authentication session at KSeF), and the permissions of the credential used.
//!
//! The session lives in memory only (never stored): a reload means logging in again.

use ksef_core::crypto::{KeyUsage, ParsedCertificate, encrypt_ksef_token};
use serde::{Deserialize, Serialize};

use crate::api::{Env, NetError, fetch_public_keys};
use crate::i18n::{Lang, pick};
use crate::net;

/// A JWT with its expiry as KSeF returns it (`TokenInfo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The bearer token. Secret: never log.
    pub token: String,
    /// Expiry, RFC 3339.
    pub valid_until: String,
}

/// A logged-in KSeF session for one company.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The company (its id) the session was opened for.
    pub company_id: String,
    /// The company's NIP (the login context).
    pub nip: String,
    /// Where the session lives.
    pub env: Env,
    /// The credential used to log in.
    pub credential_id: String,
    /// Authentication reference number (`...-AU-...`).
    pub reference_number: String,
    /// Access token for protected calls.
    pub access: TokenInfo,
    /// Refresh token.
    pub refresh: TokenInfo,
    /// Permissions of the credential (`InvoiceRead`, `InvoiceWrite`, ...), as KSeF reports them.
    pub permissions: Vec<String>,
    /// When the access token was last refreshed (ms since epoch), for display.
    pub refreshed_at_ms: f64,
}

impl Session {
    /// `None` if the session has `permission`, otherwise a message naming the missing one.
    pub fn missing(&self, permission: &str, lang: Lang) -> Option<String> {
        if self.permissions.iter().any(|p| p == permission) {
            None
        } else {
            Some(missing_permission_message(permission, lang))
        }
    }

    /// Milliseconds until the access token expires (negative when expired).
    pub fn access_expires_in_ms(&self, now_ms: f64) -> f64 {
        js_sys::Date::parse(&self.access.valid_until) - now_ms
    }
}

/// "Missing permission X" in the user's language, with what to do.
pub fn missing_permission_message(permission: &str, lang: Lang) -> String {
    let name = permission_name(permission, lang);
    match lang {
        Lang::Pl => format!(
            "Brak uprawnienia {permission} ({name}). Użyj tokena lub certyfikatu z tym uprawnieniem albo poproś właściciela firmy o jego nadanie."
        ),
        Lang::En => format!(
            "Missing permission {permission} ({name}). Use a token or certificate that has it, or ask the company owner to grant it."
        ),
    }
}

/// A human name for a KSeF permission.
pub fn permission_name(permission: &str, lang: Lang) -> &'static str {
    match (permission, lang) {
        ("InvoiceRead", Lang::Pl) => "odczyt faktur",
        ("InvoiceRead", Lang::En) => "read invoices",
        ("InvoiceWrite", Lang::Pl) => "wystawianie faktur",
        ("InvoiceWrite", Lang::En) => "issue invoices",
        ("CredentialsRead", Lang::Pl) => "przeglądanie uprawnień",
        ("CredentialsRead", Lang::En) => "view permissions",
        ("CredentialsManage", Lang::Pl) => "zarządzanie uprawnieniami",
        ("CredentialsManage", Lang::En) => "manage permissions",
        ("SubunitManage", Lang::Pl) => "zarządzanie jednostkami",
        ("SubunitManage", Lang::En) => "manage subunits",
        ("EnforcementOperations", Lang::Pl) => "operacje egzekucyjne",
        ("EnforcementOperations", Lang::En) => "enforcement operations",
        ("Introspection", Lang::Pl) => "podgląd sesji",
        ("Introspection", Lang::En) => "introspection",
        (_, Lang::Pl) => "uprawnienie KSeF",
        (_, Lang::En) => "KSeF permission",
    }
}

/// Why logging in (or refreshing) failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Network or KSeF error.
    #[error("{0}")]
    Net(#[from] NetError),
    /// No usable public key for token encryption.
    #[error("no public key")]
    NoPublicKey,
    /// The token or key could not be used (ksef-core crypto).
    #[error("{0}")]
    Crypto(String),
    /// KSeF refused the authentication (status code and details from `GET /auth/{ref}`).
    #[error("auth failed {code}")]
    AuthFailed {
        /// KSeF status code (e.g. 450).
        code: i64,
        /// Description and details.
        detail: String,
    },
    /// KSeF still processes the login after the polling budget.
    #[error("timeout")]
    Timeout,
    /// Input problem (empty token, missing NIP).
    #[error("{0}")]
    Input(String),
}

impl SessionError {
    /// A message for the user in their language.
    pub fn user_message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Net(e), _) => e.user_message(lang),
            (Self::NoPublicKey, Lang::Pl) => "KSeF nie udostępnił ważnego certyfikatu do szyfrowania tokena. Pobierz certyfikaty publiczne i spróbuj ponownie.".into(),
            (Self::NoPublicKey, Lang::En) => "KSeF offers no valid certificate for token encryption. Fetch the public certificates and try again.".into(),
            (Self::Crypto(m), _) | (Self::Input(m), _) => pick(lang, m),
            (Self::AuthFailed { code, detail }, Lang::Pl) => format!("KSeF odmówił logowania (kod {code}): {detail}. Sprawdź, czy token jest aktywny, należy do tej firmy (NIP) i nie został cofnięty."),
            (Self::AuthFailed { code, detail }, Lang::En) => format!("KSeF refused the login (code {code}): {detail}. Check that the token is active, belongs to this company (NIP) and was not revoked."),
            (Self::Timeout, Lang::Pl) => "KSeF wciąż przetwarza logowanie. Spróbuj ponownie za chwilę.".into(),
            (Self::Timeout, Lang::En) => "KSeF is still processing the login. Try again in a moment.".into(),
        }
    }
}

/// Waits `ms` milliseconds (setTimeout).
pub async fn sleep_ms(ms: i32) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Challenge {
    challenge: String,
    timestamp_ms: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContextIdentifier<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KsefTokenRequest<'a> {
    challenge: &'a str,
    context_identifier: ContextIdentifier<'a>,
    encrypted_token: String,
    public_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthInit {
    reference_number: String,
    authentication_token: TokenInfo,
}

#[derive(Deserialize)]
struct StatusInfo {
    code: i64,
    #[serde(default)]
    description: String,
    #[serde(default)]
    details: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct AuthStatus {
    status: StatusInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Redeemed {
    access_token: TokenInfo,
    refresh_token: TokenInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Refreshed {
    access_token: TokenInfo,
}

/// `GET /tokens/{referenceNumber}` (open-api `TokenStatusResponse`, the fields Kwit shows).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    /// `Pending`, `Active`, `Revoking`, `Revoked`, `Failed`.
    pub status: String,
    /// Permissions fixed at the token's creation.
    #[serde(default)]
    pub requested_permissions: Vec<String>,
    /// The token's description.
    #[serde(default)]
    pub description: String,
}

/// The reference number inside a KSeF token (`{ref}|{context}|{secret}`, ksef-guide §8).
pub fn token_reference(ksef_token: &str) -> Option<&str> {
    let (reference, rest) = ksef_token.trim().split_once('|')?;
    (!reference.is_empty() && !rest.is_empty()).then_some(reference)
}

/// Logs in to `env` as company `nip` with `ksef_token`: challenge → RSA-OAEP(`token|timestampMs`)
/// with KSeF's `KsefTokenEncryption` key → poll `GET /auth/{ref}` → redeem. Returns the tokens
/// and the authentication reference number.
pub async fn login_with_token(
    env: Env,
    nip: &str,
    ksef_token: &str,
) -> Result<(String, TokenInfo, TokenInfo), SessionError> {
    let ksef_token = ksef_token.trim();
    if ksef_token.is_empty() {
        return Err(SessionError::Input(
            "Brak tokena KSeF — wklej token. / No KSeF token: paste one.".into(),
        ));
    }
    if nip.is_empty() {
        return Err(SessionError::Input(
            "Firma nie ma NIP-u — uzupełnij go w danych firmy. / The company has no NIP: add it in the company details.".into(),
        ));
    }
    let now_ms = js_sys::Date::now();
    let keys = fetch_public_keys(env).await?;
    let cert = keys
        .iter()
        .filter(|k| {
            k.usage
                .iter()
                .any(|u| u == KeyUsage::KsefTokenEncryption.as_str())
        })
        .filter_map(|k| ParsedCertificate::from_base64(&k.certificate).ok())
        .find(|c| c.is_valid_at((now_ms / 1000.0) as u64))
        .ok_or(SessionError::NoPublicKey)?;

    let challenge: Challenge = net::post_json::<(), _>(env, "/auth/challenge", None, None).await?;
    let encrypted_token = encrypt_ksef_token(
        &cert,
        ksef_token,
        challenge.timestamp_ms,
        &mut getrandom::SysRng,
    )
    .map_err(|e| SessionError::Crypto(e.to_string()))?;
    let request = KsefTokenRequest {
        challenge: &challenge.challenge,
        context_identifier: ContextIdentifier {
            kind: "Nip",
            value: nip,
        },
        encrypted_token,
        public_key_id: Some(cert.public_key_id.clone()),
    };
    let init: AuthInit = net::post_json(env, "/auth/ksef-token", Some(&request), None).await?;
    let auth_token = init.authentication_token.token;

    let mut attempt = 0;
    loop {
        let status: AuthStatus = net::get_json(
            env,
            &format!("/auth/{}", init.reference_number),
            Some(&auth_token),
        )
        .await?;
        match status.status.code {
            200 => break,
            100..=199 => {}
            code => {
                let mut detail = status.status.description;
                if let Some(details) = status.status.details {
                    for d in details {
                        detail.push_str("; ");
                        detail.push_str(&d);
                    }
                }
                return Err(SessionError::AuthFailed { code, detail });
            }
        }
        attempt += 1;
        if attempt > 40 {
            return Err(SessionError::Timeout);
        }
        sleep_ms(if attempt < 5 { 200 } else { 1000 }).await;
    }
    let tokens: Redeemed =
        net::post_json::<(), _>(env, "/auth/token/redeem", None, Some(&auth_token)).await?;
    Ok((
        init.reference_number,
        tokens.access_token,
        tokens.refresh_token,
    ))
}

/// The status and permissions of a KSeF token (needs an access token of the same context).
pub async fn token_status(
    env: Env,
    access_token: &str,
    reference_number: &str,
) -> Result<TokenStatus, SessionError> {
    Ok(net::get_json(
        env,
        &format!("/tokens/{reference_number}"),
        Some(access_token),
    )
    .await?)
}

/// A new access token from the refresh token.
pub async fn refresh(env: Env, refresh_token: &str) -> Result<TokenInfo, SessionError> {
    let r: Refreshed =
        net::post_json::<(), _>(env, "/auth/token/refresh", None, Some(refresh_token)).await?;
    Ok(r.access_token)
}

/// Logs out: `DELETE /auth/sessions/current` revokes the session (the refresh token stops working).
pub async fn logout(env: Env, access_token: &str) -> Result<(), SessionError> {
    Ok(net::delete(env, "/auth/sessions/current", Some(access_token)).await?)
}
