//! FA(3) writing, reading and XSD validity of everything Kwit generates.

mod common;

use common::*;
use ksef_core::fa3::{Fa3Error, read_fa3};
use ksef_core::invoice::draft::ExemptionKind;
use ksef_core::invoice::{
    AdvanceRefDraft, BuyerIdKind, Invoice, InvoiceDraft, KindCode, NoteDraft, PaymentMethod,
    PriceBasis, VatRate,
};
use ksef_core::money::Decimal;
use std::str::FromStr;
use time::macros::datetime;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Writes, checks against the XSD, reads back and compares.
fn write_validate_read(name: &str, draft: &InvoiceDraft) -> (Invoice, String) {
    let inv = draft
        .validate()
        .unwrap_or_else(|e| panic!("{name}: draft should be valid: {e:?}"));
    let xml = inv.to_fa3_xml(generated_at());
    if let Err(e) = xsd_check(&xml) {
        panic!("{name}: not XSD-valid:\n{e}");
    }
    let read = read_fa3(&xml).unwrap_or_else(|e| panic!("{name}: cannot read back: {e}"));
    assert_eq!(read.invoice, inv, "{name}: round trip changed the invoice");
    assert_eq!(
        read.totals_mismatches(),
        vec![],
        "{name}: stated totals differ"
    );
    assert_eq!(read.generated_at, "2026-02-01T10:00:00Z");
    assert_eq!(read.system_info.as_deref(), Some("Kwit"));
    (inv, xml)
}

#[test]
fn minimal_vat_invoice_is_xsd_valid_and_has_the_expected_totals() {
    let (inv, xml) = write_validate_read("minimal", &vat_draft());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Faktura xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\">"));
    assert!(xml.contains("<P_13_1>100.00</P_13_1>"));
    assert!(xml.contains("<P_14_1>23.00</P_14_1>"));
    assert!(xml.contains("<P_15>123.00</P_15>"));
    assert!(xml.ends_with("</Faktura>\n"));
    assert_eq!(inv.totals().gross, d("123.00"));
}

