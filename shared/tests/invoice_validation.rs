//! Draft validation: every error points at the form field and speaks Polish and English.

mod common;

use common::*;
use ksef_core::invoice::{BuyerIdKind, ErrorCode, InvoiceDraft, KindCode, VatRate};
use ksef_core::money::Decimal;
use std::str::FromStr;
use time::macros::date;

fn errors(draft: &InvoiceDraft) -> Vec<(String, ErrorCode)> {
    draft
        .validate()
        .expect_err("draft should be rejected")
        .errors
        .into_iter()
        .map(|e| (e.path, e.code))
        .collect()
}

fn has(draft: &InvoiceDraft, path: &str, code: ErrorCode) {
    let errs = errors(draft);
    assert!(
        errs.iter().any(|(p, c)| p == path && *c == code),
        "expected {path}: {code:?}, got {errs:?}"
    );
}

#[test]
fn empty_draft_lists_every_required_field() {
    let errs = errors(&InvoiceDraft::default());
    for path in [
        "number",
        "issue_date",
        "seller.nip",
        "seller.name",
        "seller.address_line1",
        "buyer.nip",
        "buyer.name",
        "lines[0].description",
        "lines[0].unit_price",
    ] {
        assert!(
            errs.contains(&(path.to_owned(), ErrorCode::Required)),
            "{path} missing in {errs:?}"
        );
    }
}

#[test]
fn nip_typo_is_reported_on_the_nip_field_in_both_languages() {
    let mut dr = vat_draft();
    dr.buyer.nip = "7352765226".into();
    let err = dr.validate().unwrap_err();
    let e = err.for_path("buyer.nip").next().expect("buyer.nip error");
    assert_eq!(e.code, ErrorCode::NipChecksum);
    assert!(e.pl.contains("cyfrę kontrolną"));
    assert!(e.en.contains("check digit"));
    assert!(e.to_string().starts_with("buyer.nip: "));
    dr.buyer.nip = "735-276-52-25".into();
    assert!(dr.validate().is_ok(), "dashes are fine");
}

#[test]
fn line_errors_carry_their_index() {
    let mut dr = vat_draft();
    dr.lines = vec![
        line("A", "1", "10", "23"),
        line("B", "1", "10", "23"),
        line("C", "dwa", "10", "23"),
        line("D", "1", "-5", "23"),
        line("E", "1", "1.123456789", "17"),
        line("F", "0", "1", "23"),
    ];
    has(&dr, "lines[2].quantity", ErrorCode::BadNumber);
    has(&dr, "lines[3].unit_price", ErrorCode::MustNotBeNegative);
    has(&dr, "lines[4].unit_price", ErrorCode::TooManyDecimals);
    has(&dr, "lines[4].rate", ErrorCode::BadRate);
    has(&dr, "lines[5].quantity", ErrorCode::MustBePositive);
    assert_eq!(errors(&dr).len(), 5);
}

#[test]
fn dates_are_checked() {
    let mut dr = vat_draft();
    dr.issue_date = "01.02.2026".into();
    has(&dr, "issue_date", ErrorCode::BadDate);
    dr.issue_date = "2051-01-01".into();
    has(&dr, "issue_date", ErrorCode::DateOutOfRange);
    dr.issue_date = "2026-02-01".into();
    dr.sale_period_from = "2026-02-10".into();
    dr.sale_period_to = "2026-02-01".into();
    has(&dr, "sale_period_to", ErrorCode::PeriodReversed);
    dr.sale_period_from.clear();
    has(&dr, "sale_period_from", ErrorCode::Required);
}

#[test]
fn issue_date_in_the_future_is_refused_when_today_is_known() {
    let dr = vat_draft();
    assert!(dr.validate_on(date!(2026 - 02 - 01)).is_ok());
    let err = dr.validate_on(date!(2026 - 01 - 31)).unwrap_err();
    assert!(err.has("issue_date", ErrorCode::IssueDateInFuture));
    assert!(err.errors[0].pl.contains("KSeF odrzuci"));
}

