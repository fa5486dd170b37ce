//! KSeF sessions kept across reloads (`sessions` store), in headless Chromium: sealed by the
//! vault (no token or AES key in clear), restored with a still valid login and online session,
//! dropped when the refresh token has expired, forgotten at logout.
#![cfg(target_arch = "wasm32")]

use kwit_web::api::Env;
use kwit_web::session::{self, OnlineSessionData, Restored, Session, TokenInfo};
use kwit_web::store::{self, Db, SCHEMA_VERSION, Store};
use kwit_web::vault::Vault;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ACCESS: &str = "eyJhbGciOiJIUzI1NiJ9.access-secret-4711";
const REFRESH: &str = "eyJhbGciOiJIUzI1NiJ9.refresh-secret-0815";
const AES_KEY: [u8; 32] = [7; 32];

fn iso_in(ms: f64) -> String {
    js_sys::Date::new(&(js_sys::Date::now() + ms).into())
        .to_iso_string()
        .into()
}

fn login(access_valid_ms: f64, refresh_valid_ms: f64) -> Session {
    Session {
        company_id: "c1".into(),
        nip: "5265877635".into(),
        env: Env::Sim,
        credential_id: "k1".into(),
        reference_number: "20251124-AU-1".into(),
        access: TokenInfo {
            token: ACCESS.into(),
            valid_until: iso_in(access_valid_ms),
        },
        refresh: TokenInfo {
            token: REFRESH.into(),
            valid_until: iso_in(refresh_valid_ms),
        },
        permissions: vec!["InvoiceWrite".into(), "InvoiceRead".into()],
        refreshed_at_ms: js_sys::Date::now(),
    }
}

fn online(valid_ms: f64) -> OnlineSessionData {
    OnlineSessionData::of(&ksef_core::flow::OnlineSession {
        reference_number: "20251124-SO-1".into(),
        valid_until: Some(iso_in(valid_ms)),
        key: ksef_core::crypto::SymmetricKey {
            key: AES_KEY,
            iv: [9; 16],
        },
    })
}

async fn setup(name: &str) -> (Db, Vault) {
    store::delete_database(name).await.unwrap();
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    let (vault, _) = Vault::create_with_iterations("hasło do sesji", 1000)
        .await
        .unwrap();
    (db, vault)
}

#[wasm_bindgen_test]
async fn a_kept_session_is_sealed_and_comes_back_after_reopening() {
    let name = "kwit-test-session";
    let (db, vault) = setup(name).await;
    let s = login(3_600_000.0, 7_200_000.0);
    session::keep(&db, &vault, &s, Some(online(3_600_000.0)))
        .await
        .unwrap();

    // Nothing secret in clear in IndexedDB.
    let raw: kwit_web::vault::Sealed = db.get(Store::Sessions, "c1").await.unwrap().unwrap();
    let dump = format!("{raw:?}");
    let key_b64 = online(0.0).key;
    for secret in [ACCESS, REFRESH, "access-secret", key_b64.as_str()] {
        assert!(!dump.contains(secret), "{secret} is not stored in clear");
    }
    db.close();

    // A reload: a new connection, the vault unlocked again.
    let db = store::open_named(name, SCHEMA_VERSION).await.unwrap();
    let restored = session::restore(&db, &vault, "c1", js_sys::Date::now())
        .await
        .unwrap();
    let Restored::Session(back, Some(o)) = restored.clone() else {
        panic!("restored: {restored:?}");
    };
    assert_eq!(back.access, s.access, "no refresh needed");
    assert_eq!(back.refresh, s.refresh);
    assert_eq!(back.reference_number, s.reference_number);
    assert_eq!(back.permissions, s.permissions);
    assert_eq!(back.company_id, "c1");
    let o = o.to_online().unwrap();
    assert_eq!(o.reference_number, "20251124-SO-1");
    assert_eq!(o.key.key, AES_KEY);
    assert_eq!(o.key.iv, [9; 16]);

    // Another passphrase cannot open it.
    let (other, _) = Vault::create_with_iterations("inne hasło", 1000)
        .await
        .unwrap();
    assert!(session::kept(&db, &other, "c1").await.is_err());

    // Logout forgets it.
    session::forget_kept(&db, "c1").await.unwrap();
    assert_eq!(
        session::restore(&db, &vault, "c1", js_sys::Date::now())
            .await
            .unwrap(),
        Restored::Nothing
    );
    db.close();
}

#[wasm_bindgen_test]
async fn an_expired_online_session_is_not_restored_and_an_expired_refresh_token_ends_the_login() {
    let (db, vault) = setup("kwit-test-session-expired").await;
    session::keep(
        &db,
        &vault,
        &login(3_600_000.0, 7_200_000.0),
        Some(online(-1000.0)),
    )
    .await
    .unwrap();
    let restored = session::restore(&db, &vault, "c1", js_sys::Date::now())
        .await
        .unwrap();
    assert!(
        matches!(restored, Restored::Session(_, None)),
        "login kept, expired online session dropped: {restored:?}"
    );

    session::keep(&db, &vault, &login(-10_000.0, -1000.0), None)
        .await
        .unwrap();
    assert_eq!(
        session::restore(&db, &vault, "c1", js_sys::Date::now())
            .await
            .unwrap(),
        Restored::Gone
    );
    assert_eq!(
        session::kept(&db, &vault, "c1").await.unwrap(),
        None,
        "deleted"
    );
    db.close();
}
