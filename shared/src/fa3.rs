//! FA(3) XML: [`write_fa3`] turns an [`Invoice`] into the exact bytes sent to KSeF, and
//! [`read_fa3`] reads any FA(3) invoice (ours or a purchase invoice from KSeF) into the model.
//!
//! Schema: `schemas/fa3/schemat_FA(3)_v1-0E.xsd`; structure notes in ksef-guide §13.
//!
//! This file is the writer, with what writer and reader share (the constants, [`Fa3Error`],
//! the summary elements); `read.rs` is the reader, [`view`] the invoice page's faithful view,
//! `schema.rs` the serde mirror of the XSD both use.

mod read;
mod schema;
pub mod view;

pub use read::{ReadInvoice, read_fa3};

use crate::invoice::totals::{RateTotal, Totals, line_value};
use crate::invoice::validate::format_date;
use crate::invoice::{
    Address, Annotations, Buyer, BuyerId, Exemption, Invoice, InvoiceKind, Line, MarginScheme,
    Payment, PriceBasis, SaleDate, VatRate,
};
use crate::money::{Decimal, format_amount, format_quantity, format_unit_price, round_money};
use schema::*;
use serde::Serialize;
use std::collections::BTreeMap;
use time::{OffsetDateTime, UtcOffset};

/// FA(3) target namespace.
pub const FA3_NAMESPACE: &str = "http://crd.gov.pl/wzor/2025/06/25/13775/";
/// `KodFormularza/@kodSystemowy`.
pub const FA3_SYSTEM_CODE: &str = "FA (3)";
/// `KodFormularza/@wersjaSchemy`.
pub const FA3_SCHEMA_VERSION: &str = "1-0E";
/// Earliest `DataWytworzeniaFa` the XSD accepts (facet; an earlier one ends in status 450).
pub const MIN_GENERATED_AT: OffsetDateTime = time::macros::datetime!(2025-09-01 00:00:00 UTC);
/// `SystemInfo` written into every invoice.
pub const SYSTEM_INFO: &str = "Kwit";

/// Why an XML document could not be read as an FA(3) invoice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fa3Error {
    #[error("Plik nie jest poprawną fakturą XML ({0}) / The file is not a valid invoice XML ({0})")]
    Xml(String),
    #[error(
        "To nie jest faktura w schemie FA(3) (znaleziono: {0}) / This is not an FA(3) invoice (found: {0})"
    )]
    NotFa3(String),
    #[error(
        "Element {element} ma niepoprawną wartość „{value}” / Element {element} has an invalid value “{value}”"
    )]
    BadValue { element: String, value: String },
}

fn yes_no(flag: bool) -> String {
    if flag { "1" } else { "2" }.to_owned()
}

fn one() -> Option<String> {
    Some("1".to_owned())
}

/// `P_13_x` / `P_14_x` / `P_14_xW` element names for a rate.
fn rate_elements(rate: VatRate) -> (&'static str, Option<&'static str>, Option<&'static str>) {
    match rate {
        VatRate::R23 | VatRate::R22 => ("P_13_1", Some("P_14_1"), Some("P_14_1W")),
        VatRate::R8 | VatRate::R7 => ("P_13_2", Some("P_14_2"), Some("P_14_2W")),
        VatRate::R5 => ("P_13_3", Some("P_14_3"), Some("P_14_3W")),
        VatRate::R4 | VatRate::R3 => ("P_13_4", Some("P_14_4"), Some("P_14_4W")),
        VatRate::ZeroDomestic => ("P_13_6_1", None, None),
        VatRate::ZeroIntraEu => ("P_13_6_2", None, None),
        VatRate::ZeroExport => ("P_13_6_3", None, None),
        VatRate::Exempt => ("P_13_7", None, None),
        VatRate::OutsideScope => ("P_13_8", None, None),
        VatRate::OutsideScopeEuServices => ("P_13_9", None, None),
        VatRate::ReverseCharge => ("P_13_10", None, None),
    }
}

fn add(m: &mut BTreeMap<String, Decimal>, key: &str, value: Decimal) {
    let e = m.entry(key.to_owned()).or_default();
    *e = crate::money::add(*e, value);
}