#[test]
fn rate_and_annotation_rules_behind_450_rejections() {
    let mut dr = vat_draft();
    dr.lines = vec![line("Szkolenie", "1", "100", "zw")];
    has(
        &dr,
        "annotations.exemption_basis",
        ErrorCode::ExemptionBasisRequired,
    );
    dr.annotations.exemption_basis = "art. 113 ust. 1".into();
    assert!(dr.validate().is_ok());
    dr.lines = vec![line("Usługa", "1", "100", "23")];
    has(
        &dr,
        "annotations.exemption_basis",
        ErrorCode::ExemptionWithoutExemptLine,
    );

    let mut dr = vat_draft();
    dr.lines = vec![line("Towar", "1", "100", "0 WDT")];
    has(&dr, "lines[0].rate", ErrorCode::IntraEuNeedsEuVat);

    let mut dr = vat_draft();
    dr.buyer.id_kind = BuyerIdKind::None;
    dr.lines = vec![line("Złom", "1", "100", "oo")];
    has(&dr, "lines[0].rate", ErrorCode::ReverseChargeNeedsNip);
}

#[test]
fn currency_rules() {
    let mut dr = vat_draft();
    dr.currency = "EUR".into();
    has(&dr, "exchange_rate", ErrorCode::ExchangeRateRequired);
    dr.exchange_rate = "0".into();
    has(&dr, "exchange_rate", ErrorCode::MustBePositive);
    dr.exchange_rate = "4.25".into();
    assert!(dr.validate().is_ok());
    dr.currency = "XYZ".into();
    has(&dr, "currency", ErrorCode::BadCurrency);
    dr.currency = "PLN".into();
    has(&dr, "exchange_rate", ErrorCode::ExchangeRateForPln);
}

#[test]
fn buyer_identifiers() {
    let mut dr = vat_draft();
    dr.buyer.id_kind = BuyerIdKind::EuVat;
    dr.buyer.eu_vat = "US123".into();
    has(&dr, "buyer.eu_vat", ErrorCode::EuVatCountry);
    dr.buyer.id_kind = BuyerIdKind::None;
    dr.buyer.name.clear();
    assert!(dr.validate().is_ok(), "a consumer may stay anonymous");
    dr.buyer.id_kind = BuyerIdKind::Other;
    has(&dr, "buyer.other_id", ErrorCode::Required);
    has(&dr, "buyer.name", ErrorCode::Required);
}

#[test]
fn correction_and_settlement_references() {
    let mut dr = vat_draft();
    dr.kind = KindCode::Kor;
    dr.correction.original_ksef_number = "FV/1/2026".into();
    has(&dr, "correction.original_number", ErrorCode::Required);
    has(&dr, "correction.original_issue_date", ErrorCode::Required);
    has(
        &dr,
        "correction.original_ksef_number",
        ErrorCode::BadKsefNumber,
    );

    let mut dr = vat_draft();
    dr.kind = KindCode::Roz;
    dr.advances = vec![Default::default()];
    dr.advances_paid = "999999".into();
    has(&dr, "advances[0].number", ErrorCode::Required);
    dr.advances[0].number = "ZAL/1".into();
    has(&dr, "advances_paid", ErrorCode::AdvanceExceedsOrder);

    let mut dr = vat_draft();
    dr.kind = KindCode::Zal;
    has(&dr, "advance_received", ErrorCode::Required);
}

#[test]
fn text_fields_refuse_control_characters_and_overlong_input() {
    let mut dr = vat_draft();
    dr.number = "FV\u{1}1".into();
    has(&dr, "number", ErrorCode::BadCharacters);
    dr.number = "X".repeat(257);
    has(&dr, "number", ErrorCode::TooLong);
    // The message says the limit and how far over the text is, in both languages.
    let e = dr
        .validate_on(time::macros::date!(2026 - 12 - 31))
        .unwrap_err();
    let msg = e.for_path("number").next().unwrap();
    assert!(
        msg.pl.contains("257 znaków") && msg.pl.contains("najwyżej 256"),
        "{}",
        msg.pl
    );
    assert!(
        msg.en.contains("257 characters") && msg.en.contains("at most 256"),
        "{}",
        msg.en
    );
}

#[test]
fn bank_account_and_email_are_checked() {
    let mut dr = vat_draft();
    dr.payment.bank_account = "61 1090 1014 0000 0712 1981 2875".into();
    dr.seller.email = "not-an-email".into();
    has(&dr, "payment.bank_account", ErrorCode::BadBankAccount);
    has(&dr, "seller.email", ErrorCode::BadEmail);
    dr.payment.swift = "bpko pl".into();
    has(&dr, "payment.swift", ErrorCode::BadSwift);
    dr.payment.bank_account = "61 1090 1014 0000 0712 1981 2874".into();
    dr.seller.email = "biuro@kowalski.pl".into();
    dr.payment.swift = "bpkoplpw".into();
    let inv = dr.validate().unwrap();
    assert_eq!(
        inv.payment.unwrap().bank_accounts[0].swift.as_deref(),
        Some("BPKOPLPW")
    );
}

