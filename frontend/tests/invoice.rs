//! The invoice side in headless Chromium: drafts in IndexedDB, send-state bookkeeping and
//! the pure helpers behind "Wyślij do KSeF".
#![cfg(target_arch = "wasm32")]

use ksef_core::invoice::InvoiceDraft;
use kwit_web::drafts::{self, DraftRecord, SendState};
use kwit_web::i18n::Lang;
use kwit_web::pages::invoice_form::{SeriesState, next_number};
use kwit_web::send::{
    SessionInvoicesPage, find_by_hash, in_lang, ksef_numbers_in, relay_storage_url,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn sending(id: &str) -> DraftRecord {
    let mut r = DraftRecord::new(id.into(), InvoiceDraft::default(), 10);
    r.send = SendState::Sending {
        env: "sim".into(),
        session_reference: "20250101-SO-1".into(),
        invoice_hash: "h".into(),
        xml: "<Faktura/>".into(),
    };
    r
}

#[wasm_bindgen_test]
fn send_state_round_trips_through_json_with_its_tag() {
    let s = sending("x").send;
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("\"state\":\"sending\""));
    assert_eq!(serde_json::from_str::<SendState>(&json).unwrap(), s);
    assert!(!s.editable());
}

#[wasm_bindgen_test]
fn an_old_record_without_send_state_loads_as_a_draft() {
    let json = r#"{"id":"d1","updated_ms":5,"draft":{"number":"FV/1"}}"#;
    let r: DraftRecord = serde_json::from_str(json).unwrap();
    assert_eq!(r.send, SendState::Draft);
    assert_eq!(r.title(Lang::Pl), "FV/1");
}

#[wasm_bindgen_test]
fn ids_differ_and_sorting_puts_the_newest_first() {
    assert_ne!(drafts::new_id(1, 0.1), drafts::new_id(1, 0.2));
    let mut v = vec![
        DraftRecord::new("a".into(), InvoiceDraft::default(), 1),
        DraftRecord::new("b".into(), InvoiceDraft::default(), 3),
    ];
    drafts::sort_newest_first(&mut v);
    assert_eq!(v[0].id, "b");
}

#[wasm_bindgen_test]
async fn a_draft_is_stored_and_moves_to_invoices_once_sending_starts() {
    let mut draft = DraftRecord::new("t-move".into(), InvoiceDraft::default(), 20);
    draft.draft.number = "FV/7/2026".into();
    drafts::save(&draft).await.unwrap();
    assert_eq!(drafts::load("t-move").await.unwrap(), Some(draft.clone()));

    let mut sent = sending("t-move");
    sent.draft = draft.draft.clone();
    drafts::save(&sent).await.unwrap();
    let loaded = drafts::load("t-move").await.unwrap().unwrap();
    assert_eq!(
        loaded.send.key(),
        "sending",
        "the send state is what a reload finds"
    );
    let all = drafts::list().await.unwrap();
    assert_eq!(
        all.iter().filter(|r| r.id == "t-move").count(),
        1,
        "listed once"
    );
}

#[wasm_bindgen_test]
fn storage_links_are_rewritten_to_the_relay() {
    assert_eq!(
        relay_storage_url("sim", "http://127.0.0.1:8081/storage/upo/abc.xml?sig=1"),
        "/ksef/sim/storage/upo/abc.xml?sig=1"
    );
    assert_eq!(relay_storage_url("test", "relative"), "relative");
}

#[wasm_bindgen_test]
fn a_lost_send_is_found_by_its_hash() {
    let page: SessionInvoicesPage = serde_json::from_str(
        r#"{"invoices":[{"referenceNumber":"R1","invoiceHash":"AAA","status":{"code":100,"description":"x"}}]}"#,
    )
    .unwrap();
    assert_eq!(find_by_hash(&page, "AAA").unwrap().reference_number, "R1");
    assert!(find_by_hash(&page, "BBB").is_none());
}

#[wasm_bindgen_test]
fn bilingual_messages_are_split_and_duplicates_name_the_ksef_number() {
    assert_eq!(in_lang("Błąd. / Error.", Lang::En), "Error.");
    assert_eq!(in_lang("Błąd. / Error.", Lang::Pl), "Błąd.");
    let found =
        ksef_numbers_in(&["Duplikat faktury 5265877635-20250826-0100001AF629-AF.".to_owned()]);
    assert_eq!(
        found,
        vec!["5265877635-20250826-0100001AF629-AF".to_owned()]
    );
}

#[wasm_bindgen_test]
fn the_series_counts_on_and_restarts_each_month() {
    let mut s = SeriesState {
        pattern: "FV/{n}/{MM}/{YYYY}".into(),
        last: None,
    };
    let (n, number) = next_number(&s, "2026-03-05").unwrap();
    assert_eq!((n, number.as_str()), (1, "FV/1/03/2026"));
    s.last = Some((n, "2026-03-05".into()));
    assert_eq!(next_number(&s, "2026-03-09").unwrap().1, "FV/2/03/2026");
    assert_eq!(next_number(&s, "2026-04-01").unwrap().1, "FV/1/04/2026");
}
