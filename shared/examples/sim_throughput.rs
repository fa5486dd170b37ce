//! Benchmark (not a test): how many invoices per second the KSeF simulator accepts in one
//! online session and in one batch session, through ksef-core's own flows over real HTTP (reqwest, as in
//! `tests/flows_against_sim.rs`), beside a baseline measured in the same run: plain
//! `GET /v2/security/public-key-certificates` requests through the same client. The machine
//! may be shared and noisy, so every figure is the median of `ROUNDS` interleaved rounds and
//! is also given as a ratio of the baseline. The simulator's rate limits are off
//! (`RateProfile::Off`), so the figure is its own speed, not PRD's limits. No pass/fail.
//!
//!   cargo run --release --locked -p ksef-core --example sim_throughput

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream;
use ksef_core::api::ContextIdentifier;
use ksef_core::batch::{BatchSend, BatchSender, BatchStage, BatchStore, MAX_PART_BYTES};
use ksef_core::flow::{self, KsefClient, PublicKeys, SentInvoice};
use ksef_sim::SimConfig;
use ksef_sim::limits::RateProfile;

/// Rounds of every measurement (medians are of these).
const ROUNDS: usize = 5;
/// Requests of a baseline round; invoices of a session round.
const N: usize = 200;
/// Invoices of a batch-session round (one ZIP, split into parts of at most 100 MB).
const BATCH_N: usize = 1000;
/// Requests in flight in the concurrent variant.
const IN_FLIGHT: usize = 8;

#[path = "../tests/support/sim_http.rs"]
mod sim_http;
use sim_http::{Client, Reqwest, invoice_for, now, rng, sleep};

