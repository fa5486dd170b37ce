//! Logging in and out (§3): KSeF token or XAdES certificate login, refresh and logout.

use crate::crypto::Encrypter;

use super::{KsefClient, PublicKeys, ensure_public_keys, fetch_public_keys};
use crate::api::{self, ContextIdentifier, NoContent, TokenInfo};
use crate::crypto::{self, KeyUsage};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// Access and refresh token after a successful login. Secrets: never log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthTokens {
    /// The authentication operation's `referenceNumber` (`…-AU-…`): names the login session
    /// (an online session belongs to it; `GET /auth/sessions` lists it).
    pub reference_number: String,
    /// Bearer for all protected calls.
    pub access_token: TokenInfo,
    /// For [`refresh`].
    pub refresh_token: TokenInfo,
}

async fn poll_auth_and_redeem<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    init: api::auth::AuthenticationInit,
) -> Result<AuthTokens> {
    let token = init.authentication_token.token;
    let request = api::auth::status::Request {
        reference_number: init.reference_number.clone(),
    };
    client
        .poll_until(
            &request,
            Some(&token),
            || "uwierzytelnianie / authentication".into(),
            |r| match r.status.code {
                200 => Ok(Some(())),
                100..=199 => Ok(None),
                code => Err(Error::AuthFailed {
                    code,
                    description: r.status.description,
                    details: r.status.details,
                }),
            },
        )
        .await?;
    let tokens = client
        .execute(&api::auth::redeem::Request, Some(&token))
        .await?;
    Ok(AuthTokens {
        reference_number: init.reference_number,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

/// Logs in with a KSeF token: challenge → RSA-OAEP(`token|timestampMs`) → poll → redeem (§3.3).
/// Refetches the public keys once when KSeF reports 21470.
pub async fn login_with_ksef_token<T: Transport, S: Sleep, R: Encrypter + ?Sized>(
    client: &KsefClient<T, S>,
    keys: &mut PublicKeys,
    context: &ContextIdentifier,
    ksef_token: &str,
    now_unix: u64,
    rng: &mut R,
) -> Result<AuthTokens> {
    if ksef_token.trim().is_empty() {
        return Err(Error::InvalidInput(
            "brak tokena KSeF — wklej token / no KSeF token: paste one".into(),
        ));
    }
    ensure_public_keys(client, keys, KeyUsage::KsefTokenEncryption, now_unix).await?;
    let mut refetched = false;
    loop {
        let challenge = client.execute(&api::auth::challenge::Request, None).await?;
        let cert = keys.select(KeyUsage::KsefTokenEncryption, now_unix)?;
        let request = api::auth::ksef_token::Request {
            challenge: challenge.challenge,
            context_identifier: context.clone(),
            encrypted_token: crypto::encrypt_ksef_token(
                cert,
                ksef_token.trim(),
                challenge.timestamp_ms,
                rng,
            )
            .await?,
            public_key_id: Some(cert.public_key_id.clone()),
        };
        match client.execute(&request, None).await {
            Ok(init) => return poll_auth_and_redeem(client, init).await,
            Err(Error::UnknownPublicKey) if !refetched => {
                refetched = true;
                *keys = fetch_public_keys(client).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Logs in with a certificate: challenge → signed `AuthTokenRequest` (XAdES) → poll → redeem (§3.4).
///
/// `sign` receives the challenge and returns the signed XML (see [`crate::xades`]). It is
/// asynchronous because a browser may sign in a Web Worker or with WebCrypto: pass an
/// `async |challenge| …` closure, or a plain closure returning a future. No `Send` bound.
pub async fn login_with_certificate<T: Transport, S: Sleep, F>(
    client: &KsefClient<T, S>,
    sign: F,
    verify_certificate_chain: bool,
) -> Result<AuthTokens>
where
    F: AsyncFnOnce(&api::auth::challenge::Response) -> Result<Vec<u8>>,
{
    let challenge = client.execute(&api::auth::challenge::Request, None).await?;
    let signed_xml = sign(&challenge).await?;
    let init = client
        .execute(
            &api::auth::xades_signature::Request {
                signed_xml,
                verify_certificate_chain,
            },
            None,
        )
        .await?;
    poll_auth_and_redeem(client, init).await
}

/// New access token from the refresh token (§3.6).
pub async fn refresh<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    refresh_token: &str,
) -> Result<TokenInfo> {
    Ok(client
        .execute(&api::auth::refresh::Request, Some(refresh_token))
        .await?
        .access_token)
}

/// Logs out: revokes the current authentication session (refresh token stops working).
pub async fn logout<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
) -> Result<()> {
    client
        .execute(&api::auth::revoke_current::Request, Some(access_token))
        .await
        .map(|NoContent| ())
}
