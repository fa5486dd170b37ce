//! Exact money arithmetic for FA(3): amounts are `rust_decimal::Decimal`, never floats.
//!
//! Rounding follows Polish VAT practice (art. 106e ust. 11 ustawy o VAT): fractions of a grosz
//! below 0.5 are dropped, 0.5 and above round up (half away from zero).

pub use rust_decimal::Decimal;
use rust_decimal::RoundingStrategy;
use std::str::FromStr;

/// Rounds to whole grosze (2 decimal places), half away from zero. Never inlined, like the
/// arithmetic helpers below: `Decimal`'s operations are large, and inlined at every use they
/// cost the browser app tens of KB of wasm.
#[inline(never)]
pub fn round_money(value: Decimal) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    if rounded.is_zero() {
        rounded = Decimal::ZERO;
    }
    rounded.rescale(2);
    rounded
}

/// `a + b`, saturating (see [`round_money`] on why not inlined).
#[inline(never)]
pub fn add(a: Decimal, b: Decimal) -> Decimal {
    a.saturating_add(b)
}

/// `a - b`, saturating.
#[inline(never)]
pub fn sub(a: Decimal, b: Decimal) -> Decimal {
    a.saturating_sub(b)
}

/// `a * b`, saturating (through [`checked_mul`]: one multiplication in the wasm).
#[inline(never)]
pub fn mul(a: Decimal, b: Decimal) -> Decimal {
    checked_mul(a, b).unwrap_or(if a.is_sign_negative() != b.is_sign_negative() {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

/// `a * b`, `None` on overflow.
#[inline(never)]
pub fn checked_mul(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_mul(b)
}

/// `a / b`, `None` for a zero divisor or an overflow.
#[inline(never)]
pub fn div(a: Decimal, b: Decimal) -> Option<Decimal> {
    a.checked_div(b)
}

/// `TKwotowy`: exactly two fraction digits, e.g. `123.00`, `-5.10`.
#[inline(never)]
pub fn format_amount(value: Decimal) -> String {
    round_money(value).to_string()
}

/// An amount as a Polish reader expects it: `5 526,00 zł` — thousands apart by a
/// non-breaking space, a decimal comma, `zł` for PLN (or no currency), else the ISO code.
#[inline(never)]
pub fn display_amount(value: Decimal, currency: &str) -> String {
    let currency = match currency.trim() {
        "" | "PLN" => "zł",
        code => code,
    };
    format!("{}\u{a0}{currency}", display_plain(&format_amount(value)))
}

/// A number typed in the form (quantity, price) shown the Polish way (`1 000,5`); text
/// that is not a number is shown as typed.
#[inline(never)]
pub fn display_decimal(text: &str) -> String {
    match parse_decimal(text) {
        Some(v) => display_plain(&v.normalize().to_string()),
        None => text.to_owned(),
    }
}

/// `-5526.00` → `−5 526,00`.
#[inline(never)]
fn display_plain(plain: &str) -> String {
    let (negative, digits) = match plain.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, plain),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// `TIlosci` (quantities, exchange rates): up to 6 fraction digits, no trailing zeros.
#[inline(never)]
pub fn format_quantity(value: Decimal) -> String {
    trimmed(
        value.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero),
        0,
    )
}

/// `TKwotowy2` (unit prices): up to 8 fraction digits, at least 2 (`100.00`, `0.12345`).
#[inline(never)]
pub fn format_unit_price(value: Decimal) -> String {
    trimmed(
        value.round_dp_with_strategy(8, RoundingStrategy::MidpointAwayFromZero),
        2,
    )
}

#[inline(never)]
fn trimmed(value: Decimal, min_scale: u32) -> String {
    let mut v = value.normalize();
    if v.is_zero() {
        v = Decimal::ZERO;
    }
    if v.scale() < min_scale {
        v.rescale(min_scale);
    }
    v.to_string()
}

/// Parses a number as people type it in a form: `1 234,56`, `1234.56`, `-3`.
///
/// Returns `None` for anything that is not a plain decimal number (no exponents, no
/// thousands separators other than spaces).
#[inline(never)]
pub fn parse_decimal(input: &str) -> Option<Decimal> {
    let cleaned: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '_'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty()
        || cleaned.matches('.').count() > 1
        || !cleaned
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')))
        || !cleaned.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    Decimal::from_str(&cleaned).ok()
}

/// Number of digits after the decimal point that carry a value (`1.500` → 1).
pub fn fraction_digits(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// Currency codes allowed in `KodWaluty` (`TKodWaluty` in the FA(3) XSD).
pub const CURRENCY_CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GGP", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF",
    "IDR", "ILS", "IMP", "INR", "IQD", "IRR", "ISK", "JEP", "JMD", "JOD", "JPY", "KES", "KGS",
    "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD",
    "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV",
    "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW",
    "UZS", "VES", "VND", "VUV", "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD",
    "XCG", "XDR", "XOF", "XPD", "XPF", "XPT", "XSU", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWL",
];

/// Country codes allowed in `KodKraju` (`TKodKraju`, KodyKrajow_v10-0E.xsd).
pub const COUNTRY_CODES: &[&str] = &[
    "AF", "AX", "AL", "DZ", "AD", "AO", "AI", "AQ", "AG", "AN", "SA", "AR", "AM", "AW", "AU", "AT",
    "AZ", "BS", "BH", "
    BD", "BB", "BE", "BZ", "BJ", "BM", "BT", "BY", "BO", "BQ", "BA", "BW",
    "BR", "BN", "IO", "BG", "BF", "BI", "XC", "C
    L", "CN", "HR", "CW", "CY", "TD", "ME", "DK",
    "DM", "DO", "DJ", "EG", "EC", "ER", "EE", "ET", "FK", "FJ", "PH", "FI
    ", "FR", "TF", "GA",
    "GM", "GH", "GI", "GR", "GD", "GL", "GE", "GU", "GG", "GY", "GF", "GP", "GT", "GN", "GQ", "GW",
    "HT", "ES", "HN", "HK", "IN", "ID", "IQ", "IR", "IE", "IS", "IL", "JM", "JP", "YE", "JE", "JO",
    "KY", "KH", "CM", "CA", "QA", "KZ", "KE", "KG", "KI", "CO", "KM", "CG", "CD", "KP", "XK", "CR",
    "CU", "KW", "LA", "LS", "LB", "LR", "
    LY", "LI", "LT", "LV", "LU", "MK", "MG", "YT", "MO",
    "MW", "MV", "MY", "ML", "MT", "MP", "MA", "MQ", "MR", "MU", "M
    X", "XL", "FM", "UM", "MD",
    "MC", "MN", "MS", "MZ", "MM", "NA", "NR", "NP", "NL", "DE", "NE", "NG", "NI", "NU", "NF
    ",
    "NO", "NC", "NZ", "PS", "OM", "PK", "PW", "PA", "PG", "PY", "PE", "PN", "PF", "PL", "GS", "PT",
    "PR", "CF", "CZ", "KR", "ZA", "RE", "RU", "RO", "RW", "EH", "BL", "KN", "LC", "MF", "VC", "SV",
    "WS", "AS", "SM", "SN", "RS", "SC", "SL", "SG", "SK", "SI", "SO", "LK", "PM", "US", "SZ", "SD",
    "SS", "SR", "SJ", "SH", "SY", "CH", "SE", "TJ", "TH", "
    TW", "TZ", "TG", "TK", "TO", "TT",
    "TN", "TR", "TM", "TV", "UG", "UA", "UY", "UZ", "VU", "WF", "VA", "HU", "VE", "G
    B", "VN",
    "IT", "TL", "CI", "BV", "CX", "IM", "SX", "CK", "VI", "VG", "HM", "CC", "MH", "FO", "SB", "ST",
    "TC", "ZM
    ", "CV", "ZW", "AE", "XI",
];

/// True if `code` is a currency code FA(3) accepts.
pub fn is_currency_code(code: &str) -> bool {
    CURRENCY_CODES.contains(&code)
}

/// True if `code` is a country code FA(3) accepts.
pub fn is_country_code(code: &str) -> bool {
    COUNTRY_CODES.contains(&code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_helpers_saturate_like_decimal() {
        for (a, b) in [
            ("2.5", "-4"),
            ("-3", "-7"),
            ("0", "9"),
            ("1234.5678", "0.01"),
        ] {
            assert_eq!(mul(d(a), d(b)), d(a).saturating_mul(d(b)));
            assert_eq!(add(d(a), d(b)), d(a) + d(b));
            assert_eq!(sub(d(a), d(b)), d(a) - d(b));
        }
        assert_eq!(
            mul(Decimal::MAX, d("2")),
            Decimal::MAX.saturating_mul(d("2"))
        );
        assert_eq!(
            mul(Decimal::MAX, d("-2")),
            Decimal::MAX.saturating_mul(d("-2"))
        );
        assert_eq!(checked_mul(Decimal::MAX, d("2")), None);
        assert_eq!(div(d("1"), Decimal::ZERO), None);
    }

    #[test]
    fn amounts_display_the_polish_way() {
        assert_eq!(display_amount(d("5526"), "PLN"), "5\u{a0}526,00\u{a0}zł");
        assert_eq!(display_amount(d("-3582"), ""), "−3\u{a0}582,00\u{a0}zł");
        assert_eq!(
            display_amount(d("1234567.891"), "EUR"),
            "1\u{a0}234\u{a0}567,89\u{a0}EUR"
        );
        assert_eq!(display_amount(d("0.5"), "PLN"), "0,50\u{a0}zł");
        assert_eq!(display_amount(d("999"), "PLN"), "999,00\u{a0}zł");
        assert_eq!(display_decimal("1000.50"), "1\u{a0}000,5");
        assert_eq!(display_decimal("2,5"), "2,5");
        assert_eq!(display_decimal("abc"), "abc");
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(format_amount(d("0.005")), "0.01");
        assert_eq!(format_amount(d("0.0049")), "0.00");
        assert_eq!(format_amount(d("-0.005")), "-0.01");
        assert_eq!(format_amount(d("-0.001")), "0.00");
        assert_eq!(format_amount(d("12")), "12.00");
    }

    #[test]
    fn extreme_values_do_not_panic() {
        for v in [Decimal::MAX, Decimal::MIN, Decimal::new(1, 28)] {
            let _ = format_amount(v);
            let _ = format_quantity(v);
            let _ = format_unit_price(v);
        }
        assert!(parse_decimal("999999999999999999999999999999999").is_none());
    }

    #[test]
    fn formats_quantities_and_prices() {
        assert_eq!(format_quantity(d("1.000")), "1");
        assert_eq!(format_quantity(d("2.5000001")), "2.5");
        assert_eq!(format_unit_price(d("100")), "100.00");
        assert_eq!(format_unit_price(d("0.123456789")), "0.12345679");
    }

    #[test]
    fn parses_polish_input() {
        assert_eq!(parse_decimal("1 234,56"), Some(d("1234.56")));
        assert_eq!(parse_decimal(" 7 "), Some(d("7")));
        assert_eq!(parse_decimal("-3.5"), Some(d("-3.5")));
        assert_eq!(parse_decimal("1e5"), None);
        assert_eq!(parse_decimal("1,2,3"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("-"), None);
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn code_lists_come_from_the_xsd() {
        assert!(is_currency_code("EUR") && is_currency_code("PLN"));
        assert!(!is_currency_code("ZZZ"));
        assert!(is_country_code("PL") && is_country_code("DE"));
        assert!(!is_country_code("pl"));
    }
}
