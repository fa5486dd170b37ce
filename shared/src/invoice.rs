//! The invoice a freelancer issues under FA(3), in plain domain terms.
//!
//! Built from an [`InvoiceDraft`] (what the form holds) by [`InvoiceDraft::validate`],
//! written with [`Invoice::to_fa3_xml`] and read back with [`crate::fa3::read_fa3`].
//! Field meanings follow `/work/shared/ksef-guide.md` §13 and the FA(3) XSD.

pub mod draft;
pub mod messages;
pub mod numbering;
pub mod totals;
pub mod validate;

pub use draft::{
    AdvanceRefDraft, BuyerDraft, BuyerIdKind, CorrectionDraft, InvoiceDraft, KindCode, LineDraft,
    NoteDraft, PaymentDraft, SellerDraft,
};
pub use messages::{ErrorCode, FieldError, ValidationErrors};
pub use numbering::{NumberingError, NumberingSeries};
pub use totals::{RateTotal, Totals};

use crate::money::Decimal;
use crate::nip::{EuVatNumber, Nip};
use serde::{Deserialize, Serialize};
use time::Date;

/// One FA(3) invoice (`Faktura`), everything except the generation timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// `RodzajFaktury` and the data that only some kinds carry.
    pub kind: InvoiceKind,
    /// `P_2`: the invoice number from the seller's series.
    pub number: String,
    /// `P_1`: issue date.
    pub issue_date: Date,
    /// `P_1M`: place of issue.
    pub place_of_issue: Option<String>,
    /// `P_6` / `OkresFa`: date (or period) of supply, when it differs from the issue date.
    pub sale_date: Option<SaleDate>,
    /// `Podmiot1`.
    pub seller: Seller,
    /// `Podmiot2`.
    pub buyer: Buyer,
    /// `KodWaluty`, ISO 4217 (e.g. `PLN`, `EUR`).
    pub currency: String,
    /// PLN per one unit of `currency` (art. 31a ustawy o VAT), required for foreign currency.
    pub exchange_rate: Option<Decimal>,
    /// Whether unit prices are net (`P_9A`) or gross (`P_9B`).
    pub prices: PriceBasis,
    /// `FaWiersz` (for an advance invoice: the ordered goods/services, `ZamowienieWiersz`).
    pub lines: Vec<Line>,
    /// `Adnotacje`.
    pub annotations: Annotations,
    /// `DodatkowyOpis`: free key/value notes printed on the invoice.
    pub notes: Vec<Note>,
    /// `Platnosc`.
    pub payment: Option<Payment>,
    /// `Stopka/Informacje/StopkaFaktury`.
    pub footer: Option<String>,
}

/// `RodzajFaktury` values Kwit issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum InvoiceKind {
    /// `VAT`: an ordinary invoice.
    Vat,
    /// `KOR`: corrects an earlier invoice.
    Correction(Correction),
    /// `ZAL`: advance payment received before the supply; `lines` describe the order.
    Advance(Advance),
    /// `ROZ`: final invoice settling earlier advance invoices.
    Settlement(Settlement),
}

impl InvoiceKind {
    /// The `RodzajFaktury` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Vat => "VAT",
            Self::Correction(_) => "KOR",
            Self::Advance(_) => "ZAL",
            Self::Settlement(_) => "ROZ",
        }
    }
}

/// The correction block (`PrzyczynaKorekty`, `TypKorekty`, `DaneFaKorygowanej`) plus the
/// lines as they were before the correction (`StanPrzed=1`). The invoice's own `lines` are the
/// state after it; totals are the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    /// `PrzyczynaKorekty`.
    pub reason: Option<String>,
    /// `TypKorekty`: 1 = in the original period, 2 = in the correction's period, 3 = other.
    pub effect: Option<u8>,
    /// The corrected invoice.
    pub original: CorrectedInvoice,
    /// Lines before the correction (written with `StanPrzed` = 1).
    pub lines_before: Vec<Line>,
}

/// `DaneFaKorygowanej`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectedInvoice {
    /// `DataWystFaKorygowanej`.
    pub issue_date: Date,
    /// `NrFaKorygowanej`.
    pub number: String,
    /// `NrKSeFFaKorygowanej`; `None` means the original was issued outside KSeF (`NrKSeFN`).
    pub ksef_number: Option<String>,
}