#[test]
fn output_is_deterministic_and_only_the_timestamp_depends_on_time() {
    let inv = vat_draft().validate().unwrap();
    let a = inv.to_fa3_xml(generated_at());
    let b = inv.to_fa3_xml(generated_at());
    assert_eq!(a, b);
    // A non-UTC offset is normalised to UTC, sub-seconds dropped.
    let c = inv.to_fa3_xml(datetime!(2026-02-01 11:00:00.123 +01:00));
    assert_eq!(a, c);
    let later = inv.to_fa3_xml(datetime!(2026-03-01 08:30:00 UTC));
    assert_ne!(a, later);
    assert_eq!(
        a.replace("2026-02-01T10:00:00Z", "X"),
        later.replace("2026-03-01T08:30:00Z", "X")
    );
    assert!(!a.as_bytes().starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
    assert!(!a.contains('\r'));
}

#[test]
fn all_rates_with_payment_notes_footer_and_period_round_trip() {
    let mut dr = vat_draft();
    dr.place_of_issue = "Kraków".into();
    dr.sale_period_from = "2026-01-01".into();
    dr.sale_period_to = "2026-01-31".into();
    dr.lines = vec![
        line("Programowanie", "160", "150,00", "23"),
        line("Książka", "2", "39.99", "5"),
        line("Catering", "3", "33.333", "8"),
        line("Szkolenie zwolnione", "1", "1000", "zw"),
        line("Usługa 0%", "1", "10", "0 KR"),
        line("Konsultacja poza PL", "1.5", "200", "np I"),
        line("Eksport", "1", "300", "0 EX"),
    ];
    dr.annotations.exemption_kind = ExemptionKind::PolishLaw;
    dr.annotations.exemption_basis = "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT".into();
    dr.annotations.split_payment = true;
    dr.annotations.cash_accounting = true;
    dr.payment.due_date = "2026-02-15".into();
    dr.payment.method = Some(PaymentMethod::Transfer);
    dr.payment.bank_account = "61 1090 1014 0000 0712 1981 2874".into();
    dr.payment.bank_name = "Santander".into();
    dr.notes = vec![NoteDraft {
        key: "Projekt".into(),
        value: "Kwit & <KSeF> \"2.0\"".into(),
    }];
    dr.footer = "Dziękujemy za współpracę".into();
    dr.buyer.email = "ksiegowosc@nabywca.pl".into();
    dr.buyer.customer_number = "K-17".into();
    let (inv, xml) = write_validate_read("all rates", &dr);
    let t = inv.totals();
    // 160 × 150 = 24000 → VAT 5520; 2 × 39.99 = 79.98 → VAT 4.00 (3.999); 3 × 33.333 = 99.999
    // → 100.00 → VAT 8.00.
    assert_eq!(t.rate(VatRate::R23).unwrap().vat, d("5520.00"));
    assert_eq!(t.rate(VatRate::R5).unwrap().vat, d("4.00"));
    assert_eq!(t.rate(VatRate::R8).unwrap().net, d("100.00"));
    assert_eq!(t.rate(VatRate::OutsideScope).unwrap().net, d("300.00"));
    assert_eq!(
        t.gross,
        d("24000")
            + d("5520")
            + d("79.98")
            + d("4")
            + d("100")
            + d("8")
            + d("1000")
            + d("10")
            + d("300")
            + d("300")
    );
    for el in [
        "<P_13_6_1>10.00</P_13_6_1>",
        "<P_13_6_3>300.00</P_13_6_3>",
        "<P_13_7>1000.00</P_13_7>",
        "<P_13_8>300.00</P_13_8>",
        "<P_19A>art. 43",
        "<P_18A>1</P_18A>",
        "<P_16>1</P_16>",
        "<OkresFa>",
        "<FormaPlatnosci>6</FormaPlatnosci>",
        "<NrRB>61109010140000071219812874</NrRB>",
        "&lt;KSeF&gt;",
    ] {
        assert!(xml.contains(el), "missing {el}");
    }
}

#[test]
fn gross_prices_consumer_invoice_round_trips() {
    let mut dr = vat_draft();
    dr.prices = PriceBasis::Gross;
    dr.buyer.id_kind = BuyerIdKind::None;
    dr.buyer.nip.clear();
    dr.buyer.name = "Anna Nowak".into();
    dr.buyer.country.clear();
    dr.buyer.address_line1.clear();
    dr.lines = vec![
        line("Strona WWW", "1", "1230", "23"),
        line("Hosting", "12", "10.99", "23"),
    ];
    dr.sale_date = "2026-01-30".into();
    dr.payment.paid_on = "2026-02-01".into();
    dr.payment.method = Some(PaymentMethod::Card);
    let (inv, xml) = write_validate_read("consumer gross", &dr);
    // gross 1230 + 131.88 = 1361.88; VAT = 1361.88 × 23/123 = 254.657… → 254.66
    let t = inv.totals();
    assert_eq!(t.gross, d("1361.88"));
    assert_eq!(t.vat, d("254.66"));
    assert_eq!(t.net, d("1107.22"));
    assert!(xml.contains("<BrakID>1</BrakID>"));
    assert!(xml.contains("<P_9B>10.99</P_9B>"));
    assert!(xml.contains("<P_11A>131.88</P_11A>"));
    assert!(xml.contains("<Zaplacono>1</Zaplacono>"));
}

#[test]
fn foreign_currency_eu_services_and_goods_round_trip() {
    let mut dr = vat_draft();
    dr.currency = "EUR".into();
    dr.exchange_rate = "4,2563".into();
    dr.buyer.id_kind = BuyerIdKind::EuVat;
    dr.buyer.nip.clear();
    dr.buyer.eu_vat = "DE 123456789".into();
    dr.buyer.name = "Kunde GmbH".into();
    dr.buyer.country = "DE".into();
    dr.buyer.address_line1 = "Hauptstr. 1, 10115 Berlin".into();
    dr.lines = vec![
        line("Software development", "10", "80", "np II"),
        line("Laptop", "1", "1000", "0 WDT"),
        line("Szkolenie w PL", "1", "100", "23"),
    ];
    dr.payment.bank_account = "DE89370400440532013000".into();
    dr.payment.swift = "COBADEFFXXX".into();
    let (inv, xml) = write_validate_read("EUR", &dr);
    let t = inv.totals();
    assert_eq!(t.rate(VatRate::R23).unwrap().vat_pln, Some(d("97.89")));
    assert!(xml.contains("<KodUE>DE</KodUE>"));
    assert!(xml.contains("<NrVatUE>123456789</NrVatUE>"));
    assert!(xml.contains("<P_13_9>800.00</P_13_9>"));
    assert!(xml.contains("<P_13_6_2>1000.00</P_13_6_2>"));
    assert!(xml.contains("<P_14_1W>97.89</P_14_1W>"));
    assert!(xml.contains("<KursWaluty>4.2563</KursWaluty>"));
}

#[test]
fn reverse_charge_and_other_id_buyers_round_trip() {
    let mut dr = vat_draft();
    dr.lines = vec![line("Roboty budowlane", "1", "5000", "oo")];
    let (inv, xml) = write_validate_read("oo", &dr);
    assert!(inv.annotations.reverse_charge);
    assert!(xml.contains("<P_18>1</P_18>"));
    assert!(xml.contains("<P_13_10>5000.00</P_13_10>"));

    let mut dr = vat_draft();
    dr.buyer.id_kind = BuyerIdKind::Other;
    dr.buyer.other_country = "US".into();
    dr.buyer.other_id = "12-3456789".into();
    dr.buyer.country = "US".into();
    dr.lines = vec![line("Consulting", "1", "500", "np I")];
    let (_, xml) = write_validate_read("other id", &dr);
    assert!(xml.contains("<NrID>12-3456789</NrID>"));
}

fn correction_draft(ksef: &str) -> InvoiceDraft {
    let mut dr = vat_draft();
    dr.kind = KindCode::Kor;
    dr.number = "KOR/1/02/2026".into();
    dr.correction.reason = "Błędna ilość".into();
    dr.correction.effect = "1".into();
    dr.correction.original_number = "FV/7/01/2026".into();
    dr.correction.original_issue_date = "2026-01-20".into();
    dr.correction.original_ksef_number = ksef.into();
    dr.correction.lines_before = vec![line("Usługa programistyczna", "10", "100", "23")];
    dr.lines = vec![line("Usługa programistyczna", "8", "100", "23")];
    dr
}

#[test]
fn corrections_state_the_difference_and_the_corrected_invoice() {
    let (inv, xml) = write_validate_read(
        "KOR",
        &correction_draft("5265877635-20260120-0100001AF629-AF"),
    );
    let t = inv.totals();
    assert_eq!(t.net, d("-200.00"));
    assert_eq!(t.vat, d("-46.00"));
    assert_eq!(t.gross, d("-246.00"));
    for el in [
        "<RodzajFaktury>KOR</RodzajFaktury>",
        "<NrKSeF>1</NrKSeF>",
        "<NrKSeFFaKorygowanej>5265877635-20260120-0100001AF629-AF</NrKSeFFaKorygowanej>",
        "<StanPrzed>1</StanPrzed>",
        "<P_15>-246.00</P_15>",
        "<TypKorekty>1</TypKorekty>",
    ] {
        assert!(xml.contains(el), "missing {el}");
    }
    let (_, xml) = write_validate_read("KOR outside KSeF", &correction_draft(""));
    assert!(xml.contains("<NrKSeFN>1</NrKSeFN>"));
}

#[test]
fn advance_and_settlement_invoices_round_trip() {
    let mut dr = vat_draft();
    dr.kind = KindCode::Zal;
    dr.number = "ZAL/1/02/2026".into();
    dr.lines = vec![
        line("Aplikacja mobilna", "1", "10000", "23"),
        line("E-book", "1", "1000", "5"),
    ];
    dr.advance_received = "3000".into();
    let (inv, xml) = write_validate_read("ZAL", &dr);
    let t = inv.totals();
    assert_eq!(t.gross, d("3000.00"));
    // Order gross 12300 + 1050 = 13350; 23% share = 3000 × 12300/13350 = 2764.04
    assert_eq!(t.rate(VatRate::R23).unwrap().gross, d("2764.04"));
    assert_eq!(t.rate(VatRate::R23).unwrap().vat, d("516.85"));
    assert_eq!(t.rate(VatRate::R5).unwrap().gross, d("235.96"));
    assert!(xml.contains("<WartoscZamowienia>13350.00</WartoscZamowienia>"));
    assert!(!xml.contains("<FaWiersz>"));

    let mut dr = vat_draft();
    dr.kind = KindCode::Roz;
    dr.number = "FV/2/02/2026".into();
    dr.lines = vec![line("Aplikacja mobilna", "1", "10000", "23")];
    dr.advances = vec![
        AdvanceRefDraft {
            ksef_number: "5265877635-20260110-0100001AF629-AF".into(),
            number: String::new(),
        },
        AdvanceRefDraft {
            ksef_number: String::new(),
            number: "ZAL/2/01/2026".into(),
        },
    ];
    dr.advances_paid = "4920".into();
    let (inv, xml) = write_validate_read("ROZ", &dr);
    let t = inv.totals();
    assert_eq!(t.gross, d("7380.00"));
    assert_eq!(t.net, d("6000.00"));
    assert!(xml.contains(
        "<NrKSeFFaZaliczkowej>5265877635-20260110-0100001AF629-AF</NrKSeFFaZaliczkowej>"
    ));
    assert!(xml.contains("<NrFaZaliczkowej>ZAL/2/01/2026</NrFaZaliczkowej>"));
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("samples/fa3").join(name))
        .unwrap()
        .replace("#nip#", SELLER_NIP)
        .replace("#nipOdbiorca#", BUYER_NIP)
        .replace("#invoice_number#", "123")
}

