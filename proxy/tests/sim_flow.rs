//! Against the real KSeF simulator: a whole login-and-send flow through the real relay
//! binary (logging at TRACE), after which none of the secrets appear in its output; and
//! faults injected through the simulator's `/sim/faults` API.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser as _;
use ksef_core::crypto::{self, ParsedCertificate, SymmetricKey};
use serde_json::{Value, json};
use tower::ServiceExt as _;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn invoice_xml(seller_nip: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek>
    <KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza>
    <DataWytworzeniaFa>2026-02-01T10:00:00Z</DataWytworzeniaFa>
  </Naglowek>
  <Podmiot1>
    <DaneIdentyfikacyjne><NIP>{seller_nip}</NIP><Nazwa>Sprzedawca Relay</Nazwa></DaneIdentyfikacyjne>
    <Adres><KodKraju>PL</KodKraju><AdresL1>ul. Testowa 1, 00-001 Warszawa</AdresL1></Adres>
  </Podmiot1>
  <Podmiot2>
    <DaneIdentyfikacyjne><NIP>7352765225</NIP><Nazwa>Nabywca POUFNY-NABYWCA-5150</Nazwa></DaneIdentyfikacyjne>
    <JST>2</JST><GV>2</GV>
  </Podmiot2>
  <Fa>
    <KodWaluty>PLN</KodWaluty>
    <P_1>2026-02-01</P_1>
    <P_2>FV/POUFNY-NUMER-3141</P_2>
    <P_13_1>100.00</P_13_1><P_14_1>23.00</P_14_1>
    <P_15>123.00</P_15>
    <Adnotacje>
      <P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A>
      <Zwolnienie><P_19N>1</P_19N></Zwolnienie>
      <NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu>
      <P_23>2</P_23>
      <PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy>
    </Adnotacje>
    <RodzajFaktury>VAT</RodzajFaktury>
    <FaWiersz>
      <NrWierszaFa>1</NrWierszaFa><P_7>Usługa programistyczna</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B>
      <P_9A>100.00</P_9A><P_11>100.00</P_11><P_12>23</P_12>
    </FaWiersz>
  </Fa>
</Faktura>
"#
    )
}

/// A small JSON client for the relay's `/ksef/sim/...` tree.
struct Ksef {
    http: reqwest::Client,
    base: String,
}

