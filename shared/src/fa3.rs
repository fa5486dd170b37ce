//! FA(3) XML: [`write_fa3`] turns an [`Invoice`] into the exact bytes sent to KSeF, and
//! [`read_fa3`] reads any FA(3) invoice (ours or a purchase invoice from KSeF) into the model.
//!
//! Schema: `schemas/fa3/schemat_FA(3)_v1-0E.xsd`; structure notes in ksef-guide §13.

mod schema;
pub mod view;

use crate::invoice::totals::{RateTotal, Totals, line_value};
use crate::invoice::validate::{format_date, parse_date};
use crate::invoice::{
    Address, Advance, AdvanceRef, Annotations, BankAccount, Buyer, BuyerId, CorrectedInvoice,
    Correction, Exemption, Invoice, InvoiceKind, Line, MarginScheme, Note, Payment, PaymentMethod,
    PriceBasis, SaleDate, Seller, Settlement, VatRate,
};
use crate::money::{Decimal, format_amount, format_quantity, format_unit_price, round_money};
use crate::nip::{EuVatNumber, Nip};
use schema::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;
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

/// An invoice read from FA(3) XML, with what the file states beside what Kwit recomputes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadInvoice {
    pub invoice: Invoice,
    /// Summary amounts as written in the file (`P_13_x`, `P_14_x`, `P_14_xW`, `P_15`).
    pub stated: BTreeMap<String, Decimal>,
    /// `DataWytworzeniaFa` as written.
    pub generated_at: String,
    /// `SystemInfo`, the issuing program.
    pub system_info: Option<String>,
    /// `RodzajFaktury` as written (`UPR`, `KOR_ZAL`, `KOR_ROZ` are read as their base kind).
    pub kind_code: String,
}

impl ReadInvoice {
    /// Summary amounts whose stated value differs from Kwit's recomputation:
    /// `(element, stated, computed)`. Empty when the file's totals are consistent.
    pub fn totals_mismatches(&self) -> Vec<(String, Option<Decimal>, Option<Decimal>)> {
        let computed = summary_amounts(&self.invoice.totals());
        let mut keys: Vec<&String> = self.stated.keys().chain(computed.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let (s, c) = (self.stated.get(k).copied(), computed.get(k).copied());
                let zero = |v: Option<Decimal>| v.is_none_or(|d| d.is_zero());
                (s != c && !(zero(s) && zero(c))).then(|| (k.clone(), s, c))
            })
            .collect()
    }
}

fn bad(element: &str, value: &str) -> Fa3Error {
    Fa3Error::BadValue {
        element: element.to_owned(),
        value: value.to_owned(),
    }
}

fn dec(element: &str, value: &str) -> Result<Decimal, Fa3Error> {
    Decimal::from_str(value.trim()).map_err(|_| bad(element, value))
}

fn opt_dec(element: &str, value: &Option<String>) -> Result<Option<Decimal>, Fa3Error> {
    value.as_deref().map(|v| dec(element, v)).transpose()
}

fn date(element: &str, value: &str) -> Result<time::Date, Fa3Error> {
    parse_date(value).ok_or_else(|| bad(element, value))
}

