//! The sync machine against a canned, stateful fake KSeF: real crypto (the fake unwraps the
//! export key with its RSA key and encrypts the package parts), a real ZIP, virtual time.
//!
//! One test binary: this file holds the fake and the helpers, the tests are grouped in
//! `export.rs`, `resume.rs` and `windows.rs`.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use ksef_core::crypto;
use ksef_core::flow::{KsefClient, PublicKeys};
use ksef_core::sync::{MemoryStore, Step, SubjectType, SyncKey, SyncPolicy, SyncRun, crc32};
use ksef_core::transport::{HttpRequest, HttpResponse, Sleep, Transport};
use serde_json::{Value, json};

mod export;
mod resume;
mod windows;

const NIP: &str = "5265877635";
const MINUTE: u64 = 60_000;
const DAY: u64 = 24 * 60 * MINUTE;

#[path = "../support/ksef_keys.rs"]
mod ksef_keys;
use ksef_keys::ksef_keys;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The certificate is valid from the real now, so virtual time starts there — read after the
/// certificate exists (another test may be making it while this one starts).
fn real_now_ms() -> u64 {
    let _ = ksef_keys();
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn iso(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_ms(text: &str) -> u64 {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| panic!("RFC 3339: {text}"));
    (t.unix_timestamp_nanos() / 1_000_000) as u64
}

fn response(status: u16, body: Value) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap()
}

