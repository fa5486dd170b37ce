//! Checks that keep an invoice from being rejected by KSeF (status 450) and tell the user
//! which field to fix. Rules come from the FA(3) XSD facets (`/work/shared/ksef-docs/faktury/
//! schemy/FA/`), KSeF's "Weryfikacja faktury" list (ksef-guide §13: P_1 not in the future,
//! NIP checksum, duplicate P_2) and the VAT act's requirements for the annotations.

use super::messages::{ErrorCode, ValidationErrors};
use super::{BuyerId, Invoice, InvoiceKind, Line, VatRate};
use crate::money::{Decimal, fraction_digits, is_country_code, is_currency_code, parse_decimal};
use crate::nip::Nip;
use time::Date;
use time::macros::date;

/// `TDataT` bounds.
pub const MIN_DATE: Date = date!(2006 - 01 - 01);
pub const MAX_DATE: Date = date!(2050 - 01 - 01);

/// Largest magnitude a `TKwotowy` amount can hold (16 integer digits).
fn max_amount() -> Decimal {
    Decimal::from(10_000_000_000_000_000_u64)
}

/// Characters the KSeF transport rules reject or XML 1.0 cannot carry.
pub fn has_forbidden_chars(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        (u < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
            || (0x7F..=0x84).contains(&u)
            || (0x86..=0x9F).contains(&u)
            || (0xFDD0..=0xFDEF).contains(&u)
            || (u & 0xFFFE) == 0xFFFE
    })
}

/// Trims and checks a text field; `None` when empty (and adds `Required` if `required`).
pub(crate) fn text(
    errs: &mut ValidationErrors,
    path: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errs.push(path, ErrorCode::Required);
        }
        return None;
    }
    let chars = v.chars().count();
    if chars > max_chars {
        errs.push_too_long(path, max_chars, chars);
    } else if has_forbidden_chars(v) {
        errs.push(path, ErrorCode::BadCharacters);
    }
    Some(v.to_owned())
}

/// Parses `YYYY-MM-DD` within the `TDataT` range.
pub(crate) fn date_field(
    errs: &mut ValidationErrors,
    path: &str,
    value: &str,
    required: bool,
) -> Option<Date> {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errs.push(path, ErrorCode::Required);
        }
        return None;
    }
    match parse_date(v) {
        Some(d) if (MIN_DATE..=MAX_DATE).contains(&d) => Some(d),
        Some(_) => {
            errs.push(path, ErrorCode::DateOutOfRange);
            None
        }
        None => {
            errs.push(path, ErrorCode::BadDate);
            None
        }
    }
}

