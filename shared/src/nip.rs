//! Polish NIP (tax id) with checksum, and the shape of EU VAT numbers (`KodUE` + `NrVatUE`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a NIP or EU VAT number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NipError {
    #[error("NIP musi mieć 10 cyfr / NIP must have 10 digits")]
    Length,
    #[error("NIP może zawierać tylko cyfry / NIP may contain digits only")]
    NotDigits,
    #[error(
        "NIP ma błędną cyfrę kontrolną — sprawdź, czy nie ma literówki / NIP check digit is wrong — check for a typo"
    )]
    Checksum,
    #[error(
        "NIP nie może zaczynać się od 0 ani mieć 0 na 2. i 3. pozycji / NIP cannot start with 0 or have 0 in both the 2nd and 3rd position"
    )]
    Shape,
    #[error(
        "Numer VAT UE musi zaczynać się kodem kraju UE (np. DE) / An EU VAT number must start with an EU country code (e.g. DE)"
    )]
    EuCountry,
    #[error(
        "Numer VAT UE: po kodzie kraju 1–12 znaków (cyfry, wielkie litery, + lub *) / EU VAT number: 1–12 characters (digits, capital letters, + or *) after the country code"
    )]
    EuNumber,
}

/// A valid Polish NIP: 10 digits, correct check digit (weights 6,5,7,2,3,4,5,6,7 mod 11),
/// and the `TNrNIP` pattern of the FA(3) schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nip(String);

const NIP_WEIGHTS: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];

impl Nip {
    /// Accepts `5265877635`, `526-587-76-35`, `526 587 76 35` and `PL5265877635`.
    pub fn parse(input: &str) -> Result<Self, NipError> {
        let mut s: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        if s.len() > 2 && s.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("PL")) {
            s.drain(..2);
        }
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(NipError::NotDigits);
        }
        if s.len() != 10 {
            return Err(NipError::Length);
        }
        let digits: Vec<u32> = s.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = digits.iter().zip(NIP_WEIGHTS).map(|(d, w)| d * w).sum();
        let check = sum % 11;
        if check == 10 || check != digits[9] {
            return Err(NipError::Checksum);
        }
        // TNrNIP: [1-9]((\d[1-9])|([1-9]\d))\d{7}
        if digits[0] == 0 || (digits[1] == 0 && digits[2] == 0) {
            return Err(NipError::Shape);
        }
        Ok(Self(s))
    }

    /// Accepts any 10 digits without the checksum test: for invoices read from KSeF, whose
    /// TEST environment does not check NIPs. [`crate::invoice::Invoice::check`] still reports it.
    pub fn parse_unchecked(input: &str) -> Result<Self, NipError> {
        let s = input.trim();
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(NipError::NotDigits);
        }
        if s.len() != 10 {
            return Err(NipError::Length);
        }
        Ok(Self(s.to_owned()))
    }

    /// The 10 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Computes the check digit for 9 leading digits, `None` if no valid NIP can end them.
    pub fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
        let sum: u32 = first_nine
            .iter()
            .zip(NIP_WEIGHTS)
            .map(|(d, w)| u32::from(*d) * w)
            .sum();
        let check = sum % 11;
        (check < 10).then_some(check as u8)
    }
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Nip {
    type Error = NipError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Nip> for String {
    fn from(value: Nip) -> Self {
        value.0
    }
}

/// EU member-state prefixes accepted in `KodUE` (`TKodyKrajowUE`; Greece is `EL`,
/// Northern Ireland `XI`). PL is allowed by the schema but a Polish buyer should use NIP.
pub const EU_COUNTRY_CODES: &[&str] = &[
    "AT", "BE", "BG", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "EL", "HR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "XI",
];

/// An EU VAT number split the way FA(3) wants it: `KodUE` and `NrVatUE`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EuVatNumber {
    /// Two-letter prefix, e.g. `DE`.
    pub country: String,
    /// The number without the prefix, e.g. `123456789`.
    pub number: String,
}

impl EuVatNumber {
    /// Parses `DE 123 456 789` / `de123456789`; `GR` is accepted as the ISO name of `EL`.
    pub fn parse(input: &str) -> Result<Self, NipError> {
        let s: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '\u{a0}'))
            .collect::<String>()
            .to_uppercase();
        if s.len() < 2 || !s.is_char_boundary(2) {
            return Err(NipError::EuCountry);
        }
        let (country, number) = s.split_at(2);
        Self::from_parts(country, number)
    }

    /// Checks an already split prefix and number.
    pub fn from_parts(country: &str, number: &str) -> Result<Self, NipError> {
        let country = match country.to_uppercase().as_str() {
            "GR" => "EL".to_owned(),
            c => c.to_owned(),
        };
        if !EU_COUNTRY_CODES.contains(&country.as_str()) {
            return Err(NipError::EuCountry);
        }
        let number = number.trim().to_uppercase();
        // TNrVatUE: (\d|[A-Z]|\+|\*){1,12}
        if number.is_empty()
            || number.len() > 12
            || !number
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '+' || c == '*')
        {
            return Err(NipError::EuNumber);
        }
        Ok(Self { country, number })
    }
}

impl fmt::Display for EuVatNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.country, self.number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_nips_in_common_spellings() {
        for s in [
            "5265877635",
            "526-587-76-35",
            "PL 526 587 76 35",
            "7352765225",
        ] {
            assert!(Nip::parse(s).is_ok(), "{s}");
        }
        assert_eq!(Nip::parse("526-587-76-35").unwrap().as_str(), "5265877635");
    }

    #[test]
    fn rejects_typos_and_garbage() {
        assert_eq!(Nip::parse("5265877636"), Err(NipError::Checksum));
        assert_eq!(Nip::parse("526587763"), Err(NipError::Length));
        assert_eq!(Nip::parse("52658776AB"), Err(NipError::NotDigits));
        assert_eq!(Nip::parse(""), Err(NipError::Length));
        assert_eq!(Nip::parse("0000000000"), Err(NipError::Shape));
    }

    #[test]
    fn eu_vat_numbers() {
        let v = EuVatNumber::parse("de 123456789").unwrap();
        assert_eq!((v.country.as_str(), v.number.as_str()), ("DE", "123456789"));
        assert_eq!(EuVatNumber::parse("GR123456789").unwrap().country, "EL");
        assert_eq!(EuVatNumber::parse("US123"), Err(NipError::EuCountry));
        assert_eq!(EuVatNumber::parse("DE"), Err(NipError::EuNumber));
        assert_eq!(
            EuVatNumber::parse("DE1234567890123"),
            Err(NipError::EuNumber)
        );
        assert_eq!(EuVatNumber::parse("Ż1"), Err(NipError::EuCountry));
    }
}