#[test]
fn reads_every_official_sample() {
    let dir = repo_root().join("samples/fa3");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 5);
    for name in &names {
        let xml = sample(name);
        assert!(
            !xml.contains("#nip") && !xml.contains("#invoice_number#"),
            "{name}: unsubstituted placeholder"
        );
        xsd_check(&xml).unwrap_or_else(|e| panic!("{name}: sample itself invalid: {e}"));
        let read = read_fa3(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!read.invoice.lines.is_empty(), "{name}: no lines");
        assert!(read.stated.contains_key("P_15"));
        assert_eq!(read.totals_mismatches(), vec![], "{name}: totals differ");
        // Re-writing what we read must still be a valid FA(3) document.
        assert_xsd_valid(&read.invoice.to_fa3_xml(generated_at()));
    }
}

#[test]
fn reads_the_csharp_template_in_detail() {
    let read = read_fa3(&sample("csharp-invoice-template-fa-3.xml")).unwrap();
    let inv = &read.invoice;
    assert_eq!(inv.number, "FA/GRQMB-123/05/2025");
    assert_eq!(inv.seller.nip.as_str(), SELLER_NIP);
    assert_eq!(inv.seller.name, "Elektrownia S.A.");
    assert_eq!(inv.place_of_issue.as_deref(), Some("Warszawa"));
    assert_eq!(inv.lines.len(), 2);
    assert_eq!(inv.lines[0].quantity, d("20.00"));
    assert_eq!(inv.lines[0].unit_price, d("0.90"));
    assert_eq!(inv.notes[0].key, "Informacja o akcyzie");
    assert_eq!(inv.footer.as_deref(), Some("Kapiał zakładowy 5 000 000"));
    let pay = inv.payment.as_ref().unwrap();
    assert_eq!(pay.method, Some(PaymentMethod::Transfer));
    assert_eq!(pay.bank_accounts[0].number, "73111111111111111111111111");
    assert_eq!(read.stated["P_15"], d("53.63"));
    assert_eq!(read.totals_mismatches(), vec![]);
    assert_eq!(inv.totals().gross, d("53.63"));
}