impl Ksef {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("relay answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    async fn poll(&self, path: &str, bearer: &str) -> Value {
        for _ in 0..100 {
            let (status, body) = self
                .call(reqwest::Method::GET, path, Some(bearer), None)
                .await;
            assert_eq!(status, 200, "{path}: {body}");
            if body["status"]["code"].as_i64().unwrap_or(0) >= 200 {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path} never finished");
    }
}

fn cert_for(certs: &Value, usage: &str) -> ParsedCertificate {
    let entry = certs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["usage"].as_array().unwrap().iter().any(|u| u == usage))
        .max_by_key(|c| c["validFrom"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {usage} certificate"));
    ParsedCertificate::from_base64(entry["certificate"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn login_and_send_through_the_relay_leaves_no_secret_in_its_output() {
    let sim = ksef_sim::spawn(ksef_sim::SimConfig::for_tests())
        .await
        .unwrap();
    let relay = common::RelayProcess::start(&["--sim-url", &sim.base_url, "--rate-limit", "0"]);
    let ksef = Ksef {
        http: reqwest::Client::new(),
        base: relay.url("/ksef/sim/v2"),
    };
    let ksef_token = sim.demo.ksef_token.clone();
    let nip = sim.demo.nip.clone();
    use reqwest::Method as M;

    let (status, certs) = ksef
        .call(M::GET, "/security/public-key-certificates", None, None)
        .await;
    assert_eq!(status, 200, "{certs}");
    let token_cert = cert_for(&certs, "KsefTokenEncryption");
    let key_cert = cert_for(&certs, "SymmetricKeyEncryption");

    let (status, challenge) = ksef.call(M::POST, "/auth/challenge", None, None).await;
    assert_eq!(status, 200, "{challenge}");
    let encrypted_token = crypto::encrypt_ksef_token(
        &token_cert,
        &ksef_token,
        challenge["timestampMs"].as_i64().unwrap(),
        &mut rng(),
    )
    .await
    .unwrap();
    let (status, auth) = ksef
        .call(
            M::POST,
            "/auth/ksef-token",
            None,
            Some(json!({
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": nip},
                "encryptedToken": encrypted_token,
                "publicKeyId": token_cert.public_key_id,
            })),
        )
        .await;
    assert_eq!(status, 202, "{auth}");
    let auth_token = auth["authenticationToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let auth_ref = auth["referenceNumber"].as_str().unwrap().to_owned();
    let done = ksef.poll(&format!("/auth/{auth_ref}"), &auth_token).await;
    assert_eq!(done["status"]["code"], 200, "{done}");
    let (status, tokens) = ksef
        .call(M::POST, "/auth/token/redeem", Some(&auth_token), None)
        .await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["accessToken"]["token"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"]["token"].as_str().unwrap().to_owned();
    let (status, refreshed) = ksef
        .call(M::POST, "/auth/token/refresh", Some(&refresh), None)
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let access = refreshed["accessToken"]["token"]
        .as_str()
        .map_or(access, str::to_owned);

    let key = SymmetricKey::generate(&mut rng()).unwrap();
    let encryption = crypto::encryption_info(&key_cert, &key, &mut rng())
        .await
        .unwrap();
    let (status, session) = ksef
        .call(
            M::POST,
            "/sessions/online",
            Some(&access),
            Some(json!({
                "formCode": {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
                "encryption": encryption,
            })),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let session_ref = session["referenceNumber"].as_str().unwrap().to_owned();

    let xml = invoice_xml(&nip);
    let ciphertext = key.encrypt(xml.as_bytes());
    let encrypted_b64 = crypto::base64_encode(&ciphertext);
    let (status, sent) = ksef
        .call(
            M::POST,
            &format!("/sessions/online/{session_ref}/invoices"),
            Some(&access),
            Some(json!({
                "invoiceHash": crypto::sha256_base64(xml.as_bytes()),
                "invoiceSize": xml.len(),
                "encryptedInvoiceHash": crypto::sha256_base64(&ciphertext),
                "encryptedInvoiceSize": ciphertext.len(),
                "encryptedInvoiceContent": encrypted_b64,
                "offlineMode": false,
            })),
        )
        .await;
    assert_eq!(status, 202, "{sent}");
    let invoice_ref = sent["referenceNumber"].as_str().unwrap().to_owned();
    let invoice = ksef
        .poll(
            &format!("/sessions/{session_ref}/invoices/{invoice_ref}"),
            &access,
        )
        .await;
    assert_eq!(invoice["status"]["code"], 200, "{invoice}");
    let ksef_number = invoice["ksefNumber"].as_str().unwrap().to_owned();

    // The UPO link is absolute; the SPA rewrites `{host}/storage/...` to the relay.
    let upo_url = invoice["upoDownloadUrl"].as_str().unwrap();
    let storage_path = &upo_url[upo_url.find("/storage/").unwrap()..];
    let upo = reqwest::get(relay.url(&format!("/ksef/sim{storage_path}")))
        .await
        .unwrap();
    assert_eq!(upo.status(), 200);
    assert!(upo.headers().contains_key("x-ms-meta-hash"));
    let upo_text = upo.text().await.unwrap();
    assert!(upo_text.contains(&ksef_number), "{upo_text}");

    let (status, _) = ksef
        .call(
            M::POST,
            &format!("/sessions/online/{session_ref}/close"),
            Some(&access),
            None,
        )
        .await;
    assert_eq!(status, 204);

    // Downloading the invoice back (plaintext XML through the relay).
    let downloaded = ksef
        .http
        .get(relay.url(&format!("/ksef/sim/v2/invoices/ksef/{ksef_number}")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert!(
        downloaded
            .text()
            .await
            .unwrap()
            .contains("POUFNY-NUMER-3141")
    );

    let (ok, output) = relay.finish(true);
    assert!(ok, "{output}");
    assert!(
        output.contains("/ksef/{env}/v2/{*path}"),
        "the access log is there: {output}"
    );
    let storage_query = upo_url.split_once('?').map(|(_, q)| q.to_owned());
    let mut secrets = vec![
        ("KSeF token", ksef_token.clone()),
        (
            "KSeF token secret part",
            ksef_token.rsplit('|').next().unwrap().to_owned(),
        ),
        ("authentication token", auth_token),
        ("access token", access),
        ("refresh token", refresh),
        ("encrypted KSeF token", encrypted_token[..40].to_owned()),
        ("invoice number", "POUFNY-NUMER-3141".to_owned()),
        ("buyer name", "POUFNY-NABYWCA-5150".to_owned()),
        ("encrypted invoice", encrypted_b64[..40].to_owned()),
        ("session reference", session_ref),
        ("KSeF number", ksef_number),
    ];
    if let Some(query) = storage_query.filter(|q| q.len() > 8) {
        secrets.push(("storage link query", query));
    }
    for (what, secret) in secrets {
        assert!(
            !output.contains(&secret),
            "{what} leaked into the relay's output:\n{output}"
        );
    }
    sim.shutdown().await;
}

async fn fault(sim_url: &str, spec: Value) {
    let response = reqwest::Client::new()
        .post(format!("{sim_url}/sim/faults"))
        .header("content-type", "application/json")
        .body(spec.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
}

#[tokio::test]
async fn simulator_faults_become_clear_problems() {
    let sim = ksef_sim::spawn(ksef_sim::SimConfig::for_tests())
        .await
        .unwrap();
    let relay = kwit_relay::app(kwit_relay::Config::parse_from([
        "kwit-relay",
        "--sim-url",
        &sim.base_url,
        "--rate-limit",
        "0",
        "--upstream-timeout",
        "1",
    ]));
    let get = || {
        Request::get("/ksef/sim/v2/security/public-key-certificates")
            .body(Body::empty())
            .unwrap()
    };
    let path = "/v2/security/public-key-certificates";

    fault(
        &sim.base_url,
        json!({"method": "GET", "path": path, "kind": "html403"}),
    )
    .await;
    let response = relay.clone().oneshot(get()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(common::body_json(response).await["code"], "upstream-html");

    fault(
        &sim.base_url,
        json!({"method": "GET", "path": path, "kind": "drop"}),
    )
    .await;
    let response = relay.clone().oneshot(get()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        common::body_json(response).await["code"],
        "upstream-unreachable"
    );

    fault(
        &sim.base_url,
        json!({"method": "GET", "path": path, "kind": "delay", "delayMs": 3000}),
    )
    .await;
    let response = relay.clone().oneshot(get()).await.unwrap();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);

    fault(
        &sim.base_url,
        json!({"method": "GET", "path": path, "kind": "status", "status": 429, "retryAfter": 7}),
    )
    .await;
    let response = relay.clone().oneshot(get()).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");

    // Faults are used up: the next call goes through.
    let response = relay.oneshot(get()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    sim.shutdown().await;
}

/// Expired and dangling storage links: the relay passes the blob host's 403/404 (XML body,
/// `x-ms-error-code`) through unchanged, so a client sees what KSeF's storage says.
#[tokio::test]
async fn expired_and_missing_storage_links_pass_through_unchanged() {
    let sim = ksef_sim::spawn(ksef_sim::SimConfig::for_tests())
        .await
        .unwrap();
    let relay = kwit_relay::app(kwit_relay::Config::parse_from([
        "kwit-relay",
        "--sim-url",
        &sim.base_url,
        "--rate-limit",
        "0",
    ]));
    let cases = [
        // Expired a minute ago: the signature is right, the time is not.
        (
            "/storage/upo/20260101-SO-0000000000-0000000000-00/invoices/x.xml",
            -60,
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
        ),
        // Valid for an hour, but there is no such blob.
        (
            "/storage/exports/20260101-EH-0000000000-0000000000-00/nothing-001.zip.aes",
            3600,
            StatusCode::NOT_FOUND,
            "BlobNotFound",
        ),
    ];
    for (path, expires, status, code) in cases {
        let link = ksef_sim::storage::link_expiring_in(&sim.state, path, expires);
        let direct = reqwest::get(&link).await.unwrap();
        assert_eq!(direct.status().as_u16(), status.as_u16(), "{link}");
        let direct_body = direct.text().await.unwrap();
        let through = &link[link.find("/storage/").unwrap()..];
        let response = relay
            .clone()
            .oneshot(
                Request::get(format!("/ksef/sim{through}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(response.headers()["x-ms-error-code"], code);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("xml")
        );
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains(&format!("<Code>{code}</Code>")), "{body}");
        // Same document as the storage host gave (the request id and time differ).
        assert_eq!(
            body.split("RequestId").next(),
            direct_body.split("RequestId").next()
        );
    }
    sim.shutdown().await;
}
