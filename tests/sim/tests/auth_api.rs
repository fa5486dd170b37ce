//! Keys, authentication and KSeF tokens over real HTTP, every body checked against
//! open-api.json (error formats, limits, faults and the control API: `control_api.rs`).

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use ksef_sim::SimConfig;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

const OTHER_NIP: &str = "7352765225";

#[tokio::test]
async fn public_keys_are_real_self_signed_certificates() {
    let sim = start().await;
    let r = get(
        &sim,
        "/security/public-key-certificates",
        "/security/public-key-certificates",
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let certs = r.body.as_array().unwrap();
    assert_eq!(certs.len(), 2);
    for c in certs {
        let der = STANDARD.decode(c["certificate"].as_str().unwrap()).unwrap();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap();
        assert_eq!(c["publicKeyId"], STANDARD.encode(Sha256::digest(&spki)));
        assert_eq!(c["certificateId"], STANDARD.encode(Sha256::digest(&der)));
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::PublicKey::from_public_key_der(&spki).unwrap();
        assert!(key.size() * 8 >= 2048);
    }
    let usages: Vec<_> = certs
        .iter()
        .map(|c| c["usage"][0].as_str().unwrap())
        .collect();
    assert!(usages.contains(&"KsefTokenEncryption") && usages.contains(&"SymmetricKeyEncryption"));
    sim.shutdown().await;
}

#[tokio::test]
async fn key_rotation_publishes_two_certificates_per_usage_and_both_decrypt() {
    let sim = start_with(SimConfig {
        key_rotation: true,
        ..SimConfig::for_tests_generous()
    })
    .await;
    let r = get(
        &sim,
        "/security/public-key-certificates",
        "/security/public-key-certificates",
        None,
    )
    .await;
    let certs = r.body.as_array().unwrap();
    assert_eq!(certs.len(), 4);
    // Log in with the OLDER token key (still published) — it must work too.
    let mut token_certs: Vec<_> = certs
        .iter()
        .filter(|c| c["usage"][0] == "KsefTokenEncryption")
        .collect();
    token_certs.sort_by_key(|c| c["validFrom"].as_str().unwrap().to_string());
    assert_ne!(token_certs[0]["publicKeyId"], token_certs[1]["publicKeyId"]);
    let der = STANDARD
        .decode(token_certs[0]["certificate"].as_str().unwrap())
        .unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    use rsa::pkcs8::DecodePublicKey;
    let key = rsa::PublicKey::from_public_key_der(
        &cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
    )
    .unwrap();
    let ch = post(&sim, "/auth/challenge", "/auth/challenge", None, None).await;
    let enc = oaep_encrypt(
        &key,
        format!("{}|{}", sim.demo.ksef_token, ch.body["timestampMs"]).as_bytes(),
    );
    let r = post(&sim, "/auth/ksef-token", "/auth/ksef-token", None, Some(json!({
        "challenge": ch.body["challenge"], "contextIdentifier": {"type":"Nip","value": sim.demo.nip},
        "encryptedToken": enc, "publicKeyId": token_certs[0]["publicKeyId"]}))).await;
    assert_eq!(r.status, 202);
    let status = wait_started(&sim, &r.body).await;
    assert_eq!(status["status"]["code"], 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn challenge_has_the_documented_format() {
    let sim = start().await;
    let r = post(&sim, "/auth/challenge", "/auth/challenge", None, None).await;
    assert_eq!(r.status, 200);
    let c = r.body["challenge"].as_str().unwrap();
    let re = regex::Regex::new(r"^\d{8}-CR-[A-F0-9]{10}-[A-F0-9]{10}-[A-F0-9]{2}$").unwrap();
    assert!(re.is_match(c), "{c}");
    assert_eq!(r.body["clientIp"], "127.0.0.1");
    sim.shutdown().await;
}

#[tokio::test]
async fn token_login_redeem_refresh_sessions_and_logout() {
    let sim = start_with(SimConfig {
        auth_processing_delay: Duration::from_millis(400),
        ..SimConfig::for_tests_generous()
    })
    .await;
    let (reference, auth_token) =
        start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    // Redeem before the operation finished is refused.
    let early = redeem_call(&sim, &auth_token).await;
    assert_eq!(early.status, 400);
    assert_eq!(early.code(), 21301);
    let status = wait_auth(&sim, &reference, &auth_token).await;
    assert_eq!(status["status"]["code"], 200);
    assert_eq!(status["authenticationMethodInfo"]["category"], "Token");
    let r = redeem_call(&sim, &auth_token).await;
    assert_eq!(r.status, 200);
    let access = r.body["accessToken"]["token"].as_str().unwrap().to_string();
    let refresh = r.body["refreshToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    // Only once.
    let again = redeem_call(&sim, &auth_token).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.code(), 21301);
    // Refresh gives a new, working access token.
    let r = refresh_call(&sim, &refresh).await;
    assert_eq!(r.status, 200);
    let access2 = r.body["accessToken"]["token"].as_str().unwrap().to_string();
    assert_ne!(access, access2);
    // The access token is not a refresh token.
    let wrong = refresh_call(&sim, &access).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.content_type.starts_with("application/problem+json"));
    let list = get(&sim, "/auth/sessions", "/auth/sessions", Some(&access2)).await;
    assert_eq!(list.status, 200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["referenceNumber"], reference);
    assert_eq!(items[0]["isCurrent"], true);
    assert_eq!(items[0]["isTokenRedeemed"], true);
    // Logout: refresh stops working, the list is empty.
    let r = call(
        &sim,
        Method::DELETE,
        "/auth/sessions/current",
        "/auth/sessions/current",
        Some(&access2),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 204);
    let r = refresh_call(&sim, &refresh).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), 21301);
    // Revoking another session by reference.
    let (a2, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let (a3, r3) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let list = get(&sim, "/auth/sessions", "/auth/sessions", Some(&a2)).await;
    let other = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["isCurrent"] == false)
        .unwrap()["referenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &sim,
        Method::DELETE,
        "/auth/sessions/{referenceNumber}",
        &format!("/auth/sessions/{other}"),
        Some(&a2),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 204);
    let r = refresh_call(&sim, &r3).await;
    assert_eq!(r.code(), 21301, "session revoked by reference: {}", r.body);
    let _ = a3;
    sim.shutdown().await;
}

