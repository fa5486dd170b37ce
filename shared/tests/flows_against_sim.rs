//! Every protocol flow against the KSeF simulator (`ksef-sim`) over real HTTP,
//! with a reqwest-based [`Transport`].
#![cfg(not(target_arch = "wasm32"))]

use ksef_core::api::ContextIdentifier;
use ksef_core::api::invoices::{DateRange, InvoiceQueryFilters};
use ksef_core::crypto;
use ksef_core::error::Error;
use ksef_core::flow::{self, AuthTokens, ExportCursor, KsefClient, PublicKeys};
use ksef_core::xades::{SigningKey, XadesSigner};
use ksef_sim::{RunningSim, SimConfig};

#[path = "support/sim_http.rs"]
mod sim_http;
use sim_http::{Client, Reqwest, invoice_for, now, rng, sleep};
#[path = "support/xades_login.rs"]
mod xades_login;
use xades_login::{login_xades, self_signed};

async fn start() -> (RunningSim, Client) {
    let sim = ksef_sim::spawn(SimConfig::for_tests())
        .await
        .expect("simulator starts");
    let mut client: Client = KsefClient::new(
        Reqwest::default(),
        sleep as fn(u64) -> tokio::time::Sleep,
        format!("{}/v2", sim.base_url),
    );
    client.poll.initial_delay_ms = 50;
    client.poll.max_delay_ms = 500;
    (sim, client)
}

async fn login(sim: &RunningSim, client: &Client, keys: &mut PublicKeys) -> AuthTokens {
    flow::login_with_ksef_token(
        client,
        keys,
        &ContextIdentifier::nip(&sim.demo.nip),
        &sim.demo.ksef_token,
        now(),
        &mut rng(),
    )
    .await
    .expect("demo token logs in")
}

