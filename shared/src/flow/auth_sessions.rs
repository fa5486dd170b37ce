//! The context's authentication sessions: list them (this browser's marked `is_current`),
//! revoke one, or revoke all the others ("log out other devices").

use super::KsefClient;
use crate::api::{self, NoContent, auth::sessions::AuthSession};
use crate::error::Result;
use crate::transport::{Sleep, Transport};

/// Every active session of the context, newest first (at most `max_pages` pages of 100).
pub async fn list_auth_sessions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    max_pages: u32,
) -> Result<Vec<AuthSession>> {
    let mut all = Vec::new();
    let mut continuation = None;
    for _ in 0..max_pages.max(1) {
        let page = client
            .execute(
                &api::auth::sessions::list::Request {
                    page_size: 100,
                    continuation_token: continuation.take(),
                },
                Some(access_token),
            )
            .await?;
        all.extend(page.items);
        match page.continuation_token {
            Some(t) if !t.is_empty() => continuation = Some(t),
            _ => break,
        }
    }
    Ok(all)
}

/// Revokes one session: its refresh token stops working at once.
pub async fn revoke_auth_session<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<()> {
    client
        .execute(
            &api::auth::sessions::revoke::Request {
                reference_number: reference_number.to_owned(),
            },
            Some(access_token),
        )
        .await
        .map(|NoContent| ())
}

/// Revokes every session but the current one; returns the references revoked.
pub async fn revoke_other_auth_sessions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    max_pages: u32,
) -> Result<Vec<String>> {
    let mut revoked = Vec::new();
    for session in list_auth_sessions(client, access_token, max_pages).await? {
        if !session.is_current {
            revoke_auth_session(client, access_token, &session.reference_number).await?;
            revoked.push(session.reference_number);
        }
    }
    Ok(revoked)
}
