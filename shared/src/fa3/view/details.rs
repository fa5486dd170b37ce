//! The invoice body (`Fa`): [`Details`] and its annotations, correction data, advances,
//! extra descriptions and settlement.

use serde::Serialize;

use super::lines::{Line, RATE_FIELDS, RateTotal};
use super::party::Party;
use super::payment::Payment;
use super::tree::{Node, Section};

/// `Adnotacje`: codes as in the XML (1 = yes, 2 = no for the `P_16`…`P_23` flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Annotations {
    /// `P_16` — metoda kasowa.
    pub cash_method: Option<String>,
    /// `P_17` — samofakturowanie.
    pub self_billing: Option<String>,
    /// `P_18` — odwrotne obciążenie.
    pub reverse_charge: Option<String>,
    /// `P_18A` — mechanizm podzielonej płatności.
    pub split_payment: Option<String>,
    /// `Zwolnienie/P_19` = 1: exempt supply.
    pub exempt: Option<String>,
    /// `P_19A` — basis in the Polish act.
    pub exemption_act: Option<String>,
    /// `P_19B` — basis in the directive.
    pub exemption_directive: Option<String>,
    /// `P_19C` — other legal basis.
    pub exemption_other: Option<String>,
    /// `P_19N` = 1: no exemption.
    pub no_exemption: Option<String>,
    /// `NoweSrodkiTransportu/P_22` = 1: intra-EU supply of new vehicles.
    pub new_vehicles: Option<String>,
    /// `P_42_5`.
    pub new_vehicles_p42_5: Option<String>,
    /// `NowySrodekTransportu` entries (kept whole).
    pub vehicles: Vec<Section>,
    /// `P_22N` = 1: no new vehicles.
    pub no_new_vehicles: Option<String>,
    /// `P_23` — uproszczona procedura trójstronna.
    pub triangular: Option<String>,
    /// `PMarzy/P_PMarzy` = 1: margin scheme.
    pub margin: Option<String>,
    /// `P_PMarzy_2` — travel agencies.
    pub margin_travel: Option<String>,
    /// `P_PMarzy_3_1` — second-hand goods.
    pub margin_used_goods: Option<String>,
    /// `P_PMarzy_3_2` — works of art.
    pub margin_art: Option<String>,
    /// `P_PMarzy_3_3` — collectibles and antiques.
    pub margin_antiques: Option<String>,
    /// `P_PMarzyN` = 1: no margin scheme.
    pub no_margin: Option<String>,
}

impl Annotations {
    fn of(n: &Node) -> Self {
        let mut a = Self {
            cash_method: n.text("P_16"),
            self_billing: n.text("P_17"),
            reverse_charge: n.text("P_18"),
            split_payment: n.text("P_18A"),
            triangular: n.text("P_23"),
            ..Self::default()
        };
        if let Some(z) = n.get("Zwolnienie") {
            a.exempt = z.text("P_19");
            a.exemption_act = z.text("P_19A");
            a.exemption_directive = z.text("P_19B");
            a.exemption_other = z.text("P_19C");
            a.no_exemption = z.text("P_19N");
        }
        if let Some(t) = n.get("NoweSrodkiTransportu") {
            a.new_vehicles = t.text("P_22");
            a.new_vehicles_p42_5 = t.text("P_42_5");
            a.vehicles = t.all("NowySrodekTransportu").map(Section::of).collect();
            a.no_new_vehicles = t.text("P_22N");
        }
        if let Some(m) = n.get("PMarzy") {
            a.margin = m.text("P_PMarzy");
            a.margin_travel = m.text("P_PMarzy_2");
            a.margin_used_goods = m.text("P_PMarzy_3_1");
            a.margin_art = m.text("P_PMarzy_3_2");
            a.margin_antiques = m.text("P_PMarzy_3_3");
            a.no_margin = m.text("P_PMarzyN");
        }
        a
    }

    /// The annotations that apply, as Polish phrases for the printout.
    pub fn active_pl(&self) -> Vec<&'static str> {
        let yes = |v: &Option<String>| v.as_deref() == Some("1");
        let mut out = Vec::new();
        for (flag, text) in [
            (&self.cash_method, "metoda kasowa"),
            (&self.self_billing, "samofakturowanie"),
            (&self.reverse_charge, "odwrotne obciążenie"),
            (&self.split_payment, "mechanizm podzielonej płatności"),
            (&self.exempt, "zwolnienie z podatku"),
            (
                &self.new_vehicles,
                "wewnątrzwspólnotowa dostawa nowych środków transportu",
            ),
            (&self.triangular, "procedura trójstronna uproszczona"),
            (&self.margin, "procedura marży"),
        ] {
            if yes(flag) {
                out.push(text);
            }
        }
        out
    }
}