/// Median, min and max of `xs` (non-empty).
fn stats(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// `123.4 <unit> (median of 5; min 100.0, max 130.0), 0.45× the baseline request rate`.
fn line(xs: &[f64], unit: &str, baseline: f64) -> String {
    let (m, lo, hi) = stats(xs);
    format!(
        "{m:.1} {unit} (median of {}; min {lo:.1}, max {hi:.1}), {:.2}× the baseline request rate",
        xs.len(),
        m / baseline
    )
}

/// `N` sequential `GET /security/public-key-certificates`: requests per second.
async fn baseline_round(client: &Client) -> f64 {
    let start = Instant::now();
    for _ in 0..N {
        flow::fetch_public_keys(client).await.expect("public keys");
    }
    N as f64 / start.elapsed().as_secs_f64()
}

/// Opens one online session, sends `N` distinct invoices `in_flight` at a time, then polls
/// (`in_flight` at a time) until every one has a KSeF number. Returns (sends per second over
/// the sending phase, invoices accepted per second from the first send to the last acceptance).
async fn session_round(
    client: &Client,
    access: &str,
    keys: &mut PublicKeys,
    nip: &str,
    tag: &str,
    in_flight: usize,
) -> (f64, f64) {
    let session = flow::open_online_session(client, keys, access, now(), &mut rng())
        .await
        .expect("session opens");
    let xmls: Vec<Vec<u8>> = (0..N)
        .map(|i| invoice_for(nip, &format!("FV/BENCH/{tag}/{i}")))
        .collect();
    let session = &session;

    let start = Instant::now();
    let sent: Vec<SentInvoice> = stream::iter(&xmls)
        .map(|xml| async move {
            flow::send_invoice(client, access, session, xml, &mut rng())
                .await
                .expect("invoice sent")
        })
        .buffered(in_flight)
        .collect()
        .await;
    let sending = start.elapsed().as_secs_f64();
    let accepted = stream::iter(&sent)
        .map(|s| async move {
            flow::wait_for_invoice(client, access, s)
                .await
                .expect("invoice accepted")
        })
        .buffered(in_flight)
        .collect::<Vec<_>>()
        .await;
    let until_accepted = start.elapsed().as_secs_f64();
    assert_eq!(accepted.len(), N);
    assert!(accepted.iter().all(|a| !a.ksef_number.is_empty()));

    flow::close_online_session(client, access, session)
        .await
        .expect("session closes");
    (N as f64 / sending, N as f64 / until_accepted)
}

/// The batch kept in memory (the app seals it into IndexedDB at every save).
struct Kept(usize);

impl BatchStore for Kept {
    async fn save(&mut self, batch: &BatchSend) -> Result<(), String> {
        self.0 += serde_json::to_vec(batch).map_err(|e| e.to_string())?.len();
        Ok(())
    }
}

/// `BATCH_N` distinct invoices through ksef-core's batch machine, as the app sends ticked
/// drafts: ZIP, encrypt, open, upload, close, wait for every invoice's outcome. Returns
/// invoices accepted per second from the ZIP's preparation to the last outcome.
async fn batch_round(
    client: &Client,
    access: &str,
    keys: &mut PublicKeys,
    nip: &str,
    tag: &str,
) -> f64 {
    let invoices: Vec<(String, String)> = (0..BATCH_N)
        .map(|i| {
            let number = format!("FV/BATCH/{tag}/{i}");
            let xml = String::from_utf8(invoice_for(nip, &number)).expect("UTF-8 XML");
            (number, xml)
        })
        .collect();
    let start = Instant::now();
    let mut batch = BatchSend::prepare("sim", invoices, MAX_PART_BYTES, &mut rng())
        .await
        .expect("batch prepared");
    BatchSender {
        client,
        keys,
        access_token: access,
        now_unix: now(),
    }
    .advance(&mut Kept(0), &mut batch, &mut rng())
    .await
    .expect("batch sent");
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(batch.stage, BatchStage::Done);
    let accepted = batch
        .items
        .iter()
        .filter(|i| {
            matches!(
                batch.state_of(&i.id),
                Some(ksef_core::send::SendState::Accepted { .. })
            )
        })
        .count();
    assert_eq!(accepted, BATCH_N, "every invoice of the batch accepted");
    BATCH_N as f64 / elapsed
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sim = ksef_sim::spawn(SimConfig {
        rate_profile: RateProfile::Off,
        ..SimConfig::for_tests()
    })
    .await
    .expect("simulator starts");
    let mut client: Client = KsefClient::new(
        Reqwest::default(),
        sleep as fn(u64) -> tokio::time::Sleep,
        format!("{}/v2", sim.base_url),
    );
    // Short status-poll backoff, so waiting does not dominate the acceptance figure.
    client.poll.initial_delay_ms = 5;
    client.poll.max_delay_ms = 50;
    client.poll.max_attempts = 200;
    let mut keys = PublicKeys::default();
    let nip = sim.demo.nip.clone();
    let tokens = flow::login_with_ksef_token(
        &client,
        &mut keys,
        &ContextIdentifier::nip(&nip),
        &sim.demo.ksef_token,
        now(),
        &mut rng(),
    )
    .await
    .expect("demo token logs in");
    let access = tokens.access_token.token.clone();

    let (mut base, mut seq_send, mut seq_acc, mut par_send, mut par_acc, mut batch) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for r in 0..ROUNDS {
        // Interleaved, so a burst of other load on the machine hits all measurements alike.
        base.push(baseline_round(&client).await);
        let (s, a) = session_round(&client, &access, &mut keys, &nip, &format!("S{r}"), 1).await;
        seq_send.push(s);
        seq_acc.push(a);
        let (s, a) = session_round(
            &client,
            &access,
            &mut keys,
            &nip,
            &format!("P{r}"),
            IN_FLIGHT,
        )
        .await;
        par_send.push(s);
        par_acc.push(a);
        batch.push(batch_round(&client, &access, &mut keys, &nip, &format!("B{r}")).await);
    }
    sim.shutdown().await;

    let (b, b_lo, b_hi) = stats(&base);
    println!(
        "in-process ksef-sim, rate limits off (RateProfile::Off), {N} invoices per online \
         session, {BATCH_N} per batch session, {ROUNDS} rounds; accepted = first send until the \
         last has a KSeF number"
    );
    println!(
        "  baseline GET public-key-certificates: {b:.1} req/s (median of {ROUNDS}; min {b_lo:.1}, max {b_hi:.1})"
    );
    println!(
        "  sim online session, sequential: {}",
        line(&seq_acc, "invoices/s accepted", b)
    );
    println!(
        "  sim online session, sequential: {}",
        line(&seq_send, "sends/s", b)
    );
    println!(
        "  sim online session, {IN_FLIGHT} in flight: {}",
        line(&par_acc, "invoices/s accepted", b)
    );
    println!(
        "  sim online session, {IN_FLIGHT} in flight: {}",
        line(&par_send, "sends/s", b)
    );
    println!(
        "  sim batch session, {BATCH_N} invoices (ZIP to the last outcome): {}",
        line(&batch, "invoices/s accepted", b)
    );
}