#[test]
fn drafts_survive_json_even_half_filled() {
    let partial: InvoiceDraft =
        serde_json::from_str(r#"{"number":"FV/9","lines":[{"description":"X"}]}"#).unwrap();
    assert_eq!(partial.number, "FV/9");
    assert_eq!(partial.currency, "PLN");
    assert_eq!(partial.lines[0].rate, "23");
    let full = vat_draft();
    let json = serde_json::to_string(&full).unwrap();
    let back: InvoiceDraft = serde_json::from_str(&json).unwrap();
    assert_eq!(back, full);
    let errs = serde_json::to_value(full.clone().tap_invalid().validate().unwrap_err()).unwrap();
    assert!(errs["errors"][0]["path"].is_string());
    assert!(errs["errors"][0]["pl"].is_string());
}

trait TapInvalid {
    fn tap_invalid(self) -> Self;
}

impl TapInvalid for InvoiceDraft {
    fn tap_invalid(mut self) -> Self {
        self.buyer.nip = "1".into();
        self
    }
}

#[test]
fn live_totals_ignore_unfinished_lines() {
    let mut dr = vat_draft();
    dr.lines = vec![
        line("A", "2", "100", "23"),
        line("B", "", "50", "8"),
        line("C", "1", "abc", "23"),
        line("D", "1", "50", "8"),
    ];
    let t = dr.live_totals();
    let d = |s: &str| Decimal::from_str(s).unwrap();
    assert_eq!(t.rate(VatRate::R23).unwrap().gross, d("246.00"));
    assert_eq!(t.rate(VatRate::R8).unwrap().vat, d("4.00"));
    assert_eq!(t.gross, d("300.00"));
    dr.kind = KindCode::Zal;
    dr.advance_received = "150".into();
    assert_eq!(dr.live_totals().gross, d("150.00"));
}

#[test]
fn a_line_flagged_as_wrong_does_not_count_in_the_live_totals() {
    let d = |s: &str| Decimal::from_str(s).unwrap();
    let mut dr = vat_draft();
    dr.lines = vec![line("A", "2", "100", "23"), line("B", "-3", "1000", "23")];
    has(&dr, "lines[1].quantity", ErrorCode::MustBePositive);
    assert_eq!(dr.live_totals().gross, d("246.00"), "not 246 − 3 690");
    dr.lines[1] = line("B", "1", "-50", "23");
    has(&dr, "lines[1].unit_price", ErrorCode::MustNotBeNegative);
    assert_eq!(dr.live_totals().gross, d("246.00"));
    // A correction may lower quantities: there the negative line counts.
    dr.kind = KindCode::Kor;
    dr.lines[1] = line("B", "-1", "100", "23");
    assert_eq!(dr.live_totals().gross, d("123.00"));
}

#[test]
fn an_invoice_turns_back_into_the_same_draft_result() {
    let mut dr = vat_draft();
    dr.lines.push(line("Szkolenie", "2,5", "80", "zw"));
    dr.annotations.exemption_basis = "art. 113 ust. 1".into();
    dr.sale_date = "2026-01-31".into();
    dr.payment.bank_account = "61109010140000071219812874".into();
    dr.payment.due_date = "2026-02-14".into();
    let inv = dr.validate().unwrap();
    let again = InvoiceDraft::from(&inv).validate().unwrap();
    assert_eq!(again, inv);
    // The invoice itself survives JSON (e.g. stored after sending).
    let json = serde_json::to_string(&inv).unwrap();
    assert_eq!(
        serde_json::from_str::<ksef_core::invoice::Invoice>(&json).unwrap(),
        inv
    );
}

#[test]
fn correction_draft_starts_from_the_original() {
    let original = vat_draft().validate().unwrap();
    let mut kor = InvoiceDraft::correction_of(
        &original,
        Some("5265877635-20260201-0100001AF629-AF"),
        date!(2026 - 02 - 10),
    );
    assert_eq!(kor.kind, KindCode::Kor);
    assert_eq!(kor.correction.original_number, "FV/1/02/2026");
    assert_eq!(kor.correction.lines_before, kor.lines);
    assert!(
        kor.validate()
            .unwrap_err()
            .has("number", ErrorCode::Required)
    );
    kor.number = "KOR/1/02/2026".into();
    kor.lines[0].unit_price = "80".into();
    let inv = kor.validate().unwrap();
    assert_eq!(inv.totals().gross, Decimal::from_str("-24.60").unwrap());
}
