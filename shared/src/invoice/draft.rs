//! What the invoice form holds: plain strings as typed, so a half-filled draft can be stored
//! (IndexedDB, JSON) and turned into an [`Invoice`] only when it is complete.

use super::messages::{ErrorCode, ValidationErrors};
use super::totals::{Totals, lines_totals};
use super::validate::{Sign, check_invoice, date_field, decimal_field, parse_date, text};
use super::{
    Address, Advance, AdvanceRef, Annotations, BankAccount, Buyer, BuyerId, CorrectedInvoice,
    Correction, Exemption, Invoice, InvoiceKind, Line, Note, Payment, PaymentMethod, PriceBasis,
    SaleDate, Seller, Settlement, VatRate,
};
use crate::money::parse_decimal;
use crate::nip::{EuVatNumber, Nip};
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

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn parse_lines(
    errs: &mut ValidationErrors,
    prefix: &str,
    lines: &[LineDraft],
    correction: bool,
) -> Vec<Line> {
    let sign = if correction {
        Sign::Any
    } else {
        Sign::Positive
    };
    let price_sign = if correction {
        Sign::Any
    } else {
        Sign::NonNegative
    };
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let p = format!("{prefix}[{i}]");
        let description = text(errs, &format!("{p}.description"), &l.description, 512, true);
        let unit = text(errs, &format!("{p}.unit"), &l.unit, 256, false);
        let quantity = decimal_field(errs, &format!("{p}.quantity"), &l.quantity, 6, sign, true);
        let price = decimal_field(
            errs,
            &format!("{p}.unit_price"),
            &l.unit_price,
            8,
            price_sign,
            true,
        );
        let rate = VatRate::from_code(&l.rate);
        if rate.is_none() {
            errs.push(format!("{p}.rate"), ErrorCode::BadRate);
        }
        if let (Some(description), Some(quantity), Some(unit_price), Some(rate)) =
            (description, quantity, price, rate)
        {
            out.push(Line {
                description,
                unit,
                quantity,
                unit_price,
                rate,
            });
        }
    }
    out
}

