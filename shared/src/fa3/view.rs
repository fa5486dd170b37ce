//! A readable view of any FA(3) invoice — ours or one fetched from KSeF — for the invoice
//! page and its print layout. Values stay exactly as the XML has them (amounts, dates and
//! codes as text, so nothing is rounded or reinterpreted); helpers give labels for codes.
//!
//! Elements the view does not model are never dropped: they land in [`InvoiceView::other`]
//! with their path, and the page shows them under "Inne dane". Rarely used, deeply nested
//! blocks (transaction terms, the order of an advance invoice, new vehicles, the attachment)
//! are kept as generic [`Section`] trees in document order.

use std::cell::Cell;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use super::Fa3Error;
use crate::qr::{self, QrEnvironment};

/// One XML element while building the view; `used` marks leaves the view consumed.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
    used: Cell<bool>,
}

impl Node {
    fn get(&self, name: &str) -> Option<&Node> {
        let child = self.children.iter().find(|c| c.name == name)?;
        child.used.set(true);
        Some(child)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name)
            .inspect(|c| c.used.set(true))
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|c| c.text.clone())
    }

    fn texts(&self, name: &str) -> Vec<String> {
        self.all(name).map(|c| c.text.clone()).collect()
    }

    fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn mark_all(&self) {
        self.used.set(true);
        for c in &self.children {
            c.mark_all();
        }
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn open(e: &BytesStart<'_>) -> Node {
    let attributes = e
        .attributes()
        .flatten()
        .filter(|a| !a.key.as_ref().starts_with("xmlns"))
        .map(|a| {
            (
                local(a.key.local_name().as_ref()),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    Node {
        name: local(e.local_name().as_ref()),
        attributes,
        ..Node::default()
    }
}

fn parse_tree(xml: &str) -> Result<Node, Fa3Error> {
    let err = |e: String| Fa3Error::Xml(e);
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let close = |stack: &mut Vec<Node>, root: &mut Option<Node>, mut node: Node| {
        node.text = node.text.trim().to_owned();
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => *root = Some(node),
        }
    };
    loop {
        match reader.read_event().map_err(|e| err(e.to_string()))? {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let node = open(&e);
                close(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| err("unbalanced XML".into()))?;
                close(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => return Err(err(format!("unknown entity &{other};"))),
                    }
                    .to_owned(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| err("empty document".into()))
}

/// A generic element tree (document order) for blocks the view does not type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Element name, e.g. `Transport`, `Tabela`, `WKom`.
    pub name: String,
    /// Attributes (e.g. `Typ` of an attachment table column).
    pub attributes: Vec<(String, String)>,
    /// Text of a leaf ("" for empty cells, which keep table columns aligned).
    pub value: String,
    /// Child elements.
    pub children: Vec<Section>,
}

impl Section {
    fn of(node: &Node) -> Self {
        node.mark_all();
        Self {
            name: node.name.clone(),
            attributes: node.attributes.clone(),
            value: node.text.clone(),
            children: node.children.iter().map(Self::of).collect(),
        }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Section> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// An element the view does not model, kept with its path (e.g. `Fa/Nowe/Pole`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherField {
    /// Slash-separated element path below `Faktura`.
    pub path: String,
    /// Text.
    pub value: String,
}

/// `Naglowek`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Header {
    /// `KodFormularza` (`FA`).
    pub form_code: Option<String>,
    /// `@kodSystemowy` (`FA (3)`).
    pub system_code: Option<String>,
    /// `@wersjaSchemy` (`1-0E`).
    pub schema_version: Option<String>,
    /// `WariantFormularza` (3).
    pub variant: Option<String>,
    /// `DataWytworzeniaFa`.
    pub created_at: Option<String>,
    /// `SystemInfo` — the issuing software.
    pub system_info: Option<String>,
}

/// `TAdres`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// `KodKraju`.
    pub country: Option<String>,
    /// `AdresL1`.
    pub line1: Option<String>,
    /// `AdresL2`.
    pub line2: Option<String>,
    /// `GLN`.
    pub gln: Option<String>,
}

impl Address {
    fn of(node: &Node) -> Self {
        Self {
            country: node.text("KodKraju"),
            line1: node.text("AdresL1"),
            line2: node.text("AdresL2"),
            gln: node.text("GLN"),
        }
    }
}

/// `DaneKontaktowe` (e-mail and phone; `EmailPU`/`TelefonPU` for the authorised subject).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A party: `Podmiot1`, `Podmiot2`, `Podmiot3`, `PodmiotUpowazniony`, or a party of the
/// corrected invoice (`Podmiot1K`, `Podmiot2K`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    /// `PrefiksPodatnika` (VAT-UE prefix of the seller).
    pub vat_prefix: Option<String>,
    /// `NrEORI`.
    pub eori: Option<String>,
    /// `NIP`.
    pub nip: Option<String>,
    /// `IDWew` (internal identifier, Podmiot3).
    pub internal_id: Option<String>,
    /// `KodUE` of a VAT-UE number.
    pub eu_country: Option<String>,
    /// `NrVatUE`.
    pub eu_vat_number: Option<String>,
    /// `KodKraju` of a foreign identifier.
    pub id_country: Option<String>,
    /// `NrID` — a foreign tax identifier.
    pub foreign_id: Option<String>,
    /// `BrakID` = 1: no identifier.
    pub no_id: Option<String>,
    /// `Nazwa`.
    pub name: Option<String>,
    /// `Adres`.
    pub address: Option<Address>,
    /// `AdresKoresp`.
    pub correspondence_address: Option<Address>,
    /// `DaneKontaktowe` (up to 3).
    pub contacts: Vec<Contact>,
    /// `StatusInfoPodatnika` (1 liquidation, 2 restructuring, 3 bankruptcy, 4 inheritance).
    pub taxpayer_status: Option<String>,
    /// `NrKlienta`.
    pub customer_number: Option<String>,
    /// `IDNabywcy`.
    pub buyer_id: Option<String>,
    /// `JST` (1: a local-government unit's subordinate unit).
    pub jst: Option<String>,
    /// `GV` (1: a VAT group member).
    pub gv: Option<String>,
    /// `Rola` (Podmiot3) or `RolaPU` (authorised subject).
    pub role: Option<String>,
    /// `RolaInna` = 1: another role, described in `role_description`.
    pub other_role: Option<String>,
    /// `OpisRoli`.
    pub role_description: Option<String>,
    /// `Udzial` — share in percent (additional buyer).
    pub share: Option<String>,
}

impl Party {
    fn of(node: &Node) -> Self {
        let mut p = Self {
            vat_prefix: node.text("PrefiksPodatnika"),
            eori: node.text("NrEORI"),
            address: node.get("Adres").map(Address::of),
            correspondence_address: node.get("AdresKoresp").map(Address::of),
            contacts: node
                .all("DaneKontaktowe")
                .map(|c| Contact {
                    email: c.text("Email").or_else(|| c.text("EmailPU")),
                    phone: c.text("Telefon").or_else(|| c.text("TelefonPU")),
                })
                .collect(),
            taxpayer_status: node.text("StatusInfoPodatnika"),
            customer_number: node.text("NrKlienta"),
            buyer_id: node.text("IDNabywcy"),
            jst: node.text("JST"),
            gv: node.text("GV"),
            role: node.text("Rola").or_else(|| node.text("RolaPU")),
            other_role: node.text("RolaInna"),
            role_description: node.text("OpisRoli"),
            share: node.text("Udzial"),
            ..Self::default()
        };
        // Podmiot1K/2K carry the identification directly; the others in DaneIdentyfikacyjne.
        let id = node.get("DaneIdentyfikacyjne").unwrap_or(node);
        p.nip = id.text("NIP");
        p.internal_id = id.text("IDWew");
        p.eu_country = id.text("KodUE");
        p.eu_vat_number = id.text("NrVatUE");
        p.id_country = id.text("KodKraju");
        p.foreign_id = id.text("NrID");
        p.no_id = id.text("BrakID");
        p.name = id.text("Nazwa");
        p
    }

    /// The identifier to show: NIP, VAT-UE, foreign ID, internal ID, or "brak".
    pub fn identifier(&self) -> String {
        if let Some(nip) = &self.nip {
            format!("NIP {nip}")
        } else if let Some(vat) = &self.eu_vat_number {
            format!(
                "VAT UE {}{vat}",
                self.eu_country.clone().unwrap_or_default()
            )
        } else if let Some(id) = &self.foreign_id {
            format!("{} {id}", self.id_country.clone().unwrap_or_default())
        } else if let Some(id) = &self.internal_id {
            format!("ID {id}")
        } else {
            "brak identyfikatora / no identifier".into()
        }
    }

    /// Polish label of the Podmiot3 `Rola` code.
    pub fn third_party_role_pl(&self) -> Option<&'static str> {
        Some(match self.role.as_deref()? {
            "1" => "Faktor",
            "2" => "Odbiorca",
            "3" => "Podmiot pierwotny",
            "4" => "Dodatkowy nabywca",
            "5" => "Wystawca faktury",
            "6" => "Dokonujący płatności",
            "7" => "JST — wystawca",
            "8" => "JST — odbiorca",
            "9" => "Członek grupy VAT — wystawca",
            "10" => "Członek grupy VAT — odbiorca",
            "11" => "Pracownik",
            _ => return None,
        })
    }
}

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

const RATE_FIELDS: [(&str, &str, Option<&str>, &str); 13] = [
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
    fn of(n: &Node) -> Self {
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

/// `TerminPlatnosci`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DueDate {
    /// `Termin`.
    pub date: Option<String>,
    /// `TerminOpis/Ilosc`.
    pub count: Option<String>,
    /// `TerminOpis/Jednostka`.
    pub unit: Option<String>,
    /// `TerminOpis/ZdarzeniePoczatkowe`.
    pub starting_event: Option<String>,
}

/// `RachunekBankowy` / `RachunekBankowyFaktora`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BankAccount {
    /// True for the factor's account.
    pub factor: bool,
    /// `NrRB`.
    pub number: Option<String>,
    /// `SWIFT`.
    pub swift: Option<String>,
    /// `RachunekWlasnyBanku`.
    pub bank_own_account: Option<String>,
    /// `NazwaBanku`.
    pub bank_name: Option<String>,
    /// `OpisRachunku`.
    pub description: Option<String>,
}

/// `ZaplataCzesciowa`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartialPayment {
    /// `KwotaZaplatyCzesciowej`.
    pub amount: Option<String>,
    /// `DataZaplatyCzesciowej`.
    pub date: Option<String>,
    /// `FormaPlatnosci`.
    pub method: Option<String>,
    /// `PlatnoscInna` = 1.
    pub other_method: Option<String>,
    /// `OpisPlatnosci`.
    pub other_method_description: Option<String>,
}

