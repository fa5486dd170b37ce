//! Invoice lines (`FaWiersz`) and the per-rate sums (`P_13_x`, `P_14_x`).

use serde::Serialize;

use super::tree::Node;

/// Net/VAT sums of one rate (`P_13_x`, `P_14_x`, `P_14_xW`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateTotal {
    /// Which field pair, e.g. `P_13_1`.
    pub field: &'static str,
    /// Polish label of the rate group, e.g. "23% lub 22%".
    pub label: &'static str,
    /// Net sum.
    pub net: Option<String>,
    /// VAT sum.
    pub vat: Option<String>,
    /// VAT converted to PLN (`P_14_xW`, invoices in a foreign currency).
    pub vat_pln: Option<String>,
}

pub(super) const RATE_FIELDS: [(&str, &str, Option<&str>, &str); 13] = [
    (
        "P_13_1",
        "P_14_1",
        Some("P_14_1W"),
        "stawka podstawowa (23% lub 22%)",
    ),
    (
        "P_13_2",
        "P_14_2",
        Some("P_14_2W"),
        "stawka obniżona (8% lub 7%)",
    ),
    ("P_13_3", "P_14_3", Some("P_14_3W"), "stawka obniżona 5%"),
    (
        "P_13_4",
        "P_14_4",
        Some("P_14_4W"),
        "ryczałt dla taksówek (4% lub 3%)",
    ),
    ("P_13_5", "P_14_5", None, "procedura OSS"),
    ("P_13_6_1", "", None, "0% (krajowa)"),
    ("P_13_6_2", "", None, "0% (WDT)"),
    ("P_13_6_3", "", None, "0% (eksport)"),
    ("P_13_7", "", None, "zwolnione (zw)"),
    ("P_13_8", "", None, "poza terytorium kraju (np)"),
    ("P_13_9", "", None, "usługi art. 100 ust. 1 pkt 4 (np)"),
    ("P_13_10", "", None, "odwrotne obciążenie (oo)"),
    ("P_13_11", "", None, "procedura marży"),
];

/// One `FaWiersz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Line {
    /// `NrWierszaFa`.
    pub number: Option<String>,
    /// `UU_ID`.
    pub uuid: Option<String>,
    /// `P_6A` — delivery date of this line.
    pub delivery_date: Option<String>,
    /// `P_7` — name of the goods or service.
    pub name: Option<String>,
    /// `Indeks`.
    pub index: Option<String>,
    /// `GTIN`.
    pub gtin: Option<String>,
    /// `PKWiU`.
    pub pkwiu: Option<String>,
    /// `CN`.
    pub cn: Option<String>,
    /// `PKOB`.
    pub pkob: Option<String>,
    /// `P_8A` — unit.
    pub unit: Option<String>,
    /// `P_8B` — quantity.
    pub quantity: Option<String>,
    /// `P_9A` — net unit price.
    pub unit_price_net: Option<String>,
    /// `P_9B` — gross unit price.
    pub unit_price_gross: Option<String>,
    /// `P_10` — discount.
    pub discount: Option<String>,
    /// `P_11` — net value.
    pub net: Option<String>,
    /// `P_11A` — gross value.
    pub gross: Option<String>,
    /// `P_11Vat` — VAT amount.
    pub vat: Option<String>,
    /// `P_12` — rate (`23`, `8`, `zw`, `np I`, `oo`, …).
    pub rate: Option<String>,
    /// `P_12_XII` — OSS rate.
    pub oss_rate: Option<String>,
    /// `P_12_Zal_15` = 1: goods of annex 15 (split payment).
    pub annex15: Option<String>,
    /// `KwotaAkcyzy`.
    pub excise: Option<String>,
    /// `GTU` code.
    pub gtu: Option<String>,
    /// `Procedura`.
    pub procedure: Option<String>,
    /// `KursWaluty`.
    pub exchange_rate: Option<String>,
    /// `StanPrzed` = 1: the state before a correction.
    pub before_correction: Option<String>,
}

impl Line {
    pub(super) fn of(n: &Node) -> Self {
        Self {
            number: n.text("NrWierszaFa"),
            uuid: n.text("UU_ID"),
            delivery_date: n.text("P_6A"),
            name: n.text("P_7"),
            index: n.text("Indeks"),
            gtin: n.text("GTIN"),
            pkwiu: n.text("PKWiU"),
            cn: n.text("CN"),
            pkob: n.text("PKOB"),
            unit: n.text("P_8A"),
            quantity: n.text("P_8B"),
            unit_price_net: n.text("P_9A"),
            unit_price_gross: n.text("P_9B"),
            discount: n.text("P_10"),
            net: n.text("P_11"),
            gross: n.text("P_11A"),
            vat: n.text("P_11Vat"),
            rate: n.text("P_12"),
            oss_rate: n.text("P_12_XII"),
            annex15: n.text("P_12_Zal_15"),
            excise: n.text("KwotaAkcyzy"),
            gtu: n.text("GTU"),
            procedure: n.text("Procedura"),
            exchange_rate: n.text("KursWaluty"),
            before_correction: n.text("StanPrzed"),
        }
    }
}
