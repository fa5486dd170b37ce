//! The batch send machine ([`ksef_core::batch`]) against the KSeF simulator over real HTTP:
//! a month's invoices in one batch session, one of them invalid; a send cut off after the
//! opening and resumed from what was stored, without a second session or a part twice.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ksef_core::api::ContextIdentifier;
use ksef_core::batch::{BatchSend, BatchSender, BatchStage, BatchStore, crc32, zip_stored};
use ksef_core::flow::{self, KsefClient, PublicKeys};
use ksef_core::send::{Login, SendCache, SendState, SendStore, Sender, Step};
use ksef_core::transport::{HttpRequest, HttpResponse, Transport};
use ksef_sim::{RunningSim, SimConfig};

#[path = "support/sim_http.rs"]
mod sim_http;
use sim_http::{Reqwest, invoice_for, now, rng, sleep};

/// Reqwest that counts part uploads per link and can refuse to send them (a lost connection).
#[derive(Clone, Default)]
struct Counting {
    inner: Reqwest,
    puts: Rc<RefCell<HashMap<String, usize>>>,
    /// Uploads allowed before the "connection" drops.
    allow_puts: Rc<RefCell<Option<usize>>>,
}

impl Transport for Counting {
    type Error = String;

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, String> {
        if request.method() == http::Method::PUT {
            let mut allow = self.allow_puts.borrow_mut();
            if let Some(n) = allow.as_mut() {
                if *n == 0 {
                    return Err("connection lost".into());
                }
                *n -= 1;
            }
            let path = request.uri().path().to_owned();
            *self.puts.borrow_mut().entry(path).or_default() += 1;
        }
        self.inner.send(request).await.map_err(|e| e.to_string())
    }
}

type Client = KsefClient<Counting, fn(u64) -> tokio::time::Sleep>;

fn client(sim: &RunningSim, transport: Counting) -> Client {
    let mut client: Client = KsefClient::new(
        transport,
        sleep as fn(u64) -> tokio::time::Sleep,
        format!("{}/v2", sim.base_url),
    );
    client.poll.initial_delay_ms = 50;
    client.poll.max_delay_ms = 300;
    client.poll.max_attempts = 40;
    client
}

/// The stored batch, as the browser's IndexedDB would hold it (JSON).
#[derive(Default)]
struct Stored {
    json: Option<String>,
    saves: Vec<BatchStage>,
}

impl BatchStore for Stored {
    async fn save(&mut self, batch: &BatchSend) -> Result<(), String> {
        self.json = Some(serde_json::to_string(batch).map_err(|e| e.to_string())?);
        self.saves.push(batch.stage);
        Ok(())
    }
}

struct NoStore;

impl SendStore for NoStore {
    async fn save(&mut self, _: &SendState) -> Result<(), String> {
        Ok(())
    }
}

/// One step of the online send machine on `state` (what the invoice's form runs).
async fn online_step(
    sim: &RunningSim,
    transport: &Counting,
    token: &str,
    state: SendState,
    step: Step,
) -> SendState {
    let mut cache = SendCache::default();
    Sender {
        client: client(sim, transport.clone()),
        cache: cache.for_env("sim"),
        login: Login {
            reference: "login",
            access_token: token,
        },
        now_unix: now(),
    }
    .advance(
        &mut NoStore,
        state,
        step,
        Some("<never/>".into()),
        &mut rng(),
    )
    .await
    .unwrap()
}

async fn login(sim: &RunningSim, client: &Client, keys: &mut PublicKeys) -> String {
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
    .access_token
    .token
}

fn invoices(sim: &RunningSim, n: usize, invalid: Option<usize>) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            let mut xml =
                String::from_utf8(invoice_for(&sim.demo.nip, &format!("FB/{i}/2026"))).unwrap();
            if Some(i) == invalid {
                // Not well-formed: KSeF rejects it, the others go through.
                xml = xml.replace("</P_2>", "</P_2x>");
            }
            (format!("draft-{i}"), xml)
        })
        .collect()
}

