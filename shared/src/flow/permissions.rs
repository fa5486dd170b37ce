//! The accountant's access: grant a person or an entity permissions, revoke a grant, each
//! waited for until KSeF finished the operation (a grant works only from then on), and the
//! queries that list them.

use super::KsefClient;
use crate::api::permissions::{self, OperationHandle, grant_entity, grant_person, query};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// Polls a grant's or revoke's operation until KSeF finished it; a refusal (status ≥ 400,
/// e.g. 420 no permission, 450 not allowed for that identifier) is [`Error::Ksef`].
pub async fn wait_for_permission_operation<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    reference_number: &str,
) -> Result<()> {
    let request = permissions::operation_status::Request {
        reference_number: reference_number.to_owned(),
    };
    client
        .poll_until(
            &request,
            Some(access_token),
            || "uprawnienia / permissions".into(),
            |r| match r.status.code {
                200..=299 => Ok(Some(())),
                100..=199 => Ok(None),
                code => Err(Error::Ksef {
                    code,
                    description: r.status.description,
                    details: r.status.details,
                }),
            },
        )
        .await
}

/// Submits `request` (a grant or a revoke) and waits until KSeF applied it.
async fn apply<T: Transport, S: Sleep, E>(
    client: &KsefClient<T, S>,
    access_token: &str,
    request: &E,
) -> Result<String>
where
    E: crate::api::Endpoint<Response = OperationHandle>,
{
    let handle = client.execute(request, Some(access_token)).await?;
    wait_for_permission_operation(client, access_token, &handle.reference_number).await?;
    Ok(handle.reference_number)
}

/// Grants a person permissions in the current context and waits until they work; returns
/// the operation's reference.
pub async fn grant_person_permissions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    request: &grant_person::Request,
) -> Result<String> {
    check_description(&request.description)?;
    apply(client, access_token, request).await
}

/// Grants an entity (an accounting office's NIP) invoice permissions of the current context
/// and waits until they work; returns the operation's reference.
pub async fn grant_entity_permissions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    request: &grant_entity::Request,
) -> Result<String> {
    check_description(&request.description)?;
    apply(client, access_token, request).await
}

/// Revokes the grant `permission_id` (from a query) and waits until it no longer works.
pub async fn revoke_permission<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    permission_id: &str,
) -> Result<String> {
    apply(
        client,
        access_token,
        &permissions::revoke::Request {
            permission_id: permission_id.to_owned(),
        },
    )
    .await
}

/// Every grant of the list `filter` asks for (persons and entities of the current context),
/// at most `max_pages` pages of 100.
pub async fn query_person_permissions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    filter: &query::persons::Filter,
    max_pages: u32,
) -> Result<Vec<query::PersonGrant>> {
    let mut all = Vec::new();
    for page_offset in 0..max_pages.max(1) {
        let request = query::persons::Request {
            filter: filter.clone(),
            page_offset,
            page_size: 100,
        };
        let page = client.execute(&request, Some(access_token)).await?;
        all.extend(page.permissions);
        if !page.has_more {
            break;
        }
    }
    Ok(all)
}

/// Every invoice permission the current context received from others (an accounting
/// office's clients), at most `max_pages` pages of 100.
pub async fn query_entity_permissions<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    filter: &query::entities::Filter,
    max_pages: u32,
) -> Result<Vec<query::entities::EntityGrant>> {
    let mut all = Vec::new();
    for page_offset in 0..max_pages.max(1) {
        let request = query::entities::Request {
            filter: filter.clone(),
            page_offset,
            page_size: 100,
        };
        let page = client.execute(&request, Some(access_token)).await?;
        all.extend(page.permissions);
        if !page.has_more {
            break;
        }
    }
    Ok(all)
}

/// KSeF's 5–256 characters, checked before anything is sent.
fn check_description(description: &str) -> Result<()> {
    if (5..=256).contains(&description.chars().count()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(
            "opis uprawnienia musi mieć 5–256 znaków / the permission's description must have 5–256 characters"
                .into(),
        ))
    }
}
