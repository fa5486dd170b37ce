//! KSeF certificates over their life: both types enrolled, listed and filtered, the limits,
//! one shortened until it is due for renewal, a revocation (then 25009 again, 25008 for an
//! unknown serial), and a revoked certificate's login refused.

use ksef_core::access::{self, Action, Credential, DeniedCode, LoginMethod};
use ksef_core::api::certificates::{
    CertificateStatus, CertificateType, RevocationReason, query::Filter,
};
use ksef_core::error::{Error, Language};
use ksef_core::flow;
use ksef_core::xades::{SigningKey, XadesSigner};

use super::{login_owner, login_token, login_xades, rng, start};

#[tokio::test]
async fn sim_certificates_query_limits_and_revoke() {
    let (sim, client) = start().await;
    let nip = sim.demo.nip.clone();
    let (_, owner) = login_owner(&client, &nip, "certs-owner").await;
    let access = &owner.access_token.token;
    let data = flow::enrollment_data(&client, access).await.unwrap();
    let before = flow::certificate_limits(&client, access).await.unwrap();
    assert!(before.can_request);

    let mut issued = Vec::new();
    for kind in [CertificateType::Authentication, CertificateType::Offline] {
        let key = SigningKey::generate_p256(&mut rng()).unwrap();
        let csr = ksef_core::csr::build_csr(&data, &key).unwrap();
        let cert = flow::enroll_certificate(&client, access, "Kwit", kind.as_str(), &csr)
            .await
            .unwrap();
        issued.push((cert, key));
    }
    let after = flow::certificate_limits(&client, access).await.unwrap();
    assert_eq!(
        after.certificate.remaining,
        before.certificate.remaining - 2
    );
    assert_eq!(after.enrollment.remaining, before.enrollment.remaining - 2);

    let all = flow::query_certificates(&client, access, &Filter::default(), 5)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|c| c.status == CertificateStatus::Active));
    let offline = flow::query_certificates(
        &client,
        access,
        &Filter {
            certificate_type: Some(CertificateType::Offline),
            ..Filter::default()
        },
        5,
    )
    .await
    .unwrap();
    assert_eq!(offline.len(), 1);
    assert_eq!(
        offline[0].certificate_serial_number,
        issued[1].0.certificate_serial_number
    );

    // KSeF 2.7's test-data endpoint shortens the Offline certificate to 10 days: due for renewal.
    let ten_days = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let response = reqwest::Client::new()
        .put(format!(
            "{}/v2/testdata/certificates/{}",
            sim.base_url, offline[0].certificate_serial_number
        ))
        .header("content-type", "application/json")
        .body(
            serde_json::to_vec(&serde_json::json!({"validTo": ten_days
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()}))
            .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        !offline[0].needs_renewal(now),
        "a fresh certificate is not due"
    );
    let shortened = flow::query_certificates(
        &client,
        access,
        &Filter {
            certificate_type: Some(CertificateType::Offline),
            ..Filter::default()
        },
        5,
    )
    .await
    .unwrap();
    assert!(matches!(shortened[0].days_left(now), Some(9 | 10)));
    assert!(shortened[0].needs_renewal(now));

    let (auth_cert, auth_key) = &issued[0];
    let serial = &auth_cert.certificate_serial_number;
    flow::revoke_certificate(&client, access, serial, Some(RevocationReason::Superseded))
        .await
        .unwrap();
    let revoked = flow::query_certificates(
        &client,
        access,
        &Filter {
            status: Some(CertificateStatus::Revoked),
            ..Filter::default()
        },
        5,
    )
    .await
    .unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(&revoked[0].certificate_serial_number, serial);
    let again = flow::revoke_certificate(&client, access, serial, None)
        .await
        .unwrap_err();
    assert!(
        matches!(again, Error::Ksef { code: 25009, .. }),
        "{again:?}"
    );
    let unknown = flow::revoke_certificate(&client, access, "0000000000000000", None)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::Ksef { code: 25008, .. }),
        "{unknown:?}"
    );

    let der = ksef_core::crypto::base64_decode(&auth_cert.certificate).unwrap();
    let signer = XadesSigner::new(&der, auth_key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let err = login_xades(&client, &signer, &nip).await.unwrap_err();
    assert!(
        matches!(err, Error::Ksef { code: 21115, .. }),
        "a revoked certificate no longer logs in: {err:?}"
    );
    assert!(
        err.message(Language::En)
            .contains("enroll a new KSeF certificate")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_certificate_enrollment_after_a_token_login_is_refused_as_access_says() {
    let (sim, client) = start().await;
    let tokens = login_token(&client, &sim.demo.nip, &sim.demo.ksef_token)
        .await
        .unwrap();
    let credential = Credential::from_names(
        LoginMethod::KsefToken,
        &["InvoiceRead", "InvoiceWrite", "Introspection"],
    );
    let denied = access::check(&credential, Action::EnrollCertificate).unwrap_err();
    assert_eq!(denied.code, DeniedCode::CertificateLoginRequired);
    let err = flow::enrollment_data(&client, &tokens.access_token.token)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ksef { code: 25001, .. }), "{err:?}");
    // Listing is open to any login.
    assert_eq!(access::check(&credential, Action::ListCertificates), Ok(()));
    flow::query_certificates(&client, &tokens.access_token.token, &Filter::default(), 1)
        .await
        .unwrap();
    sim.shutdown().await;
}
