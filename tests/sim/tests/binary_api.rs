//! The `ksef-sim` binary as a user runs it: `--state-file` survives a restart, SIGTERM and
//! Ctrl+C (SIGINT) stop it gracefully (requests in flight are answered, state is saved).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const KEY: [u8; 32] = [0x5a; 32];
const IV: [u8; 16] = [0x33; 16];
const BUYER_NIP: &str = "7352765225";

/// A `ksef-sim` process started by a test (killed if the test fails midway).
struct SimProcess {
    child: Option<Child>,
    base_url: String,
    demo_nip: String,
    demo_token: String,
}

impl SimUrl for SimProcess {
    fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl SimProcess {
    /// Starts the binary on a free port and reads the banner it prints.
    fn start(state_file: Option<&Path>) -> SimProcess {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ksef-sim"));
        cmd.args(["--listen", "127.0.0.1:0", "--rate-limits", "off"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(path) = state_file {
            cmd.arg("--state-file").arg(path);
        }
        let mut child = cmd.spawn().expect("ksef-sim binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut base_url, mut demo_nip, mut demo_token) = (None, None, None);
        while demo_token.is_none() {
            let line = lines
                .next()
                .expect("the simulator prints its banner")
                .unwrap();
            if let Some(rest) = line.strip_prefix("KSeF simulator listening on ") {
                base_url = Some(rest.trim_end_matches("/v2").to_string());
            } else if let Some(rest) = line.strip_prefix("Demo company: ") {
                let nip = rest.rsplit("NIP ").next().unwrap().trim_end_matches(')');
                demo_nip = Some(nip.to_string());
            } else if let Some(rest) = line.strip_prefix("Demo KSeF token: ") {
                demo_token = Some(rest.to_string());
            }
        }
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        SimProcess {
            child: Some(child),
            base_url: base_url.expect("listening line"),
            demo_nip: demo_nip.expect("demo line"),
            demo_token: demo_token.unwrap(),
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns whether it exited with success.
    fn wait_exit(&mut self, within: Duration) -> bool {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the simulator did not stop within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ksef-sim-bin-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn today() -> String {
    let now =
        time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap());
    now.date().to_string()
}

fn invoice(seller: &str, number: &str) -> Vec<u8> {
    include_str!("data/minimal-fa3.xml")
        .replace("5265877635", seller)
        .replace("FV/1/02/2026", number)
        .replace("2026-02-01</P_1>", &format!("{}</P_1>", today()))
        .into_bytes()
}

fn b64sha(data: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(data))
}

async fn open_session(sim: &SimProcess, access: &str) -> String {
    open_online_session(sim, access, &KEY, &IV).await
}

/// Sends an invoice (AES-256-CBC with the session key) and waits for its final status.
async fn send_invoice(sim: &SimProcess, access: &str, session: &str, xml: &[u8]) -> Value {
    let enc =
        cbc::Encryptor::<Aes256>::new(&KEY.into(), &IV.into()).encrypt_padded_vec::<Pkcs7>(xml);
    let r = post(
        sim,
        "/sessions/online/{referenceNumber}/invoices",
        &format!("/sessions/online/{session}/invoices"),
        Some(access),
        Some(json!({
            "invoiceHash": b64sha(xml), "invoiceSize": xml.len(),
            "encryptedInvoiceHash": b64sha(&enc), "encryptedInvoiceSize": enc.len(),
            "encryptedInvoiceContent": STANDARD.encode(&enc), "offlineMode": false
        })),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let reference = r.body["referenceNumber"].as_str().unwrap().to_string();
    invoice_status(sim, access, session, &reference, true).await
}

async fn invoice_status(
    sim: &SimProcess,
    access: &str,
    session: &str,
    reference: &str,
    wait: bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = get(
            sim,
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}",
            &format!("/sessions/{session}/invoices/{reference}"),
            Some(access),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if !wait || r.body["status"]["code"].as_u64().unwrap() >= 200 {
            return r.body;
        }
        assert!(Instant::now() < deadline, "invoice never processed");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn control(sim: &SimProcess, path: &str, body: Value) -> Value {
    let r = client()
        .post(format!("{}{path}", sim.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_file_survives_a_sigterm_restart() {
    let dir = temp_dir();
    let state_file = dir.join("sim-state.json");
    let mut sim = SimProcess::start(Some(&state_file));

    // Data a user would expect to find again: a minted KSeF token, an accepted invoice with
    // its KSeF number in an open session, a seeded buyer inbox, an access token.
    let minted = control(
        &sim,
        "/sim/tokens",
        json!({"nip": BUYER_NIP, "permissions": ["InvoiceRead"], "description": "po restarcie"}),
    )
    .await;
    let minted_token = minted["token"].as_str().unwrap().to_string();
    let (key_id_before, _) = pick_key(&sim, "KsefTokenEncryption").await;
    let (access, _) = login(&sim, &sim.demo_token, &sim.demo_nip).await;
    let session = open_session(&sim, &access).await;
    let first = send_invoice(&sim, &access, &session, &invoice(&sim.demo_nip, "FV/ST/1")).await;
    assert_eq!(first["status"]["code"], 200, "{first}");
    let ksef_number = first["ksefNumber"].as_str().unwrap().to_string();
    let first_ref = first["referenceNumber"].as_str().unwrap().to_string();
    let inbox = control(&sim, "/sim/inbox", json!({"nip": BUYER_NIP, "count": 2})).await;
    let inbox_numbers = inbox["ksefNumbers"].clone();
    assert_eq!(inbox_numbers.as_array().unwrap().len(), 2);

    let (demo_nip, demo_token) = (sim.demo_nip.clone(), sim.demo_token.clone());
    sim.signal("TERM");
    assert!(sim.wait_exit(Duration::from_secs(20)), "SIGTERM → exit 0");
    let saved = std::fs::read_to_string(&state_file).expect("state file written on shutdown");
    assert!(saved.contains(&ksef_number));
    assert!(
        !saved.contains(&minted_token),
        "KSeF token secrets are kept as hashes only"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files left: {leftovers:?}");

    let sim = SimProcess::start(Some(&state_file));
    // Same demo company and keys; the access token from before the restart still works.
    assert_eq!((&sim.demo_nip, &sim.demo_token), (&demo_nip, &demo_token));
    let demo: Value = client()
        .get(format!("{}/sim/demo", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["ksefToken"], sim.demo_token);
    assert_eq!(pick_key(&sim, "KsefTokenEncryption").await.0, key_id_before);
    let again = invoice_status(&sim, &access, &session, &first_ref, false).await;
    assert_eq!(again["ksefNumber"], ksef_number.as_str());
    let r = get(
        &sim,
        "/invoices/ksef/{ksefNumber}",
        &format!("/invoices/ksef/{ksef_number}"),
        Some(&access),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.as_str().unwrap().contains("FV/ST/1"));

    // The session key survived: the open session takes another invoice; the duplicate rule
    // still knows the first one.
    let second = send_invoice(&sim, &access, &session, &invoice(&sim.demo_nip, "FV/ST/2")).await;
    assert_eq!(second["status"]["code"], 200, "{second}");
    let dup = send_invoice(&sim, &access, &session, &invoice(&sim.demo_nip, "FV/ST/1")).await;
    assert_eq!(dup["status"]["code"], 440, "{dup}");

    // The minted token logs in (encrypted with the same published key) and sees its inbox.
    let (buyer_access, _) = login(&sim, &minted_token, BUYER_NIP).await;
    for number in inbox_numbers.as_array().unwrap() {
        let number = number.as_str().unwrap();
        let r = get(
            &sim,
            "/invoices/ksef/{ksefNumber}",
            &format!("/invoices/ksef/{number}"),
            Some(&buyer_access),
        )
        .await;
        assert_eq!(r.status, 200, "{number}: {}", r.body);
    }
    sim.signal("INT");
    let mut sim = sim;
    assert!(sim.wait_exit(Duration::from_secs(20)), "Ctrl+C → exit 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_request_in_flight_before_stopping() {
    let dir = temp_dir();
    let mut sim = SimProcess::start(Some(&dir.join("state.json")));
    fault(
        &sim,
        json!({"method": "GET", "path": "/v2/security/public-key-certificates", "kind": "delay", "delayMs": 1500}),
    )
    .await;
    let url = format!("{}/v2/security/public-key-certificates", sim.base_url);
    let in_flight = tokio::spawn(async move { client().get(url).send().await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    sim.signal("TERM");
    let resp = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(resp.status(), 200);
    let keys: Value = resp.json().await.unwrap();
    assert!(!keys.as_array().unwrap().is_empty());
    assert!(sim.wait_exit(Duration::from_secs(20)), "SIGTERM → exit 0");
    assert!(
        signalled.elapsed() >= Duration::from_millis(900),
        "the process waited for the request"
    );
    // Stopped: nothing listens any more.
    let r = client()
        .get(format!(
            "{}/v2/security/public-key-certificates",
            sim.base_url
        ))
        .send()
        .await;
    assert!(r.is_err(), "the port is closed after shutdown");
}