#[test]
fn reads_the_pdf_generator_invoice_and_reports_totals_consistency() {
    let read = read_fa3(&sample("pdf-generator-invoice.xml")).unwrap();
    assert_eq!(read.invoice.seller.nip.as_str(), "5265877635");
    assert!(read.invoice.lines.len() >= 10);
    // Whatever the sample states, the mismatch list names only summary elements.
    for (el, _, _) in read.totals_mismatches() {
        assert!(el.starts_with("P_1"), "{el}");
    }
}

#[test]
fn refuses_documents_that_are_not_fa3() {
    let fa2 = sample("csharp-invoice-template-fa-3.xml")
        .replace(
            "http://crd.gov.pl/wzor/2025/06/25/13775/",
            "http://crd.gov.pl/wzor/2023/06/29/12648/",
        )
        .replace("FA (3)", "FA (2)");
    assert!(matches!(read_fa3(&fa2), Err(Fa3Error::NotFa3(_))));
    assert!(matches!(
        read_fa3("<html>nope</html>"),
        Err(Fa3Error::Xml(_))
    ));
    assert!(matches!(read_fa3("not xml at all"), Err(Fa3Error::Xml(_))));
    let bad_amount = sample("csharp-invoice-template-fa-3.xml")
        .replace("<P_15>53.63</P_15>", "<P_15>12,5</P_15>");
    let err = read_fa3(&bad_amount).unwrap_err();
    assert_eq!(
        err,
        Fa3Error::BadValue {
            element: "P_15".into(),
            value: "12,5".into()
        }
    );
    assert!(err.to_string().contains("P_15"));
}

#[test]
fn tampered_totals_are_reported() {
    let xml = sample("csharp-invoice-template-fa-3.xml")
        .replace("<P_14_1>10.03</P_14_1>", "<P_14_1>10.04</P_14_1>");
    let read = read_fa3(&xml).unwrap();
    assert_eq!(
        read.totals_mismatches(),
        vec![("P_14_1".to_owned(), Some(d("10.04")), Some(d("10.03")))]
    );
}