/// `GET /sessions?sessionType=Batch`: the batch sessions KSeF holds for the context.
async fn batch_sessions(sim: &RunningSim, token: &str) -> Vec<serde_json::Value> {
    let bytes = reqwest::Client::new()
        .get(format!(
            "{}/v2/sessions?sessionType=Batch&pageSize=100",
            sim.base_url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    body["sessions"].as_array().cloned().unwrap_or_default()
}

/// The invoice hashes of session `reference`, as KSeF lists them.
async fn session_hashes(client: &Client, token: &str, reference: &str) -> Vec<String> {
    let page = client
        .execute(
            &ksef_core::api::sessions::invoices::Request {
                reference_number: reference.into(),
                page_size: 1000,
                continuation_token: None,
            },
            Some(token),
        )
        .await
        .unwrap();
    page.invoices
        .into_iter()
        .filter_map(|i| i.invoice_hash)
        .collect()
}

#[test]
fn crc32_and_a_stored_zip_have_the_known_layout() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let zip = zip_stored(&[("a.xml".into(), b"<a/>".as_slice())]);
    assert_eq!(&zip[..4], b"PK\x03\x04");
    assert_eq!(&zip[zip.len() - 22..zip.len() - 18], b"PK\x05\x06");
    // one entry, method 0 (stored), the content itself inside
    assert_eq!(u16::from_le_bytes([zip[8], zip[9]]), 0);
    assert!(zip.windows(4).any(|w| w == b"<a/>"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_month_of_invoices_goes_in_one_batch_and_the_invalid_one_is_rejected() {
    let sim = ksef_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let client = client(&sim, Counting::default());
    let mut keys = PublicKeys::default();
    let token = login(&sim, &client, &mut keys).await;
    // Parts of 16 KB: the 25 invoices' ZIP spans several parts.
    let mut batch = BatchSend::prepare("sim", invoices(&sim, 25, Some(7)), 16_000, &mut rng())
        .await
        .unwrap();
    assert!(
        batch.parts.len() > 1,
        "several parts: {}",
        batch.parts.len()
    );
    let mut store = Stored::default();
    BatchSender {
        client: &client,
        keys: &mut keys,
        access_token: &token,
        now_unix: now(),
    }
    .advance(&mut store, &mut batch, &mut rng())
    .await
    .unwrap();
    assert_eq!(
        store.saves.first(),
        Some(&BatchStage::Prepared),
        "recorded before opening"
    );
    assert_eq!(batch.stage, BatchStage::Done);
    assert_eq!(batch.invoices_progress(), (25, 25));
    assert_eq!(
        batch.parts_progress(),
        (batch.parts.len(), batch.parts.len())
    );
    for (i, item) in batch.items.iter().enumerate() {
        let state = batch.state_of(&item.id).unwrap();
        if i == 7 {
            assert!(
                matches!(&state, SendState::Rejected { code, .. } if *code >= 400),
                "{state:?}"
            );
        } else {
            let ksef = state.ksef_number().unwrap_or_else(|| panic!("{state:?}"));
            assert!(ksef.starts_with(&sim.demo.nip), "{ksef}");
        }
    }
    let sessions = batch_sessions(&sim, &token).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let reference = batch.session_reference.clone().unwrap();
    assert_eq!(sessions[0]["referenceNumber"], reference.as_str());
    assert_eq!(session_hashes(&client, &token, &reference).await.len(), 25);
    sim.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_batch_cut_off_after_opening_resumes_in_the_same_session_sending_nothing_twice() {
    let sim = ksef_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let transport = Counting::default();
    // The connection drops after the first part.
    *transport.allow_puts.borrow_mut() = Some(1);
    let first = client(&sim, transport.clone());
    let mut keys = PublicKeys::default();
    let token = login(&sim, &first, &mut keys).await;
    let mut batch = BatchSend::prepare("sim", invoices(&sim, 12, None), 4_000, &mut rng())
        .await
        .unwrap();
    let parts = batch.parts.len();
    assert!(parts >= 3, "{parts} parts");
    let mut store = Stored::default();
    let err = BatchSender {
        client: &first,
        keys: &mut keys,
        access_token: &token,
        now_unix: now(),
    }
    .advance(&mut store, &mut batch, &mut rng())
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    // The "reload": only what was stored survives; new client, new keys.
    let mut resumed: BatchSend = serde_json::from_str(store.json.as_deref().unwrap()).unwrap();
    assert_eq!(resumed.stage, BatchStage::Open);
    assert_eq!(resumed.parts_progress(), (1, parts));
    let reference = resumed.session_reference.clone().unwrap();
    // Meanwhile the invoice's own page resumes it as an online send would: KSeF does not
    // list it yet, so it stays on its way; it never goes back to a draft or out again online.
    let one = resumed.state_of("draft-3").unwrap();
    assert_eq!(one.key(), "sending");
    let online = online_step(&sim, &transport, &token, one.clone(), Step::Send).await;
    assert_eq!(online, one);
    *transport.allow_puts.borrow_mut() = None;
    let second = client(&sim, transport.clone());
    let mut keys = PublicKeys::default();
    BatchSender {
        client: &second,
        keys: &mut keys,
        access_token: &token,
        now_unix: now(),
    }
    .advance(&mut store, &mut resumed, &mut rng())
    .await
    .unwrap();
    assert_eq!(
        resumed.session_reference.as_deref(),
        Some(reference.as_str())
    );
    assert_eq!(resumed.invoices_progress(), (12, 12));
    assert!(
        resumed
            .items
            .iter()
            .all(|i| resumed.state_of(&i.id).unwrap().ksef_number().is_some())
    );
    // Each part went up once; one batch session; each invoice in it once.
    let puts = transport.puts.borrow().clone();
    assert_eq!(puts.len(), parts, "{puts:?}");
    assert!(puts.values().all(|n| *n == 1), "{puts:?}");
    assert_eq!(batch_sessions(&sim, &token).await.len(), 1);
    let mut hashes = session_hashes(&second, &token, &reference).await;
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), 12);
    // Once processed, the online machine finds it too, with the batch's KSeF number.
    let found = online_step(&sim, &transport, &token, one, Step::Poll).await;
    assert_eq!(
        found.ksef_number(),
        resumed.state_of("draft-3").unwrap().ksef_number()
    );
    // Resuming a finished batch asks nothing and changes nothing.
    let done = resumed.clone();
    BatchSender {
        client: &second,
        keys: &mut keys,
        access_token: &token,
        now_unix: now(),
    }
    .advance(&mut store, &mut resumed, &mut rng())
    .await
    .unwrap();
    assert_eq!(resumed, done);
    sim.shutdown().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_close_whose_answer_was_lost_is_recognised_as_closed() {
    let sim = ksef_sim::spawn(SimConfig::for_tests()).await.unwrap();
    let client = client(&sim, Counting::default());
    let mut keys = PublicKeys::default();
    let token = login(&sim, &client, &mut keys).await;
    let mut batch = BatchSend::prepare("sim", invoices(&sim, 3, None), 1_000_000, &mut rng())
        .await
        .unwrap();
    let mut store = Stored::default();
    let mut sender = BatchSender {
        client: &client,
        keys: &mut keys,
        access_token: &token,
        now_unix: now(),
    };
    sender
        .advance(&mut store, &mut batch, &mut rng())
        .await
        .unwrap();
    // As if the close's answer had been lost: stored as still open, all parts confirmed.
    let mut replay = batch.clone();
    replay.stage = BatchStage::Open;
    for item in &mut replay.items {
        item.outcome = None;
    }
    sender
        .advance(&mut store, &mut replay, &mut rng())
        .await
        .unwrap();
    assert_eq!(replay, batch);
    assert_eq!(batch_sessions(&sim, &token).await.len(), 1);
    sim.shutdown().await;
}