/// The summary amounts FA(3) states for these totals, by element name (`P_13_1`, `P_15`, …).
pub fn summary_amounts(totals: &Totals) -> BTreeMap<String, Decimal> {
    let mut m: BTreeMap<String, Decimal> = BTreeMap::new();
    for RateTotal {
        rate,
        net,
        vat,
        vat_pln,
        ..
    } in &totals.by_rate
    {
        let (n, v, w) = rate_elements(*rate);
        add(&mut m, n, *net);
        if let Some(v) = v {
            add(&mut m, v, *vat);
        }
        if let (Some(w), Some(x)) = (w, vat_pln) {
            add(&mut m, w, *x);
        }
    }
    m.insert("P_15".to_owned(), totals.gross);
    m.into_iter().map(|(k, v)| (k, round_money(v))).collect()
}

/// The optional summary fields of `Fa`, by element name (`P_15` is handled separately).
fn amount_fields(fa: &mut Fa) -> [(&'static str, &mut Option<String>); 21] {
    [
        ("P_13_1", &mut fa.P_13_1),
        ("P_14_1", &mut fa.P_14_1),
        ("P_14_1W", &mut fa.P_14_1W),
        ("P_13_2", &mut fa.P_13_2),
        ("P_14_2", &mut fa.P_14_2),
        ("P_14_2W", &mut fa.P_14_2W),
        ("P_13_3", &mut fa.P_13_3),
        ("P_14_3", &mut fa.P_14_3),
        ("P_14_3W", &mut fa.P_14_3W),
        ("P_13_4", &mut fa.P_13_4),
        ("P_14_4", &mut fa.P_14_4),
        ("P_14_4W", &mut fa.P_14_4W),
        ("P_13_5", &mut fa.P_13_5),
        ("P_14_5", &mut fa.P_14_5),
        ("P_13_6_1", &mut fa.P_13_6_1),
        ("P_13_6_2", &mut fa.P_13_6_2),
        ("P_13_6_3", &mut fa.P_13_6_3),
        ("P_13_7", &mut fa.P_13_7),
        ("P_13_8", &mut fa.P_13_8),
        ("P_13_9", &mut fa.P_13_9),
        ("P_13_10", &mut fa.P_13_10),
    ]
}

/// `DataWytworzeniaFa`: UTC, whole seconds, `Z` suffix.
fn format_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn party_contacts(email: &Option<String>, phone: &Option<String>) -> Vec<DaneKontaktowe> {
    if email.is_none() && phone.is_none() {
        return Vec::new();
    }
    vec![DaneKontaktowe {
        Email: email.clone(),
        Telefon: phone.clone(),
    }]
}

fn xml_address(a: &Address) -> Adres {
    Adres {
        KodKraju: a.country.clone(),
        AdresL1: a.line1.clone(),
        AdresL2: a.line2.clone(),
        GLN: None,
    }
}

fn xml_line(
    number: usize,
    line: &Line,
    basis: PriceBasis,
    fx: Option<Decimal>,
    before: bool,
) -> FaWiersz {
    let value = format_amount(line_value(line));
    let price = format_unit_price(line.unit_price);
    let (p9a, p9b, p11, p11a) = match basis {
        PriceBasis::Net => (Some(price), None, Some(value), None),
        PriceBasis::Gross => (None, Some(price), None, Some(value)),
    };
    FaWiersz {
        NrWierszaFa: number.to_string(),
        P_7: Some(line.description.clone()),
        P_8A: line.unit.clone(),
        P_8B: Some(format_quantity(line.quantity)),
        P_9A: p9a,
        P_9B: p9b,
        P_11: p11,
        P_11A: p11a,
        P_12: Some(line.rate.code().to_owned()),
        KursWaluty: fx.map(format_quantity),
        StanPrzed: before.then(|| "1".to_owned()),
        ..FaWiersz::default()
    }
}

/// The advance invoice's order (`Zamowienie`): net prices, per-line net and VAT.
fn xml_order(inv: &Invoice) -> Zamowienie {
    let totals = crate::invoice::totals::lines_totals(&inv.lines, inv.prices, None);
    Zamowienie {
        WartoscZamowienia: format_amount(totals.gross),
        ZamowienieWiersz: inv
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let net = line_value(l);
                let vat = l
                    .rate
                    .percent()
                    .map(|p| round_money(net.saturating_mul(p) / Decimal::ONE_HUNDRED))
                    .unwrap_or_default();
                ZamowienieWiersz {
                    NrWierszaZam: (i + 1).to_string(),
                    P_7Z: Some(l.description.clone()),
                    P_8AZ: l.unit.clone(),
                    P_8BZ: Some(format_quantity(l.quantity)),
                    P_9AZ: Some(format_unit_price(l.unit_price)),
                    P_11NettoZ: Some(format_amount(net)),
                    P_11VatZ: Some(format_amount(vat)),
                    P_12Z: Some(l.rate.code().to_owned()),
                }
            })
            .collect(),
    }
}