#[test]
fn discounted_lines_keep_their_stated_value() {
    // Subject3 sample: line 2 is 20 × 1000 with P_10 = 100 and P_11 = 18000.
    let read = read_fa3(&sample(
        "csharp-invoice-template-fa-3-with-custom-Subject3.xml",
    ))
    .unwrap();
    assert_eq!(read.invoice.lines[1].unit_price, d("900"));
    assert_eq!(read.totals_mismatches(), vec![]);
    assert_eq!(read.invoice.totals().gross, d("64279.92"));
}

#[test]
fn generation_time_before_fa3_start_is_refused_by_the_schema() {
    let inv = vat_draft().validate().unwrap();
    let at = ksef_core::fa3::MIN_GENERATED_AT;
    assert_xsd_valid(&inv.to_fa3_xml(at));
    let err = xsd_check(&inv.to_fa3_xml(at - time::Duration::seconds(1))).unwrap_err();
    assert!(err.contains("DataWytworzeniaFa"), "{err}");
}

#[test]
fn foreign_currency_advance_keeps_its_rate_and_special_characters_survive() {
    let mut dr = vat_draft();
    dr.kind = KindCode::Zal;
    dr.currency = "USD".into();
    dr.exchange_rate = "3.9876".into();
    dr.buyer.name = "O'Reilly & Sons <Ltd> \"Best\"".into();
    dr.lines = vec![line("Projekt – etap 1 (½)", "1", "5000", "23")];
    dr.advance_received = "1230".into();
    let (inv, xml) = write_validate_read("USD ZAL", &dr);
    assert!(xml.contains("<KursWalutyZ>3.9876</KursWalutyZ>"));
    // 230.00 × 3.9876 = 917.148
    assert!(xml.contains("<P_14_1W>917.15</P_14_1W>"));
    assert_eq!(
        inv.buyer.name.as_deref(),
        Some("O'Reilly & Sons <Ltd> \"Best\"")
    );
}

/// Puts every element of `xml` into the `tns:` prefix.
fn with_prefix(xml: &str) -> String {
    let xml = xml.replace(
        "xmlns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"",
        "xmlns:tns=\"http://crd.gov.pl/wzor/2025/06/25/13775/\"",
    );
    let mut out = String::new();
    let mut chars = xml.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '<' {
            match chars.peek() {
                Some('/') => {
                    out.push('/');
                    chars.next();
                    out.push_str("tns:");
                }
                Some('?') | None => {}
                Some(_) => out.push_str("tns:"),
            }
        }
    }
    out
}

#[test]
fn reads_invoices_with_a_namespace_prefix() {
    let xml = with_prefix(&sample("csharp-invoice-template-fa-3.xml"));
    assert!(xml.contains("<tns:Faktura"));
    xsd_check(&xml).unwrap();
    let read = read_fa3(&xml).unwrap();
    assert_eq!(read.invoice.number, "FA/GRQMB-123/05/2025");
    assert_eq!(read.totals_mismatches(), vec![]);
}

/// The exact bytes of the minimal invoice are pinned: KSeF stores the SHA-256 of what we send,
/// so any change in serialization must be deliberate (regenerate with `KWIT_BLESS=1`).
#[test]
fn minimal_invoice_bytes_match_the_golden_file() {
    let xml = vat_draft().validate().unwrap().to_fa3_xml(generated_at());
    let path = repo_root().join("shared/tests/fixtures/fa3-minimal-golden.xml");
    if std::env::var_os("KWIT_BLESS").is_some() {
        std::fs::write(&path, &xml).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap();
    assert_eq!(xml, golden);
}

#[test]
fn every_annotation_variant_is_xsd_valid_and_round_trips() {
    use ksef_core::invoice::{Exemption, MarginScheme};
    let base = vat_draft().validate().unwrap();
    let margins = [
        MarginScheme::TravelAgency,
        MarginScheme::SecondHandGoods,
        MarginScheme::WorksOfArt,
        MarginScheme::Antiques,
    ];
    let exemptions = [
        Exemption::PolishLaw("art. 113 ust. 1".into()),
        Exemption::Directive("art. 132 ust. 1 lit. i dyrektywy 2006/112/WE".into()),
        Exemption::Other("inna podstawa".into()),
    ];
    for (i, margin) in margins.into_iter().enumerate() {
        let mut inv = base.clone();
        inv.annotations.margin = Some(margin);
        inv.annotations.exemption = Some(exemptions[i % 3].clone());
        inv.annotations.self_billing = i % 2 == 0;
        inv.annotations.simplified_triangular = i % 2 == 1;
        inv.lines[0].rate = VatRate::Exempt;
        let xml = inv.to_fa3_xml(generated_at());
        assert_xsd_valid(&xml);
        assert_eq!(read_fa3(&xml).unwrap().invoice, inv);
    }
}
