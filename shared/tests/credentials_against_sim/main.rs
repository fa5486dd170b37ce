//! Credentials over their whole life against the KSeF simulator (`ksef-sim`) over real HTTP:
//! KSeF tokens, KSeF certificates, authentication sessions and the accountant's permissions,
//! each checked also against what `ksef_core::access` says the credential may do.
//!
//! One test binary; the tests are grouped as the flows are, sharing the helpers below.
#![cfg(not(target_arch = "wasm32"))]

use ksef_core::api::ContextIdentifier;
use ksef_core::flow::{self, AuthTokens, KsefClient, PublicKeys};
use ksef_core::xades::{SigningKey, XadesSigner};
use ksef_sim::{RunningSim, SimConfig};

mod auth_sessions;
mod certificates;
mod permissions;
mod tokens;

#[path = "../support/sim_http.rs"]
mod sim_http;
use sim_http::{Client, Reqwest, now, rng, sleep};
#[path = "../support/xades_login.rs"]
mod xades_login;
use xades_login::{login_xades, self_signed};

/// An accounting office's NIP (valid checksum), other than the demo company's.
const OFFICE_NIP: &str = "1111111111";

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

/// Logs into `nip`'s context with a KSeF token.
async fn login_token(
    client: &Client,
    nip: &str,
    token: &str,
) -> ksef_core::error::Result<AuthTokens> {
    flow::login_with_ksef_token(
        client,
        &mut PublicKeys::default(),
        &ContextIdentifier::nip(nip),
        token,
        now(),
        &mut rng(),
    )
    .await
}

/// The Owner of `nip`: a self-signed `TINPL-<nip>` certificate logged in by XAdES.
async fn login_owner(client: &Client, nip: &str, name: &str) -> (XadesSigner, AuthTokens) {
    let signer = self_signed(nip, &SigningKey::generate_p256(&mut rng()).unwrap(), name);
    let tokens = login_xades(client, &signer, nip)
        .await
        .expect("the owner's certificate logs in");
    (signer, tokens)
}

/// A KSeF token of `nip` for the context `context_nip` through the simulator's control API
/// (`POST /sim/tokens`): it logs in only with a grant there.
async fn mint_token(
    sim: &RunningSim,
    nip: &str,
    context_nip: &str,
    permissions: &[&str],
) -> String {
    let body =
        serde_json::json!({"nip": nip, "contextNip": context_nip, "permissions": permissions});
    let response = reqwest::Client::new()
        .post(format!("{}/sim/tokens", sim.base_url))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let v: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    v["token"].as_str().unwrap().to_owned()
}