/// What an advance invoice (`ZAL`) adds: the amount actually received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advance {
    /// Gross amount received (`P_15`); split over the order's VAT rates in proportion.
    pub received_gross: Decimal,
}

/// Earlier advance invoices a settlement (`ROZ`) accounts for (`FakturaZaliczkowa`).
/// The invoice's `lines` are the whole order; totals are the order minus `paid_gross`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The advance invoices being settled.
    pub advances: Vec<AdvanceRef>,
    /// Gross sum of those advances, split over the order's rates like the advances were.
    pub paid_gross: Decimal,
}

/// One settled advance invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvanceRef {
    /// KSeF number of the advance invoice (`NrKSeFFaZaliczkowej`), or `None` with
    /// `number` for one issued outside KSeF (`NrKSeFZN` + `NrFaZaliczkowej`).
    pub ksef_number: Option<String>,
    /// The advance invoice's own number, needed when it has no KSeF number.
    pub number: Option<String>,
}

/// `P_6` (single date) or `OkresFa` (a period, e.g. a month of services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SaleDate {
    /// `P_6`.
    Day { date: Date },
    /// `OkresFa`: `P_6_Od` .. `P_6_Do`.
    Period { from: Date, to: Date },
}

/// The seller (`Podmiot1`): always a Polish VAT payer identified by NIP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub nip: Nip,
    pub name: String,
    pub address: Address,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The buyer (`Podmiot2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub id: BuyerId,
    /// `Nazwa`; optional in FA(3) for consumers, but printed when known.
    pub name: Option<String>,
    pub address: Option<Address>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// `NrKlienta`.
    pub customer_number: Option<String>,
    /// `JST`: the buyer is a local-government unit (jednostka samorządu terytorialnego).
    pub local_government_unit: bool,
    /// `GV`: the buyer is a member of a VAT group.
    pub vat_group_member: bool,
}

/// How the buyer is identified (`Podmiot2/DaneIdentyfikacyjne` choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum BuyerId {
    /// Polish NIP.
    Nip { nip: Nip },
    /// EU VAT number (`KodUE` + `NrVatUE`).
    EuVat { vat: EuVatNumber },
    /// Any other tax id (`KodKraju?` + `NrID`), e.g. a UK or US company.
    Other { country: Option<String>, id: String },
    /// No identifier (`BrakID`): a consumer.
    None,
}

/// `TAdres`: country plus up to two free-form lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `KodKraju`.
    pub country: String,
    /// `AdresL1`.
    pub line1: String,
    /// `AdresL2`.
    pub line2: Option<String>,
}

/// Whether entered unit prices include VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PriceBasis {
    /// `P_9A` unit net price, `P_11` net value; VAT computed from the net sum per rate.
    #[default]
    Net,
    /// `P_9B` unit gross price, `P_11A` gross value; VAT extracted from the gross sum per rate.
    Gross,
}

/// One invoice line (`FaWiersz`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// `P_7`: what was sold.
    pub description: String,
    /// `P_8A`: unit of measure (`szt.`, `godz.`, `usł.`).
    pub unit: Option<String>,
    /// `P_8B`.
    pub quantity: Decimal,
    /// `P_9A` (net basis) or `P_9B` (gross basis).
    pub unit_price: Decimal,
    /// `P_12`.
    pub rate: VatRate,
}

/// `TStawkaPodatku`: the VAT rate of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VatRate {
    /// 23 %.
    R23,
    /// 22 % (historic, still in the schema).
    R22,
    /// 8 %.
    R8,
    /// 7 % (historic).
    R7,
    /// 5 %.
    R5,
    /// 4 % (taxi flat rate).
    R4,
    /// 3 % (taxi flat rate).
    R3,
    /// `0 KR`: 0 % domestic.
    ZeroDomestic,
    /// `0 WDT`: 0 % intra-EU supply of goods.
    ZeroIntraEu,
    /// `0 EX`: 0 % export of goods.
    ZeroExport,
    /// `zw`: exempt.
    Exempt,
    /// `np I`: not taxable in Poland (place of supply abroad), other than below.
    OutsideScope,
    /// `np II`: services to an EU business under art. 100 ust. 1 pkt 4 (reverse charge abroad).
    OutsideScopeEuServices,
    /// `oo`: domestic reverse charge, the buyer settles VAT.
    ReverseCharge,
}

impl VatRate {
    /// Every rate, in the order totals are listed.
    pub const ALL: [Self; 14] = [
        Self::R23,
        Self::R22,
        Self::R8,
        Self::R7,
        Self::R5,
        Self::R4,
        Self::R3,
        Self::ZeroDomestic,
        Self::ZeroIntraEu,
        Self::ZeroExport,
        Self::Exempt,
        Self::OutsideScope,
        Self::OutsideScopeEuServices,
        Self::ReverseCharge,
    ];

    /// Rates offered in the invoice form (current Polish rates).
    pub const OFFERED: [Self; 10] = [
        Self::R23,
        Self::R8,
        Self::R5,
        Self::ZeroDomestic,
        Self::ZeroIntraEu,
        Self::ZeroExport,
        Self::Exempt,
        Self::OutsideScope,
        Self::OutsideScopeEuServices,
        Self::ReverseCharge,
    ];

    /// The `P_12` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::R23 => "23",
            Self::R22 => "22",
            Self::R8 => "8",
            Self::R7 => "7",
            Self::R5 => "5",
            Self::R4 => "4",
            Self::R3 => "3",
            Self::ZeroDomestic => "0 KR",
            Self::ZeroIntraEu => "0 WDT",
            Self::ZeroExport => "0 EX",
            Self::Exempt => "zw",
            Self::OutsideScope => "np I",
            Self::OutsideScopeEuServices => "np II",
            Self::ReverseCharge => "oo",
        }
    }

    /// Parses a `P_12` code; also accepts `0` (domestic 0 %) and `np` (np I) as typed in forms.
    pub fn from_code(code: &str) -> Option<Self> {
        let c = code.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(c))
            .or(match c {
                "0" => Some(Self::ZeroDomestic),
                "np" | "NP" => Some(Self::OutsideScope),
                _ => None,
            })
    }

    /// Percentage for rates that carry VAT; `None` for 0 %/zw/np/oo (no VAT on the invoice).
    pub fn percent(self) -> Option<Decimal> {
        let p = match self {
            Self::R23 => 23,
            Self::R22 => 22,
            Self::R8 => 8,
            Self::R7 => 7,
            Self::R5 => 5,
            Self::R4 => 4,
            Self::R3 => 3,
            _ => return None,
        };
        Some(Decimal::from(p))
    }

    /// Short label for the form (`23%`, `0% WDT`, `zw`, `np`, `odwr. obc.`).
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::R23 => "23%",
            Self::R22 => "22%",
            Self::R8 => "8%",
            Self::R7 => "7%",
            Self::R5 => "5%",
            Self::R4 => "4%",
            Self::R3 => "3%",
            Self::ZeroDomestic => "0% (kraj)",
            Self::ZeroIntraEu => "0% WDT",
            Self::ZeroExport => "0% eksport",
            Self::Exempt => "zw (zwolnione)",
            Self::OutsideScope => "np (poza Polską)",
            Self::OutsideScopeEuServices => "np (usługi UE, art. 100)",
            Self::ReverseCharge => "oo (odwrotne obciążenie)",
        }
    }

    /// English label for the form.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::ZeroDomestic => "0% (domestic)",
            Self::ZeroIntraEu => "0% intra-EU supply",
            Self::ZeroExport => "0% export",
            Self::Exempt => "exempt",
            Self::OutsideScope => "outside Poland",
            Self::OutsideScopeEuServices => "EU services, art. 100",
            Self::ReverseCharge => "reverse charge",
            rate => rate.label_pl(),
        }
    }
}

/// `Adnotacje`: the statutory annotations every FA(3) invoice states explicitly.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Annotations {
    /// `P_16`: metoda kasowa (cash accounting).
    pub cash_accounting: bool,
    /// `P_17`: samofakturowanie (self-billing).
    pub self_billing: bool,
    /// `P_18`: odwrotne obciążenie (reverse charge).
    pub reverse_charge: bool,
    /// `P_18A`: mechanizm podzielonej płatności (split payment).
    pub split_payment: bool,
    /// `Zwolnienie`: legal basis of a VAT exemption, required when a line is `zw`.
    pub exemption: Option<Exemption>,
    /// `P_23`: simplified triangular transaction (second taxpayer).
    pub simplified_triangular: bool,
    /// `PMarzy`: margin scheme.
    pub margin: Option<MarginScheme>,
}

/// Basis of a VAT exemption (`P_19A` / `P_19B` / `P_19C`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "text")]
pub enum Exemption {
    /// `P_19A`: Polish act, e.g. `art. 113 ust. 1 ustawy o VAT`.
    PolishLaw(String),
    /// `P_19B`: EU directive 2006/112/EC provision.
    Directive(String),
    /// `P_19C`: another legal basis.
    Other(String),
}

/// Margin-scheme procedure (`P_PMarzy_2`, `_3_1`, `_3_2`, `_3_3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MarginScheme {
    TravelAgency,
    SecondHandGoods,
    WorksOfArt,
    Antiques,
}

/// `DodatkowyOpis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub key: String,
    pub value: String,
}