#[tokio::test]
async fn ksef_token_rejections() {
    let sim = start().await;
    let (key_id, key) = token_key(&sim).await;
    let nip = sim.demo.nip.clone();
    let token = sim.demo.ksef_token.clone();
    let ch = || async {
        post(&sim, "/auth/challenge", "/auth/challenge", None, None)
            .await
            .body
    };
    let send = |body: serde_json::Value| {
        let sim = &sim;
        async move {
            post(
                sim,
                "/auth/ksef-token",
                "/auth/ksef-token",
                None,
                Some(body),
            )
            .await
        }
    };

    // Unknown publicKeyId → 21470.
    let c = ch().await;
    let enc = oaep_encrypt(&key, format!("{token}|{}", c["timestampMs"]).as_bytes());
    let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": enc,
        "publicKeyId": STANDARD.encode([7u8; 32])})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21470));
    // Unknown challenge → 21111.
    let r = send(json!({"challenge": "20250514-CR-226FB7B000-3ACF9BE4C0-10", "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": enc})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21111));
    // Challenge reuse → 21111.
    let c = ch().await;
    let enc = oaep_encrypt(&key, format!("{token}|{}", c["timestampMs"]).as_bytes());
    let ok = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": enc, "publicKeyId": key_id})).await;
    assert_eq!(ok.status, 202);
    let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": enc})).await;
    assert_eq!(r.code(), 21111);
    // Bad base64 → 21405; bad NIP format → 21405.
    let c = ch().await;
    let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": "!!!not base64"})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 21405));
    let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":"0012345678"}, "encryptedToken": enc})).await;
    assert_eq!(r.code(), 21405);
    // Async failures: wrong timestamp, unknown token, garbage ciphertext → 450; other NIP → 415.
    let cases = [
        (format!("{token}|123"), nip.as_str(), 450),
        (
            format!("{}|{{ts}}", token.replace('a', "b")),
            nip.as_str(),
            450,
        ),
        (format!("{token}|{{ts}}"), OTHER_NIP, 415),
    ];
    for (plain, ctx, want) in cases {
        let c = ch().await;
        let plain = plain.replace("{ts}", &c["timestampMs"].to_string());
        let enc = oaep_encrypt(&key, plain.as_bytes());
        let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":ctx}, "encryptedToken": enc})).await;
        assert_eq!(r.status, 202);
        let st = wait_started(&sim, &r.body).await;
        assert_eq!(st["status"]["code"], want, "{plain}: {st}");
        // A failed operation cannot be redeemed.
        let rd = post(
            &sim,
            "/auth/token/redeem",
            "/auth/token/redeem",
            r.body["authenticationToken"]["token"].as_str(),
            None,
        )
        .await;
        assert_eq!(rd.code(), 21301);
    }
    let c = ch().await;
    let r = send(json!({"challenge": c["challenge"], "contextIdentifier": {"type":"Nip","value":nip}, "encryptedToken": STANDARD.encode([1u8; 256])})).await;
    let st = wait_started(&sim, &r.body).await;
    assert_eq!(st["status"]["code"], 450);
    sim.shutdown().await;
}