/// `Platnosc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// `Zaplacono` = 1: paid.
    pub paid: Option<String>,
    /// `DataZaplaty`.
    pub paid_date: Option<String>,
    /// `ZnacznikZaplatyCzesciowej`.
    pub partial_marker: Option<String>,
    /// `ZaplataCzesciowa`.
    pub partial: Vec<PartialPayment>,
    /// `TerminPlatnosci`.
    pub due: Vec<DueDate>,
    /// `FormaPlatnosci` (1 gotówka … 6 przelew, 7 mobilna).
    pub method: Option<String>,
    /// `PlatnoscInna` = 1.
    pub other_method: Option<String>,
    /// `OpisPlatnosci`.
    pub other_method_description: Option<String>,
    /// Bank accounts, seller's first, then the factor's.
    pub accounts: Vec<BankAccount>,
    /// `Skonto/WarunkiSkonta`.
    pub discount_terms: Option<String>,
    /// `Skonto/WysokoscSkonta`.
    pub discount_amount: Option<String>,
    /// `LinkDoPlatnosci`.
    pub link: Option<String>,
    /// `IPKSeF` — payment identifier.
    pub ksef_payment_id: Option<String>,
}

impl Payment {
    fn of(n: &Node) -> Self {
        let account = |a: &Node, factor: bool| BankAccount {
            factor,
            number: a.text("NrRB"),
            swift: a.text("SWIFT"),
            bank_own_account: a.text("RachunekWlasnyBanku"),
            bank_name: a.text("NazwaBanku"),
            description: a.text("OpisRachunku"),
        };
        let skonto = n.get("Skonto");
        Self {
            paid: n.text("Zaplacono"),
            paid_date: n.text("DataZaplaty"),
            partial_marker: n.text("ZnacznikZaplatyCzesciowej"),
            partial: n
                .all("ZaplataCzesciowa")
                .map(|p| PartialPayment {
                    amount: p.text("KwotaZaplatyCzesciowej"),
                    date: p.text("DataZaplatyCzesciowej"),
                    method: p.text("FormaPlatnosci"),
                    other_method: p.text("PlatnoscInna"),
                    other_method_description: p.text("OpisPlatnosci"),
                })
                .collect(),
            due: n
                .all("TerminPlatnosci")
                .map(|t| {
                    let d = t.get("TerminOpis");
                    DueDate {
                        date: t.text("Termin"),
                        count: d.and_then(|d| d.text("Ilosc")),
                        unit: d.and_then(|d| d.text("Jednostka")),
                        starting_event: d.and_then(|d| d.text("ZdarzeniePoczatkowe")),
                    }
                })
                .collect(),
            method: n.text("FormaPlatnosci"),
            other_method: n.text("PlatnoscInna"),
            other_method_description: n.text("OpisPlatnosci"),
            accounts: n
                .all("RachunekBankowy")
                .map(|a| account(a, false))
                .chain(n.all("RachunekBankowyFaktora").map(|a| account(a, true)))
                .collect(),
            discount_terms: skonto.and_then(|s| s.text("WarunkiSkonta")),
            discount_amount: skonto.and_then(|s| s.text("WysokoscSkonta")),
            link: n.text("LinkDoPlatnosci"),
            ksef_payment_id: n.text("IPKSeF"),
        }
    }