/// `Platnosc`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Payment {
    /// `TerminPlatnosci/Termin`.
    pub due_date: Option<Date>,
    /// `FormaPlatnosci`.
    pub method: Option<PaymentMethod>,
    /// `RachunekBankowy`.
    pub bank_accounts: Vec<BankAccount>,
    /// `Zaplacono` + `DataZaplaty`: already paid on that date.
    pub paid_on: Option<Date>,
}

/// `TFormaPlatnosci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentMethod {
    Cash,
    Card,
    Voucher,
    Cheque,
    Credit,
    Transfer,
    Mobile,
}

impl PaymentMethod {
    /// Every method, in `FormaPlatnosci` code order.
    pub const ALL: [Self; 7] = [
        Self::Cash,
        Self::Card,
        Self::Voucher,
        Self::Cheque,
        Self::Credit,
        Self::Transfer,
        Self::Mobile,
    ];

    /// `FormaPlatnosci` code 1..7.
    pub fn code(self) -> u8 {
        match self {
            Self::Cash => 1,
            Self::Card => 2,
            Self::Voucher => 3,
            Self::Cheque => 4,
            Self::Credit => 5,
            Self::Transfer => 6,
            Self::Mobile => 7,
        }
    }

    /// From a `FormaPlatnosci` code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }

