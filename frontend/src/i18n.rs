//! Polish first, English second: every user-visible string goes through [`Lang::t`].

use serde::{Deserialize, Serialize};

/// The interface language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lang {
    /// Polish, the default.
    #[default]
    Pl,
    /// English.
    En,
}

/// Keys of the message catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Msg {
    AppTagline,
    Environment,
    PublicKeysTitle,
    PublicKeysIntro,
    Usage,
    ValidFrom,
    ValidTo,
    KeyId,
    Loading,
    Retry,
    NoKeys,
    SwitchLanguage,
}

impl Lang {
    /// The same language for ksef-core's messages ([`ksef_core::error::Error::message`]).
    pub fn core(self) -> ksef_core::error::Language {
        match self {
            Self::Pl => ksef_core::error::Language::Pl,
            Self::En => ksef_core::error::Language::En,
        }
    }

    /// The language code used in `<html lang>` and storage.
    pub fn code(self) -> &'static str {
        match self {
            Self::Pl => "pl",
            Self::En => "en",
        }
    }

    /// Parses a stored language code; anything unknown means Polish.
    pub fn from_code(code: &str) -> Self {
        if code.eq_ignore_ascii_case("en") {
            Self::En
        } else {
            Self::Pl
        }
    }

    /// The other language, for the switch button.
    pub fn other(self) -> Self {
        match self {
            Self::Pl => Self::En,
            Self::En => Self::Pl,
        }
    }

    /// Translates a catalog key.
    pub fn t(self, msg: Msg) -> &'static str {
        use Msg::*;
        match (self, msg) {
            (Self::Pl, AppTagline) => "Faktury i KSeF w przeglądarce",
            (Self::En, AppTagline) => "Invoices and KSeF in your browser",
            (Self::Pl, Environment) => "Środowisko",
            (Self::En, Environment) => "Environment",
            (Self::Pl, PublicKeysTitle) => "Certyfikaty publiczne KSeF",
            (Self::En, PublicKeysTitle) => "KSeF public key certificates",
            (Self::Pl, PublicKeysIntro) => {
                "Kluczami z tych certyfikatów Kwit szyfruje w przeglądarce token KSeF i klucz faktur."
            }
            (Self::En, PublicKeysIntro) => {
                "Kwit encrypts the KSeF token and the invoice key in your browser with these keys."
            }
            (Self::Pl, Usage) => "Zastosowanie",
            (Self::En, Usage) => "Usage",
            (Self::Pl, ValidFrom) => "Ważny od",
            (Self::En, ValidFrom) => "Valid from",
            (Self::Pl, ValidTo) => "Ważny do",
            (Self::En, ValidTo) => "Valid to",
            (Self::Pl, KeyId) => "Identyfikator klucza",
            (Self::En, KeyId) => "Key id",
            (Self::Pl, Loading) => "Pobieranie…",
            (Self::En, Loading) => "Loading…",
            (Self::Pl, Retry) => "Pobierz certyfikaty publiczne",
            (Self::En, Retry) => "Fetch public certificates",
            (Self::Pl, NoKeys) => "KSeF nie zwrócił żadnego certyfikatu.",
            (Self::En, NoKeys) => "KSeF returned no certificate.",
            (Self::Pl, SwitchLanguage) => "English",
            (Self::En, SwitchLanguage) => "Polski",
        }
    }

    /// A human name for a certificate usage as KSeF spells it.
    pub fn usage(self, usage: &str) -> String {
        match (self, usage) {
            (Self::Pl, "KsefTokenEncryption") => "szyfrowanie tokena KSeF".into(),
            (Self::En, "KsefTokenEncryption") => "KSeF token encryption".into(),
            (Self::Pl, "SymmetricKeyEncryption") => "szyfrowanie klucza faktur (AES)".into(),
            (Self::En, "SymmetricKeyEncryption") => "invoice key (AES) encryption".into(),
            (_, other) => other.to_owned(),
        }
    }
}

/// Picks the Polish or the English text: the one way the app chooses a language for a text.
pub fn tr(lang: Lang, pl: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Pl => pl,
        Lang::En => en,
    }
}

/// Picks one language from a bilingual message written `"polski / English"` (the style of
/// ksef-core's error messages); a message without the separator is returned whole.
pub fn pick(lang: Lang, message: &str) -> String {
    match message.split_once(" / ") {
        Some((pl, en)) => match lang {
            Lang::Pl => pl.trim().to_owned(),
            Lang::En => en.trim().to_owned(),
        },
        None => message.to_owned(),
    }
}
