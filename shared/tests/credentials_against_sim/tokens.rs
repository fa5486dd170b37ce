//! A KSeF token generated after a certificate login, used to log in, listed, revoked, and
//! then refused with the FAQ's advice.

use ksef_core::access::{self, Action, Credential, DeniedCode, LoginMethod};
use ksef_core::api::tokens::{TokenState, list};
use ksef_core::error::{Error, Language};
use ksef_core::flow;

use super::{login_owner, login_token, start};

#[tokio::test]
async fn sim_token_generated_after_certificate_login_logs_in_until_revoked() {
    let (sim, client) = start().await;
    let nip = sim.demo.nip.clone();
    let (_, owner) = login_owner(&client, &nip, "tokens-owner").await;
    let access = &owner.access_token.token;
    assert_eq!(
        access::check(&Credential::owner_certificate(), Action::GenerateToken),
        Ok(())
    );
    let created = flow::create_token(
        &client,
        access,
        &["InvoiceRead", "InvoiceWrite"],
        "Kwit laptop",
    )
    .await
    .expect("a certificate login may generate a token");
    let active = flow::wait_for_token_active(&client, access, &created.reference_number)
        .await
        .unwrap();
    assert_eq!(active.state(), Some(TokenState::Active));
    assert_eq!(
        active
            .context_identifier
            .as_ref()
            .and_then(|c| c.value.as_deref()),
        Some(nip.as_str())
    );
    assert!(active.author_identifier.is_some());

    let listed = flow::list_tokens_matching(
        &client,
        access,
        &list::Request {
            statuses: vec![TokenState::Active],
            description: Some("laptop".into()),
            ..list::Request::default()
        },
        5,
    )
    .await
    .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|t| t.reference_number.as_str())
            .collect::<Vec<_>>(),
        [created.reference_number.as_str()],
        "the filters leave only the new token"
    );

    // The new token logs in, and may do what its permissions allow and no more.
    let by_token = login_token(&client, &nip, &created.token)
        .await
        .expect("the generated token logs in");
    let credential = Credential::from_names(LoginMethod::KsefToken, &active.requested_permissions);
    let denied = access::check(&credential, Action::GenerateToken).unwrap_err();
    assert_eq!(denied.code, DeniedCode::CertificateLoginRequired);
    let refused = flow::create_token(
        &client,
        &by_token.access_token.token,
        &["InvoiceRead"],
        "Kwit token from a token",
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, Error::Forbidden { .. }), "{refused:?}");

    flow::revoke_token(&client, access, &created.reference_number)
        .await
        .unwrap();
    let err = login_token(&client, &nip, &created.token)
        .await
        .unwrap_err();
    assert!(err.needs_login(), "{err:?}");
    let advice = err.message(Language::Pl);
    assert!(
        advice.contains("wygeneruj nowy token") || advice.contains("sprawdź czy jest aktywny"),
        "the FAQ's advice: {advice}"
    );
    sim.shutdown().await;
}
