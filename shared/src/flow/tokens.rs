//! KSeF tokens (§8): create, list, status and revoke.

use super::KsefClient;
use crate::api::{self, NoContent};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// Creates a KSeF token (§8); the returned secret is shown once.
pub async fn create_token<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    permissions: &[&str],
    description: &str,
) -> Result<api::tokens::create::Response> {
    let len = description.chars().count();
    if !(5..=256).contains(&len) {
        return Err(Error::InvalidInput(
            "opis tokena musi mieć 5–256 znaków / token description must have 5–256 characters"
                .into(),
        ));
    }
    client
        .execute(
            &api::tokens::create::Request {
                permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
                description: description.to_owned(),
            },
            Some(access_token),
        )
        .await
}

/// Lists all tokens following continuation tokens (at most `max_pages` requests).
pub async fn list_tokens<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    max_pages: u32,
) -> Result<Vec<api::tokens::TokenStatus>> {
    let mut all = Vec::new();
    let mut continuation = None;
    for _ in 0..max_pages.max(1) {
        let page = client
            .execute(
                &api::tokens::list::Request {
                    page_size: 100,
                    continuation_token: continuation.take(),
                },
                Some(access_token),
            )
            .await?;
        all.extend(page.tokens);
        match page.continuation_token {
            Some(t) if !t.is_empty() => continuation = Some(t),
            _ => break,
        }
    }
    Ok(all)
}

/// Status of one token (poll until `Active` before using a new token).
pub async fn token_status<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<api::tokens::TokenStatus> {
    client
        .execute(
            &api::tokens::get::Request {
                reference_number: reference_number.to_owned(),
            },
            Some(access_token),
        )
        .await
}

/// Revokes a token.
pub async fn revoke_token<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<()> {
    client
        .execute(
            &api::tokens::revoke::Request {
                reference_number: reference_number.to_owned(),
            },
            Some(access_token),
        )
        .await
        .map(|NoContent| ())
}
