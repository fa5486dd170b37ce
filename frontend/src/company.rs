//! Companies (podmioty): who the user issues invoices for and logs in to KSeF as. Every
//! credential, draft and invoice belongs to one company through its `company_id`.

use ksef_core::invoice::validate::is_valid_account;
use ksef_core::nip::Nip;
use serde::{Deserialize, Serialize};

use crate::api::Env;
use crate::i18n::Lang;
use crate::store::{Db, Record, StorageError, Store};

/// Settings key of the current company id.
pub const CURRENT_COMPANY_KEY: &str = "currentCompany";

/// A company as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    /// Random id (key in the `companies` store).
    pub id: String,
    /// 10-digit NIP with a valid check digit.
    pub nip: String,
    /// Name as on invoices.
    pub name: String,
    /// Address (one or more lines).
    #[serde(default)]
    pub address: String,
    /// Bank account (NRB/IBAN) printed on invoices; may be empty.
    #[serde(default)]
    pub bank_account: String,
    /// The KSeF environment this company works with.
    #[serde(default)]
    pub env: Env,
}

impl Record for Company {
    const STORE: Store = Store::Companies;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// The company form's fields, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompanyForm {
    /// NIP as typed.
    pub nip: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Bank account.
    pub bank_account: String,
    /// Environment.
    pub env: Env,
}

/// Field errors of the company form (message in the user's language).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompanyErrors {
    /// Error next to the NIP field.
    pub nip: Option<String>,
    /// Error next to the name field.
    pub name: Option<String>,
    /// Error next to the bank account field.
    pub bank_account: Option<String>,
}

impl CompanyErrors {
    /// No error at all.
    pub fn is_empty(&self) -> bool {
        self.nip.is_none() && self.name.is_none() && self.bank_account.is_none()
    }
}

impl CompanyForm {
    /// Validates the form into a company with id `id`, or the errors to show next to fields.
    pub fn validate(&self, id: String, lang: Lang) -> Result<Company, CompanyErrors> {
        let mut errors = CompanyErrors::default();
        let nip = match Nip::parse(&self.nip) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.nip =
                    Some(code_message(ksef_core::invoice::ErrorCode::from(e), lang).into());
                None
            }
        };
        if self.name.trim().is_empty() {
            errors.name = Some(
                match lang {
                    Lang::Pl => "Podaj nazwę firmy.",
                    Lang::En => "Enter the company name.",
                }
                .into(),
            );
        }
        let account: String = self
            .bank_account
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        // The invoice's own check and message: an account the company accepts is one every
        // invoice accepts.
        if !account.is_empty() && !is_valid_account(&account) {
            errors.bank_account =
                Some(code_message(ksef_core::invoice::ErrorCode::BadBankAccount, lang).into());
        }
        match nip {
            Some(nip) if errors.is_empty() => Ok(Company {
                id,
                nip: nip.as_str().to_owned(),
                name: self.name.trim().to_owned(),
                address: self.address.trim().to_owned(),
                bank_account: account,
                env: self.env,
            }),
            _ => Err(errors),
        }
    }

    /// The form filled with an existing company.
    pub fn from_company(c: &Company) -> Self {
        Self {
            nip: c.nip.clone(),
            name: c.name.clone(),
            address: c.address.clone(),
            bank_account: c.bank_account.clone(),
            env: c.env,
        }
    }
}

/// All companies, sorted by name.
pub async fn list(db: &Db) -> Result<Vec<Company>, StorageError> {
    let mut all: Vec<Company> = db.load_all().await?;
    crate::store::sort_small_by(&mut all, |a, b| {
        a.name.to_lowercase() < b.name.to_lowercase()
    });
    Ok(all)
}

/// The id of the current company, if one was chosen.
pub async fn current_id(db: &Db) -> Result<Option<String>, StorageError> {
    db.get(Store::Settings, CURRENT_COMPANY_KEY).await
}

/// Makes `id` the current company.
pub async fn set_current(db: &Db, id: &str) -> Result<(), StorageError> {
    db.put(Store::Settings, CURRENT_COMPANY_KEY, &id.to_owned())
        .await
}

/// ksef-core's message for a validation code, in `lang`.
fn code_message(code: ksef_core::invoice::ErrorCode, lang: Lang) -> &'static str {
    match lang {
        Lang::Pl => code.pl(),
        Lang::En => code.en(),
    }
}
