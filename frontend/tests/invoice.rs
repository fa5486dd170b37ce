//! The invoice side in headless Chromium: drafts in IndexedDB, send-state bookkeeping and
//! the pure helpers behind "Wyślij do KSeF".
#![cfg(target_arch = "wasm32")]

use ksef_core::invoice::InvoiceDraft;
use kwit_web::drafts::{self, DraftRecord, SendState};
use kwit_web::i18n::Lang;
use kwit_web::i18n::pick;
use kwit_web::send::{Advice, advice_for, storage_href};
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
    let db = kwit_web::store::open().await.unwrap();
    drafts::save(&db, &draft).await.unwrap();
    assert_eq!(
        drafts::load(&db, "t-move").await.unwrap(),
        Some(draft.clone())
    );

    let mut sent = sending("t-move");
    sent.draft = draft.draft.clone();
    drafts::save(&db, &sent).await.unwrap();
    let loaded = drafts::load(&db, "t-move").await.unwrap().unwrap();
    assert_eq!(
        loaded.send.key(),
        "sending",
        "the send state is what a reload finds"
    );
    let all = drafts::list(&db).await.unwrap();
    assert_eq!(
        all.iter().filter(|r| r.id == "t-move").count(),
        1,
        "listed once"
    );
}

#[wasm_bindgen_test]
fn storage_links_are_rewritten_to_the_relay() {
    assert_eq!(
        storage_href("sim", "http://127.0.0.1:8081/storage/upo/abc.xml?sig=1"),
        "/ksef/sim/storage/upo/abc.xml?sig=1"
    );
    assert_eq!(storage_href("test", "relative"), "relative");
}

#[wasm_bindgen_test]
fn bilingual_messages_are_split() {
    assert_eq!(pick(Lang::En, "Błąd. / Error."), "Error.");
    assert_eq!(pick(Lang::Pl, "Błąd. / Error."), "Błąd.");
}

