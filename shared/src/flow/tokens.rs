//! KSeF tokens (§8): create, wait until active, list (with filters), status and revoke.

use super::KsefClient;
use crate::api::{self, NoContent, tokens::TokenState};
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
    list_tokens_matching(client, access_token, &Default::default(), max_pages).await
}

/// Lists the tokens matching `filter`'s status, description and author filters (its page
/// fields are ignored), following continuation tokens (at most `max_pages` requests).
pub async fn list_tokens_matching<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    filter: &api::tokens::list::Request,
    max_pages: u32,
) -> Result<Vec<api::tokens::TokenStatus>> {
    let mut all = Vec::new();
    let mut request = api::tokens::list::Request {
        page_size: 100,
        continuation_token: None,
        ..filter.clone()
    };
    for _ in 0..max_pages.max(1) {
        let page = client.execute(&request, Some(access_token)).await?;
        all.extend(page.tokens);
        match page.continuation_token {
            Some(t) if !t.is_empty() => request.continuation_token = Some(t),
            _ => break,
        }
    }
    Ok(all)
}

/// Polls a new token until it is `Active` (usable for login). A token that failed or was
/// revoked meanwhile gives [`Error::Ksef`] with KSeF's status details.
pub async fn wait_for_token_active<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<api::tokens::TokenStatus> {
    let request = api::tokens::get::Request {
        reference_number: reference_number.to_owned(),
    };
    client
        .poll_until(
            &request,
            Some(access_token),
            || "token KSeF / KSeF token".into(),
            |status| match status.state() {
                Some(TokenState::Active) => Ok(Some(status)),
                Some(TokenState::Pending) => Ok(None),
                _ => Err(Error::Ksef {
                    code: 450,
                    description: format!("Token {}", status.status),
                    details: status.status_details.unwrap_or_default(),
                }),
            },
        )
        .await
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
