//! The FA(3) view model keeps every field an invoice fills: for each official sample (and
//! KOR/ZAL/ROZ fixtures valid against the XSD), every leaf element with text and every
//! attribute value must appear in the serialised view, as often as it appears in the XML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ksef_core::fa3::view::InvoiceView;
use ksef_core::qr::QrEnvironment;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The official samples with their placeholders filled, plus our KOR/ZAL/ROZ fixtures.
fn invoices() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let samples = root().join("samples/fa3");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fa3-view");
    for dir in [samples, fixtures] {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        {
            let xml = std::fs::read_to_string(&path)
                .unwrap()
                .replace("#nip#", "5265877635")
                .replace("#nipOdbiorca#", "7352765225")
                .replace("#invoice_number#", "123");
            assert!(
                !xml.contains('#') || !xml.contains("#nip"),
                "placeholder left in {path:?}"
            );
            out.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                xml,
            ));
        }
    }
    assert!(
        out.len() >= 8,
        "all 5 official samples and 3 fixtures: {}",
        out.len()
    );
    out
}

/// Every (path, text) leaf and (path@attr, value) of the XML, read independently of the view.
fn leaves(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut has_children = vec![false];
    let mut out = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                *has_children.last_mut().unwrap() = true;
                let name = e.local_name().as_ref().to_owned();
                path.push(name);
                for a in e.attributes().flatten() {
                    let key = a.key.local_name().as_ref().to_owned();
                    if !a.key.as_ref().starts_with("xmlns") {
                        let v = a
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned();
                        out.push((format!("{}@{key}", path.join("/")), v));
                    }
                }
                has_children.push(false);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                text.push(r.resolve_char_ref().unwrap().unwrap_or('&'));
            }
            Event::End(_) => {
                let leaf = !has_children.pop().unwrap();
                if leaf && !text.trim().is_empty() {
                    out.push((path.join("/"), text.trim().to_owned()));
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn strings(value: &Value, out: &mut BTreeMap<String, usize>) {
    match value {
        Value::String(s) => *out.entry(s.clone()).or_default() += 1,
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[test]
fn every_filled_field_of_every_sample_is_in_the_view() {
    for (name, xml) in invoices() {
        let view = InvoiceView::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            view.other.is_empty(),
            "{name}: fields not modelled by the view: {:?}",
            view.other
        );
        let mut serialised = serde_json::to_value(&view).unwrap();
        // `other` is empty; it must not be what makes the test pass.
        serialised.as_object_mut().unwrap().remove("other");
        let mut available = BTreeMap::new();
        strings(&serialised, &mut available);
        let mut missing = Vec::new();
        let leaves = leaves(&xml);
        assert!(leaves.len() > 40, "{name}: {} leaves", leaves.len());
        for (path, value) in &leaves {
            match available.get_mut(value) {
                Some(n) if *n > 0 => *n -= 1,
                _ => missing.push(format!("{path} = {value:?}")),
            }
        }
        assert!(missing.is_empty(), "{name}: the view drops {missing:#?}");
    }
}

#[test]
fn an_unknown_element_is_kept_under_other_with_its_path() {
    let (_, xml) = invoices()
        .into_iter()
        .find(|(n, _)| n == "csharp-invoice-template-fa-3.xml")
        .unwrap();
    let xml = xml.replace(
        "<RodzajFaktury>",
        "<NowePole>wartość z przyszłej wersji</NowePole><RodzajFaktury>",
    );
    let view = InvoiceView::parse(&xml).unwrap();
    assert_eq!(view.other.len(), 1);
    assert_eq!(view.other[0].path, "Fa/NowePole");
    assert_eq!(view.other[0].value, "wartość z przyszłej wersji");
}

fn view_of(name: &str) -> (InvoiceView, String) {
    let (_, xml) = invoices().into_iter().find(|(n, _)| n == name).unwrap();
    (InvoiceView::parse(&xml).unwrap(), xml)
}

#[test]
fn parties_totals_payment_and_footer_read_as_a_person_would() {
    let (v, _) = view_of("csharp-invoice-template-fa-3-with-custom-Subject3.xml");
    assert_eq!(v.seller.nip.as_deref(), Some("5265877635"));
    assert_eq!(v.buyer.name.as_deref(), Some("Szkoła Testowa"));
    assert_eq!(v.third_parties.len(), 1);
    assert_eq!(
        v.third_parties[0].third_party_role_pl(),
        Some("JST — odbiorca")
    );
    assert_eq!(v.third_parties[0].identifier(), "NIP 7352765225");
    assert_eq!(v.details.kind.as_deref(), Some("VAT"));
    assert_eq!(v.details.rate_totals.len(), 1);
    let t = &v.details.rate_totals[0];
    assert_eq!(
        (t.field, t.net.as_deref(), t.vat.as_deref()),
        ("P_13_1", Some("52260.10"), Some("12019.82"))
    );
    assert_eq!(v.details.lines.len(), 3);
    assert_eq!(v.details.lines[1].discount.as_deref(), Some("100"));
    let pay = v.details.payment.as_ref().unwrap();
    assert_eq!(pay.due[0].date.as_deref(), Some("2026-03-15"));
    assert_eq!(pay.method_pl(), Some("przelew"));
    assert!(pay.accounts[0].factor, "the factor's account is marked");
    assert_eq!(
        v.details.settlement.as_ref().unwrap().to_pay.as_deref(),
        Some("63279.92")
    );
    let transport = v
        .details
        .transaction_terms
        .as_ref()
        .unwrap()
        .child("Transport")
        .unwrap();
    assert_eq!(
        transport
            .child("Przewoznik")
            .unwrap()
            .child("DaneIdentyfikacyjne")
            .unwrap()
            .child("NIP")
            .unwrap()
            .value,
        "6666666666"
    );
    assert_eq!(v.footer.registries[0].krs.as_deref(), Some("0000099999"));
    assert_eq!(
        v.footer.texts,
        vec!["Kapiał zakładowy 5 000 000".to_owned()]
    );
    assert!(
        v.details.annotations.active_pl().is_empty(),
        "all annotation flags say no"
    );

    let (a, _) = view_of("csharp-invoice-template-fa-3-with-attachment.xml");
    let table = a
        .attachment
        .as_ref()
        .unwrap()
        .child("BlokDanych")
        .unwrap()
        .child("Tabela")
        .unwrap();
    let header = table.child("TNaglowek").unwrap();
    assert_eq!(header.children.len(), 9, "nine columns");
    assert_eq!(
        header.children[1].attributes,
        vec![("Typ".to_owned(), "date".to_owned())]
    );
    let opis = a.attachment.as_ref().unwrap().children[0]
        .children
        .iter()
        .filter(|s| s.name == "Tabela")
        .nth(2)
        .unwrap();
    assert!(
        opis.children
            .iter()
            .any(|r| r.name == "Wiersz" && r.children[0].value == "Opłata przejściowa <500 kWh"),
        "character references are decoded"
    );
    assert_eq!(a.details.period_from.as_deref(), Some("2026-01-01"));
}

#[test]
fn correction_and_advance_data_are_exposed() {
    let (k, _) = view_of("kor.xml");
    assert_eq!(k.kind_pl(), "Faktura korygująca");
    let c = k.details.correction.as_ref().unwrap();
    assert_eq!(c.reason.as_deref(), Some("Zwrot części towaru"));
    assert_eq!(c.corrected.len(), 2);
    assert_eq!(
        c.corrected[0].ksef_number.as_deref(),
        Some("5265877635-20260201-0100001AF629-AF")
    );
    assert_eq!(c.corrected[1].outside_ksef.as_deref(), Some("1"));
    assert_eq!(
        c.seller_before.as_ref().unwrap().name.as_deref(),
        Some("Jan Kowalski (dawna nazwa)")
    );
    assert_eq!(c.buyers_before[0].identifier(), "VAT UE DE123456789");
    assert_eq!(k.details.lines[0].before_correction.as_deref(), Some("1"));
    assert_eq!(k.details.rate_totals[0].vat_pln.as_deref(), Some("-98.90"));
    assert_eq!(
        k.authorized.as_ref().unwrap().contacts[0].email.as_deref(),
        Some("komornik@example.pl")
    );
    assert_eq!(
        k.third_parties[0].role_description.as_deref(),
        Some("Płatnik grupowy")
    );
    let pay = k.details.payment.as_ref().unwrap();
    assert_eq!(pay.due[0].count.as_deref(), Some("14"));
    assert_eq!(
        pay.partial[0].other_method_description.as_deref(),
        Some("kompensata")
    );

    let (z, _) = view_of("zal.xml");
    assert_eq!(z.details.kind.as_deref(), Some("ZAL"));
    assert_eq!(
        z.details.partial_advances[0].amount.as_deref(),
        Some("1280.00")
    );
    assert_eq!(
        z.details
            .order
            .as_ref()
            .unwrap()
            .child("WartoscZamowienia")
            .unwrap()
            .value,
        "5000.00"
    );
    assert_eq!(
        z.details.annotations.active_pl(),
        vec![
            "metoda kasowa",
            "mechanizm podzielonej płatności",
            "zwolnienie z podatku"
        ]
    );
    assert_eq!(
        z.details
            .rate_totals
            .iter()
            .map(|t| t.field)
            .collect::<Vec<_>>(),
        vec!["P_13_1", "P_13_7"]
    );

    let (r, _) = view_of("roz.xml");
    assert_eq!(r.details.advance_invoices.len(), 2);
    assert_eq!(
        r.details.advance_invoices[1].number.as_deref(),
        Some("ZAL/0/02/2026")
    );
    assert_eq!(r.buyer.identifier(), "brak identyfikatora / no identifier");
    assert_eq!(
        r.details.settlement.as_ref().unwrap().to_settle.as_deref(),
        Some("5.00")
    );
}

#[test]
fn kod_i_link_uses_seller_issue_date_and_the_hash_of_the_exact_bytes() {
    let (v, xml) = view_of("pdf-generator-invoice.xml");
    let url = v
        .verification_url(QrEnvironment::Test, xml.as_bytes())
        .unwrap();
    let hash = ksef_core::crypto::sha256_base64url(xml.as_bytes());
    assert_eq!(
        url,
        format!("https://qr-test.ksef.mf.gov.pl/invoice/5265877635/31-10-2025/{hash}")
    );
    let other = v
        .verification_url(QrEnvironment::Prod, format!("{xml} ").as_bytes())
        .unwrap();
    assert!(other.starts_with("https://qr.ksef.mf.gov.pl/invoice/5265877635/31-10-2025/"));
    assert_ne!(
        other.rsplit('/').next(),
        Some(hash.as_str()),
        "one more byte, another hash"
    );
}

#[test]
fn not_an_invoice_is_refused() {
    assert!(InvoiceView::parse("<Upo/>").is_err());
    assert!(
        InvoiceView::parse("<Faktura><Fa>").is_err(),
        "an unclosed document"
    );
    assert!(InvoiceView::parse("not xml at all <").is_err());
}