#[wasm_bindgen_test]
async fn every_send_state_reads_back_as_written() {
    let name = "kwit-test-send-states";
    kwit_web::store::delete_database(name).await.unwrap();
    let db = kwit_web::store::open_named(name, kwit_web::store::SCHEMA_VERSION)
        .await
        .unwrap();
    let states = [
        SendState::Draft,
        SendState::Sending {
            env: "sim".into(),
            session_reference: "20251124-SO-1".into(),
            invoice_hash: "aGFzaA==".into(),
            xml: "<Faktura/>".into(),
        },
        SendState::Sent {
            env: "sim".into(),
            session_reference: "20251124-SO-1".into(),
            invoice_reference: "20251124-EE-1".into(),
            invoice_hash: "aGFzaA==".into(),
            xml: "<Faktura/>".into(),
        },
        SendState::Accepted {
            env: "sim".into(),
            session_reference: "20251124-SO-1".into(),
            invoice_reference: "20251124-EE-1".into(),
            ksef_number: "5265877635-20251124-0100001AF629-AF".into(),
            upo_url: Some("https://ksef/storage/upo".into()),
            acquisition_date: None,
            xml: "<Faktura/>".into(),
        },
        SendState::Rejected {
            env: "sim".into(),
            session_reference: "20251124-SO-1".into(),
            invoice_reference: None,
            code: 440,
            description: "Duplikat faktury".into(),
            details: vec!["5265877635-20251124-0100001AF629-AF".into()],
        },
    ];
    for state in states {
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<SendState>(&json).unwrap(), state);
        // And through IndexedDB, as the app stores it.
        db.put(kwit_web::store::Store::Invoices, "s", &state)
            .await
            .unwrap();
        assert_eq!(
            db.get::<SendState>(kwit_web::store::Store::Invoices, "s")
                .await
                .unwrap(),
            Some(state)
        );
    }
    db.close();
    // The stored shape: one flat object tagged by `state`.
    assert!(
        serde_json::to_string(&SendState::Draft)
            .unwrap()
            .contains(r#""state":"draft""#)
    );
    // A state missing what it needs is an error, not a silently different state.
    assert!(serde_json::from_str::<SendState>(r#"{"state":"sent","env":"sim"}"#).is_err());
    assert!(serde_json::from_str::<SendState>(r#"{"state":"lost"}"#).is_err());
}

#[wasm_bindgen_test]
fn send_failures_get_the_faq_advice() {
    use ksef_core::error::Error;
    // FAQ "Nie widzę akcji KSeF": a 403 means missing permissions, not an expired login.
    assert_eq!(
        advice_for(&Error::Forbidden {
            reason: "missing-permissions".into(),
            detail: "InvoiceWrite".into(),
        }),
        Advice::Permissions
    );
    // FAQ "Wysyłka kończy się błędem szyfrowania lub sesji".
    assert_eq!(advice_for(&Error::UnknownPublicKey), Advice::FetchKeys);
    assert_eq!(advice_for(&Error::Unauthorized), Advice::LogInAgain);
}

fn company(id: &str, nip: &str) -> kwit_web::company::Company {
    kwit_web::company::Company {
        id: id.into(),
        nip: nip.into(),
        name: format!("Firma {id}"),
        address: String::new(),
        bank_account: String::new(),
        env: kwit_web::api::Env::Sim,
    }
}

fn login_of(c: &kwit_web::company::Company) -> kwit_web::session::Session {
    let token = |t: &str| kwit_web::session::TokenInfo {
        token: t.into(),
        valid_until: "2099-01-01T00:00:00Z".into(),
    };
    kwit_web::session::Session {
        company_id: c.id.clone(),
        nip: c.nip.clone(),
        env: c.env,
        credential_id: "cred".into(),
        reference_number: "20261202-AU-1".into(),
        access: token("access"),
        refresh: token("refresh"),
        permissions: vec!["InvoiceWrite".into()],
        refreshed_at_ms: 0.0,
    }
}

/// Issue 13.1: an invoice goes out only under its own company, with its NIP, in its login.
#[wasm_bindgen_test]
fn an_invoice_is_sent_only_by_its_company_in_its_own_login() {
    use kwit_web::ownership::{SendRefusal, belongs_to, check_send};
    let a = company("a", "5265877635");
    let b = company("b", "1234563218");
    let all = [a.clone(), b.clone()];
    let mut record = DraftRecord::new("d1".into(), InvoiceDraft::default(), 1);
    record.company_id = "a".into();
    record.draft.seller.nip = a.nip.clone();
    assert!(belongs_to(&record, &a) && !belongs_to(&record, &b));
    assert_eq!(
        check_send(&record, Some(&a), &all, Some(&login_of(&a))),
        Ok(())
    );
    // B selected, or B's login in memory: refused, naming A.
    let refused = check_send(&record, Some(&b), &all, Some(&login_of(&b))).unwrap_err();
    assert!(refused.message(Lang::Pl).contains("Firma a (5265877635)"));
    assert_eq!(
        check_send(&record, Some(&a), &all, Some(&login_of(&b))),
        Err(SendRefusal::NotLoggedIn)
    );
    assert_eq!(
        check_send(&record, Some(&a), &all, None),
        Err(SendRefusal::NotLoggedIn)
    );
    assert_eq!(
        check_send(&record, None, &all, None),
        Err(SendRefusal::NoCompany)
    );
    // A's login from before its NIP changed is not A's login any more.
    let old_login = login_of(&a);
    let mut a_new = a.clone();
    a_new.nip = "7010002139".into();
    record.draft.seller.nip = a_new.nip.clone();
    assert_eq!(
        check_send(&record, Some(&a_new), &all, Some(&old_login)),
        Err(SendRefusal::NotLoggedIn)
    );
    // A seller NIP that is not the company's (typed before the NIP change) is refused.
    record.draft.seller.nip = "5265877635".into();
    assert!(matches!(
        check_send(&record, Some(&a_new), &all, Some(&login_of(&a_new))),
        Err(SendRefusal::SellerNip { .. })
    ));
    // A record from before companies were recorded belongs by its seller NIP.
    let mut legacy = DraftRecord::new("d0".into(), InvoiceDraft::default(), 1);
    legacy.draft.seller.nip = b.nip.clone();
    assert!(belongs_to(&legacy, &b) && !belongs_to(&legacy, &a));
}

#[wasm_bindgen_test]
fn the_company_form_checks_its_account_as_every_invoice_does() {
    use kwit_web::company::CompanyForm;
    let form = |account: &str| CompanyForm {
        nip: "5265877635".into(),
        name: "Kwiaciarnia".into(),
        bank_account: account.into(),
        ..CompanyForm::default()
    };
    let accepted = |account: &str| form(account).validate("c".into(), Lang::Pl).is_ok();
    // An account the invoice accepts (a foreign one without an IBAN) is a company's account too.
    for account in [
        "61 1090 1014 0000 0712 1981 2874",
        "DE89370400440532013000",
        "1234567890123",
    ] {
        assert_eq!(
            accepted(account),
            ksef_core::invoice::validate::is_valid_account(account),
            "{account}"
        );
        assert!(accepted(account), "{account}");
    }
    let errors = form("61 1090 1014 0000 0712 1981 2875")
        .validate("c".into(), Lang::Pl)
        .unwrap_err();
    assert_eq!(
        errors.bank_account.as_deref(),
        Some(ksef_core::invoice::ErrorCode::BadBankAccount.pl())
    );
}