fn flag(value: &str) -> bool {
    value.trim() == "1"
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn read_address(a: &Adres) -> Address {
    Address {
        country: a.KodKraju.trim().to_owned(),
        line1: a.AdresL1.trim().to_owned(),
        line2: non_empty(&a.AdresL2),
    }
}

/// Unit price that reproduces a stated line value; zero if it cannot be represented.
fn effective_price(value: Decimal, quantity: Decimal) -> Decimal {
    value
        .checked_div(quantity)
        .map(|p| p.round_dp(8).normalize())
        .unwrap_or_default()
}

fn read_line(w: &FaWiersz, basis: PriceBasis) -> Result<Line, Fa3Error> {
    let rate_code = w.P_12.as_deref().unwrap_or("");
    let rate = VatRate::from_code(rate_code).ok_or_else(|| bad("P_12", rate_code))?;
    let quantity = opt_dec("P_8B", &w.P_8B)?.unwrap_or(Decimal::ONE);
    let (price, value) = match basis {
        PriceBasis::Net => (opt_dec("P_9A", &w.P_9A)?, opt_dec("P_11", &w.P_11)?),
        PriceBasis::Gross => (opt_dec("P_9B", &w.P_9B)?, opt_dec("P_11A", &w.P_11A)?),
    };
    // When the stated line value differs from quantity × price (a discount in P_10, or
    // another rounding), keep the value: the effective unit price is value / quantity.
    let unit_price = match (price, value) {
        (Some(p), Some(v))
            if round_money(quantity.saturating_mul(p)) != round_money(v) && !quantity.is_zero() =>
        {
            effective_price(v, quantity)
        }
        (Some(p), _) => p,
        (None, Some(v)) if !quantity.is_zero() => effective_price(v, quantity),
        _ => Decimal::ZERO,
    };
    Ok(Line {
        description: w.P_7.clone().unwrap_or_default(),
        unit: non_empty(&w.P_8A),
        quantity,
        unit_price,
        rate,
    })
}

/// Reads an FA(3) invoice. Parts Kwit does not model (third parties, attachments,
/// transport, settlements of charges) are skipped; totals are kept as stated.
pub fn read_fa3(xml: &str) -> Result<ReadInvoice, Fa3Error> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let doc: Faktura = quick_xml::de::from_str(xml).map_err(|e| Fa3Error::Xml(e.to_string()))?;
    let code = &doc.Naglowek.KodFormularza;
    let ns_ok =
        doc.xmlns.as_deref().is_none_or(|ns| ns == FA3_NAMESPACE) && xml.contains(FA3_NAMESPACE);
    if code.kod_systemowy != FA3_SYSTEM_CODE || !ns_ok {
        return Err(Fa3Error::NotFa3(format!(
            "{} {}",
            code.kod_systemowy,
            doc.xmlns.as_deref().unwrap_or("")
        )));
    }
    let p1 = &doc.Podmiot1.DaneIdentyfikacyjne;
    let seller_nip = p1.NIP.as_deref().unwrap_or("");
    let seller = Seller {
        nip: Nip::parse_unchecked(seller_nip).map_err(|_| bad("Podmiot1/NIP", seller_nip))?,
        name: p1.Nazwa.clone().unwrap_or_default(),
        address: read_address(&doc.Podmiot1.Adres),
        email: doc
            .Podmiot1
            .DaneKontaktowe
            .first()
            .and_then(|c| non_empty(&c.Email)),
        phone: doc
            .Podmiot1
            .DaneKontaktowe
            .first()
            .and_then(|c| non_empty(&c.Telefon)),
    };
    let p2 = &doc.Podmiot2;
    let d2 = &p2.DaneIdentyfikacyjne;
    let id = if let Some(nip) = &d2.NIP {
        BuyerId::Nip {
            nip: Nip::parse_unchecked(nip).map_err(|_| bad("Podmiot2/NIP", nip))?,
        }
    } else if let (Some(c), Some(n)) = (&d2.KodUE, &d2.NrVatUE) {
        match EuVatNumber::from_parts(c, n) {
            Ok(vat) => BuyerId::EuVat { vat },
            Err(_) => return Err(bad("Podmiot2/NrVatUE", &format!("{c}{n}"))),
        }
    } else if let Some(nr) = &d2.NrID {
        BuyerId::Other {
            country: non_empty(&d2.KodKraju),
            id: nr.trim().to_owned(),
        }
    } else {
        BuyerId::None
    };
    let buyer = Buyer {
        id,
        name: non_empty(&d2.Nazwa),
        address: p2.Adres.as_ref().map(read_address),
        email: p2.DaneKontaktowe.first().and_then(|c| non_empty(&c.Email)),
        phone: p2
            .DaneKontaktowe
            .first()
            .and_then(|c| non_empty(&c.Telefon)),
        customer_number: non_empty(&p2.NrKlienta),
        local_government_unit: flag(&p2.JST),
        vat_group_member: flag(&p2.GV),
    };

    let mut fa = doc.Fa;
    let mut stated = BTreeMap::new();
    for (name, field) in amount_fields(&mut fa) {
        if let Some(v) = field {
            stated.insert(name.to_owned(), dec(name, v)?);
        }
    }
    let p15 = dec("P_15", &fa.P_15)?;
    stated.insert("P_15".to_owned(), p15);

    let ad = &fa.Adnotacje;
    let zw = &ad.Zwolnienie;
    let exemption = if let Some(t) = non_empty(&zw.P_19A) {
        Some(Exemption::PolishLaw(t))
    } else if let Some(t) = non_empty(&zw.P_19B) {
        Some(Exemption::Directive(t))
    } else {
        non_empty(&zw.P_19C).map(Exemption::Other)
    };
    let pm = &ad.PMarzy;
    let margin = if pm.P_PMarzy_2.is_some() {
        Some(MarginScheme::TravelAgency)
    } else if pm.P_PMarzy_3_1.is_some() {
        Some(MarginScheme::SecondHandGoods)
    } else if pm.P_PMarzy_3_2.is_some() {
        Some(MarginScheme::WorksOfArt)
    } else if pm.P_PMarzy_3_3.is_some() {
        Some(MarginScheme::Antiques)
    } else {
        None
    };
    let annotations = Annotations {
        cash_accounting: flag(&ad.P_16),
        self_billing: flag(&ad.P_17),
        reverse_charge: flag(&ad.P_18),
        split_payment: flag(&ad.P_18A),
        exemption,
        simplified_triangular: flag(&ad.P_23),
        margin,
    };

    let gross_basis = fa
        .FaWiersz
        .iter()
        .any(|w| w.P_9A.is_none() && w.P_11.is_none() && (w.P_9B.is_some() || w.P_11A.is_some()));
    let prices = if gross_basis {
        PriceBasis::Gross
    } else {
        PriceBasis::Net
    };
    let mut lines = Vec::new();
    let mut lines_before = Vec::new();
    for w in &fa.FaWiersz {
        let line = read_line(w, prices)?;
        if w.StanPrzed.as_deref().is_some_and(flag) {
            lines_before.push(line);
        } else {
            lines.push(line);
        }
    }
    let mut exchange_rate = opt_dec("KursWalutyZ", &fa.KursWalutyZ)?;
    if exchange_rate.is_none() {
        exchange_rate = match fa.FaWiersz.iter().find_map(|w| w.KursWaluty.as_ref()) {
            Some(k) => Some(dec("KursWaluty", k)?),
            None => None,
        };
    }
    let currency = fa.KodWaluty.trim().to_owned();
    if currency == "PLN" {
        exchange_rate = None;
    }

    let kind_code = fa.RodzajFaktury.trim().to_owned();
    let kind = match kind_code.as_str() {
        "VAT" | "UPR" => InvoiceKind::Vat,
        "KOR" | "KOR_ZAL" | "KOR_ROZ" => {
            let d = fa
                .DaneFaKorygowanej
                .first()
                .ok_or_else(|| bad("DaneFaKorygowanej", ""))?;
            InvoiceKind::Correction(Correction {
                reason: non_empty(&fa.PrzyczynaKorekty),
                effect: match fa.TypKorekty.as_deref().map(str::trim) {
                    None => None,
                    Some(t) => Some(t.parse().map_err(|_| bad("TypKorekty", t))?),
                },
                original: CorrectedInvoice {
                    issue_date: date("DataWystFaKorygowanej", &d.DataWystFaKorygowanej)?,
                    number: d.NrFaKorygowanej.trim().to_owned(),
                    ksef_number: non_empty(&d.NrKSeFFaKorygowanej),
                },
                lines_before: std::mem::take(&mut lines_before),
            })
        }
        "ZAL" => {
            if let Some(z) = &fa.Zamowienie {
                for w in &z.ZamowienieWiersz {
                    let rate_code = w.P_12Z.as_deref().unwrap_or("");
                    let quantity = opt_dec("P_8BZ", &w.P_8BZ)?.unwrap_or(Decimal::ONE);
                    let unit_price = match (
                        opt_dec("P_9AZ", &w.P_9AZ)?,
                        opt_dec("P_11NettoZ", &w.P_11NettoZ)?,
                    ) {
                        (Some(p), _) => p,
                        (None, Some(v)) if !quantity.is_zero() => effective_price(v, quantity),
                        _ => Decimal::ZERO,
                    };
                    lines.push(Line {
                        description: w.P_7Z.clone().unwrap_or_default(),
                        unit: non_empty(&w.P_8AZ),
                        quantity,
                        unit_price,
                        rate: VatRate::from_code(rate_code)
                            .ok_or_else(|| bad("P_12Z", rate_code))?,
                    });
                }
            }
            InvoiceKind::Advance(Advance {
                received_gross: p15,
            })
        }
        "ROZ" => {
            let order = crate::invoice::totals::lines_totals(&lines, prices, exchange_rate);
            InvoiceKind::Settlement(Settlement {
                advances: fa
                    .FakturaZaliczkowa
                    .iter()
                    .map(|z| AdvanceRef {
                        ksef_number: non_empty(&z.NrKSeFFaZaliczkowej),
                        number: non_empty(&z.NrFaZaliczkowej),
                    })
                    .collect(),
                paid_gross: round_money(order.gross.saturating_sub(p15)),
            })
        }
        other => return Err(bad("RodzajFaktury", other)),
    };
    // Lines before a correction only belong to corrections.
    lines.append(&mut lines_before);

    let sale_date = match (&fa.P_6, &fa.OkresFa) {
        (Some(d), _) => Some(SaleDate::Day {
            date: date("P_6", d)?,
        }),
        (None, Some(o)) => Some(SaleDate::Period {
            from: date("P_6_Od", &o.P_6_Od)?,
            to: date("P_6_Do", &o.P_6_Do)?,
        }),
        (None, None) => None,
    };
    let payment = match &fa.Platnosc {
        None => None,
        Some(p) => Some(Payment {
            due_date: match p.TerminPlatnosci.iter().find_map(|t| t.Termin.as_ref()) {
                Some(t) => Some(date("Termin", t)?),
                None => None,
            },
            method: match p.FormaPlatnosci.as_deref().map(str::trim) {
                None => None,
                Some(c) => Some(
                    c.parse()
                        .ok()
                        .and_then(PaymentMethod::from_code)
                        .ok_or_else(|| bad("FormaPlatnosci", c))?,
                ),
            },
            bank_accounts: p
                .RachunekBankowy
                .iter()
                .map(|r| BankAccount {
                    number: r.NrRB.trim().to_owned(),
                    swift: non_empty(&r.SWIFT),
                    bank_name: non_empty(&r.NazwaBanku),
                })
                .collect(),
            paid_on: match (&p.Zaplacono, &p.DataZaplaty) {
                (Some(z), Some(d)) if flag(z) => Some(date("DataZaplaty", d)?),
                _ => None,
            },
        }),
    };

    let invoice = Invoice {
        kind,
        number: fa.P_2.trim().to_owned(),
        issue_date: date("P_1", &fa.P_1)?,
        place_of_issue: non_empty(&fa.P_1M),
        sale_date,
        seller,
        buyer,
        currency,
        exchange_rate,
        prices,
        lines,
        annotations,
        notes: fa
            .DodatkowyOpis
            .iter()
            .map(|d| Note {
                key: d.Klucz.trim().to_owned(),
                value: d.Wartosc.trim().to_owned(),
            })
            .collect(),
        payment,
        footer: doc.Stopka.as_ref().and_then(|s| {
            s.Informacje
                .iter()
                .find_map(|i| non_empty(&i.StopkaFaktury))
        }),
    };
    Ok(ReadInvoice {
        invoice,
        stated,
        generated_at: doc.Naglowek.DataWytworzeniaFa.trim().to_owned(),
        system_info: non_empty(&doc.Naglowek.SystemInfo),
        kind_code,
    })
}