/// Lines that parse, ignoring incomplete ones (for live totals).
/// The lines that count in the live totals: those that parse and, outside a correction, that
/// validation accepts (a quantity above zero, a price not below zero), so a line flagged as
/// wrong never shows up as a negative total.
fn lenient_lines(lines: &[LineDraft], correction: bool) -> Vec<Line> {
    lines
        .iter()
        .filter_map(|l| {
            Some(Line {
                description: String::new(),
                unit: None,
                quantity: parse_decimal(&l.quantity)?,
                unit_price: parse_decimal(&l.unit_price)?,
                rate: VatRate::from_code(&l.rate)?,
            })
        })
        .filter(|l| {
            correction
                || (l.quantity > crate::money::Decimal::ZERO && !l.unit_price.is_sign_negative())
        })
        .collect()
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

    /// Totals as the form is typed: lines that don't parse yet are left out.
    pub fn live_totals(&self) -> Totals {
        let fx = parse_decimal(&self.exchange_rate).filter(|_| self.currency.trim() != "PLN");
        let correction = self.kind == KindCode::Kor;
        let lines = lines_totals(&lenient_lines(&self.lines, correction), self.prices, fx);
        match self.kind {
            KindCode::Vat => lines,
            KindCode::Kor => lines.minus(&lines_totals(
                &lenient_lines(&self.correction.lines_before, true),
                self.prices,
                fx,
            )),
            KindCode::Zal => {
                let received = parse_decimal(&self.advance_received).unwrap_or_default();
                lines.split_gross(received, fx)
            }
            KindCode::Roz => {
                let paid = parse_decimal(&self.advances_paid).unwrap_or_default();
                lines.minus(&lines.split_gross(paid, fx))
            }
        }
    }

    /// Turns the draft into an invoice or lists every problem with its field path.
    pub fn validate(&self) -> Result<Invoice, ValidationErrors> {
        self.build(None)
    }

    /// Like [`Self::validate`], and also rejects an issue date after `today` (KSeF 450).
    pub fn validate_on(&self, today: Date) -> Result<Invoice, ValidationErrors> {
        self.build(Some(today))
    }

    fn build(&self, today: Option<Date>) -> Result<Invoice, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let number = text(&mut e, "number", &self.number, 256, true);
        let issue_date = date_field(&mut e, "issue_date", &self.issue_date, true);
        let place_of_issue = text(&mut e, "place_of_issue", &self.place_of_issue, 256, false);
        let sale_date = if opt(&self.sale_date).is_some() {
            date_field(&mut e, "sale_date", &self.sale_date, true)
                .map(|date| SaleDate::Day { date })
        } else if opt(&self.sale_period_from).is_some() || opt(&self.sale_period_to).is_some() {
            let from = date_field(&mut e, "sale_period_from", &self.sale_period_from, true);
            let to = date_field(&mut e, "sale_period_to", &self.sale_period_to, true);
            from.zip(to).map(|(from, to)| SaleDate::Period { from, to })
        } else {
            None
        };

        let seller = self.seller(&mut e);
        let buyer = self.buyer(&mut e);

        let currency = self.currency.trim().to_uppercase();
        let currency = if currency.is_empty() {
            "PLN".to_owned()
        } else {
            currency
        };
        let exchange_rate = if currency == "PLN" && opt(&self.exchange_rate).is_none() {
            None
        } else {
            decimal_field(
                &mut e,
                "exchange_rate",
                &self.exchange_rate,
                6,
                Sign::Positive,
                false,
            )
        };

        let correction = self.kind == KindCode::Kor;
        let lines = parse_lines(&mut e, "lines", &self.lines, correction);
        let a = &self.annotations;
        let exemption = text(
            &mut e,
            "annotations.exemption_basis",
            &a.exemption_basis,
            256,
            false,
        )
        .map(|t| match a.exemption_kind {
            ExemptionKind::PolishLaw => Exemption::PolishLaw(t),
            ExemptionKind::Directive => Exemption::Directive(t),
            ExemptionKind::Other => Exemption::Other(t),
        });

        let kind = match self.kind {
            KindCode::Vat => Some(InvoiceKind::Vat),
            KindCode::Kor => self.correction(&mut e).map(InvoiceKind::Correction),
            KindCode::Zal => decimal_field(
                &mut e,
                "advance_received",
                &self.advance_received,
                2,
                Sign::Positive,
                true,
            )
            .map(|received_gross| InvoiceKind::Advance(Advance { received_gross })),
            KindCode::Roz => self.settlement(&mut e).map(InvoiceKind::Settlement),
        };
        let reverse_charge = lines.iter().any(|l| l.rate == VatRate::ReverseCharge)
            || matches!(&kind, Some(InvoiceKind::Correction(c))
                if c.lines_before.iter().any(|l| l.rate == VatRate::ReverseCharge));

        let payment = self.payment(&mut e);
        let mut notes = Vec::new();
        for (i, n) in self.notes.iter().enumerate() {
            if n.key.trim().is_empty() && n.value.trim().is_empty() {
                continue;
            }
            let key = text(&mut e, &format!("notes[{i}].key"), &n.key, 256, true);
            let value = text(&mut e, &format!("notes[{i}].value"), &n.value, 256, true);
            if let (Some(key), Some(value)) = (key, value) {
                notes.push(Note { key, value });
            }
        }
        let footer = text(&mut e, "footer", &self.footer, 3500, false);

        let (Some(number), Some(issue_date), Some(seller), Some(buyer), Some(kind), true) =
            (number, issue_date, seller, buyer, kind, e.is_empty())
        else {
            return Err(e);
        };
        let invoice = Invoice {
            kind,
            number,
            issue_date,
            place_of_issue,
            sale_date,
            seller,
            buyer,
            currency,
            exchange_rate,
            prices: self.prices,
            lines,
            annotations: Annotations {
                cash_accounting: a.cash_accounting,
                self_billing: a.self_billing,
                reverse_charge,
                split_payment: a.split_payment,
                exemption,
                simplified_triangular: a.simplified_triangular,
                margin: None,
            },
            notes,
            payment,
            footer,
        };
        check_invoice(&invoice, today)?;
        Ok(invoice)
    }

    fn seller(&self, e: &mut ValidationErrors) -> Option<Seller> {
        let s = &self.seller;
        let nip = match Nip::parse(&s.nip) {
            Ok(n) => Some(n),
            Err(_) if s.nip.trim().is_empty() => {
                e.push("seller.nip", ErrorCode::Required);
                None
            }
            Err(err) => {
                e.push("seller.nip", err.into());
                None
            }
        };
        let name = text(e, "seller.name", &s.name, 512, true);
        let address = address(
            e,
            "seller",
            &s.country,
            &s.address_line1,
            &s.address_line2,
            true,
        );
        let email = contact_email(e, "seller.email", &s.email);
        let phone = text(e, "seller.phone", &s.phone, 16, false);
        Some(Seller {
            nip: nip?,
            name: name?,
            address: address?,
            email,
            phone,
        })
    }

    fn buyer(&self, e: &mut ValidationErrors) -> Option<Buyer> {
        let b = &self.buyer;
        let id = match b.id_kind {
            BuyerIdKind::Nip => match Nip::parse(&b.nip) {
                Ok(nip) => Some(BuyerId::Nip { nip }),
                Err(_) if b.nip.trim().is_empty() => {
                    e.push("buyer.nip", ErrorCode::Required);
                    None
                }
                Err(err) => {
                    e.push("buyer.nip", err.into());
                    None
                }
            },
            BuyerIdKind::EuVat => match EuVatNumber::parse(&b.eu_vat) {
                Ok(vat) => Some(BuyerId::EuVat { vat }),
                Err(_) if b.eu_vat.trim().is_empty() => {
                    e.push("buyer.eu_vat", ErrorCode::Required);
                    None
                }
                Err(err) => {
                    e.push("buyer.eu_vat", err.into());
                    None
                }
            },
            BuyerIdKind::Other => {
                let country = opt(&b.other_country).map(|c| c.to_uppercase());
                if let Some(c) = &country
                    && !crate::money::is_country_code(c)
                {
                    e.push("buyer.other_country", ErrorCode::BadCountry);
                }
                text(e, "buyer.other_id", &b.other_id, 50, true)
                    .map(|id| BuyerId::Other { country, id })
            }
            BuyerIdKind::None => Some(BuyerId::None),
        };
        // A business buyer needs a name on the invoice; a consumer may stay anonymous.
        let name = text(
            e,
            "buyer.name",
            &b.name,
            512,
            b.id_kind != BuyerIdKind::None,
        );
        let has_address = opt(&b.country).is_some() || opt(&b.address_line1).is_some();
        let address = if has_address {
            address(
                e,
                "buyer",
                &b.country,
                &b.address_line1,
                &b.address_line2,
                true,
            )
        } else {
            None
        };
        let email = contact_email(e, "buyer.email", &b.email);
        let phone = text(e, "buyer.phone", &b.phone, 16, false);
        let customer_number = text(e, "buyer.customer_number", &b.customer_number, 256, false);
        Some(Buyer {
            id: id?,
            name,
            address,
            email,
            phone,
            customer_number,
            local_government_unit: b.local_government_unit,
            vat_group_member: b.vat_group_member,
        })
    }

    fn correction(&self, e: &mut ValidationErrors) -> Option<Correction> {
        let c = &self.correction;
        let reason = text(e, "correction.reason", &c.reason, 256, false);
        let effect = match c.effect.trim() {
            "" => None,
            "1" => Some(1),
            "2" => Some(2),
            "3" => Some(3),
            _ => {
                e.push("correction.effect", ErrorCode::BadNumber);
                None
            }
        };
        let number = text(
            e,
            "correction.original_number",
            &c.original_number,
            256,
            true,
        );
        let date = date_field(
            e,
            "correction.original_issue_date",
            &c.original_issue_date,
            true,
        );
        let ksef_number = opt(&c.original_ksef_number).map(|k| k.to_uppercase());
        if let Some(k) = &ksef_number
            && !super::validate::is_ksef_number_shape(k)
        {
            e.push("correction.original_ksef_number", ErrorCode::BadKsefNumber);
        }
        let lines_before = parse_lines(e, "correction.lines_before", &c.lines_before, true);
        Some(Correction {
            reason,
            effect,
            original: CorrectedInvoice {
                issue_date: date?,
                number: number?,
                ksef_number,
            },
            lines_before,
        })
    }

    fn settlement(&self, e: &mut ValidationErrors) -> Option<Settlement> {
        let mut advances = Vec::new();
        for (i, a) in self.advances.iter().enumerate() {
            let ksef_number = opt(&a.ksef_number).map(|k| k.to_uppercase());
            let number = text(
                e,
                &format!("advances[{i}].number"),
                &a.number,
                256,
                ksef_number.is_none(),
            );
            advances.push(AdvanceRef {
                ksef_number,
                number,
            });
        }
        let paid_gross = decimal_field(
            e,
            "advances_paid",
            &self.advances_paid,
            2,
            Sign::Positive,
            true,
        )?;
        Some(Settlement {
            advances,
            paid_gross,
        })
    }

    fn payment(&self, e: &mut ValidationErrors) -> Option<Payment> {
        let p = &self.payment;
        let due_date = date_field(e, "payment.due_date", &p.due_date, false);
        let paid_on = date_field(e, "payment.paid_on", &p.paid_on, false);
        let mut bank_accounts = Vec::new();
        if let Some(number) = opt(&p.bank_account) {
            let number: String = number.chars().filter(|c| !c.is_whitespace()).collect();
            if !super::validate::is_valid_account(&number) {
                e.push("payment.bank_account", ErrorCode::BadBankAccount);
            }
            let swift = opt(&p.swift).map(|s| s.to_uppercase());
            if swift
                .as_deref()
                .is_some_and(|s| !super::validate::is_swift(s))
            {
                e.push("payment.swift", ErrorCode::BadSwift);
            }
            bank_accounts.push(BankAccount {
                number: number.to_uppercase(),
                swift,
                bank_name: text(e, "payment.bank_name", &p.bank_name, 256, false),
            });
        }
        let payment = Payment {
            due_date,
            method: p.method,
            bank_accounts,
            paid_on,
        };
        (payment != Payment::default()).then_some(payment)
    }
}

