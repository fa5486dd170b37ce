//! KSeF login state: log in with a KSeF token (ksef-guide §3.3, ksef-docs
//! `uwierzytelnianie.md`), refresh the access token (§3.6), log out (revokes the
//! authentication session at KSeF), and the permissions of the credential used.
//!
//! The session (and the online session used to send invoices) is kept across reloads in the
//! `sessions` store, sealed by the vault ([`keep`]): after a reload it comes back once
//! the vault is unlocked ([`restore`]), with a fresh access token if the old one expired. It
//! is dropped at logout and when KSeF says it is gone.

use ksef_core::api::ContextIdentifier;
use ksef_core::error::Error as KsefError;
use ksef_core::flow::{self, AuthTokens, PublicKeys};

use crate::api::Env;
use crate::i18n::Lang;
use crate::net::ksef_client;
use crate::store::{Db, StorageError, Store};
use crate::vault::{Sealed, Vault};

/// A JWT with its expiry as KSeF returns it (ksef-core's `TokenInfo`). Secret: never log.
pub use ksef_core::api::TokenInfo;
/// `GET /tokens/{referenceNumber}`: a KSeF token's status and permissions.
pub use ksef_core::api::tokens::TokenStatus;

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

/// Why logging in (or refreshing) failed: ksef-core's error, in the user's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionError(pub KsefError);

impl SessionError {
    /// The message with the codes behind it.
    pub fn problem(&self, lang: Lang) -> crate::api::Problem {
        crate::api::Problem {
            message: self.user_message(lang),
            details: self.net().and_then(|n| n.details(lang)),
        }
    }

    /// KSeF's refusal or the network's failure, when it is one.
    fn net(&self) -> Option<crate::api::NetError> {
        crate::api::refusal(&self.0)
    }

    /// A message for the user in their language: what happened and what to do.
    pub fn user_message(&self, lang: Lang) -> String {
        match self.net() {
            // KSeF's refusals and the network's failures, with the FAQ's advice by code.
            Some(n) => n.user_message(lang),
            // ksef-core's own sentence (the login refusal's advice per code, no key, timeout).
            None => self.0.message(lang.core()),
        }
    }
}

impl From<KsefError> for SessionError {
    fn from(e: KsefError) -> Self {
        Self(e)
    }
}

/// The reference number inside a KSeF token (`{ref}|{context}|{secret}`, ksef-guide §8).
pub fn token_reference(ksef_token: &str) -> Option<&str> {
    let (reference, rest) = ksef_token.trim().split_once('|')?;
    (!reference.is_empty() && !rest.is_empty()).then_some(reference)
}

/// Logs in to `env` as company `nip` with `ksef_token` through ksef-core's flow (challenge →
/// RSA-OAEP(`token|timestampMs`) → poll → redeem; the public keys fetched again once if KSeF
/// no longer knows the one used).
pub async fn login_with_token(
    env: Env,
    nip: &str,
    ksef_token: &str,
) -> Result<AuthTokens, SessionError> {
    if nip.is_empty() {
        return Err(KsefError::InvalidInput(
            "Firma nie ma NIP-u — uzupełnij go w danych firmy / The company has no NIP: add it in the company details".into(),
        )
        .into());
    }
    let mut keys = PublicKeys::default();
    Ok(flow::login_with_ksef_token(
        &ksef_client(env),
        &mut keys,
        &ContextIdentifier::nip(nip),
        ksef_token,
        (js_sys::Date::now() / 1000.0) as u64,
        &mut crate::webcrypto::WebCrypto,
    )
    .await?)
}

/// The status and permissions of a KSeF token (needs an access token of the same context).
pub async fn token_status(
    env: Env,
    access_token: &str,
    reference_number: &str,
) -> Result<TokenStatus, SessionError> {
    Ok(flow::token_status(&ksef_client(env), access_token, reference_number).await?)
}

/// A new access token from the refresh token.
pub async fn refresh(env: Env, refresh_token: &str) -> Result<TokenInfo, SessionError> {
    Ok(flow::refresh(&ksef_client(env), refresh_token).await?)
}

/// Logs out: `DELETE /auth/sessions/current` revokes the session (the refresh token stops working).
pub async fn logout(env: Env, access_token: &str) -> Result<(), SessionError> {
    Ok(flow::logout(&ksef_client(env), access_token).await?)
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
    Vault(#[from] crate::vault::VaultError),
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
        .await?;
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
    let text = vault.open_str(&sealed).await?;
    decode_kept(&text, company_id)
        .map(Some)
        .ok_or(KeepError::Vault(crate::vault::VaultError::Corrupt))
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
            Err(SessionError(e)) if !e.is_retryable() => {
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

impl crate::api::Explain for SessionError {
    fn message_in(&self, lang: Lang) -> String {
        self.user_message(lang)
    }
}
