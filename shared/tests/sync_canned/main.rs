//! The sync machine against a canned, stateful fake KSeF: real crypto (the fake unwraps the
//! export key with its RSA key and encrypts the package parts), a real ZIP, virtual time.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::rc::Rc;

use ksef_core::crypto;
use ksef_core::flow::{KsefClient, PublicKeys};
use ksef_core::sync::{
    Compression, MemoryStore, Phase, Step, SubjectType, SyncKey, SyncPolicy, SyncRun, Trigger,
    WaitReason, crc32, parse_package, unpack,
};
use ksef_core::transport::{HttpRequest, HttpResponse, Sleep, Transport};
use rsa::pkcs8::DecodePrivateKey;
use serde_json::{Value, json};

const NIP: &str = "5265877635";
const MINUTE: u64 = 60_000;
const DAY: u64 = 24 * 60 * MINUTE;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// KSeF's key pair for the fake, made once per test binary by OpenSSL.
fn ksef_keys() -> (String, rsa::PrivateKey) {
    static KEYS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (cert_b64, pem) = KEYS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ksef-core-sync-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("k.pem"), dir.join("c.der"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
            .arg(&key)
            .args(["-outform", "DER", "-out"])
            .arg(&cert)
            .args(["-days", "2", "-subj", "/CN=Ministerstwo Finansow/C=PL"])
            .output()
            .expect("openssl CLI installed");
        assert!(out.status.success());
        (
            crypto::base64_encode(&std::fs::read(&cert).unwrap()),
            std::fs::read_to_string(&key).unwrap(),
        )
    });
    (
        cert_b64.clone(),
        rsa::PrivateKey::from_pkcs8_pem(pem).unwrap(),
    )
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

#[tokio::test]
async fn export_sync_polls_downloads_parts_and_stores_each_invoice_once() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(25, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().polls_before_ready = 2;
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Manual, tab.now).await.unwrap(),
        Step::Continue
    );
    let steps = finish(&mut run, &mut tab, 50).await;

    let waits: Vec<_> = steps
        .iter()
        .filter(|s| {
            matches!(
                s,
                Step::WaitUntil {
                    reason: WaitReason::ExportProcessing,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        waits.len(),
        3,
        "one wait after starting, two while KSeF said 100: {steps:?}"
    );
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        1,
        "a 30-day-old cursor goes through one export"
    );
    assert_eq!(f.count("POST", "/invoices/query/metadata"), 0);
    assert_eq!(
        f.count_prefix("/storage/exports/"),
        2,
        "both package parts downloaded"
    );
    assert_eq!(stored_numbers(&store).len(), 25);
    assert!(store.no_double_writes());
    let stored = store.invoices_of(NIP);
    assert!(
        stored
            .iter()
            .all(|i| i.xml.as_deref().is_some_and(|x| x.starts_with("<Faktura>")))
    );
    assert!(
        stored
            .iter()
            .all(|i| i.metadata.other.get("invoiceType") == Some(&json!("Vat"))),
        "unknown metadata fields are kept"
    );
    let p = run.progress();
    assert_eq!(
        (
            p.exports_started,
            p.parts_total,
            p.parts_done,
            p.invoices_announced,
            p.invoices_new,
            p.duplicates
        ),
        (1, 2, 2, 25, 25, 0)
    );
    assert_eq!(p.status_polls, 3);
    let cursor = store.cursors.borrow()[&key()].clone();
    assert_eq!(
        cursor.from,
        iso(now - MINUTE),
        "the next window starts at the HWM"
    );
    assert_eq!(cursor.phase, Phase::Idle);
}

#[tokio::test]
async fn truncated_package_continues_from_last_permanent_storage_date() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(25, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().cap = 10;
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 100).await;

    let f = fake.borrow();
    let starts: Vec<String> = f
        .log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/invoices/exports"))
        .map(|(_, _, b)| {
            b["filters"]["dateRange"]["from"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(starts.len(), 3, "10 + 10 + the rest: {starts:?}");
    let sorted: Vec<u64> = {
        let mut v: Vec<u64> = f.invoices.iter().map(|i| i.stored_ms).collect();
        v.sort();
        v
    };
    assert_eq!(
        starts[1],
        iso(sorted[9]),
        "second export starts at lastPermanentStorageDate of the first"
    );
    assert_eq!(
        starts[2],
        iso(sorted[18]),
        "each continuation repeats the last invoice of the previous package"
    );
    assert_eq!(stored_numbers(&store).len(), 25);
    assert!(
        store.no_double_writes(),
        "the overlapping invoice is not stored twice"
    );
    assert_eq!(run.progress().duplicates, 2);
    assert_eq!(run.progress().invoices_new, 25);
    assert_eq!(run.progress().windows_done, 3);
}

#[tokio::test]
async fn rate_limit_429_becomes_a_wait_that_survives_a_reload_and_then_continues() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(5, now - 10 * DAY, 3_600_000);
    // Request 0 = public keys: throttled; 1 = public keys again, 2 = the export: throttled.
    fake.borrow_mut().throttle.insert(0);
    fake.borrow_mut().throttle.insert(2);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    assert_eq!(
        run.step(&mut tab.keys, "access", tab.now, &mut rng())
            .await
            .unwrap(),
        Step::Continue,
        "planning"
    );
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        },
        "a throttled public-key fetch waits too"
    );
    tab.now = now + 30_000;
    let now = tab.now;
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        },
        "Retry-After: 30 → wait until now + 30 s"
    );
    assert_eq!(run.progress().rate_limited, 2);
    drop(run);

    // A reload 10 s later: the wait is still honoured and nothing is sent.
    let sent = fake.borrow().log.len();
    tab.now = now + 10_000;
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Continue,
        "an unfinished run resumes"
    );
    let step = run
        .step(&mut tab.keys, "access", tab.now, &mut rng())
        .await
        .unwrap();
    assert_eq!(
        step,
        Step::WaitUntil {
            until_ms: now + 30_000,
            reason: WaitReason::RateLimited
        }
    );
    assert_eq!(fake.borrow().log.len(), sent, "no request while waiting");
    tab.now = now + 30_000;
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 5);
    assert_eq!(
        fake.borrow().count("POST", "/invoices/exports"),
        2,
        "the throttled export and its retry"
    );
}