    /// Polish label for the form.
    pub fn label_pl(self) -> &'static str {
        match self {
            Self::Cash => "gotówka",
            Self::Card => "karta",
            Self::Voucher => "bon",
            Self::Cheque => "czek",
            Self::Credit => "kredyt",
            Self::Transfer => "przelew",
            Self::Mobile => "płatność mobilna",
        }
    }

    /// English label for the form.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Card => "card",
            Self::Voucher => "voucher",
            Self::Cheque => "cheque",
            Self::Credit => "credit",
            Self::Transfer => "bank transfer",
            Self::Mobile => "mobile payment",
        }
    }
}

/// `TRachunekBankowy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccount {
    /// `NrRB`: NRB (26 digits) or IBAN, stored without spaces.
    pub number: String,
    /// `SWIFT`.
    pub swift: Option<String>,
    /// `NazwaBanku`.
    pub bank_name: Option<String>,
}

impl Invoice {
    /// Per-rate and overall totals, rounded the FA(3) way (see [`totals`]).
    pub fn totals(&self) -> Totals {
        totals::invoice_totals(self)
    }

    /// Writes the invoice as FA(3) XML. Same input → same bytes (KSeF hashes them).
    /// `generated_at` becomes `DataWytworzeniaFa`.
    pub fn to_fa3_xml(&self, generated_at: time::OffsetDateTime) -> String {
        crate::fa3::write_fa3(self, generated_at)
    }

    /// KSeF refuses a second invoice with the same seller NIP, `RodzajFaktury` and `P_2`
    /// (ksef-guide §13); the app can look this key up before sending.
    pub fn duplicate_key(&self) -> (String, &'static str, String) {
        (
            self.seller.nip.to_string(),
            self.kind.code(),
            self.number.clone(),
        )
    }

    /// Semantic checks (NIP checksums, dates, required fields, rate/annotation consistency).
    /// `today`, when given, also rejects issue dates in the future (KSeF status 450).
    pub fn check(&self, today: Option<Date>) -> Result<(), ValidationErrors> {
        validate::check_invoice(self, today)
    }
}