/// `DaneFaKorygowanej`: one corrected invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CorrectedInvoice {
    /// `DataWystFaKorygowanej`.
    pub issue_date: Option<String>,
    /// `NrFaKorygowanej`.
    pub number: Option<String>,
    /// `NrKSeF` = 1: the corrected invoice has a KSeF number.
    pub in_ksef: Option<String>,
    /// `NrKSeFFaKorygowanej`.
    pub ksef_number: Option<String>,
    /// `NrKSeFN` = 1: issued outside KSeF.
    pub outside_ksef: Option<String>,
}

/// Correction data of a `KOR`/`KOR_ZAL`/`KOR_ROZ` invoice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// `PrzyczynaKorekty`.
    pub reason: Option<String>,
    /// `TypKorekty` (1 original date, 2 correction date, 3 other).
    pub kind: Option<String>,
    /// `DaneFaKorygowanej`.
    pub corrected: Vec<CorrectedInvoice>,
    /// `OkresFaKorygowanej`.
    pub period: Option<String>,
    /// `NrFaKorygowany` — the corrected invoice's correct number.
    pub corrected_number: Option<String>,
    /// `Podmiot1K` — seller as on the corrected invoice.
    pub seller_before: Option<Party>,
    /// `Podmiot2K` — buyers as on the corrected invoice.
    pub buyers_before: Vec<Party>,
    /// `P_15ZK` — amount before correction (advance corrections).
    pub amount_before: Option<String>,
    /// `KursWalutyZK`.
    pub exchange_rate_before: Option<String>,
}

/// `ZaliczkaCzesciowa`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartialAdvance {
    /// `P_6Z` — date the advance was received.
    pub date: Option<String>,
    /// `P_15Z` — amount.
    pub amount: Option<String>,
    /// `KursWalutyZW`.
    pub exchange_rate: Option<String>,
}

/// `FakturaZaliczkowa`: an advance invoice settled by a `ROZ`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AdvanceInvoice {
    /// `NrKSeFZN` = 1: issued outside KSeF.
    pub outside_ksef: Option<String>,
    /// `NrFaZaliczkowej`.
    pub number: Option<String>,
    /// `NrKSeFFaZaliczkowej`.
    pub ksef_number: Option<String>,
}

/// `DodatkowyOpis`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtraDescription {
    /// `NrWiersza` — the line it belongs to.
    pub line: Option<String>,
    /// `Klucz`.
    pub key: Option<String>,
    /// `Wartosc`.
    pub value: Option<String>,
}

/// One charge or deduction of `Rozliczenie`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettlementItem {
    /// `Kwota`.
    pub amount: Option<String>,
    /// `Powod`.
    pub reason: Option<String>,
}

/// `Rozliczenie`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// `Obciazenia`.
    pub charges: Vec<SettlementItem>,
    /// `SumaObciazen`.
    pub charges_total: Option<String>,
    /// `Odliczenia`.
    pub deductions: Vec<SettlementItem>,
    /// `SumaOdliczen`.
    pub deductions_total: Option<String>,
    /// `DoZaplaty`.
    pub to_pay: Option<String>,
    /// `DoRozliczenia`.
    pub to_settle: Option<String>,
}

/// The invoice body (`Fa`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    /// `KodWaluty`.
    pub currency: Option<String>,
    /// `P_1` — issue date.
    pub issue_date: Option<String>,
    /// `P_1M` — place of issue.
    pub issue_place: Option<String>,
    /// `P_2` — invoice number.
    pub number: Option<String>,
    /// `WZ` — delivery notes.
    pub delivery_notes: Vec<String>,
    /// `P_6` — delivery/sale date.
    pub sale_date: Option<String>,
    /// `OkresFa/P_6_Od`.
    pub period_from: Option<String>,
    /// `OkresFa/P_6_Do`.
    pub period_to: Option<String>,
    /// Per-rate sums that are present.
    pub rate_totals: Vec<RateTotal>,
    /// `P_15` — total due (gross).
    pub total: Option<String>,
    /// `KursWalutyZ`.
    pub exchange_rate: Option<String>,
    /// `Adnotacje`.
    pub annotations: Annotations,
    /// `RodzajFaktury` (VAT, KOR, ZAL, ROZ, UPR, KOR_ZAL, KOR_ROZ).
    pub kind: Option<String>,
    /// Correction data (KOR…).
    pub correction: Option<Correction>,
    /// `ZaliczkaCzesciowa`.
    pub partial_advances: Vec<PartialAdvance>,
    /// `FP` = 1: invoice for a receipt.
    pub for_receipt: Option<String>,
    /// `TP` = 1: related parties.
    pub related_parties: Option<String>,
    /// `DodatkowyOpis`.
    pub extra: Vec<ExtraDescription>,
    /// `FakturaZaliczkowa`.
    pub advance_invoices: Vec<AdvanceInvoice>,
    /// `ZwrotAkcyzy` = 1.
    pub excise_refund: Option<String>,
    /// `FaWiersz`.
    pub lines: Vec<Line>,
    /// `Rozliczenie`.
    pub settlement: Option<Settlement>,
    /// `Platnosc`.
    pub payment: Option<Payment>,
    /// `WarunkiTransakcji` (contracts, orders, delivery terms, transport), kept whole.
    pub transaction_terms: Option<Section>,
    /// `Zamowienie` — the order of an advance invoice, kept whole.
    pub order: Option<Section>,
}

