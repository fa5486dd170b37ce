//! KSeF login state: log in with a KSeF token (ksef-guide §3.3, ksef-docs
//! `uwierzytelnianie.md`), refresh the access token (§3.6), log out (revokes the
//! authentication session at KSeF), and the permissions of the credential used.
//!
//! The session (and the online session used to send invoices) is kept across reloads in the
//! `sessions` store, sealed by the vault ([`keep`]): after a reload it comes back once
//! the vault is unlocked ([`restore`]), with a fresh access token if the old one expired. It
//! is dropped at logout and when KSeF says it is gone.

use ksef_core::crypto::{KeyUsage, ParsedCertificate, encrypt_ksef_token};
use serde::{Deserialize, Serialize};

use crate::api::{Env, NetError, fetch_public_keys};
use crate::i18n::{Lang, pick};
use crate::net;
use crate::store::{Db, StorageError, Store};
use crate::vault::{Sealed, Vault};

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

// ---------------------------------------------------------------- kept across reloads

/// An open online session (`…-SO-…`) with its AES key, as kept across reloads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnlineSessionData {
    /// Online session `referenceNumber`.
    pub reference_number: String,
    /// Expiry from KSeF (RFC 3339), if it gave one.
    pub valid_until: Option<String>,
    /// AES-256 key, base64. Secret.
    pub key: String,
    /// AES-CBC IV, base64.
    pub iv: String,
}

impl OnlineSessionData {
    /// From ksef-core's online session.
    pub fn of(s: &ksef_core::flow::OnlineSession) -> Self {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            reference_number: s.reference_number.clone(),
            valid_until: s.valid_until.clone(),
            key: b64.encode(s.key.key),
            iv: b64.encode(s.key.iv),
        }
    }

    /// Back to ksef-core's online session (`None` if the key is damaged).
    pub fn to_online(&self) -> Option<ksef_core::flow::OnlineSession> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let key = b64.decode(&self.key).ok()?.try_into().ok()?;
        let iv = b64.decode(&self.iv).ok()?.try_into().ok()?;
        Some(ksef_core::flow::OnlineSession {
            reference_number: self.reference_number.clone(),
            valid_until: self.valid_until.clone(),
            key: ksef_core::crypto::SymmetricKey { key, iv },
        })
    }

    /// Whether KSeF's expiry has passed at `now_ms` (unknown expiry: still usable; KSeF
    /// answers "no session" if not, and a new one is opened).
    pub fn expired(&self, now_ms: f64) -> bool {
        self.valid_until
            .as_deref()
            .map(js_sys::Date::parse)
            .is_some_and(|t| t <= now_ms)
    }
}

/// The sealed text of a login session and its online session: one field per line (tokens,
/// references, dates and base64 have no line breaks). Hand-written rather than JSON: serde's
/// code for it would cost more wasm than the rest of the feature. The company is the record's
/// key, so it is not repeated inside.
fn encode_kept(session: &Session, online: Option<&OnlineSessionData>) -> String {
    [
        "kwit-session-1",
        &session.nip,
        session.env.slug(),
        &session.credential_id,
        &session.reference_number,
        &session.access.token,
        &session.access.valid_until,
        &session.refresh.token,
        &session.refresh.valid_until,
        &session.permissions.join(","),
        online.map_or("", |o| o.reference_number.as_str()),
        online.and_then(|o| o.valid_until.as_deref()).unwrap_or(""),
        online.map_or("", |o| o.key.as_str()),
        online.map_or("", |o| o.iv.as_str()),
    ]
    .join("\n")
}

/// Reads [`encode_kept`]'s text back as the sessions of `company_id` (`None` if it is not one).
fn decode_kept(text: &str, company_id: &str) -> Option<(Session, Option<OnlineSessionData>)> {
    let f: Vec<&str> = text.split('\n').collect();
    if f.len() != 14 || f[0] != "kwit-session-1" {
        return None;
    }
    let token = |t: &str, v: &str| TokenInfo {
        token: t.to_owned(),
        valid_until: v.to_owned(),
    };
    let online = (!f[10].is_empty()).then(|| OnlineSessionData {
        reference_number: f[10].to_owned(),
        valid_until: (!f[11].is_empty()).then(|| f[11].to_owned()),
        key: f[12].to_owned(),
        iv: f[13].to_owned(),
    });
    let session = Session {
        company_id: company_id.to_owned(),
        nip: f[1].to_owned(),
        env: Env::from_slug(f[2])?,
        credential_id: f[3].to_owned(),
        reference_number: f[4].to_owned(),
        access: token(f[5], f[6]),
        refresh: token(f[7], f[8]),
        permissions: f[9]
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        refreshed_at_ms: 0.0,
    };
    Some((session, online))
}

