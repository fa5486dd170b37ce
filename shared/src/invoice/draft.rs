//! What the invoice form holds: plain strings as typed, so a half-filled draft can be stored
//! (IndexedDB, JSON) and turned into an [`Invoice`](super::Invoice) only when it is complete.
//!
//! This file holds the form's types; `build.rs` turns a draft into an invoice (or the list of
//! what is wrong), `from_invoice.rs` fills a draft from an invoice (copy, template, correction).

mod build;
mod from_invoice;

use super::validate::parse_date;
use super::{PaymentMethod, PriceBasis};
use serde::{Deserialize, Serialize};
use time::Date;

/// Invoice kind as chosen in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KindCode {
    #[default]
    Vat,
    Kor,
    Zal,
    Roz,
}

/// How the buyer is identified in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuyerIdKind {
    #[default]
    Nip,
    EuVat,
    Other,
    /// A consumer without a tax id.
    None,
}

/// Which `Zwolnienie` element the exemption basis goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionKind {
    /// `P_19A`, e.g. `art. 113 ust. 1 ustawy o VAT`.
    #[default]
    PolishLaw,
    /// `P_19B`.
    Directive,
    /// `P_19C`.
    Other,
}

/// The invoice form's state. Every field has a default, so partial JSON loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceDraft {
    pub kind: KindCode,
    pub number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    pub place_of_issue: String,
    /// Single supply date; leave empty to use the period or nothing.
    pub sale_date: String,
    pub sale_period_from: String,
    pub sale_period_to: String,
    pub seller: SellerDraft,
    pub buyer: BuyerDraft,
    /// ISO code, `PLN` by default.
    pub currency: String,
    /// PLN per unit; only for a foreign currency.
    pub exchange_rate: String,
    pub prices: PriceBasis,
    pub lines: Vec<LineDraft>,
    pub annotations: AnnotationsDraft,
    pub correction: CorrectionDraft,
    /// Advance invoice (ZAL): gross amount received.
    pub advance_received: String,
    /// Settlement invoice (ROZ): the advance invoices settled.
    pub advances: Vec<AdvanceRefDraft>,
    /// Settlement invoice (ROZ): gross sum already received in those advances.
    pub advances_paid: String,
    pub payment: PaymentDraft,
    pub notes: Vec<NoteDraft>,
    pub footer: String,
}

impl Default for InvoiceDraft {
    fn default() -> Self {
        Self {
            kind: KindCode::Vat,
            number: String::new(),
            issue_date: String::new(),
            place_of_issue: String::new(),
            sale_date: String::new(),
            sale_period_from: String::new(),
            sale_period_to: String::new(),
            seller: SellerDraft::default(),
            buyer: BuyerDraft::default(),
            currency: "PLN".to_owned(),
            exchange_rate: String::new(),
            prices: PriceBasis::Net,
            lines: vec![LineDraft::default()],
            annotations: AnnotationsDraft::default(),
            correction: CorrectionDraft::default(),
            advance_received: String::new(),
            advances: Vec::new(),
            advances_paid: String::new(),
            payment: PaymentDraft::default(),
            notes: Vec::new(),
            footer: String::new(),
        }
    }
}

/// The seller (the user's own company), usually filled from settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SellerDraft {
    pub nip: String,
    pub name: String,
    /// Two-letter country code, `PL` by default.
    pub country: String,
    pub address_line1: String,
    pub address_line2: String,
    pub email: String,
    pub phone: String,
}

impl Default for SellerDraft {
    fn default() -> Self {
        Self {
            nip: String::new(),
            name: String::new(),
            country: "PL".to_owned(),
            address_line1: String::new(),
            address_line2: String::new(),
            email: String::new(),
            phone: String::new(),
        }
    }
}

/// The buyer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BuyerDraft {
    pub id_kind: BuyerIdKind,
    pub nip: String,
    /// Full EU VAT number with prefix, e.g. `DE123456789`.
    pub eu_vat: String,
    /// Country of `other_id` (optional).
    pub other_country: String,
    pub other_id: String,
    pub name: String,
    /// Empty = no address (allowed for consumers).
    pub country: String,
    pub address_line1: String,
    pub address_line2: String,
    pub email: String,
    pub phone: String,
    pub customer_number: String,
    pub local_government_unit: bool,
    pub vat_group_member: bool,
}

/// One line as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineDraft {
    pub description: String,
    pub unit: String,
    pub quantity: String,
    /// Net or gross, per [`InvoiceDraft::prices`].
    pub unit_price: String,
    /// `P_12` code: `23`, `8`, `5`, `0 KR`, `0 WDT`, `0 EX`, `zw`, `np I`, `np II`, `oo`.
    pub rate: String,
}

impl Default for LineDraft {
    fn default() -> Self {
        Self {
            description: String::new(),
            unit: "szt.".to_owned(),
            quantity: "1".to_owned(),
            unit_price: String::new(),
            rate: "23".to_owned(),
        }
    }
}

/// Annotations the user chooses (reverse charge is derived from `oo` lines).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnotationsDraft {
    pub cash_accounting: bool,
    pub self_billing: bool,
    pub split_payment: bool,
    pub simplified_triangular: bool,
    pub exemption_kind: ExemptionKind,
    /// Legal basis of the exemption; required when a line is `zw`.
    pub exemption_basis: String,
}

/// Correction (KOR) data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CorrectionDraft {
    pub reason: String,
    /// `TypKorekty`: empty, `1`, `2` or `3`.
    pub effect: String,
    pub original_number: String,
    pub original_issue_date: String,
    /// Empty when the corrected invoice was not in KSeF.
    pub original_ksef_number: String,
    /// The corrected invoice's lines as they were.
    pub lines_before: Vec<LineDraft>,
}

/// One settled advance invoice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdvanceRefDraft {
    pub ksef_number: String,
    pub number: String,
}

/// Payment terms.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentDraft {
    pub due_date: String,
    pub method: Option<PaymentMethod>,
    pub bank_account: String,
    pub swift: String,
    pub bank_name: String,
    /// Already paid on this date.
    pub paid_on: String,
}

/// A free note (`DodatkowyOpis`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NoteDraft {
    pub key: String,
    pub value: String,
}

impl InvoiceDraft {
    /// A fresh draft for `seller` issued on `today` (the caller supplies the date: no clock here).
    pub fn new(seller: SellerDraft, today: Date) -> Self {
        Self {
            seller,
            issue_date: super::validate::format_date(today),
            ..Self::default()
        }
    }
}

/// Parses a `YYYY-MM-DD` string (re-exported for the form).
pub fn parse_form_date(s: &str) -> Option<Date> {
    parse_date(s)
}
