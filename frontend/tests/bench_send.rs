//! Benchmark, not a test (ignored; `./kwit bench` runs it with `--include-ignored` in a release
//! build): what "Wyślij do KSeF" does to an invoice before it leaves — validate, write FA(3),
//! hash, encrypt (ksef-core's `encrypt_invoice`) and wrap the session key (RSA-OAEP, WebCrypto
//! through [`WebCrypto`]) — for a 10-line invoice and one of about 1 MB (the KSeF maximum),
//! beside the same SHA-256, AES-256-CBC and RSA-OAEP done with WebCrypto in the same page.
//! Prints medians and the ratios; nothing here passes or fails on time.
#![cfg(target_arch = "wasm32")]

use js_sys::{Object, Reflect, Uint8Array};
use ksef_core::crypto::{Encrypter, SymmetricKey};
use ksef_core::fa3::write_fa3;
use ksef_core::flow::{OnlineSession, encrypt_invoice};
use ksef_core::invoice::{InvoiceDraft, LineDraft, SellerDraft};
use kwit_web::webcrypto::{WebCrypto, obj, subtle, usages};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::CryptoKey;

wasm_bindgen_test_configure!(run_in_browser);

const RUNS: usize = 7;
const KSEF_MAX: usize = 1_000_000;

fn now_ms() -> f64 {
    let perf = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: js_sys::Function = Reflect::get(&perf, &"now".into()).unwrap().unchecked_into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn draft(lines: usize) -> InvoiceDraft {
    let mut d = InvoiceDraft {
        number: "FV/1/12/2026".into(),
        issue_date: "2026-12-01".into(),
        seller: SellerDraft {
            nip: "5265877635".into(),
            name: "Jan Kowalski Software".into(),
            country: "PL".into(),
            address_line1: "ul. Testowa 1, 00-001 Warszawa".into(),
            ..SellerDraft::default()
        },
        lines: (0..lines)
            .map(|i| LineDraft {
                description: format!("Usługa programistyczna, etap {i} — analiza, kod i testy"),
                unit: "godz.".into(),
                quantity: "8".into(),
                unit_price: "150,00".into(),
                rate: "23".into(),
            })
            .collect(),
        ..InvoiceDraft::default()
    };
    d.buyer.nip = "7352765225".into();
    d.buyer.name = "Nabywca S.A.".into();
    d.buyer.country = "PL".into();
    d.buyer.address_line1 = "ul. Polna 2, 00-002 Warszawa".into();
    d
}

fn today() -> time::Date {
    time::Date::from_calendar_date(2026, time::Month::December, 2).unwrap()
}

fn xml_of(d: &InvoiceDraft) -> String {
    write_fa3(
        &d.validate_on(today()).unwrap(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
}

async fn rsa_key() -> Vec<u8> {
    let params = obj(&[
        ("name", "RSA-OAEP".into()),
        ("modulusLength", 2048.into()),
        ("publicExponent", Uint8Array::from(&[1u8, 0, 1][..]).into()),
        ("hash", "SHA-256".into()),
    ]);
    let subtle = subtle().unwrap();
    let pair: Object = JsFuture::from(
        subtle
            .generate_key_with_object(&params, true, &usages(&["encrypt", "decrypt"]))
            .unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let public: CryptoKey = Reflect::get(&pair, &"publicKey".into())
        .unwrap()
        .unchecked_into();
    let spki = JsFuture::from(subtle.export_key("spki", &public).unwrap())
        .await
        .unwrap();
    Uint8Array::new(&spki).to_vec()
}

/// Kwit's way: what `run_step` and ksef-core's send machine do, in order.
async fn app_way(d: &InvoiceDraft, spki: &[u8]) -> (f64, f64, OnlineSession, String) {
    let t0 = now_ms();
    let xml = xml_of(d);
    let t1 = now_ms();
    let key = SymmetricKey::generate(&mut WebCrypto).unwrap();
    let _wrapped = WebCrypto.rsa_oaep_sha256(spki, &key.key).await.unwrap();
    let session = OnlineSession {
        reference_number: "20261202-SO-0000000000-0000000000-00".into(),
        valid_until: None,
        key,
    };
    let request = encrypt_invoice(&session, xml.as_bytes(), false, &mut WebCrypto)
        .await
        .unwrap();
    assert!(request.encrypted_invoice_size > xml.len() as u64);
    let t2 = now_ms();
    (t2 - t0, t2 - t1, session, request.encrypted_invoice_hash)
}

/// The pure-Rust hashing and AES ksef-core keeps for native code, on the same session.
async fn pure_rust_way(session: &OnlineSession, xml: &[u8], expected_hash: &str) -> f64 {
    let t0 = now_ms();
    let pure = encrypt_invoice(session, xml, false, &mut PureRust)
        .await
        .unwrap();
    assert_eq!(pure.encrypted_invoice_hash, expected_hash);
    now_ms() - t0
}

/// ksef-core's default (pure-Rust) AES and SHA-256, with the browser's randomness.
struct PureRust;

impl Encrypter for PureRust {
    fn fill(&mut self, buf: &mut [u8]) -> ksef_core::error::Result<()> {
        WebCrypto.fill(buf)
    }

    fn rsa_oaep_sha256(
        &mut self,
        spki_der: &[u8],
        message: &[u8],
    ) -> impl std::future::Future<Output = ksef_core::error::Result<Vec<u8>>> {
        let (spki, message) = (spki_der.to_vec(), message.to_vec());
        async move { WebCrypto.rsa_oaep_sha256(&spki, &message).await }
    }
}

/// The same hashing and encryption with WebCrypto (the invoice XML already written).
async fn webcrypto_way(xml: &[u8], spki: &[u8]) -> f64 {
    let subtle = subtle().unwrap();
    let t0 = now_ms();
    let key = SymmetricKey::generate(&mut WebCrypto).unwrap();
    let _wrapped = WebCrypto.rsa_oaep_sha256(spki, &key.key).await.unwrap();
    let digest = |data: &[u8]| {
        JsFuture::from(
            subtle
                .digest_with_str_and_u8_array("SHA-256", data)
                .unwrap(),
        )
    };
    digest(xml).await.unwrap();
    let aes: CryptoKey = JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &Uint8Array::from(&key.key[..]),
                "AES-CBC",
                false,
                &usages(&["encrypt"]),
            )
            .unwrap(),
    )
    .await
    .unwrap()
    .unchecked_into();
    let params = obj(&[
        ("name", "AES-CBC".into()),
        ("iv", Uint8Array::from(&key.iv[..]).into()),
    ]);
    let sealed = JsFuture::from(
        subtle
            .encrypt_with_object_and_u8_array(&params, &aes, xml)
            .unwrap(),
    )
    .await
    .unwrap();
    let sealed = Uint8Array::new(&sealed).to_vec();
    digest(&sealed).await.unwrap();
    let _b64 = ksef_core::crypto::base64_encode(&sealed);
    now_ms() - t0
}

/// Resolves in a later task (a `setTimeout` of `ms`).
async fn next_task(ms: i32) {
    JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        let g = js_sys::global();
        let set_timeout: js_sys::Function = Reflect::get(&g, &"setTimeout".into())
            .unwrap()
            .unchecked_into();
        let _ = set_timeout.call2(&g, &resolve, &ms.into());
    }))
    .await
    .unwrap();
}