pub(super) fn details(fa: &Node) -> Details {
    let rate_totals = RATE_FIELDS
        .iter()
        .filter_map(|&(net, vat, vat_pln, label)| {
            let t = RateTotal {
                field: net,
                label,
                net: fa.text(net),
                vat: (!vat.is_empty()).then(|| fa.text(vat)).flatten(),
                vat_pln: vat_pln.and_then(|f| fa.text(f)),
            };
            (t.net.is_some() || t.vat.is_some() || t.vat_pln.is_some()).then_some(t)
        })
        .collect();
    let period = fa.get("OkresFa");
    let has_correction = [
        "PrzyczynaKorekty",
        "TypKorekty",
        "DaneFaKorygowanej",
        "OkresFaKorygowanej",
        "NrFaKorygowany",
        "Podmiot1K",
        "Podmiot2K",
        "P_15ZK",
        "KursWalutyZK",
    ]
    .iter()
    .any(|n| fa.children.iter().any(|c| c.name == *n));
    let correction = has_correction.then(|| Correction {
        reason: fa.text("PrzyczynaKorekty"),
        kind: fa.text("TypKorekty"),
        corrected: fa
            .all("DaneFaKorygowanej")
            .map(|d| CorrectedInvoice {
                issue_date: d.text("DataWystFaKorygowanej"),
                number: d.text("NrFaKorygowanej"),
                in_ksef: d.text("NrKSeF"),
                ksef_number: d.text("NrKSeFFaKorygowanej"),
                outside_ksef: d.text("NrKSeFN"),
            })
            .collect(),
        period: fa.text("OkresFaKorygowanej"),
        corrected_number: fa.text("NrFaKorygowany"),
        seller_before: fa.get("Podmiot1K").map(Party::of),
        buyers_before: fa.all("Podmiot2K").map(Party::of).collect(),
        amount_before: fa.text("P_15ZK"),
        exchange_rate_before: fa.text("KursWalutyZK"),
    });
    Details {
        currency: fa.text("KodWaluty"),
        issue_date: fa.text("P_1"),
        issue_place: fa.text("P_1M"),
        number: fa.text("P_2"),
        delivery_notes: fa.texts("WZ"),
        sale_date: fa.text("P_6"),
        period_from: period.and_then(|p| p.text("P_6_Od")),
        period_to: period.and_then(|p| p.text("P_6_Do")),
        rate_totals,
        total: fa.text("P_15"),
        exchange_rate: fa.text("KursWalutyZ"),
        annotations: fa.get("Adnotacje").map(Annotations::of).unwrap_or_default(),
        kind: fa.text("RodzajFaktury"),
        correction,
        partial_advances: fa
            .all("ZaliczkaCzesciowa")
            .map(|z| PartialAdvance {
                date: z.text("P_6Z"),
                amount: z.text("P_15Z"),
                exchange_rate: z.text("KursWalutyZW"),
            })
            .collect(),
        for_receipt: fa.text("FP"),
        related_parties: fa.text("TP"),
        extra: fa
            .all("DodatkowyOpis")
            .map(|d| ExtraDescription {
                line: d.text("NrWiersza"),
                key: d.text("Klucz"),
                value: d.text("Wartosc"),
            })
            .collect(),
        advance_invoices: fa
            .all("FakturaZaliczkowa")
            .map(|z| AdvanceInvoice {
                outside_ksef: z.text("NrKSeFZN"),
                number: z.text("NrFaZaliczkowej"),
                ksef_number: z.text("NrKSeFFaZaliczkowej"),
            })
            .collect(),
        excise_refund: fa.text("ZwrotAkcyzy"),
        lines: fa.all("FaWiersz").map(Line::of).collect(),
        settlement: fa.get("Rozliczenie").map(|r| {
            let items = |name: &str| {
                r.all(name)
                    .map(|i| SettlementItem {
                        amount: i.text("Kwota"),
                        reason: i.text("Powod"),
                    })
                    .collect()
            };
            Settlement {
                charges: items("Obciazenia"),
                charges_total: r.text("SumaObciazen"),
                deductions: items("Odliczenia"),
                deductions_total: r.text("SumaOdliczen"),
                to_pay: r.text("DoZaplaty"),
                to_settle: r.text("DoRozliczenia"),
            }
        }),
        payment: fa.get("Platnosc").map(Payment::of),
        transaction_terms: fa.get("WarunkiTransakcji").map(Section::of),
        order: fa.get("Zamowienie").map(Section::of),
    }
}