    /// Polish name of the payment method code.
    pub fn method_pl(&self) -> Option<&'static str> {
        method_pl(self.method.as_deref()?)
    }
}

/// Polish name of a `FormaPlatnosci` code.
pub fn method_pl(code: &str) -> Option<&'static str> {
    Some(match code {
        "1" => "gotówka",
        "2" => "karta",
        "3" => "bon",
        "4" => "czek",
        "5" => "kredyt",
        "6" => "przelew",
        "7" => "mobilna",
        _ => return None,
    })
}

/// `Stopka/Rejestry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Registry {
    /// `PelnaNazwa`.
    pub full_name: Option<String>,
    /// `KRS`.
    pub krs: Option<String>,
    /// `REGON`.
    pub regon: Option<String>,
    /// `BDO`.
    pub bdo: Option<String>,
}

/// `Stopka`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Footer {
    /// `Informacje/StopkaFaktury`.
    pub texts: Vec<String>,
    /// `Rejestry`.
    pub registries: Vec<Registry>,
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

/// The whole invoice, ready to render.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvoiceView {
    /// `Naglowek`.
    pub header: Header,
    /// `Podmiot1` — seller.
    pub seller: Party,
    /// `Podmiot2` — buyer.
    pub buyer: Party,
    /// `Podmiot3` — other parties with their roles.
    pub third_parties: Vec<Party>,
    /// `PodmiotUpowazniony`.
    pub authorized: Option<Party>,
    /// `Fa`.
    pub details: Details,
    /// `Stopka`.
    pub footer: Footer,
    /// `Zalacznik` — the structured attachment, kept whole.
    pub attachment: Option<Section>,
    /// Elements not modelled above, with their paths (never dropped).
    pub other: Vec<OtherField>,
}