#[tokio::test]
async fn a_crash_after_any_step_resumes_from_the_cursor_without_duplicates() {
    let now = real_now_ms();
    // Count the steps of an uninterrupted run first.
    let total = {
        let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
        fake.borrow_mut().add_many(12, now - 10 * DAY, 3_600_000);
        fake.borrow_mut().cap = 5;
        let store = MemoryStore::default();
        let mut tab = Tab::new(now);
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        run.begin(Trigger::Manual, tab.now).await.unwrap();
        finish(&mut run, &mut tab, 200).await.len()
    };
    assert!(total > 10, "{total}");
    for crash_after in 1..total {
        let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
        fake.borrow_mut().add_many(12, now - 10 * DAY, 3_600_000);
        fake.borrow_mut().cap = 5;
        let store = MemoryStore::default();
        let mut tab = Tab::new(now);
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        run.begin(Trigger::Manual, tab.now).await.unwrap();
        for _ in 0..crash_after {
            if let Step::WaitUntil { until_ms, .. } = run
                .step(&mut tab.keys, "access", tab.now, &mut rng())
                .await
                .unwrap()
            {
                tab.now = until_ms;
            }
        }
        drop(run); // the tab is closed: memory (downloaded parts) is gone, the store stays
        let mut tab = Tab {
            now: tab.now + 1_000,
            keys: PublicKeys::default(),
        };
        let mut run = open(&fake, &store, now - 30 * DAY).await;
        assert_eq!(
            run.begin(Trigger::Automatic, tab.now).await.unwrap(),
            Step::Continue,
            "crash after {crash_after}: resumes"
        );
        finish(&mut run, &mut tab, 200).await;
        assert_eq!(
            stored_numbers(&store).len(),
            12,
            "crash after step {crash_after}"
        );
        assert!(store.no_double_writes(), "crash after step {crash_after}");
        assert!(
            fake.borrow().count("POST", "/invoices/exports") <= 4,
            "crash after {crash_after}: a started export is resumed, not repeated"
        );
        assert_eq!(store.cursors.borrow()[&key()].from, iso(now - MINUTE));
    }
}

#[tokio::test]
async fn second_sync_fetches_only_new_invoices_through_the_metadata_query_and_respects_15_minutes()
{
    let now = real_now_ms();
    let hwm1 = now - MINUTE;
    let fake: Shared = Rc::new(RefCell::new(Fake::new(hwm1)));
    fake.borrow_mut().add_many(20, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().add(1, hwm1); // stored exactly at the HWM: in both adjacent windows
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Automatic, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 21);
    drop(run);

    // Three new invoices arrive after the HWM; the HWM moves on.
    fake.borrow_mut().add_many(3, hwm1 + 2 * MINUTE, 1_000);
    fake.borrow_mut().hwm_ms = hwm1 + 10 * MINUTE;
    let exports_before = fake.borrow().count("POST", "/invoices/exports");
    let sent = fake.borrow().log.len();

    tab.now = now + 5 * MINUTE;
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Deferred {
            next_allowed_ms: now + 15 * MINUTE
        },
        "automatic syncs are at least 15 minutes apart"
    );
    assert_eq!(
        fake.borrow().log.len(),
        sent,
        "a deferred run sends nothing"
    );

    tab.now = now + 15 * MINUTE;
    assert_eq!(
        run.begin(Trigger::Automatic, tab.now).await.unwrap(),
        Step::Continue
    );
    finish(&mut run, &mut tab, 50).await;
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        exports_before,
        "a small window needs no export"
    );
    assert_eq!(f.count("POST", "/invoices/query/metadata"), 1);
    assert_eq!(
        f.count_prefix("/v2/invoices/ksef/"),
        3,
        "only the new invoices are downloaded"
    );
    assert_eq!(stored_numbers(&store).len(), 24);
    assert!(store.no_double_writes());
    let p = run.progress();
    assert_eq!(
        (p.invoices_new, p.duplicates, p.single_downloads),
        (3, 1, 3),
        "the HWM invoice is a duplicate"
    );
    assert_eq!(store.cursors.borrow()[&key()].from, iso(hwm1 + 10 * MINUTE));
}

