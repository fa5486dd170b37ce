//! Per-rate totals (`P_13_x` net, `P_14_x` VAT, `P_14_xW` VAT in PLN) and `P_15`.
//!
//! Method (art. 106e ust. 1 pkt 13–14 and ust. 10 ustawy o VAT; FA(3) broszura, "P_13_1"):
//! each line value is rounded to grosze, values are summed per rate, and VAT is computed
//! once from that per-rate sum — from the net sum (net prices) or extracted from the gross
//! sum as `gross × rate / (100 + rate)` (gross prices). Rounding is half away from zero.

use super::{Invoice, InvoiceKind, Line, PriceBasis, VatRate};
use crate::money::{Decimal, add, div, mul, round_money, sub};
use serde::{Deserialize, Serialize};

/// Totals of one VAT rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate: VatRate,
    /// `P_13_x`.
    pub net: Decimal,
    /// `P_14_x` (zero for rates without VAT).
    pub vat: Decimal,
    /// Net + VAT.
    pub gross: Decimal,
    /// `P_14_xW`: VAT converted to PLN, for foreign-currency invoices.
    pub vat_pln: Option<Decimal>,
}

/// All totals of an invoice, as the form shows them and FA(3) states them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// One entry per rate present, in [`VatRate::ALL`] order.
    pub by_rate: Vec<RateTotal>,
    pub net: Decimal,
    pub vat: Decimal,
    /// `P_15`: amount due (for an advance: received; for a settlement: still to pay).
    pub gross: Decimal,
}

/// Value of one line: `P_11` (net basis) or `P_11A` (gross basis), rounded to grosze.
pub fn line_value(line: &Line) -> Decimal {
    round_money(mul(line.quantity, line.unit_price))
}

/// The value of a line as typed in the form (`None` while quantity or price is not a number):
/// the same rounding as [`line_value`], so the form shows what the invoice will state.
pub fn draft_line_value(line: &super::LineDraft) -> Option<Decimal> {
    let quantity = crate::money::parse_decimal(&line.quantity)?;
    let price = crate::money::parse_decimal(&line.unit_price)?;
    Some(round_money(mul(quantity, price)))
}

/// Totals of a set of lines.
pub fn lines_totals(lines: &[Line], basis: PriceBasis, exchange_rate: Option<Decimal>) -> Totals {
    // A handful of rates at most: a Vec, not a map (a BTreeMap costs kilobytes of wasm).
    let mut sums: Vec<(VatRate, Decimal)> = Vec::new();
    for line in lines {
        match sums.iter_mut().find(|(rate, _)| *rate == line.rate) {
            Some((_, sum)) => *sum = add(*sum, line_value(line)),
            None => sums.push((line.rate, line_value(line))),
        }
    }
    let by_rate = sums
        .into_iter()
        .map(|(rate, sum)| rate_total(rate, sum, basis, exchange_rate))
        .collect();
    Totals::from_rates(by_rate)
}

/// Builds the per-rate total from the sum of line values of that rate.
pub fn rate_total(
    rate: VatRate,
    sum: Decimal,
    basis: PriceBasis,
    exchange_rate: Option<Decimal>,
) -> RateTotal {
    let sum = round_money(sum);
    let (net, vat) = match (rate.percent(), basis) {
        (None, _) => (sum, round_money(Decimal::ZERO)),
        (Some(p), PriceBasis::Net) => (
            sum,
            round_money(div(mul(sum, p), Decimal::ONE_HUNDRED).unwrap_or(Decimal::MAX)),
        ),
        (Some(p), PriceBasis::Gross) => {
            let vat =
                round_money(div(mul(sum, p), add(Decimal::ONE_HUNDRED, p)).unwrap_or(Decimal::MAX));
            (round_money(sub(sum, vat)), vat)
        }
    };
    RateTotal {
        rate,
        net,
        vat,
        gross: round_money(add(net, vat)),
        vat_pln: vat_in_pln(rate, vat, exchange_rate),
    }
}

fn vat_in_pln(rate: VatRate, vat: Decimal, exchange_rate: Option<Decimal>) -> Option<Decimal> {
    match (rate.percent(), exchange_rate) {
        (Some(_), Some(fx)) => Some(round_money(mul(vat, fx))),
        _ => None,
    }
}

