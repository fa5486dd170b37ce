//! Validation messages in Polish and English, keyed by a stable code so the form can
//! show the right language and tests can assert on the code.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Required,
    TooLong,
    BadCharacters,
    NipLength,
    NipDigits,
    NipChecksum,
    NipShape,
    EuVatCountry,
    EuVatNumber,
    BadDate,
    DateOutOfRange,
    IssueDateInFuture,
    PeriodReversed,
    BadNumber,
    TooManyDecimals,
    MustBePositive,
    MustNotBeNegative,
    AmountTooLarge,
    BadRate,
    BadCurrency,
    BadCountry,
    ExchangeRateRequired,
    ExchangeRateForPln,
    NoLines,
    ExemptionBasisRequired,
    ExemptionWithoutExemptLine,
    ReverseChargeMismatch,
    IntraEuNeedsEuVat,
    ReverseChargeNeedsNip,
    BadKsefNumber,
    BadBankAccount,
    BadSwift,
    BadPaymentMethod,
    BadEmail,
    AdvanceExceedsOrder,
    AdvanceNeedsNetPrices,
    TooManyLines,
}

impl ErrorCode {
    /// Polish message (the user-facing default).
    pub fn pl(self) -> &'static str {
        match self {
            Self::Required => "To pole jest wymagane.",
            Self::TooLong => "Tekst jest za długi.",
            Self::BadCharacters => "Tekst zawiera niedozwolone znaki sterujące — usuń je.",
            Self::NipLength => "NIP musi mieć 10 cyfr.",
            Self::NipDigits => "NIP może zawierać tylko cyfry (myślniki i spacje są pomijane).",
            Self::NipChecksum => "NIP ma błędną cyfrę kontrolną — sprawdź, czy nie ma literówki.",
            Self::NipShape => "Taki NIP nie istnieje (nie może zaczynać się od 0).",
            Self::EuVatCountry => "Numer VAT UE musi zaczynać się kodem kraju UE, np. DE.",
            Self::EuVatNumber => "Po kodzie kraju wpisz 1–12 cyfr lub wielkich liter.",
            Self::BadDate => "Wpisz datę w formacie RRRR-MM-DD.",
            Self::DateOutOfRange => "Data musi mieścić się między 2006-01-01 a 2050-01-01.",
            Self::IssueDateInFuture => {
                "Data wystawienia nie może być późniejsza niż dzisiaj — KSeF odrzuci taką fakturę."
            }
            Self::PeriodReversed => "Początek okresu musi być przed jego końcem.",
            Self::BadNumber => "Wpisz liczbę, np. 1234,56.",
            Self::TooManyDecimals => "Za dużo cyfr po przecinku.",
            Self::MustBePositive => "Wartość musi być większa od zera.",
            Self::MustNotBeNegative => "Wartość nie może być ujemna.",
            Self::AmountTooLarge => "Kwota jest za duża.",
            Self::BadRate => "Wybierz stawkę VAT z listy.",
            Self::BadCurrency => "Nieznany kod waluty — użyj kodu ISO, np. PLN, EUR.",
            Self::BadCountry => "Nieznany kod kraju — użyj dwuliterowego kodu, np. PL, DE.",
            Self::ExchangeRateRequired => {
                "Faktura w walucie obcej wymaga kursu waluty (PLN za 1 jednostkę)."
            }
            Self::ExchangeRateForPln => "Kurs waluty podaje się tylko dla faktur w walucie obcej.",
            Self::NoLines => "Dodaj co najmniej jedną pozycję.",
            Self::ExemptionBasisRequired => {
                "Pozycja ze stawką „zw” wymaga podstawy prawnej zwolnienia."
            }
            Self::ExemptionWithoutExemptLine => {
                "Podstawa zwolnienia jest podana, ale żadna pozycja nie ma stawki „zw”."
            }
            Self::ReverseChargeMismatch => {
                "Adnotacja „odwrotne obciążenie” musi odpowiadać pozycjom ze stawką „oo”."
            }
            Self::IntraEuNeedsEuVat => "Stawka 0% WDT wymaga numeru VAT UE nabywcy.",
            Self::ReverseChargeNeedsNip => "Odwrotne obciążenie (oo) wymaga NIP nabywcy.",
            Self::BadKsefNumber => {
                "To nie jest poprawny numer KSeF (np. 5265877635-20250826-0100001AF629-AF)."
            }
            Self::BadBankAccount => "Numer rachunku jest błędny — sprawdź cyfry (NRB lub IBAN).",
            Self::BadSwift => "Kod SWIFT/BIC ma 8 lub 11 znaków, np. BPKOPLPW.",
            Self::BadPaymentMethod => "Wybierz formę płatności z listy.",
            Self::BadEmail => "To nie wygląda na adres e-mail.",
            Self::AdvanceExceedsOrder => "Zaliczki przekraczają wartość zamówienia.",
            Self::AdvanceNeedsNetPrices => {
                "Fakturę zaliczkową wystaw z cenami netto (zamówienie w FA(3) ma ceny netto)."
            }
            Self::TooManyLines => "Faktura może mieć najwyżej 10 000 pozycji.",
        }
    }

    /// English message.
    pub fn en(self) -> &'static str {
        match self {
            Self::Required => "This field is required.",
            Self::TooLong => "The text is too long.",
            Self::BadCharacters => "The text contains control characters — remove them.",
            Self::NipLength => "A NIP has 10 digits.",
            Self::NipDigits => "A NIP may contain digits only (dashes and spaces are ignored).",
            Self::NipChecksum => "The NIP check digit is wrong — check for a typo.",
            Self::NipShape => "No such NIP exists (it cannot start with 0).",
            Self::EuVatCountry => "An EU VAT number starts with an EU country code, e.g. DE.",
            Self::EuVatNumber => "After the country code enter 1–12 digits or capital letters.",
            Self::BadDate => "Enter the date as YYYY-MM-DD.",
            Self::DateOutOfRange => "The date must be between 2006-01-01 and 2050-01-01.",
            Self::IssueDateInFuture => {
                "The issue date cannot be later than today — KSeF would reject the invoice."
            }
            Self::PeriodReversed => "The period must start before it ends.",
            Self::BadNumber => "Enter a number, e.g. 1234.56.",
            Self::TooManyDecimals => "Too many digits after the decimal point.",
            Self::MustBePositive => "The value must be greater than zero.",
            Self::MustNotBeNegative => "The value cannot be negative.",
            Self::AmountTooLarge => "The amount is too large.",
            Self::BadRate => "Choose a VAT rate from the list.",
            Self::BadCurrency => "Unknown currency code — use an ISO code such as PLN or EUR.",
            Self::BadCountry => "Unknown country code — use a two-letter code such as PL or DE.",
            Self::ExchangeRateRequired => {
                "A foreign-currency invoice needs the exchange rate (PLN per unit)."
            }
            Self::ExchangeRateForPln => {
                "An exchange rate is only given for foreign-currency invoices."
            }
            Self::NoLines => "Add at least one line.",
            Self::ExemptionBasisRequired => {
                "A line with the “zw” rate needs the legal basis of the exemption."
            }
            Self::ExemptionWithoutExemptLine => {
                "An exemption basis is given but no line has the “zw” rate."
            }
            Self::ReverseChargeMismatch => {
                "The reverse-charge annotation must match the lines with the “oo” rate."
            }
            Self::IntraEuNeedsEuVat => {
                "The 0% intra-EU (WDT) rate needs the buyer's EU VAT number."
            }
            Self::ReverseChargeNeedsNip => "Domestic reverse charge (oo) needs the buyer's NIP.",
            Self::BadKsefNumber => {
                "This is not a valid KSeF number (e.g. 5265877635-20250826-0100001AF629-AF)."
            }
            Self::BadBankAccount => "The account number is wrong — check the digits (NRB or IBAN).",
            Self::BadSwift => "A SWIFT/BIC code has 8 or 11 characters, e.g. BPKOPLPW.",
            Self::BadPaymentMethod => "Choose a payment method from the list.",
            Self::BadEmail => "This does not look like an e-mail address.",
            Self::AdvanceExceedsOrder => "The advances exceed the order value.",
            Self::AdvanceNeedsNetPrices => {
                "Issue an advance invoice with net prices (the FA(3) order lists net prices)."
            }
            Self::TooManyLines => "An invoice can have at most 10,000 lines.",
        }
    }
}

