//! The accountant's access: a company grants its accounting office's NIP InvoiceRead, after
//! which the office's token reads the company's invoices (and without it cannot); the grant
//! is listed on both sides and revoked; a person's grant by PESEL; and a token without
//! CredentialsManage refused as `access` says.

use ksef_core::access::{self, Action, Credential, DeniedCode, LoginMethod};
use ksef_core::api::Identifier;
use ksef_core::api::invoices::{DateRange, InvoiceQueryFilters};
use ksef_core::api::permissions::query::{entities, persons};
use ksef_core::api::permissions::{Permission, PersonDetails, grant_entity, grant_person};
use ksef_core::error::{Error, Language};
use ksef_core::flow;

use super::{OFFICE_NIP, login_owner, login_token, mint_token, start};

fn purchases_and_sales(subject: &str) -> InvoiceQueryFilters {
    let from = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    InvoiceQueryFilters {
        subject_type: subject.into(),
        date_range: DateRange {
            date_type: "PermanentStorage".into(),
            from: from
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap(),
            to: None,
            restrict_to_permanent_storage_hwm_date: None,
        },
        ksef_number: None,
        invoice_number: None,
        seller_nip: None,
    }
}

#[tokio::test]
async fn sim_grant_to_an_accounting_office_lets_its_token_read_invoices_until_revoked() {
    let (sim, client) = start().await;
    let company = sim.demo.nip.clone();
    let office_token = mint_token(&sim, OFFICE_NIP, &company, &["InvoiceRead"]).await;
    let refused = login_token(&client, &company, &office_token)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::AuthFailed { code: 415, .. }),
        "no grant, no login: {refused:?}"
    );

    let (_, owner) = login_owner(&client, &company, "grants-owner").await;
    let access = &owner.access_token.token;
    flow::grant_entity_permissions(
        &client,
        access,
        &grant_entity::Request::invoices(
            OFFICE_NIP,
            "Biuro Rachunkowe Test",
            &[Permission::InvoiceRead],
            "Biuro rachunkowe Kwit",
        ),
    )
    .await
    .expect("the grant completes");
    let granted = flow::query_person_permissions(
        &client,
        access,
        &persons::Filter {
            authorized_identifier: Some(Identifier::nip(OFFICE_NIP)),
            ..persons::Filter::all(persons::QueryType::PermissionsGrantedInCurrentContext)
        },
        5,
    )
    .await
    .unwrap();
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0].permission(), Some(Permission::InvoiceRead));

    let office = login_token(&client, &company, &office_token)
        .await
        .expect("with the grant, the office's token logs into the company");
    flow::query_metadata(
        &client,
        &office.access_token.token,
        &purchases_and_sales("Subject1"),
        10,
        1,
    )
    .await
    .expect("the office reads the company's invoices");

    // The office's own context sees the grant it received.
    let (_, office_owner) = login_owner(&client, OFFICE_NIP, "office-owner").await;
    let received = flow::query_entity_permissions(
        &client,
        &office_owner.access_token.token,
        &entities::Filter::default(),
        5,
    )
    .await
    .unwrap();
    assert!(
        received
            .iter()
            .any(|g| g.context_identifier == Identifier::nip(&company)
                && g.permission() == Some(Permission::InvoiceRead)),
        "{received:?}"
    );

    flow::revoke_permission(&client, access, &granted[0].id)
        .await
        .expect("the revoke completes");
    let err = flow::query_metadata(
        &client,
        &office.access_token.token,
        &purchases_and_sales("Subject1"),
        10,
        1,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Forbidden { .. } | Error::Unauthorized),
        "a revoked grant stops the office at once: {err:?}"
    );
    let left = flow::query_person_permissions(
        &client,
        access,
        &persons::Filter::all(persons::QueryType::PermissionsGrantedInCurrentContext),
        5,
    )
    .await
    .unwrap();
    assert!(left.iter().all(|g| g.id != granted[0].id));
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_grant_to_a_person_by_pesel_is_listed_and_revoked() {
    let (sim, client) = start().await;
    let (_, owner) = login_owner(&client, &sim.demo.nip, "person-owner").await;
    let access = &owner.access_token.token;
    flow::grant_person_permissions(
        &client,
        access,
        &grant_person::Request {
            subject_identifier: Identifier::pesel("90010112345"),
            permissions: vec![Permission::InvoiceRead, Permission::InvoiceWrite],
            description: "Księgowa Ewa".into(),
            subject_details: PersonDetails::by_identifier("Ewa", "Kowalska"),
        },
    )
    .await
    .unwrap();
    let in_force = flow::query_person_permissions(
        &client,
        access,
        &persons::Filter::all(persons::QueryType::PermissionsInCurrentContext),
        5,
    )
    .await
    .unwrap();
    let hers: Vec<_> = in_force
        .iter()
        .filter(|g| g.authorized_identifier == Identifier::pesel("90010112345"))
        .collect();
    assert_eq!(hers.len(), 2, "{in_force:?}");
    let person = hers[0].subject_person_details.as_ref().unwrap();
    assert_eq!(
        (person.first_name.as_str(), person.last_name.as_str()),
        ("Ewa", "Kowalska")
    );
    for grant in hers {
        flow::revoke_permission(&client, access, &grant.id)
            .await
            .unwrap();
    }
    let after = flow::query_person_permissions(
        &client,
        access,
        &persons::Filter::all(persons::QueryType::PermissionsInCurrentContext),
        5,
    )
    .await
    .unwrap();
    assert!(
        after
            .iter()
            .all(|g| g.authorized_identifier != Identifier::pesel("90010112345"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_an_invoice_token_may_not_grant_as_access_says() {
    let (sim, client) = start().await;
    let tokens = login_token(&client, &sim.demo.nip, &sim.demo.ksef_token)
        .await
        .unwrap();
    let credential = Credential::from_names(
        LoginMethod::KsefToken,
        &["InvoiceRead", "InvoiceWrite", "Introspection"],
    );
    let denied = access::check(&credential, Action::ManagePermissions).unwrap_err();
    assert_eq!(denied.code, DeniedCode::TokenLacksPermission);
    assert_eq!(denied.missing, Some(Permission::CredentialsManage));
    assert!(
        denied
            .message(Language::En)
            .contains("generate a new token")
    );
    let err = flow::grant_entity_permissions(
        &client,
        &tokens.access_token.token,
        &grant_entity::Request::invoices(
            OFFICE_NIP,
            "Biuro Rachunkowe Test",
            &[Permission::InvoiceRead],
            "Biuro rachunkowe Kwit",
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Forbidden { reason, .. } if reason == "missing-permissions"),
        "{err:?}"
    );
    sim.shutdown().await;
}