fn xml_annotations(a: &Annotations) -> Adnotacje {
    let mut zw = Zwolnienie::default();
    match &a.exemption {
        None => zw.P_19N = one(),
        Some(e) => {
            zw.P_19 = one();
            match e {
                Exemption::PolishLaw(t) => zw.P_19A = Some(t.clone()),
                Exemption::Directive(t) => zw.P_19B = Some(t.clone()),
                Exemption::Other(t) => zw.P_19C = Some(t.clone()),
            }
        }
    }
    let mut pm = PMarzy::default();
    match a.margin {
        None => pm.P_PMarzyN = one(),
        Some(m) => {
            pm.P_PMarzy = one();
            match m {
                MarginScheme::TravelAgency => pm.P_PMarzy_2 = one(),
                MarginScheme::SecondHandGoods => pm.P_PMarzy_3_1 = one(),
                MarginScheme::WorksOfArt => pm.P_PMarzy_3_2 = one(),
                MarginScheme::Antiques => pm.P_PMarzy_3_3 = one(),
            }
        }
    }
    Adnotacje {
        P_16: yes_no(a.cash_accounting),
        P_17: yes_no(a.self_billing),
        P_18: yes_no(a.reverse_charge),
        P_18A: yes_no(a.split_payment),
        Zwolnienie: zw,
        NoweSrodkiTransportu: NoweSrodkiTransportu {
            P_22: None,
            P_22N: one(),
        },
        P_23: yes_no(a.simplified_triangular),
        PMarzy: pm,
    }
}

fn xml_buyer(b: &Buyer) -> Podmiot2 {
    let mut id = DaneIdentyfikacyjne {
        Nazwa: b.name.clone(),
        ..DaneIdentyfikacyjne::default()
    };
    match &b.id {
        BuyerId::Nip { nip } => id.NIP = Some(nip.to_string()),
        BuyerId::EuVat { vat } => {
            id.KodUE = Some(vat.country.clone());
            id.NrVatUE = Some(vat.number.clone());
        }
        BuyerId::Other { country, id: nr } => {
            id.KodKraju = country.clone();
            id.NrID = Some(nr.clone());
        }
        BuyerId::None => id.BrakID = one(),
    }
    Podmiot2 {
        NrEORI: None,
        DaneIdentyfikacyjne: id,
        Adres: b.address.as_ref().map(xml_address),
        DaneKontaktowe: party_contacts(&b.email, &b.phone),
        NrKlienta: b.customer_number.clone(),
        JST: yes_no(b.local_government_unit),
        GV: yes_no(b.vat_group_member),
    }
}

fn xml_payment(p: &Payment) -> Platnosc {
    Platnosc {
        Zaplacono: p.paid_on.map(|_| "1".to_owned()),
        DataZaplaty: p.paid_on.map(format_date),
        TerminPlatnosci: p
            .due_date
            .map(|d| TerminPlatnosci {
                Termin: Some(format_date(d)),
            })
            .into_iter()
            .collect(),
        FormaPlatnosci: p.method.map(|m| m.code().to_string()),
        PlatnoscInna: None,
        OpisPlatnosci: None,
        RachunekBankowy: p
            .bank_accounts
            .iter()
            .map(|a| RachunekBankowy {
                NrRB: a.number.clone(),
                SWIFT: a.swift.clone(),
                NazwaBanku: a.bank_name.clone(),
            })
            .collect(),
    }
}

