//! From an invoice back to the form: the draft that validates to it, and a correction draft.

use super::{
    AdvanceRefDraft, AnnotationsDraft, BuyerDraft, BuyerIdKind, CorrectionDraft, ExemptionKind,
    InvoiceDraft, KindCode, LineDraft, NoteDraft, PaymentDraft, SellerDraft,
};
use crate::invoice::{BuyerId, Exemption, Invoice, InvoiceKind, Line, SaleDate};
use time::Date;

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
    d.map(crate::invoice::validate::format_date)
        .unwrap_or_default()
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
        draft.issue_date = crate::invoice::validate::format_date(today);
        draft.advance_received.clear();
        draft.advances.clear();
        draft.advances_paid.clear();
        let before = draft.lines.clone();
        draft.correction = CorrectionDraft {
            reason: String::new(),
            effect: String::new(),
            original_number: original.number.clone(),
            original_issue_date: crate::invoice::validate::format_date(original.issue_date),
            original_ksef_number: ksef_number.unwrap_or_default().to_owned(),
            lines_before: before,
        };
        draft
    }
}
