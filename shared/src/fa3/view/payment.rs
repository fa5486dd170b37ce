//! `Platnosc`: paid or due, partial payments, method, bank accounts, discount.

use serde::Serialize;

use super::tree::Node;

/// `TerminPlatnosci`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DueDate {
    /// `Termin`.
    pub date: Option<String>,
    /// `TerminOpis/Ilosc`.
    pub count: Option<String>,
    /// `TerminOpis/Jednostka`.
    pub unit: Option<String>,
    /// `TerminOpis/ZdarzeniePoczatkowe`.
    pub starting_event: Option<String>,
}

/// `RachunekBankowy` / `RachunekBankowyFaktora`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BankAccount {
    /// True for the factor's account.
    pub factor: bool,
    /// `NrRB`.
    pub number: Option<String>,
    /// `SWIFT`.
    pub swift: Option<String>,
    /// `RachunekWlasnyBanku`.
    pub bank_own_account: Option<String>,
    /// `NazwaBanku`.
    pub bank_name: Option<String>,
    /// `OpisRachunku`.
    pub description: Option<String>,
}

/// `ZaplataCzesciowa`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartialPayment {
    /// `KwotaZaplatyCzesciowej`.
    pub amount: Option<String>,
    /// `DataZaplatyCzesciowej`.
    pub date: Option<String>,
    /// `FormaPlatnosci`.
    pub method: Option<String>,
    /// `PlatnoscInna` = 1.
    pub other_method: Option<String>,
    /// `OpisPlatnosci`.
    pub other_method_description: Option<String>,
}

/// `Platnosc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// `Zaplacono` = 1: paid.
    pub paid: Option<String>,
    /// `DataZaplaty`.
    pub paid_date: Option<String>,
    /// `ZnacznikZaplatyCzesciowej`.
    pub partial_marker: Option<String>,
    /// `ZaplataCzesciowa`.
    pub partial: Vec<PartialPayment>,
    /// `TerminPlatnosci`.
    pub due: Vec<DueDate>,
    /// `FormaPlatnosci` (1 gotówka … 6 przelew, 7 mobilna).
    pub method: Option<String>,
    /// `PlatnoscInna` = 1.
    pub other_method: Option<String>,
    /// `OpisPlatnosci`.
    pub other_method_description: Option<String>,
    /// Bank accounts, seller's first, then the factor's.
    pub accounts: Vec<BankAccount>,
    /// `Skonto/WarunkiSkonta`.
    pub discount_terms: Option<String>,
    /// `Skonto/WysokoscSkonta`.
    pub discount_amount: Option<String>,
    /// `LinkDoPlatnosci`.
    pub link: Option<String>,
    /// `IPKSeF` — payment identifier.
    pub ksef_payment_id: Option<String>,
}

impl Payment {
    pub(super) fn of(n: &Node) -> Self {
        let account = |a: &Node, factor: bool| BankAccount {
            factor,
            number: a.text("NrRB"),
            swift: a.text("SWIFT"),
            bank_own_account: a.text("RachunekWlasnyBanku"),
            bank_name: a.text("NazwaBanku"),
            description: a.text("OpisRachunku"),
        };
        let skonto = n.get("Skonto");
        Self {
            paid: n.text("Zaplacono"),
            paid_date: n.text("DataZaplaty"),
            partial_marker: n.text("ZnacznikZaplatyCzesciowej"),
            partial: n
                .all("ZaplataCzesciowa")
                .map(|p| PartialPayment {
                    amount: p.text("KwotaZaplatyCzesciowej"),
                    date: p.text("DataZaplatyCzesciowej"),
                    method: p.text("FormaPlatnosci"),
                    other_method: p.text("PlatnoscInna"),
                    other_method_description: p.text("OpisPlatnosci"),
                })
                .collect(),
            due: n
                .all("TerminPlatnosci")
                .map(|t| {
                    let d = t.get("TerminOpis");
                    DueDate {
                        date: t.text("Termin"),
                        count: d.and_then(|d| d.text("Ilosc")),
                        unit: d.and_then(|d| d.text("Jednostka")),
                        starting_event: d.and_then(|d| d.text("ZdarzeniePoczatkowe")),
                    }
                })
                .collect(),
            method: n.text("FormaPlatnosci"),
            other_method: n.text("PlatnoscInna"),
            other_method_description: n.text("OpisPlatnosci"),
            accounts: n
                .all("RachunekBankowy")
                .map(|a| account(a, false))
                .chain(n.all("RachunekBankowyFaktora").map(|a| account(a, true)))
                .collect(),
            discount_terms: skonto.and_then(|s| s.text("WarunkiSkonta")),
            discount_amount: skonto.and_then(|s| s.text("WysokoscSkonta")),
            link: n.text("LinkDoPlatnosci"),
            ksef_payment_id: n.text("IPKSeF"),
        }
    }

    /// Polish name of the payment method code.
    pub fn method_pl(&self) -> Option<&'static str> {
        method_pl(self.method.as_deref()?)
    }
}

/// Polish name of a `FormaPlatnosci` code.
pub fn method_pl(code: &str) -> Option<&'static str> {
    Some(match code {
        "1" => "gotówka",
        "2" => "karta",
        "3" => "bon",
        "4" => "czek",
        "5" => "kredyt",
        "6" => "przelew",
        "7" => "mobilna",
        _ => return None,
    })
}
