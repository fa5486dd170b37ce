//! Benchmark (not a test): invoices the simulator accepts per second in one online session,
//! through ksef-core's own flows over real HTTP, beside a baseline measured in the same run
//! (plain `GET /security/public-key-certificates` requests). Medians of ROUNDS rounds; the
//! simulator's rate limits are off, so the figure is its own speed, not PRD's limits.
//!
//!   cargo run --release --locked -p ksef-core --example sim_throughput

use std::time::Instant;

use ksef_core::api::ContextIdentifier;
use ksef_core::flow::{self, KsefClient, PublicKeys};
use ksef_core::transport::{HttpRequest, HttpResponse, Transport};
use ksef_sim::SimConfig;
use ksef_sim::limits::RateProfile;

const ROUNDS: usize = 5;
const INVOICES: usize = 200;
const IN_FLIGHT: usize = 8;

#[derive(Clone, Default)]
struct Reqwest(reqwest::Client);

impl Transport for Reqwest {
    type Error = reqwest::Error;

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let (parts, body) = request.into_parts();
        let response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut builder = http::Response::builder().status(response.status());
        for (k, v) in response.headers() {
            builder = builder.header(k, v);
        }
        let bytes = response.bytes().await?;
        Ok(builder.body(bytes.to_vec()).expect("valid response parts"))
    }
}

type Client = KsefClient<Reqwest, fn(u64) -> tokio::time::Sleep>;

fn sleep(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(std::time::Duration::from_millis(ms))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The minimal FA(3) fixture of the flow tests, issued by `nip` today as `number`.
fn invoice(nip: &str, number: &str) -> Vec<u8> {
    let today = time::OffsetDateTime::now_utc().date();
    let date = format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    include_str!("../tests/fixtures/minimal-fa3.xml")
        .replace("<NIP>5265877635</NIP>", &format!("<NIP>{nip}</NIP>"))
        .replace("<P_1>2026-02-01</P_1>", &format!("<P_1>{date}</P_1>"))
        .replace(
            "<DataWytworzeniaFa>2026-02-01T10:00:00Z",
            &format!("<DataWytworzeniaFa>{date}T00:00:00Z"),
        )
        .replace("FV/1/02/2026", number)
        .into_bytes()
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn summary(xs: &[f64]) -> String {
    let mut v = xs.to_vec();
    let m = median(&mut v);
    format!(
        "{m:.1}/s (median of {}; min {:.1}, max {:.1})",
        xs.len(),
        v[0],
        v[v.len() - 1]
    )
}

/// Sends `INVOICES` invoices in one new session, `in_flight` at a time, then waits until all
/// have KSeF numbers. Returns (sends per second, accepted per second).
async fn round(
    client: &Client,
    access: &str,
    keys: &mut PublicKeys,
    nip: &str,
    tag: &str,
    in_flight: usize,
) -> (f64, f64) {
    let session = flow::open_online_session(
        client,
        keys,
        access,
        now(),
        &mut rand_core::UnwrapErr(getrandom::SysRng),
    )
    .await
    .expect("session opens");
    let xmls: Vec<Vec<u8>> = (0..INVOICES)
        .map(|i| invoice(nip, &format!("FV/BENCH/{tag}/{i}")))
        .collect();
    let start = Instant::now();
    let mut sent = Vec::with_capacity(INVOICES);
    for chunk in xmls.chunks(in_flight) {
        let sends = chunk
            .iter()
            .map(|xml| flow::send_invoice(client, access, &session, xml));
        for r in futures_util::future::join_all(sends).await {
            sent.push(r.expect("invoice sent"));
        }
    }
    let sending = start.elapsed().as_secs_f64();
    for s in &sent {
        flow::wait_for_invoice(client, access, s)
            .await
            .expect("invoice accepted");
    }
    let accepted = start.elapsed().as_secs_f64();
    flow::close_online_session(client, access, &session)
        .await
        .expect("session closes");
    (INVOICES as f64 / sending, INVOICES as f64 / accepted)
}

#[tokio::main]
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
    client.poll.initial_delay_ms = 20;
    client.poll.max_delay_ms = 200;
    let mut keys = PublicKeys::default();
    let nip = sim.demo.nip.clone();
    let tokens = flow::login_with_ksef_token(
        &client,
        &mut keys,
        &ContextIdentifier::nip(&nip),
        &sim.demo.ksef_token,
        now(),
        &mut rand_core::UnwrapErr(getrandom::SysRng),
    )
    .await
    .expect("demo token logs in");
    let access = tokens.access_token.token.clone();

    let (mut base, mut seq_send, mut seq_acc, mut par_send, mut par_acc) =
        (vec![], vec![], vec![], vec![], vec![]);
    for r in 0..ROUNDS {
        // Interleaved, so a burst of other load on the machine hits all alike.
        let start = Instant::now();
        for _ in 0..INVOICES {
            flow::fetch_public_keys(&client).await.expect("keys");
        }
        base.push(INVOICES as f64 / start.elapsed().as_secs_f64());
        let (s, a) = round(&client, &access, &mut keys, &nip, &format!("S{r}"), 1).await;
        seq_send.push(s);
        seq_acc.push(a);
        let (s, a) = round(
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
    }
    let b = median(&mut base.clone());
    let ratio = |xs: &[f64]| median(&mut xs.to_vec()) / b;
    println!(
        "simulator, rate limits off, {INVOICES} invoices per round, {ROUNDS} rounds, one online session each:"
    );
    println!(
        "  baseline GET /security/public-key-certificates: {} requests",
        summary(&base)
    );
    println!(
        "  sequential: sent {} ({:.2}× baseline), accepted {} ({:.2}×)",
        summary(&seq_send),
        ratio(&seq_send),
        summary(&seq_acc),
        ratio(&seq_acc)
    );
    println!(
        "  {IN_FLIGHT} in flight: sent {} ({:.2}× baseline), accepted {} ({:.2}×)",
        summary(&par_send),
        ratio(&par_send),
        summary(&par_acc),
        ratio(&par_acc)
    );
    sim.shutdown().await;
}