fn details(fa: &Node) -> Details {
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

fn collect_other(node: &Node, path: &str, out: &mut Vec<OtherField>) {
    for child in &node.children {
        let p = if path.is_empty() {
            child.name.clone()
        } else {
            format!("{path}/{}", child.name)
        };
        if child.children.is_empty() {
            if !child.used.get() && !child.text.is_empty() {
                out.push(OtherField {
                    path: p,
                    value: child.text.clone(),
                });
            }
        } else {
            collect_other(child, &p, out);
        }
    }
}

impl InvoiceView {
    /// Reads any FA(3) XML. Fails only on malformed XML or a root other than `Faktura`.
    pub fn parse(xml: &str) -> Result<Self, Fa3Error> {
        let root = parse_tree(xml)?;
        if root.name != "Faktura" {
            return Err(Fa3Error::NotFa3(root.name));
        }
        let header = root.get("Naglowek").map(|h| {
            let code = h.get("KodFormularza");
            Header {
                form_code: code.map(|c| c.text.clone()),
                system_code: code.and_then(|c| c.attribute("kodSystemowy")),
                schema_version: code.and_then(|c| c.attribute("wersjaSchemy")),
                variant: h.text("WariantFormularza"),
                created_at: h.text("DataWytworzeniaFa"),
                system_info: h.text("SystemInfo"),
            }
        });
        let footer = root.get("Stopka").map(|s| Footer {
            texts: s
                .all("Informacje")
                .flat_map(|i| i.texts("StopkaFaktury"))
                .collect(),
            registries: s
                .all("Rejestry")
                .map(|r| Registry {
                    full_name: r.text("PelnaNazwa"),
                    krs: r.text("KRS"),
                    regon: r.text("REGON"),
                    bdo: r.text("BDO"),
                })
                .collect(),
        });
        let mut view = Self {
            header: header.unwrap_or_default(),
            seller: root.get("Podmiot1").map(Party::of).unwrap_or_default(),
            buyer: root.get("Podmiot2").map(Party::of).unwrap_or_default(),
            third_parties: root.all("Podmiot3").map(Party::of).collect(),
            authorized: root.get("PodmiotUpowazniony").map(Party::of),
            details: root.get("Fa").map(details).unwrap_or_default(),
            footer: footer.unwrap_or_default(),
            attachment: root.get("Zalacznik").map(Section::of),
            other: Vec::new(),
        };
        collect_other(&root, "", &mut view.other);
        Ok(view)
    }

    /// Polish name of the invoice kind.
    pub fn kind_pl(&self) -> &'static str {
        match self.details.kind.as_deref() {
            Some("VAT") => "Faktura VAT",
            Some("KOR") => "Faktura korygująca",
            Some("ZAL") => "Faktura zaliczkowa",
            Some("ROZ") => "Faktura rozliczeniowa",
            Some("UPR") => "Faktura uproszczona",
            Some("KOR_ZAL") => "Korekta faktury zaliczkowej",
            Some("KOR_ROZ") => "Korekta faktury rozliczeniowej",
            _ => "Faktura",
        }
    }

    /// KOD I — the verification link printed with the invoice once it has a KSeF number
    /// (`kody-qr.md`): seller NIP, issue date (`P_1`) and the SHA-256 of the exact XML bytes.
    pub fn verification_url(
        &self,
        env: QrEnvironment,
        xml_bytes: &[u8],
    ) -> crate::error::Result<String> {
        let nip = self.seller.nip.as_deref().unwrap_or_default();
        let date = self.details.issue_date.as_deref().unwrap_or_default();
        qr::invoice_verification_url(env, nip, date, &crate::crypto::sha256_base64(xml_bytes))
    }
}