#[tokio::test]
async fn ksef_tokens_permissions_and_lifecycle() {
    let sim = start().await;
    // A read-only token cannot create tokens: 403 with the real body.
    let ro = mint(&sim, OTHER_NIP, &["InvoiceRead"]).await;
    let (access, _) = login(&sim, &ro, OTHER_NIP).await;
    let r = post(
        &sim,
        "/tokens",
        "/tokens",
        Some(&access),
        Some(json!({"permissions":["InvoiceRead"],"description":"Aplikacja"})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["reasonCode"], "missing-permissions");
    assert_eq!(
        r.body["security"]["requiredAnyOfPermissions"],
        json!(["CredentialsManage"])
    );
    assert_eq!(
        r.body["security"]["presentPermissions"],
        json!(["InvoiceRead"])
    );
    // Even CredentialsManage is not enough after a token login (KSeF requires XAdES).
    let cm = mint(&sim, OTHER_NIP, &["CredentialsManage", "InvoiceRead"]).await;
    let (cm_access, _) = login(&sim, &cm, OTHER_NIP).await;
    let r = post(
        &sim,
        "/tokens",
        "/tokens",
        Some(&cm_access),
        Some(json!({"permissions":["InvoiceRead"],"description":"Aplikacja"})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["reasonCode"], "auth-method-not-allowed");
    // CredentialsManage sees all tokens of the context; the read-only caller only its own.
    let all = get(&sim, "/tokens", "/tokens?pageSize=10", Some(&cm_access)).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["tokens"].as_array().unwrap().len(), 2);
    let own = get(&sim, "/tokens", "/tokens", Some(&access)).await;
    let own_tokens = own.body["tokens"].as_array().unwrap();
    assert_eq!(own_tokens.len(), 1);
    let ro_ref = own_tokens[0]["referenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(own_tokens[0]["status"], "Active");
    assert_eq!(
        own_tokens[0]["requestedPermissions"],
        json!(["InvoiceRead"])
    );
    let filtered = get(&sim, "/tokens", "/tokens?status=Revoked", Some(&cm_access)).await;
    assert_eq!(filtered.body["tokens"].as_array().unwrap().len(), 0);
    let bad = get(&sim, "/tokens", "/tokens?status=Nope", Some(&cm_access)).await;
    assert_eq!(bad.code(), 21405);
    let r = get(
        &sim,
        "/tokens/{referenceNumber}",
        &format!("/tokens/{ro_ref}"),
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["contextIdentifier"],
        json!({"type":"Nip","value":OTHER_NIP})
    );
    // Revoke: Revoking → Revoked; the token no longer logs in, refresh is refused.
    let (_, refresh) = login(&sim, &ro, OTHER_NIP).await;
    let r = call(
        &sim,
        Method::DELETE,
        "/tokens/{referenceNumber}",
        &format!("/tokens/{ro_ref}"),
        Some(&cm_access),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(
        &sim,
        "/tokens/{referenceNumber}",
        &format!("/tokens/{ro_ref}"),
        Some(&cm_access),
    )
    .await;
    assert!(r.body["status"] == "Revoking" || r.body["status"] == "Revoked");
    tokio::time::sleep(Duration::from_millis(80)).await;
    let r = get(
        &sim,
        "/tokens/{referenceNumber}",
        &format!("/tokens/{ro_ref}"),
        Some(&cm_access),
    )
    .await;
    assert_eq!(r.body["status"], "Revoked");
    let (reference, auth_token) = start_token_login(&sim, &ro, OTHER_NIP).await;
    assert_eq!(
        wait_auth(&sim, &reference, &auth_token).await["status"]["code"],
        450
    );
    let r = refresh_call(&sim, &refresh).await;
    assert_eq!(r.code(), 21301);
    // Another context's token is invisible.
    let r = get(
        &sim,
        "/tokens",
        "/tokens",
        Some(&login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await.0),
    )
    .await;
    assert!(
        r.body["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["contextIdentifier"]["value"] == sim.demo.nip)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn short_token_lifetimes_expire() {
    let sim = start_with(SimConfig {
        access_token_ttl: Duration::from_secs(1),
        ..SimConfig::for_tests_generous()
    })
    .await;
    let (access, refresh) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    assert_eq!(
        get(&sim, "/auth/sessions", "/auth/sessions", Some(&access))
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        get(&sim, "/auth/sessions", "/auth/sessions", Some(&access))
            .await
            .status,
        401
    );
    let r = refresh_call(&sim, &refresh).await;
    assert_eq!(r.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn certificate_endpoints_refuse_token_logins_as_ksef_does() {
    let sim = start().await;
    let (access, _) = login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let r = get(
        &sim,
        "/certificates/limits",
        "/certificates/limits",
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["canRequest"], false);
    assert_eq!(
        r.body["certificate"]["remaining"],
        r.body["certificate"]["limit"]
    );
    let r = get(
        &sim,
        "/certificates/enrollments/data",
        "/certificates/enrollments/data",
        Some(&access),
    )
    .await;
    // open-api: 400 25001 (data) and 25002 (enrollment) for this authentication method.
    assert_eq!((r.status.as_u16(), r.code()), (400, 25001), "{}", r.body);
    let r = post(
        &sim,
        "/certificates/enrollments",
        "/certificates/enrollments",
        Some(&access),
        Some(json!({"certificateName":"Laptop","certificateType":"Authentication","csr":"AAAA"})),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.code()), (400, 25002), "{}", r.body);
    let r = post(
        &sim,
        "/certificates/query",
        "/certificates/query",
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["certificates"], json!([]));
    assert_eq!(r.body["hasMore"], false);
    let r = post(
        &sim,
        "/certificates/query",
        "/certificates/query?pageSize=5",
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.code(), 21405);
    let r = post(
        &sim,
        "/certificates/retrieve",
        "/certificates/retrieve",
        Some(&access),
        Some(json!({"certificateSerialNumbers":["01F20A5D352AE590"]})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["certificates"], json!([]));
    let r = post(
        &sim,
        "/certificates/{certificateSerialNumber}/revoke",
        "/certificates/01F20A5D352AE590/revoke",
        Some(&access),
        Some(json!({})),
    )
    .await;
    assert_eq!(r.code(), 25008);
    let r = get(
        &sim,
        "/certificates/enrollments/{referenceNumber}",
        "/certificates/enrollments/20250514-CE-2DFC46C000-3AC6D5877F-D4",
        Some(&access),
    )
    .await;
    assert_eq!(r.code(), 21405);
    sim.shutdown().await;
}

/// `GET /auth/{referenceNumber}` is kept 7 days, then `410 Gone` as RFC 7807 problem details
/// (open-api `GoneProblemDetails`, ksef-guide §3.5); the retention is shortened here.
#[tokio::test]
async fn auth_status_after_its_retention_is_410_gone() {
    let sim = start_with(SimConfig {
        auth_retention: Duration::from_millis(600),
        ..SimConfig::for_tests_generous()
    })
    .await;
    let (reference, auth_token) =
        start_token_login(&sim, &sim.demo.ksef_token, &sim.demo.nip).await;
    let status = wait_auth(&sim, &reference, &auth_token).await;
    assert_eq!(status["status"]["code"], 200, "{status}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = get(
        &sim,
        "/auth/{referenceNumber}",
        &format!("/auth/{reference}"),
        Some(&auth_token),
    )
    .await;
    assert_eq!(r.status, 410, "{}", r.body);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert_eq!(r.body["status"], 410);
    assert_eq!(
        r.body["detail"],
        "Operacja wygasła i nie jest już dostępna."
    );
    assert_eq!(r.body["instance"], format!("/v2/auth/{reference}"));
    sim.shutdown().await;
}