/// Writes `inv` as FA(3) XML (UTF-8, no BOM, LF line ends, 2-space indent, final newline).
pub fn write_fa3(inv: &Invoice, generated_at: OffsetDateTime) -> String {
    let totals = inv.totals();
    let amounts = summary_amounts(&totals);
    let fx = inv.exchange_rate.filter(|_| inv.currency != "PLN");

    let mut lines = Vec::new();
    let mut n = 0;
    if let InvoiceKind::Correction(c) = &inv.kind {
        for l in &c.lines_before {
            n += 1;
            lines.push(xml_line(n, l, inv.prices, fx, true));
        }
    }
    if !matches!(inv.kind, InvoiceKind::Advance(_)) {
        for l in &inv.lines {
            n += 1;
            lines.push(xml_line(n, l, inv.prices, fx, false));
        }
    }

    let mut fa = Fa {
        KodWaluty: inv.currency.clone(),
        P_1: format_date(inv.issue_date),
        P_1M: inv.place_of_issue.clone(),
        P_2: inv.number.clone(),
        P_15: format_amount(totals.gross),
        Adnotacje: xml_annotations(&inv.annotations),
        RodzajFaktury: inv.kind.code().to_owned(),
        DodatkowyOpis: inv
            .notes
            .iter()
            .map(|n| DodatkowyOpis {
                NrWiersza: None,
                Klucz: n.key.clone(),
                Wartosc: n.value.clone(),
            })
            .collect(),
        FaWiersz: lines,
        Platnosc: inv.payment.as_ref().map(xml_payment),
        ..Fa::default()
    };
    match inv.sale_date {
        Some(SaleDate::Day { date }) => fa.P_6 = Some(format_date(date)),
        Some(SaleDate::Period { from, to }) => {
            fa.OkresFa = Some(OkresFa {
                P_6_Od: format_date(from),
                P_6_Do: format_date(to),
            });
        }
        None => {}
    }
    for (name, field) in amount_fields(&mut fa) {
        *field = amounts.get(name).map(|v| format_amount(*v));
    }
    match &inv.kind {
        InvoiceKind::Vat => {}
        InvoiceKind::Correction(c) => {
            fa.PrzyczynaKorekty = c.reason.clone();
            fa.TypKorekty = c.effect.map(|e| e.to_string());
            fa.DaneFaKorygowanej = vec![DaneFaKorygowanej {
                DataWystFaKorygowanej: format_date(c.original.issue_date),
                NrFaKorygowanej: c.original.number.clone(),
                NrKSeF: c.original.ksef_number.as_ref().map(|_| "1".to_owned()),
                NrKSeFFaKorygowanej: c.original.ksef_number.clone(),
                NrKSeFN: c.original.ksef_number.is_none().then(|| "1".to_owned()),
            }];
        }
        InvoiceKind::Advance(_) => {
            fa.KursWalutyZ = fx.map(format_quantity);
            fa.Zamowienie = Some(xml_order(inv));
        }
        InvoiceKind::Settlement(s) => {
            fa.FakturaZaliczkowa = s
                .advances
                .iter()
                .map(|a| match &a.ksef_number {
                    Some(k) => FakturaZaliczkowa {
                        NrKSeFFaZaliczkowej: Some(k.clone()),
                        ..FakturaZaliczkowa::default()
                    },
                    None => FakturaZaliczkowa {
                        NrKSeFZN: one(),
                        NrFaZaliczkowej: a.number.clone(),
                        NrKSeFFaZaliczkowej: None,
                    },
                })
                .collect();
        }
    }

    let doc = Faktura {
        xmlns: Some(FA3_NAMESPACE.to_owned()),
        Naglowek: Naglowek {
            KodFormularza: KodFormularza {
                kod_systemowy: FA3_SYSTEM_CODE.to_owned(),
                wersja_schemy: FA3_SCHEMA_VERSION.to_owned(),
                text: "FA".to_owned(),
            },
            WariantFormularza: "3".to_owned(),
            DataWytworzeniaFa: format_timestamp(generated_at),
            SystemInfo: Some(SYSTEM_INFO.to_owned()),
        },
        Podmiot1: Podmiot1 {
            PrefiksPodatnika: None,
            NrEORI: None,
            DaneIdentyfikacyjne: DaneIdentyfikacyjne {
                NIP: Some(inv.seller.nip.to_string()),
                Nazwa: Some(inv.seller.name.clone()),
                ..DaneIdentyfikacyjne::default()
            },
            Adres: xml_address(&inv.seller.address),
            DaneKontaktowe: party_contacts(&inv.seller.email, &inv.seller.phone),
        },
        Podmiot2: xml_buyer(&inv.buyer),
        Fa: fa,
        Stopka: inv.footer.as_ref().map(|f| Stopka {
            Informacje: vec![Informacje {
                StopkaFaktury: Some(f.clone()),
            }],
        }),
    };

    let mut body = String::new();
    let mut ser = quick_xml::se::Serializer::new(&mut body);
    ser.indent(' ', 2);
    // Plain structs of strings with fixed element names: serialization cannot fail.
    doc.serialize(ser)
        .expect("FA(3) structs always serialize to XML");
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}\n")
}
