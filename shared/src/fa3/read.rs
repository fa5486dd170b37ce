//! Reading FA(3) XML into the invoice model: [`read_fa3`] gives a [`ReadInvoice`], what the
//! file states beside what Kwit recomputes. (The page's faithful view is [`super::view`].)

use super::schema::*;
use super::{FA3_NAMESPACE, FA3_SYSTEM_CODE, Fa3Error, amount_fields, summary_amounts};
use crate::invoice::validate::parse_date;
use crate::invoice::{
    Address, Advance, AdvanceRef, Annotations, BankAccount, Buyer, BuyerId, CorrectedInvoice,
    Correction, Exemption, Invoice, InvoiceKind, Line, MarginScheme, Note, Payment, PaymentMethod,
    PriceBasis, SaleDate, Seller, Settlement, VatRate,
};
use crate::money::{Decimal, round_money};
use crate::nip::{EuVatNumber, Nip};
use std::collections::BTreeMap;
use std::str::FromStr;

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