/// A stored-only ZIP, written by hand (the reader under test must not share code with it).
fn zip_stored(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let header = |sig: u32, central: bool| {
            let mut h = Vec::new();
            h.extend(sig.to_le_bytes());
            if central {
                h.extend(20u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(0u16.to_le_bytes()); // stored
            h.extend(0u32.to_le_bytes()); // time, date
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment, disk, internal attrs
                h.extend(0u32.to_le_bytes()); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend(data);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    let cd_size = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend(cd_size.to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[derive(Clone)]
struct Invoice {
    ksef: String,
    stored_ms: u64,
    xml: String,
}

struct Export {
    parts: Vec<Vec<u8>>,
    truncated: bool,
    last: Option<u64>,
    hwm: u64,
    count: usize,
}

/// The fake KSeF: invoices with permanent-storage dates, a HWM, a record cap per package.
#[derive(Default)]
struct Fake {
    invoices: Vec<Invoice>,
    hwm_ms: u64,
    cap: usize,
    polls_before_ready: u32,
    /// Request numbers answered with 429 (`Retry-After: 30`).
    throttle: BTreeSet<usize>,
    /// Export status answered with this code instead of success, once.
    fail_status: Option<i64>,
    exports: BTreeMap<String, Export>,
    status_calls: BTreeMap<String, u32>,
    /// `(method, path, body)` of every request.
    log: Vec<(String, String, Value)>,
}

impl Fake {
    fn new(hwm_ms: u64) -> Self {
        Self {
            hwm_ms,
            cap: 10_000,
            polls_before_ready: 1,
            ..Self::default()
        }
    }

    fn add(&mut self, n: usize, stored_ms: u64) {
        let i = self.invoices.len();
        let ksef = format!(
            "7352765225-20260215-{:012X}-00",
            0x0100_0000_0000u64 + (i + n) as u64
        );
        self.invoices.push(Invoice {
            xml: format!("<Faktura><P_2>FV/{}</P_2></Faktura>", i + n),
            ksef,
            stored_ms,
        });
    }

    fn add_many(&mut self, count: usize, first_ms: u64, step_ms: u64) {
        for k in 0..count {
            self.add(1000 + self.invoices.len(), first_ms + k as u64 * step_ms);
        }
    }

    fn metadata(inv: &Invoice) -> Value {
        json!({
            "ksefNumber": inv.ksef, "invoiceNumber": "FV", "issueDate": "2026-02-15",
            "permanentStorageDate": iso(inv.stored_ms),
            "seller": {"nip": "7352765225", "name": "Biuro"},
            "buyer": {"identifier": {"type": "Nip", "value": NIP}, "name": "Kwit"},
            "netAmount": 100.0, "grossAmount": 123.0, "vatAmount": 23.0, "currency": "PLN",
            "invoiceType": "Vat",
            "invoiceHash": crypto::sha256_base64(inv.xml.as_bytes()),
        })
    }

    fn select(&self, filters: &Value) -> Vec<Invoice> {
        let range = &filters["dateRange"];
        assert_eq!(range["dateType"], "PermanentStorage");
        assert_eq!(range["restrictToPermanentStorageHwmDate"], true);
        assert_eq!(filters["subjectType"], "Subject2");
        let from = parse_ms(range["from"].as_str().unwrap());
        let mut to = self.hwm_ms;
        if let Some(t) = range["to"].as_str() {
            let t = parse_ms(t);
            assert!(t <= from + 92 * DAY, "a window spans at most 3 months");
            to = to.min(t);
        }
        let mut hits: Vec<Invoice> = self
            .invoices
            .iter()
            .filter(|i| i.stored_ms >= from && i.stored_ms <= to)
            .cloned()
            .collect();
        hits.sort_by_key(|i| i.stored_ms);
        hits
    }

    fn handle(&mut self, req: &HttpRequest, key: &rsa::PrivateKey, cert: &str) -> HttpResponse {
        let path = req.uri().path().to_owned();
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        let n = self.log.len();
        self.log
            .push((req.method().to_string(), path.clone(), body.clone()));
        if self.throttle.contains(&n) {
            let mut r = response(
                429,
                json!({"status": {"code": 429, "description": "Too Many Requests"}}),
            );
            r.headers_mut().insert("retry-after", "30".parse().unwrap());
            return r;
        }
        if path.ends_with("/security/public-key-certificates") {
            return response(
                200,
                json!([
                    {"certificate": cert, "usage": ["SymmetricKeyEncryption"], "validFrom": "2025-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}
                ]),
            );
        }
        if path.ends_with("/invoices/query/metadata") {
            let hits = self.select(&body);
            let size: usize = req
                .uri()
                .query()
                .unwrap()
                .split('&')
                .find_map(|kv| kv.strip_prefix("pageSize="))
                .unwrap()
                .parse()
                .unwrap();
            return response(
                200,
                json!({
                    "hasMore": hits.len() > size,
                    "isTruncated": false,
                    "permanentStorageHwmDate": iso(self.hwm_ms),
                    "invoices": hits.iter().take(size).map(Self::metadata).collect::<Vec<_>>(),
                }),
            );
        }
        if let Some(number) = path.strip_prefix("/v2/invoices/ksef/") {
            let inv = self.invoices.iter().find(|i| i.ksef == number).unwrap();
            return http::Response::builder()
                .status(200)
                .body(inv.xml.clone().into_bytes())
                .unwrap();
        }
        if path.ends_with("/invoices/exports") {
            let enc = &body["encryption"];
            let aes = key
                .decrypt(
                    rsa::Oaep::<sha2::Sha256>::new(),
                    &crypto::base64_decode(enc["encryptedSymmetricKey"].as_str().unwrap()).unwrap(),
                )
                .expect("the export key is wrapped with KSeF's public key");
            let iv = crypto::base64_decode(enc["initializationVector"].as_str().unwrap()).unwrap();
            let hits = self.select(&body["filters"]);
            let truncated = hits.len() > self.cap;
            let taken: Vec<Invoice> = hits.into_iter().take(self.cap).collect();
            let mut files: Vec<(String, Vec<u8>)> = taken
                .iter()
                .map(|i| (format!("{}.xml", i.ksef), i.xml.clone().into_bytes()))
                .collect();
            files.push((
                "_metadata.json".into(),
                serde_json::to_vec(
                    &json!({"invoices": taken.iter().map(Self::metadata).collect::<Vec<_>>()}),
                )
                .unwrap(),
            ));
            let zip = zip_stored(&files);
            let half = zip.len() / 2;
            let k: [u8; 32] = aes.try_into().unwrap();
            let iv: [u8; 16] = iv.try_into().unwrap();
            let parts = [&zip[..half], &zip[half..]]
                .iter()
                .map(|p| crypto::aes256_cbc_encrypt(&k, &iv, p))
                .collect();
            let reference = format!("20260215-EH-{:010X}-0000000000-00", self.exports.len());
            self.exports.insert(
                reference.clone(),
                Export {
                    parts,
                    truncated,
                    last: taken.last().map(|i| i.stored_ms),
                    hwm: self.hwm_ms,
                    count: taken.len(),
                },
            );
            return response(201, json!({"referenceNumber": reference}));
        }
        if let Some(reference) = path.strip_prefix("/v2/invoices/exports/") {
            let calls = self.status_calls.entry(reference.to_owned()).or_default();
            *calls += 1;
            if *calls <= self.polls_before_ready {
                return response(
                    200,
                    json!({"status": {"code": 100, "description": "Eksport faktur w toku"}}),
                );
            }
            if let Some(code) = self.fail_status.take() {
                return response(
                    200,
                    json!({"status": {"code": code, "description": "Błąd odszyfrowania dostarczonego klucza"}}),
                );
            }
            let e = &self.exports[reference];
            let parts: Vec<Value> = e.parts.iter().enumerate().rev().map(|(i, p)| json!({
                "ordinalNumber": i + 1, "partName": format!("p{i}"), "method": "GET",
                "url": format!("https://storage.example/storage/exports/{reference}/{}", i + 1),
                "partSize": 1, "partHash": "x", "encryptedPartSize": p.len(),
                "encryptedPartHash": crypto::sha256_base64(p), "expirationDate": "2030-01-01T00:00:00Z",
            })).collect();
            let mut package = json!({
                "invoiceCount": e.count, "size": 1, "parts": parts, "isTruncated": e.truncated,
                "permanentStorageHwmDate": iso(e.hwm),
            });
            if e.truncated {
                package["lastPermanentStorageDate"] = json!(iso(e.last.unwrap()));
            }
            return response(
                200,
                json!({"status": {"code": 200, "description": "ok"}, "package": package}),
            );
        }
        if let Some(rest) = path.strip_prefix("/storage/exports/") {
            let (reference, ordinal) = rest.split_once('/').unwrap();
            let part = &self.exports[reference].parts[ordinal.parse::<usize>().unwrap() - 1];
            return http::Response::builder()
                .status(200)
                .body(part.clone())
                .unwrap();
        }
        panic!("unexpected request {path}");
    }

    fn count(&self, method: &str, suffix: &str) -> usize {
        self.log
            .iter()
            .filter(|(m, p, _)| m == method && p.ends_with(suffix))
            .count()
    }

    fn count_prefix(&self, prefix: &str) -> usize {
        self.log
            .iter()
            .filter(|(_, p, _)| p.starts_with(prefix))
            .count()
    }
}

type Shared = Rc<RefCell<Fake>>;

fn client(fake: &Shared) -> KsefClient<impl Transport + Clone, impl Sleep + Clone> {
    let (cert, key) = ksef_keys();
    let f = fake.clone();
    let transport = move |req: HttpRequest| {
        let resp = f.borrow_mut().handle(&req, &key, &cert);
        async move { Ok::<_, String>(resp) }
    };
    let sleep = |_ms: u64| async { panic!("the sync machine never sleeps by itself") };
    let mut client = KsefClient::new(transport, sleep, "https://ksef.example/v2");
    client.rate_limit_retries = 2;
    client
}

fn key() -> SyncKey {
    SyncKey {
        company_nip: NIP.into(),
        subject: SubjectType::Subject2,
    }
}

/// Virtual clock plus the state a browser tab keeps (public keys).
struct Tab {
    now: u64,
    keys: PublicKeys,
}

impl Tab {
    fn new(now: u64) -> Self {
        Self {
            now,
            keys: PublicKeys::default(),
        }
    }
}

async fn open<'s>(
    fake: &Shared,
    store: &'s MemoryStore,
    first_from: u64,
) -> SyncRun<impl Transport + Clone, impl Sleep + Clone, &'s MemoryStore> {
    SyncRun::open(
        client(fake),
        store,
        key(),
        iso(first_from),
        SyncPolicy::default(),
    )
    .await
    .unwrap()
}

/// Steps until done, honouring waits on the virtual clock; returns every step taken.
async fn finish<T: Transport, S: Sleep>(
    run: &mut SyncRun<T, S, &MemoryStore>,
    tab: &mut Tab,
    limit: usize,
) -> Vec<Step> {
    let mut steps = Vec::new();
    for _ in 0..limit {
        let step = run
            .step(&mut tab.keys, "access", tab.now, &mut rng())
            .await
            .unwrap();
        steps.push(step);
        match step {
            Step::Continue => {}
            Step::WaitUntil { until_ms, .. } => tab.now = until_ms,
            Step::Done { .. } => return steps,
            Step::Deferred { .. } => panic!("deferred mid-run"),
        }
    }
    panic!("no Done within {limit} steps: {steps:?}");
}

fn stored_numbers(store: &MemoryStore) -> BTreeSet<String> {
    store
        .invoices_of(NIP)
        .into_iter()
        .map(|i| i.ksef_number)
        .collect()
}