/// `YYYY-MM-DD` → date. Parsed by hand: `time`'s generic format-description parser costs
/// about 12 KB of wasm, and this is the only format Kwit reads.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(digits(5..7)?).ok()?).ok()?;
    let day = u8::try_from(digits(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What sign a number may have.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sign {
    Positive,
    NonNegative,
    Any,
}

pub(crate) fn decimal_field(
    errs: &mut ValidationErrors,
    path: &str,
    value: &str,
    max_fraction: u32,
    sign: Sign,
    required: bool,
) -> Option<Decimal> {
    if value.trim().is_empty() {
        if required {
            errs.push(path, ErrorCode::Required);
        }
        return None;
    }
    let Some(d) = parse_decimal(value) else {
        errs.push(path, ErrorCode::BadNumber);
        return None;
    };
    let code = if fraction_digits(d) > max_fraction {
        Some(ErrorCode::TooManyDecimals)
    } else if d.abs() >= max_amount() {
        Some(ErrorCode::AmountTooLarge)
    } else if sign == Sign::Positive && d <= Decimal::ZERO {
        Some(ErrorCode::MustBePositive)
    } else if sign == Sign::NonNegative && d < Decimal::ZERO {
        Some(ErrorCode::MustNotBeNegative)
    } else {
        None
    };
    match code {
        Some(c) => {
            errs.push(path, c);
            None
        }
        None => Some(d),
    }
}

/// Shape of a KSeF number (`TNumerKSeF`): `NIP-YYYYMMDD-XXXXXX-XXXXXX-CC` (the middle dash
/// is optional). The CRC-8 check is left to [`crate`]'s KSeF-number module.
pub fn is_ksef_number_shape(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str, n: usize| {
        p.len() == n
            && p.chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
    };
    let id_ok = |p: &str| {
        let b = p.as_bytes();
        p.len() == 10
            && p.is_ascii()
            && (p.chars().all(|c| c.is_ascii_digit()) && b[0] != b'0'
                || (b[0] == b'M' && p[1..].chars().all(|c| c.is_ascii_digit()))
                || (p[..3].chars().all(|c| c.is_ascii_uppercase())
                    && p[3..].chars().all(|c| c.is_ascii_digit())))
    };
    let date_ok = |p: &str| {
        p.len() == 8
            && p.is_ascii()
            && parse_date(&format!("{}-{}-{}", &p[..4], &p[4..6], &p[6..])).is_some()
    };
    match parts.as_slice() {
        [id, d, a, b, c] => id_ok(id) && date_ok(d) && hex(a, 6) && hex(b, 6) && hex(c, 2),
        [id, d, ab, c] => id_ok(id) && date_ok(d) && hex(ab, 12) && hex(c, 2),
        _ => false,
    }
}

/// NRB (26 digits) or IBAN: mod-97 check; other foreign account numbers: 10–34 letters/digits.
pub fn is_valid_account(number: &str) -> bool {
    let n: String = number
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_uppercase();
    if n.len() < 10 || n.len() > 34 || !n.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let iban = if n.len() == 26 && n.chars().all(|c| c.is_ascii_digit()) {
        format!("PL{n}")
    } else if n.as_bytes()[0].is_ascii_alphabetic() && n.as_bytes()[1].is_ascii_alphabetic() {
        n
    } else {
        return true;
    };
    if !iban[2..4].chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// `SWIFT_Type`: `[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?`.
pub fn is_swift(s: &str) -> bool {
    (s.len() == 8 || s.len() == 11)
        && s.chars().take(6).all(|c| c.is_ascii_uppercase())
        && s.chars()
            .skip(6)
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Minimal e-mail shape (`TAdresEmail`: `(.)+@(.)+`, 3–255 chars).
pub fn is_email(s: &str) -> bool {
    let n = s.chars().count();
    (3..=255).contains(&n)
        && s.find('@')
            .is_some_and(|i| i > 0 && i + 1 < s.len() && !s.contains(char::is_whitespace))
}

fn check_line(errs: &mut ValidationErrors, path: &str, line: &Line, correction: bool) {
    if line.description.trim().is_empty() {
        errs.push(format!("{path}.description"), ErrorCode::Required);
    } else if line.description.chars().count() > 512 {
        let chars = line.description.chars().count();
        errs.push_too_long(format!("{path}.description"), 512, chars);
    }
    if fraction_digits(line.quantity) > 6 {
        errs.push(format!("{path}.quantity"), ErrorCode::TooManyDecimals);
    } else if !correction && line.quantity <= Decimal::ZERO {
        errs.push(format!("{path}.quantity"), ErrorCode::MustBePositive);
    }
    if fraction_digits(line.unit_price) > 8 {
        errs.push(format!("{path}.unit_price"), ErrorCode::TooManyDecimals);
    } else if !correction && line.unit_price < Decimal::ZERO {
        errs.push(format!("{path}.unit_price"), ErrorCode::MustNotBeNegative);
    }
    if crate::money::checked_mul(line.quantity, line.unit_price)
        .is_none_or(|v| v.abs() >= max_amount())
    {
        errs.push(format!("{path}.unit_price"), ErrorCode::AmountTooLarge);
    }
}

/// Semantic checks of a complete invoice; paths match [`super::InvoiceDraft`] fields.
pub fn check_invoice(inv: &Invoice, today: Option<Date>) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if let Err(e) = Nip::parse(inv.seller.nip.as_str()) {
        errs.push("seller.nip", e.into());
    }
    if let BuyerId::Nip { nip } = &inv.buyer.id
        && let Err(e) = Nip::parse(nip.as_str())
    {
        errs.push("buyer.nip", e.into());
    }
    text(&mut errs, "number", &inv.number, 256, true);
    text(&mut errs, "seller.name", &inv.seller.name, 512, true);
    if !is_country_code(&inv.seller.address.country) {
        errs.push("seller.country", ErrorCode::BadCountry);
    }
    if !(MIN_DATE..=MAX_DATE).contains(&inv.issue_date) {
        errs.push("issue_date", ErrorCode::DateOutOfRange);
    }
    if let Some(today) = today
        && inv.issue_date > today
    {
        errs.push("issue_date", ErrorCode::IssueDateInFuture);
    }
    if let Some(super::SaleDate::Period { from, to }) = inv.sale_date
        && from > to
    {
        errs.push("sale_period_to", ErrorCode::PeriodReversed);
    }
    if !is_currency_code(&inv.currency) {
        errs.push("currency", ErrorCode::BadCurrency);
    }
    match (inv.currency == "PLN", inv.exchange_rate) {
        (false, None) => errs.push("exchange_rate", ErrorCode::ExchangeRateRequired),
        (true, Some(_)) => errs.push("exchange_rate", ErrorCode::ExchangeRateForPln),
        (false, Some(r)) if r <= Decimal::ZERO => {
            errs.push("exchange_rate", ErrorCode::MustBePositive);
        }
        (false, Some(r)) if fraction_digits(r) > 6 => {
            errs.push("exchange_rate", ErrorCode::TooManyDecimals);
        }
        _ => {}
    }

    let is_correction = matches!(inv.kind, InvoiceKind::Correction(_));
    if inv.lines.is_empty() {
        errs.push("lines", ErrorCode::NoLines);
    } else if inv.lines.len() > 10_000 {
        errs.push("lines", ErrorCode::TooManyLines);
    }
    for (i, line) in inv.lines.iter().enumerate() {
        check_line(&mut errs, &format!("lines[{i}]"), line, is_correction);
    }

    let mut all_lines: Vec<(String, &Line)> = inv
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("lines[{i}]"), l))
        .collect();
    if let InvoiceKind::Correction(c) = &inv.kind {
        for (i, line) in c.lines_before.iter().enumerate() {
            let path = format!("correction.lines_before[{i}]");
            check_line(&mut errs, &path, line, true);
            all_lines.push((path, line));
        }
    }
    let has_rate = |r: VatRate| all_lines.iter().any(|(_, l)| l.rate == r);
    // Zwolnienie: P_19 = 1 needs a basis and goes with "zw" lines (art. 106e ust. 1 pkt 19).
    if has_rate(VatRate::Exempt) && inv.annotations.exemption.is_none() {
        errs.push(
            "annotations.exemption_basis",
            ErrorCode::ExemptionBasisRequired,
        );
    }
    if inv.annotations.exemption.is_some() && !has_rate(VatRate::Exempt) {
        errs.push(
            "annotations.exemption_basis",
            ErrorCode::ExemptionWithoutExemptLine,
        );
    }
    if has_rate(VatRate::ReverseCharge) != inv.annotations.reverse_charge {
        errs.push(
            "annotations.reverse_charge",
            ErrorCode::ReverseChargeMismatch,
        );
    }
    for (path, line) in &all_lines {
        match line.rate {
            VatRate::ZeroIntraEu if !matches!(inv.buyer.id, BuyerId::EuVat { .. }) => {
                errs.push(format!("{path}.rate"), ErrorCode::IntraEuNeedsEuVat);
            }
            VatRate::ReverseCharge if !matches!(inv.buyer.id, BuyerId::Nip { .. }) => {
                errs.push(format!("{path}.rate"), ErrorCode::ReverseChargeNeedsNip);
            }
            _ => {}
        }
    }

    let order_gross = || super::totals::lines_totals(&inv.lines, inv.prices, None).gross;
    match &inv.kind {
        InvoiceKind::Vat => {}
        InvoiceKind::Correction(c) => {
            text(
                &mut errs,
                "correction.original_number",
                &c.original.number,
                256,
                true,
            );
            if let Some(k) = &c.original.ksef_number
                && !is_ksef_number_shape(k)
            {
                errs.push("correction.original_ksef_number", ErrorCode::BadKsefNumber);
            }
            if !(MIN_DATE..=MAX_DATE).contains(&c.original.issue_date) {
                errs.push("correction.original_issue_date", ErrorCode::DateOutOfRange);
            }
        }
        InvoiceKind::Advance(a) => {
            if inv.prices == super::PriceBasis::Gross {
                errs.push("prices", ErrorCode::AdvanceNeedsNetPrices);
            }
            if a.received_gross <= Decimal::ZERO {
                errs.push("advance_received", ErrorCode::MustBePositive);
            } else if a.received_gross > order_gross() {
                errs.push("advance_received", ErrorCode::AdvanceExceedsOrder);
            }
        }
        InvoiceKind::Settlement(s) => {
            for (i, a) in s.advances.iter().enumerate() {
                match (&a.ksef_number, &a.number) {
                    (Some(k), _) if !is_ksef_number_shape(k) => {
                        errs.push(
                            format!("advances[{i}].ksef_number"),
                            ErrorCode::BadKsefNumber,
                        );
                    }
                    (None, None) => errs.push(format!("advances[{i}].number"), ErrorCode::Required),
                    _ => {}
                }
            }
            if s.paid_gross <= Decimal::ZERO {
                errs.push("advances_paid", ErrorCode::MustBePositive);
            } else if s.paid_gross > order_gross() {
                errs.push("advances_paid", ErrorCode::AdvanceExceedsOrder);
            }
        }
    }
    if let Some(p) = &inv.payment {
        for (i, acc) in p.bank_accounts.iter().enumerate() {
            if acc.swift.as_deref().is_some_and(|s| !is_swift(s)) {
                errs.push("payment.swift", ErrorCode::BadSwift);
            }
            if !is_valid_account(&acc.number) {
                let path = if i == 0 {
                    "payment.bank_account".to_owned()
                } else {
                    format!("payment.bank_accounts[{i}]")
                };
                errs.push(path, ErrorCode::BadBankAccount);
            }
        }
    }
    for (path, email) in [
        ("seller.email", &inv.seller.email),
        ("buyer.email", &inv.buyer.email),
    ] {
        if let Some(e) = email
            && !is_email(e)
        {
            errs.push(path, ErrorCode::BadEmail);
        }
    }
    errs.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksef_number_shapes() {
        assert!(is_ksef_number_shape("5265877635-20250826-0100001AF629-AF"));
        assert!(is_ksef_number_shape("5265877635-20250826-010000-1AF629-AF"));
        assert!(!is_ksef_number_shape("5265877635-20251326-0100001AF629-AF"));
        assert!(!is_ksef_number_shape("FV/1/2026"));
        assert!(!is_ksef_number_shape("ąąąąąąąąąą-20250826-0100001AF629-AF"));
        assert!(!is_ksef_number_shape("abąćdefg-20250826-0100001AF629-AF"));
    }

    #[test]
    fn bank_accounts() {
        assert!(is_valid_account("61 1090 1014 0000 0712 1981 2874"));
        assert!(is_valid_account("PL61109010140000071219812874"));
        assert!(!is_valid_account("61 1090 1014 0000 0712 1981 2875"));
        assert!(is_valid_account("DE89370400440532013000"));
        assert!(!is_valid_account("123"));
    }

    #[test]
    fn forbidden_characters() {
        assert!(has_forbidden_chars("a\u{0}b"));
        assert!(!has_forbidden_chars("a\u{85}b"));
        assert!(has_forbidden_chars("a\u{84}b"));
        assert!(has_forbidden_chars("x\u{FFFE}"));
        assert!(!has_forbidden_chars("Zażółć gęślą jaźń"));
    }
}