#[tokio::test]
async fn a_manual_sync_is_never_deferred_and_a_busy_small_window_falls_back_to_an_export() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(15, now - 60 * MINUTE, 60_000);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 2 * 3_600_000).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(
        run.begin(Trigger::Manual, tab.now + 1_000).await.unwrap(),
        Step::Continue
    );
    finish(&mut run, &mut tab, 50).await;
    let f = fake.borrow();
    assert_eq!(
        f.count("POST", "/invoices/query/metadata"),
        2,
        "a 2-hour window is asked by metadata first"
    );
    assert_eq!(
        f.count("POST", "/invoices/exports"),
        1,
        "15 > 10 single downloads: one export instead"
    );
    assert_eq!(f.count_prefix("/v2/invoices/ksef/"), 0);
    assert_eq!(stored_numbers(&store).len(), 15);
}

#[tokio::test]
async fn an_old_cursor_is_split_into_adjacent_windows_of_at_most_three_months() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(40, now - 200 * DAY, 5 * DAY);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let first = now - 210 * DAY;
    let mut run = open(&fake, &store, first).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    finish(&mut run, &mut tab, 100).await;
    let f = fake.borrow();
    let ranges: Vec<(String, Option<String>)> = f
        .log
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/invoices/exports"))
        .map(|(_, _, b)| {
            let r = &b["filters"]["dateRange"];
            (
                r["from"].as_str().unwrap().to_owned(),
                r["to"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert_eq!(ranges[0].0, iso(first));
    assert_eq!(ranges[0].1.as_deref(), Some(iso(first + 89 * DAY).as_str()));
    assert_eq!(
        Some(ranges[1].0.clone()),
        ranges[0].1,
        "windows are adjacent"
    );
    assert_eq!(Some(ranges[2].0.clone()), ranges[1].1);
    assert_eq!(ranges[2].1, None, "the last window runs to the HWM");
    assert_eq!(stored_numbers(&store).len(), 40);
}

#[tokio::test]
async fn a_failed_export_is_reported_and_the_next_run_starts_it_again() {
    let now = real_now_ms();
    let fake: Shared = Rc::new(RefCell::new(Fake::new(now - MINUTE)));
    fake.borrow_mut().add_many(3, now - 10 * DAY, 3_600_000);
    fake.borrow_mut().fail_status = Some(415);
    let store = MemoryStore::default();
    let mut tab = Tab::new(now);
    let mut run = open(&fake, &store, now - 30 * DAY).await;
    run.begin(Trigger::Manual, tab.now).await.unwrap();
    let err = loop {
        match run.step(&mut tab.keys, "access", tab.now, &mut rng()).await {
            Ok(Step::WaitUntil { until_ms, .. }) => tab.now = until_ms,
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("415"), "{err}");
    assert_eq!(run.cursor().phase, Phase::Planning);
    finish(&mut run, &mut tab, 50).await;
    assert_eq!(stored_numbers(&store).len(), 3);
}

#[test]
fn packages_unpack_from_deflated_zip_and_targz_with_hash_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sync");
    for (file, compression) in [
        ("package-deflate.zip", Compression::Zip),
        ("package.tar.gz", Compression::TarGz),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let entries = unpack(&bytes, compression, 1 << 20).unwrap();
        assert_eq!(entries.len(), 3, "{file}");
        let invoices = parse_package(entries, SubjectType::Subject2, false).unwrap();
        assert_eq!(invoices.len(), 2, "{file}");
        assert_eq!(
            invoices[0].metadata.seller.name.as_deref(),
            Some("Biuro Rachunkowe Liczydło sp. z o.o.")
        );
        assert!(
            invoices[0]
                .xml
                .as_deref()
                .unwrap()
                .contains("Usługa księgowa za luty"),
            "{file}"
        );
        assert_eq!(invoices[1].metadata.other["invoiceType"], "Kor");
    }
    // A flipped byte in the deflated data fails the CRC instead of yielding a wrong invoice.
    let mut damaged = std::fs::read(dir.join("package-deflate.zip")).unwrap();
    damaged[80] ^= 0x55; // inside the first entry's deflated data
    assert!(unpack(&damaged, Compression::Zip, 1 << 20).is_err());
    // An XML that does not match its invoiceHash is refused.
    let zip = std::fs::read(dir.join("package-deflate.zip")).unwrap();
    let mut entries = unpack(&zip, Compression::Zip, 1 << 20).unwrap();
    let xml = entries
        .iter_mut()
        .find(|e| e.name.ends_with(".xml"))
        .unwrap();
    xml.bytes.extend(b"<!-- changed -->");
    assert!(parse_package(entries, SubjectType::Subject2, false).is_err());
}
