//! What the tests and the benchmark that run ksef-core's flows against the simulator over real
//! HTTP share: a reqwest [`Transport`], tokio's sleep, the system RNG and clock, and the minimal
//! FA(3) fixture issued today. Included with `#[path]` by `flows_against_sim.rs`,
//! `sync_against_sim.rs` and `examples/sim_throughput.rs`; each uses a part of it.
#![allow(dead_code)]

use ksef_core::flow::KsefClient;
use ksef_core::transport::{HttpRequest, HttpResponse, Transport};

/// Forwards requests with reqwest — what the relay/browser transport does in production.
#[derive(Clone, Default)]
pub struct Reqwest(pub reqwest::Client);

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

/// A client over [`Reqwest`] that sleeps with tokio.
pub type Client = KsefClient<Reqwest, fn(u64) -> tokio::time::Sleep>;

pub fn sleep(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(std::time::Duration::from_millis(ms))
}

pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    now_ms() / 1000
}

/// The minimal FA(3) fixture issued by `nip` today (in Warsaw, as the simulator counts days)
/// as `number`.
pub fn invoice_for(nip: &str, number: &str) -> Vec<u8> {
    let date = ksef_sim::clock::warsaw_today(time::OffsetDateTime::now_utc()).to_string();
    include_str!("../fixtures/minimal-fa3.xml")
        .replace("<NIP>5265877635</NIP>", &format!("<NIP>{nip}</NIP>"))
        .replace("<P_1>2026-02-01</P_1>", &format!("<P_1>{date}</P_1>"))
        .replace(
            "<DataWytworzeniaFa>2026-02-01T10:00:00Z",
            &format!("<DataWytworzeniaFa>{date}T00:00:00Z"),
        )
        .replace("FV/1/02/2026", number)
        .into_bytes()
}