fn address(
    e: &mut ValidationErrors,
    prefix: &str,
    country: &str,
    line1: &str,
    line2: &str,
    required: bool,
) -> Option<Address> {
    let country = country.trim().to_uppercase();
    let country = if country.is_empty() {
        "PL".to_owned()
    } else {
        country
    };
    if !crate::money::is_country_code(&country) {
        e.push(format!("{prefix}.country"), ErrorCode::BadCountry);
    }
    let line1 = text(e, &format!("{prefix}.address_line1"), line1, 512, required);
    let line2 = text(e, &format!("{prefix}.address_line2"), line2, 512, false);
    Some(Address {
        country,
        line1: line1?,
        line2,
    })
}

fn contact_email(e: &mut ValidationErrors, path: &str, value: &str) -> Option<String> {
    let v = opt(value)?;
    if !super::validate::is_email(&v) {
        e.push(path, ErrorCode::BadEmail);
    }
    Some(v)
}

/// Parses a `YYYY-MM-DD` string (re-exported for the form).
pub fn parse_form_date(s: &str) -> Option<Date> {
    parse_date(s)
}

fn line_draft(l: &Line) -> LineDraft {
    LineDraft {
        description: l.description.clone(),
        unit: l.unit.clone().unwrap_or_default(),
        quantity: crate::money::format_quantity(l.quantity),
        unit_price: crate::money::format_unit_price(l.unit_price),
        rate: l.rate.code().to_owned(),
    }
}