impl Totals {
    /// Sums per-rate totals into the invoice totals.
    pub fn from_rates(mut by_rate: Vec<RateTotal>) -> Self {
        by_rate.sort_by_key(|r| r.rate);
        let zero = round_money(Decimal::ZERO);
        let (net, vat, gross) = by_rate.iter().fold((zero, zero, zero), |(n, v, g), r| {
            (add(n, r.net), add(v, r.vat), add(g, r.gross))
        });
        Self {
            by_rate,
            net: round_money(net),
            vat: round_money(vat),
            gross: round_money(gross),
        }
    }

    /// The total of one rate, if present.
    pub fn rate(&self, rate: VatRate) -> Option<&RateTotal> {
        self.by_rate.iter().find(|r| r.rate == rate)
    }

    /// `self − other`, rate by rate (corrections, settlements).
    pub fn minus(&self, other: &Self) -> Self {
        let mut rates = self.by_rate.clone();
        for o in &other.by_rate {
            let at = match rates.iter().position(|r| r.rate == o.rate) {
                Some(at) => at,
                None => {
                    rates.push(RateTotal {
                        rate: o.rate,
                        net: Decimal::ZERO,
                        vat: Decimal::ZERO,
                        gross: Decimal::ZERO,
                        vat_pln: o.vat_pln.map(|_| Decimal::ZERO),
                    });
                    rates.len() - 1
                }
            };
            let e = &mut rates[at];
            e.net = round_money(sub(e.net, o.net));
            e.vat = round_money(sub(e.vat, o.vat));
            e.gross = round_money(sub(e.gross, o.gross));
            e.vat_pln = match (e.vat_pln, o.vat_pln) {
                (Some(a), Some(b)) => Some(round_money(sub(a, b))),
                (a, None) => a,
                (None, Some(b)) => Some(round_money(-b)),
            };
        }
        Self::from_rates(rates)
    }

    /// Splits a gross amount over this total's rates in proportion to their gross values
    /// (an advance over the ordered goods). The last rate takes the rounding remainder so the
    /// parts add up exactly. VAT is extracted from each part.
    pub fn split_gross(&self, gross: Decimal, exchange_rate: Option<Decimal>) -> Self {
        let gross = round_money(gross);
        let base = self
            .by_rate
            .iter()
            .fold(Decimal::ZERO, |a, r| add(a, r.gross));
        let n = self.by_rate.len();
        let mut left = gross;
        let mut parts = Vec::with_capacity(n);
        for (i, r) in self.by_rate.iter().enumerate() {
            let part = if i + 1 == n || base.is_zero() {
                if i + 1 == n {
                    left
                } else {
                    round_money(Decimal::ZERO)
                }
            } else {
                round_money(div(mul(gross, r.gross), base).unwrap_or(Decimal::MAX))
            };
            left = sub(left, part);
            parts.push(rate_total(r.rate, part, PriceBasis::Gross, exchange_rate));
        }
        Self::from_rates(parts)
    }
}

/// Totals of a whole invoice, depending on its kind.
pub fn invoice_totals(invoice: &Invoice) -> Totals {
    let fx = invoice.exchange_rate;
    let lines = lines_totals(&invoice.lines, invoice.prices, fx);
    match &invoice.kind {
        InvoiceKind::Vat => lines,
        InvoiceKind::Correction(c) => {
            lines.minus(&lines_totals(&c.lines_before, invoice.prices, fx))
        }
        InvoiceKind::Advance(a) => lines.split_gross(a.received_gross, fx),
        InvoiceKind::Settlement(s) => lines.minus(&lines.split_gross(s.paid_gross, fx)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::LineDraft;

    #[test]
    fn the_form_shows_a_line_rounded_as_the_invoice_states_it() {
        let line = |quantity: &str, unit_price: &str| LineDraft {
            quantity: quantity.into(),
            unit_price: unit_price.into(),
            ..LineDraft::default()
        };
        let value = |l: &LineDraft| draft_line_value(l).map(|v| v.to_string());
        assert_eq!(value(&line("3", "0,335")).as_deref(), Some("1.01"));
        assert_eq!(value(&line("1,5", "10")).as_deref(), Some("15.00"));
        assert_eq!(value(&line("", "10")), None, "no quantity yet");
        assert_eq!(value(&line("2", "dziesięć")), None);
    }
}
