//! KSeF's public keys: an empty list, and a cached copy that survives JSON.

use ksef_core::api::ContextIdentifier;
use ksef_core::crypto;
use ksef_core::error::Error;
use ksef_core::flow::{self, PublicKeys};
use serde_json::json;

use super::{body, certs_json, client, ksef_keys, now, path, response, rng};

#[tokio::test]
async fn empty_key_list_says_fetch_public_certificates() {
    let (client, _, _) = client(|_, _| response(200, json!([])));
    let err = flow::fetch_public_keys(&client).await.unwrap_err();
    assert!(matches!(err, Error::NoPublicKey { .. }));
    assert!(err.to_string().contains("pobierz certyfikaty publiczne"));
}

#[tokio::test]
async fn cached_public_keys_survive_json_and_log_in_without_refetching() {
    let (cert, private) = ksef_keys();
    let (fetching, _, _) = client({
        let cert = cert.clone();
        move |req, _| match path(req).as_str() {
            "/security/public-key-certificates" => response(200, certs_json(&cert)),
            other => panic!("unexpected {other}"),
        }
    });
    let keys = flow::fetch_public_keys(&fetching).await.unwrap();
    // What the browser writes to and reads back from IndexedDB.
    let cached = serde_json::to_value(&keys).unwrap();
    assert_eq!(cached[0]["certificate"], cert);
    assert_eq!(cached[0]["usage"], json!(["KsefTokenEncryption"]));
    let mut restored: PublicKeys = serde_json::from_value(cached.clone()).unwrap();
    for usage in [
        crypto::KeyUsage::KsefTokenEncryption,
        crypto::KeyUsage::SymmetricKeyEncryption,
    ] {
        assert_eq!(
            restored.select(usage, now()).unwrap().der,
            keys.select(usage, now()).unwrap().der
        );
    }
    assert_eq!(serde_json::to_value(&restored).unwrap(), cached);

    // The restored keys encrypt the token: no fetch of public keys happens.
    let (login_client, log, _) = client(move |req, _| match path(req).as_str() {
        "/auth/challenge" => response(200, json!({"challenge": "c", "timestampMs": 7})),
        "/auth/ksef-token" => {
            let ct = crypto::base64_decode(body(req)["encryptedToken"].as_str().unwrap()).unwrap();
            let plain = private
                .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &ct)
                .unwrap();
            assert_eq!(plain, b"tok|7");
            response(
                202,
                json!({"referenceNumber": "AU", "authenticationToken": {"token": "t", "validUntil": "v"}}),
            )
        }
        "/auth/AU" => response(200, json!({"status": {"code": 200, "description": "ok"}})),
        "/auth/token/redeem" => response(
            200,
            json!({"accessToken": {"token": "a", "validUntil": "v"}, "refreshToken": {"token": "r", "validUntil": "v"}}),
        ),
        other => panic!("unexpected {other}"),
    });
    flow::login_with_ksef_token(
        &login_client,
        &mut restored,
        &ContextIdentifier::nip("5265877635"),
        "tok",
        now(),
        &mut rng(),
    )
    .await
    .unwrap();
    assert_eq!(
        log.borrow().len(),
        4,
        "challenge, ksef-token, status, redeem"
    );

    // A damaged cache is refused instead of giving wrong keys.
    let mut broken = cached;
    broken[0]["certificate"] = json!("AAAA");
    assert!(serde_json::from_value::<PublicKeys>(broken).is_err());
    assert!(
        serde_json::from_value::<PublicKeys>(json!([]))
            .unwrap()
            .is_empty()
    );
}