fn date_str(d: Option<Date>) -> String {
    d.map(super::validate::format_date).unwrap_or_default()
}

impl From<&Invoice> for InvoiceDraft {
    /// The form state that validates back to `inv` (to edit a copy or start from a template).
    fn from(inv: &Invoice) -> Self {
        let (sale_date, sale_period_from, sale_period_to) = match inv.sale_date {
            Some(SaleDate::Day { date }) => (date_str(Some(date)), String::new(), String::new()),
            Some(SaleDate::Period { from, to }) => {
                (String::new(), date_str(Some(from)), date_str(Some(to)))
            }
            None => Default::default(),
        };
        let b = &inv.buyer;
        let mut buyer = BuyerDraft {
            name: b.name.clone().unwrap_or_default(),
            email: b.email.clone().unwrap_or_default(),
            phone: b.phone.clone().unwrap_or_default(),
            customer_number: b.customer_number.clone().unwrap_or_default(),
            local_government_unit: b.local_government_unit,
            vat_group_member: b.vat_group_member,
            ..BuyerDraft::default()
        };
        if let Some(a) = &b.address {
            buyer.country = a.country.clone();
            buyer.address_line1 = a.line1.clone();
            buyer.address_line2 = a.line2.clone().unwrap_or_default();
        }
        match &b.id {
            BuyerId::Nip { nip } => {
                buyer.id_kind = BuyerIdKind::Nip;
                buyer.nip = nip.to_string();
            }
            BuyerId::EuVat { vat } => {
                buyer.id_kind = BuyerIdKind::EuVat;
                buyer.eu_vat = vat.to_string();
            }
            BuyerId::Other { country, id } => {
                buyer.id_kind = BuyerIdKind::Other;
                buyer.other_country = country.clone().unwrap_or_default();
                buyer.other_id = id.clone();
            }
            BuyerId::None => buyer.id_kind = BuyerIdKind::None,
        }
        let a = &inv.annotations;
        let (exemption_kind, exemption_basis) = match &a.exemption {
            None => (ExemptionKind::PolishLaw, String::new()),
            Some(Exemption::PolishLaw(t)) => (ExemptionKind::PolishLaw, t.clone()),
            Some(Exemption::Directive(t)) => (ExemptionKind::Directive, t.clone()),
            Some(Exemption::Other(t)) => (ExemptionKind::Other, t.clone()),
        };
        let mut draft = Self {
            kind: KindCode::Vat,
            number: inv.number.clone(),
            issue_date: date_str(Some(inv.issue_date)),
            place_of_issue: inv.place_of_issue.clone().unwrap_or_default(),
            sale_date,
            sale_period_from,
            sale_period_to,
            seller: SellerDraft {
                nip: inv.seller.nip.to_string(),
                name: inv.seller.name.clone(),
                country: inv.seller.address.country.clone(),
                address_line1: inv.seller.address.line1.clone(),
                address_line2: inv.seller.address.line2.clone().unwrap_or_default(),
                email: inv.seller.email.clone().unwrap_or_default(),
                phone: inv.seller.phone.clone().unwrap_or_default(),
            },
            buyer,
            currency: inv.currency.clone(),
            exchange_rate: inv
                .exchange_rate
                .map(crate::money::format_quantity)
                .unwrap_or_default(),
            prices: inv.prices,
            lines: inv.lines.iter().map(line_draft).collect(),
            annotations: AnnotationsDraft {
                cash_accounting: a.cash_accounting,
                self_billing: a.self_billing,
                split_payment: a.split_payment,
                simplified_triangular: a.simplified_triangular,
                exemption_kind,
                exemption_basis,
            },
            correction: CorrectionDraft::default(),
            advance_received: String::new(),
            advances: Vec::new(),
            advances_paid: String::new(),
            payment: PaymentDraft::default(),
            notes: inv
                .notes
                .iter()
                .map(|n| NoteDraft {
                    key: n.key.clone(),
                    value: n.value.clone(),
                })
                .collect(),
            footer: inv.footer.clone().unwrap_or_default(),
        };
        if let Some(p) = &inv.payment {
            let acc = p.bank_accounts.first();
            draft.payment = PaymentDraft {
                due_date: date_str(p.due_date),
                method: p.method,
                bank_account: acc.map(|a| a.number.clone()).unwrap_or_default(),
                swift: acc.and_then(|a| a.swift.clone()).unwrap_or_default(),
                bank_name: acc.and_then(|a| a.bank_name.clone()).unwrap_or_default(),
                paid_on: date_str(p.paid_on),
            };
        }
        match &inv.kind {
            InvoiceKind::Vat => {}
            InvoiceKind::Correction(c) => {
                draft.kind = KindCode::Kor;
                draft.correction = CorrectionDraft {
                    reason: c.reason.clone().unwrap_or_default(),
                    effect: c.effect.map(|e| e.to_string()).unwrap_or_default(),
                    original_number: c.original.number.clone(),
                    original_issue_date: date_str(Some(c.original.issue_date)),
                    original_ksef_number: c.original.ksef_number.clone().unwrap_or_default(),
                    lines_before: c.lines_before.iter().map(line_draft).collect(),
                };
            }
            InvoiceKind::Advance(a) => {
                draft.kind = KindCode::Zal;
                draft.advance_received = crate::money::format_amount(a.received_gross);
            }
            InvoiceKind::Settlement(s) => {
                draft.kind = KindCode::Roz;
                draft.advances = s
                    .advances
                    .iter()
                    .map(|a| AdvanceRefDraft {
                        ksef_number: a.ksef_number.clone().unwrap_or_default(),
                        number: a.number.clone().unwrap_or_default(),
                    })
                    .collect();
                draft.advances_paid = crate::money::format_amount(s.paid_gross);
            }
        }
        draft
    }
}

impl InvoiceDraft {
    /// A correction (KOR) draft of `original`: same parties and lines, the original lines as
    /// "before", its number/date/KSeF number filled in. The user edits the lines and sets
    /// `number` from the series.
    pub fn correction_of(original: &Invoice, ksef_number: Option<&str>, today: Date) -> Self {
        let mut draft = Self::from(original);
        draft.kind = KindCode::Kor;
        draft.number = String::new();
        draft.issue_date = super::validate::format_date(today);
        draft.advance_received.clear();
        draft.advances.clear();
        draft.advances_paid.clear();
        let before = draft.lines.clone();
        draft.correction = CorrectionDraft {
            reason: String::new(),
            effect: String::new(),
            original_number: original.number.clone(),
            original_issue_date: super::validate::format_date(original.issue_date),
            original_ksef_number: ksef_number.unwrap_or_default().to_owned(),
            lines_before: before,
        };
        draft
    }
}