#[tokio::test]
async fn sim_token_login_refresh_and_logout() {
    let (sim, client) = start().await;
    let mut keys = PublicKeys::default();
    let tokens = login(&sim, &client, &mut keys).await;
    assert!(!keys.is_empty(), "public keys were fetched and cached");
    let fresh = flow::refresh(&client, &tokens.refresh_token.token)
        .await
        .unwrap();
    assert!(!fresh.token.is_empty());
    flow::logout(&client, &fresh.token).await.unwrap();
    let err = flow::refresh(&client, &tokens.refresh_token.token)
        .await
        .unwrap_err();
    assert!(
        err.needs_login(),
        "refresh after logout must ask to log in again: {err:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_wrong_ksef_token_is_refused_with_advice() {
    let (sim, client) = start().await;
    let err = flow::login_with_ksef_token(
        &client,
        &mut PublicKeys::default(),
        &ContextIdentifier::nip(&sim.demo.nip),
        "20251010-EC-1DCE3E3000-12ECB5B36E-45|nip-5265877635|0000",
        now(),
        &mut rng(),
    )
    .await
    .unwrap_err();
    assert!(err.needs_login(), "{err:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_send_invoice_until_ksef_number_then_upo_and_download() {
    let (sim, client) = start().await;
    let mut keys = PublicKeys::default();
    let tokens = login(&sim, &client, &mut keys).await;
    let access = &tokens.access_token.token;
    let mut session = None;
    let xml = invoice_for(&sim.demo.nip, "FV/SIM/1");
    let sent = flow::send_invoice_reusing_session(
        &client,
        &mut keys,
        access,
        &mut session,
        &xml,
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(sent.invoice_hash, crypto::sha256_base64(&xml));
    let accepted = flow::wait_for_invoice(&client, access, &sent)
        .await
        .unwrap();
    let number = ksef_core::ksef_number::KsefNumber::parse(&accepted.ksef_number).unwrap();
    assert_eq!(number.seller_nip(), sim.demo.nip);

    let upo = flow::invoice_upo(&client, access, &sent).await.unwrap();
    assert!(String::from_utf8_lossy(&upo.bytes).contains(&accepted.ksef_number));
    if let Some(url) = &accepted.upo_download_url {
        let by_link = client.fetch_storage(url).await.unwrap();
        assert!(String::from_utf8_lossy(&by_link.bytes).contains(&accepted.ksef_number));
    }

    // Same session reused for the second invoice; a duplicate number is rejected.
    let first_session = session.as_ref().unwrap().reference_number.clone();
    let dup = flow::send_invoice_reusing_session(
        &client,
        &mut keys,
        access,
        &mut session,
        &invoice_for(&sim.demo.nip, "FV/SIM/1"),
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(dup.session_reference_number, first_session);
    let err = flow::wait_for_invoice(&client, access, &dup)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvoiceRejected { code: 440, .. }),
        "{err:?}"
    );

    let downloaded = flow::download_invoice(&client, access, &accepted.ksef_number)
        .await
        .unwrap();
    assert_eq!(
        downloaded.bytes, xml,
        "KSeF returns exactly the bytes we sent"
    );

    let open = session.take().unwrap();
    flow::close_online_session(&client, access, &open)
        .await
        .unwrap();
    let pages = flow::wait_for_session_upo(&client, access, &open.reference_number)
        .await
        .unwrap();
    assert!(!pages.is_empty(), "closed session has a UPO");
    sim.shutdown().await;
}

fn filters(subject: &str) -> InvoiceQueryFilters {
    let from = time::OffsetDateTime::now_utc() - time::Duration::days(1);
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
async fn sim_metadata_query_and_export_with_hwm_cursor() {
    let (sim, client) = start().await;
    let mut keys = PublicKeys::default();
    let tokens = login(&sim, &client, &mut keys).await;
    let access = &tokens.access_token.token;
    let mut session = None;
    let mut numbers = Vec::new();
    for i in 0..2 {
        let sent = flow::send_invoice_reusing_session(
            &client,
            &mut keys,
            access,
            &mut session,
            &invoice_for(&sim.demo.nip, &format!("FV/Q/{i}")),
            now(),
            &mut rng(),
        )
        .await
        .unwrap();
        numbers.push(
            flow::wait_for_invoice(&client, access, &sent)
                .await
                .unwrap()
                .ksef_number,
        );
    }
    let (found, _) = flow::query_metadata(&client, access, &filters("Subject1"), 10, 5)
        .await
        .unwrap();
    for n in &numbers {
        assert!(found.iter().any(|i| &i.ksef_number == n), "{n} listed");
    }

    let mut cursor = ExportCursor {
        subject_type: "Subject1".into(),
        from: filters("Subject1").date_range.from,
    };
    let before = cursor.clone();
    let export = flow::export_since(&client, &mut keys, access, &mut cursor, now(), &mut rng())
        .await
        .unwrap();
    assert_eq!(&export.zip[..2], b"PK", "decrypted parts form a ZIP");
    assert!(export.package.invoice_count >= 2);
    assert_ne!(cursor, before, "cursor moved to the high-water mark");
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_ksef_tokens_create_list_revoke() {
    let (sim, client) = start().await;
    let mut keys = PublicKeys::default();
    let tokens = login(&sim, &client, &mut keys).await;
    let access = &tokens.access_token.token;
    match flow::create_token(&client, access, &["InvoiceRead"], "Kwit test token").await {
        Ok(created) => {
            let listed = flow::list_tokens(&client, access, 5).await.unwrap();
            assert!(
                listed
                    .iter()
                    .any(|t| t.reference_number == created.reference_number)
            );
            flow::revoke_token(&client, access, &created.reference_number)
                .await
                .unwrap();
            let status = flow::token_status(&client, access, &created.reference_number)
                .await
                .unwrap();
            assert!(
                matches!(status.status.as_str(), "Revoking" | "Revoked"),
                "{}",
                status.status
            );
        }
        // KSeF allows creating tokens only after XAdES login: a token login gets a clear refusal.
        Err(e) => assert!(
            matches!(
                e,
                Error::Forbidden { .. } | Error::TokenPermissions { .. } | Error::Ksef { .. }
            ),
            "{e:?}"
        ),
    }
    assert!(
        flow::create_token(&client, access, &["InvoiceRead"], "abc")
            .await
            .is_err(),
        "too short description"
    );
    sim.shutdown().await;
}

// ---------------------------------------------------------------- certificates (XAdES)

async fn xades_login_with_self_signed(key: SigningKey, name: &str) {
    let (sim, client) = start().await;
    let signer = self_signed(&sim.demo.nip, &key, name);
    let tokens = login_xades(&client, &signer, &sim.demo.nip)
        .await
        .expect("self-signed TINPL certificate logs in");
    // A signature login may ask for certificate data (a token login may not).
    let data = flow::enrollment_data(&client, &tokens.access_token.token)
        .await
        .unwrap();
    assert!(data.common_name.contains(&sim.demo.nip), "{data:?}");
    // A key that does not match the certificate is refused.
    let other = SigningKey::generate_p256(&mut rng()).unwrap();
    let forged = XadesSigner::new(
        &signer.certificate.der,
        other.to_pkcs8_pem().unwrap().as_bytes(),
    )
    .unwrap();
    assert!(login_xades(&client, &forged, &sim.demo.nip).await.is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_xades_login_with_self_signed_rsa_certificate() {
    xades_login_with_self_signed(SigningKey::generate_rsa2048(&mut rng()).unwrap(), "rsa").await;
}

#[tokio::test]
async fn sim_xades_login_with_self_signed_ec_certificate() {
    xades_login_with_self_signed(SigningKey::generate_p256(&mut rng()).unwrap(), "ec").await;
}

/// XAdES login → enrollment data → CSR → Authentication certificate → that certificate with
/// the generated key logs in by XAdES.
async fn certificate_loop(new_key: SigningKey, name: &str) {
    let (sim, client) = start().await;
    let nip = sim.demo.nip.clone();
    let bootstrap = self_signed(
        &nip,
        &SigningKey::generate_p256(&mut rng()).unwrap(),
        &format!("{name}-bootstrap"),
    );
    let tokens = login_xades(&client, &bootstrap, &nip).await.unwrap();
    let access = &tokens.access_token.token;
    let data = flow::enrollment_data(&client, access).await.unwrap();
    let csr = ksef_core::csr::build_csr(&data, &new_key).unwrap();
    let issued = flow::enroll_certificate(&client, access, "Kwit test", "Authentication", &csr)
        .await
        .expect("KSeF issues the certificate");
    assert_eq!(issued.certificate_type, "Authentication");

    let cert = ksef_core::crypto::ParsedCertificate::from_base64(&issued.certificate).unwrap();
    assert_eq!(
        cert.spki_der,
        new_key.public_key_der().unwrap(),
        "the certificate certifies our key"
    );
    assert!(cert.subject().contains(&nip), "{}", cert.subject());
    let signer = XadesSigner::new(&cert.der, new_key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    let second = login_xades(&client, &signer, &nip)
        .await
        .expect("the KSeF certificate and its generated key log in");
    flow::logout(&client, &second.access_token.token)
        .await
        .unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_certificate_loop_rsa() {
    certificate_loop(
        SigningKey::generate_rsa2048(&mut rng()).unwrap(),
        "loop-rsa",
    )
    .await;
}

#[tokio::test]
async fn sim_certificate_loop_ec_p256() {
    certificate_loop(SigningKey::generate_p256(&mut rng()).unwrap(), "loop-ec").await;
}