/// The longest main-thread task (PerformanceObserver `longtask`, over 50 ms) while the app's
/// way runs once, or "none over 50 ms".
async fn longest_task(d: &InvoiceDraft, spki: &[u8]) -> String {
    // Start from a fresh task, so the one measured holds only the send.
    next_task(0).await;
    js_sys::eval(
        "globalThis.__longest = 0; globalThis.__observer = new PerformanceObserver((list) => { \
         for (const e of list.getEntries()) globalThis.__longest = Math.max(globalThis.__longest, e.duration); }); \
         globalThis.__observer.observe({ type: 'longtask' });",
    )
    .unwrap();
    app_way(d, spki).await;
    // Long-task entries are delivered after the task; let the queue run.
    next_task(100).await;
    let ms = js_sys::eval("globalThis.__observer.disconnect(); globalThis.__longest")
        .unwrap()
        .as_f64()
        .unwrap_or(0.0);
    if ms > 0.0 {
        format!("{ms:.0} ms")
    } else {
        "none over 50 ms".into()
    }
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run by ./kwit bench"]
async fn sending_beside_webcrypto() {
    let spki = rsa_key().await;
    let per_line = (xml_of(&draft(11)).len() - xml_of(&draft(1)).len()) / 10;
    let base = xml_of(&draft(1)).len();
    let big_lines = (KSEF_MAX - base) / per_line;
    for (name, d) in [("10 lines", draft(10)), ("~1 MB", draft(big_lines))] {
        let xml = xml_of(&d);
        let (mut total, mut crypto, mut pure, mut web) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (t, c, session, hash) = app_way(&d, &spki).await;
            total.push(t);
            crypto.push(c);
            pure.push(pure_rust_way(&session, xml.as_bytes(), &hash).await);
            web.push(webcrypto_way(xml.as_bytes(), &spki).await);
        }
        let (t, c, p, w) = (median(total), median(crypto), median(pure), median(web));
        let longest = longest_task(&d, &spki).await;
        console_log!(
            "bench: send {name} ({} lines, {} B of XML): Kwit {t:.1} ms in all (validate + FA(3) + key + encrypt + hash), of which key + hash + AES + hash + Base64 {c:.1} ms; WebCrypto alone (key + hash + AES + hash + Base64) {w:.1} ms; crypto ratio {:.2}×, all-in ratio {:.2}×; ksef-core's pure-Rust hash + AES {p:.1} ms ({:.2}× WebCrypto) (median of {RUNS}); longest main-thread task while sending: {longest}",
            d.lines.len(),
            xml.len(),
            c / w,
            t / w,
            p / w,
        );
    }
}
