//! From the form to the invoice: [`InvoiceDraft::validate`] parses and checks every field and
//! gives an [`Invoice`] or every problem with its field path; [`InvoiceDraft::live_totals`]
//! sums what parses so far.

use super::{BuyerIdKind, ExemptionKind, InvoiceDraft, KindCode, LineDraft};
use crate::invoice::messages::{ErrorCode, ValidationErrors};
use crate::invoice::totals::{Totals, lines_totals};
use crate::invoice::validate::{Sign, check_invoice, date_field, decimal_field, text};
use crate::invoice::{
    Address, Advance, AdvanceRef, Annotations, BankAccount, Buyer, BuyerId, CorrectedInvoice,
    Correction, Exemption, Invoice, InvoiceKind, Line, Note, Payment, SaleDate, Seller, Settlement,
    VatRate,
};
use crate::money::parse_decimal;
use crate::nip::{EuVatNumber, Nip};
use time::Date;

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
            && !crate::invoice::validate::is_ksef_number_shape(k)
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
            if !crate::invoice::validate::is_valid_account(&number) {
                e.push("payment.bank_account", ErrorCode::BadBankAccount);
            }
            let swift = opt(&p.swift).map(|s| s.to_uppercase());
            if swift
                .as_deref()
                .is_some_and(|s| !crate::invoice::validate::is_swift(s))
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
    if !crate::invoice::validate::is_email(&v) {
        e.push(path, ErrorCode::BadEmail);
    }
    Some(v)
}