/// Why the stored session could not be kept or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeepError {
    /// The browser database failed.
    #[error("{0}")]
    Storage(#[from] StorageError),
    /// Sealing or opening failed (locked vault, another passphrase, damaged record).
    #[error("{0}")]
    Vault(String),
}

/// Seals and stores the sessions of `session.company_id`.
pub async fn keep(
    db: &Db,
    vault: &Vault,
    session: &Session,
    online: Option<OnlineSessionData>,
) -> Result<(), KeepError> {
    let sealed = vault
        .seal_str(&encode_kept(session, online.as_ref()))
        .await
        .map_err(|e| KeepError::Vault(e.to_string()))?;
    db.put(Store::Sessions, &session.company_id, &sealed)
        .await?;
    Ok(())
}

/// The stored sessions of `company_id`, opened by the vault.
pub async fn kept(
    db: &Db,
    vault: &Vault,
    company_id: &str,
) -> Result<Option<(Session, Option<OnlineSessionData>)>, KeepError> {
    let Some(sealed) = db.get::<Sealed>(Store::Sessions, company_id).await? else {
        return Ok(None);
    };
    let text = vault
        .open_str(&sealed)
        .await
        .map_err(|e| KeepError::Vault(e.to_string()))?;
    decode_kept(&text, company_id)
        .map(Some)
        .ok_or_else(|| KeepError::Vault("damaged session record".into()))
}

/// Forgets the stored sessions of `company_id` (logout, KSeF ended the session).
pub async fn forget_kept(db: &Db, company_id: &str) -> Result<(), StorageError> {
    db.delete(Store::Sessions, company_id).await
}

/// What [`restore`] found.
#[derive(Clone, Debug, PartialEq)]
pub enum Restored {
    /// Nothing stored (or it could not be opened): log in as usual.
    Nothing,
    /// The login session (access token refreshed if it had expired) and the online session,
    /// if it is still valid.
    Session(Session, Option<OnlineSessionData>),
    /// KSeF no longer knows the session (the refresh token was refused or expired): the
    /// stored copy was deleted; log in again.
    Gone,
}

/// Brings back the stored sessions of `company_id` after a reload: opens them with the vault
/// and refreshes the access token when it expires within a minute (ksef-guide §3.6). A
/// refresh that KSeF refuses means the session is gone; it is then deleted. A network failure
/// keeps it stored (the next unlock tries again).
pub async fn restore(
    db: &Db,
    vault: &Vault,
    company_id: &str,
    now_ms: f64,
) -> Result<Restored, KeepError> {
    let Some((mut session, mut online)) = kept(db, vault, company_id).await? else {
        return Ok(Restored::Nothing);
    };
    let expired = |t: &TokenInfo| js_sys::Date::parse(&t.valid_until) - now_ms <= 60_000.0;
    if expired(&session.refresh) {
        forget_kept(db, company_id).await?;
        return Ok(Restored::Gone);
    }
    if expired(&session.access) {
        match refresh(session.env, &session.refresh.token).await {
            Ok(access) => session.access = access,
            // KSeF answered and refused: the session is over.
            Err(SessionError::Net(NetError::Ksef { .. })) => {
                forget_kept(db, company_id).await?;
                return Ok(Restored::Gone);
            }
            // Offline or KSeF down: keep it for the next try.
            Err(_) => return Ok(Restored::Nothing),
        }
    }
    if online.as_ref().is_some_and(|o| o.expired(now_ms)) {
        online = None;
    }
    session.refreshed_at_ms = now_ms;
    keep(db, vault, &session, online.clone()).await?;
    Ok(Restored::Session(session, online))
}