/// One problem, attached to the form field it concerns (`buyer.nip`, `lines[2].quantity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub path: String,
    pub code: ErrorCode,
    /// Polish message.
    pub pl: String,
    /// English message.
    pub en: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, code: ErrorCode) -> Self {
        Self {
            path: path.into(),
            code,
            pl: code.pl().to_owned(),
            en: code.en().to_owned(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} / {}", self.path, self.pl, self.en)
    }
}

/// Every problem found in one pass, so the form can mark all fields at once.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, thiserror::Error)]
#[error("Faktura zawiera błędy ({} pól) / The invoice has errors ({} fields)", .errors.len(), .errors.len())]
pub struct ValidationErrors {
    pub errors: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn push(&mut self, path: impl Into<String>, code: ErrorCode) {
        self.errors.push(FieldError::new(path, code));
    }

    /// [`ErrorCode::TooLong`] with the limit, so the user knows how much to cut.
    pub fn push_too_long(&mut self, path: impl Into<String>, max_chars: usize, chars: usize) {
        self.errors.push(FieldError {
            path: path.into(),
            code: ErrorCode::TooLong,
            pl: format!(
                "Tekst jest za długi: {chars} znaków, a można najwyżej {max_chars}. Skróć go."
            ),
            en: format!(
                "The text is too long: {chars} characters, at most {max_chars} allowed. Shorten it."
            ),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Errors of one field (exact path).
    pub fn for_path<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.errors.iter().filter(move |e| e.path == path)
    }

    /// True if `path` has an error with `code`.
    pub fn has(&self, path: &str, code: ErrorCode) -> bool {
        self.errors.iter().any(|e| e.path == path && e.code == code)
    }

    pub(crate) fn into_result(self) -> Result<(), Self> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl From<crate::nip::NipError> for ErrorCode {
    fn from(e: crate::nip::NipError) -> Self {
        use crate::nip::NipError as E;
        match e {
            E::Length => Self::NipLength,
            E::NotDigits => Self::NipDigits,
            E::Checksum => Self::NipChecksum,
            E::Shape => Self::NipShape,
            E::EuCountry => Self::EuVatCountry,
            E::EuNumber => Self::EuVatNumber,
        }
    }
}
