//! Invoice numbering series per company, kept in IndexedDB (`series` store, key = company id).
//!
//! A number is taken when the user asks for one ("Nadaj numer"): the counter is read and
//! advanced in ONE readwrite transaction ([`crate::store::Db::update`]), so two drafts (also in
//! two tabs) never get the same number. Counters are kept per period of the pattern (month
//! for `{MM}` series, year for `{YYYY}`), so a number taken for an invoice dated in an earlier
//! month continues that month's count instead of restarting it at 1 and repeating numbers.
//! A taken number belongs to its draft: a failed or rejected send keeps it (the corrected
//! invoice goes out under the same number) and the counter never goes back, so no other
//! draft can receive it.
//!
//! Earlier versions kept the series in localStorage (`kwit.series.{NIP}`, the pattern and the
//! last counter with its date); it is moved here once, on the company's first number.

use crate::store::{Db, StorageError, Store};
use ksef_core::invoice::NumberingSeries;
/// The series and its per-period counters (ksef-core: numbering is domain logic; this file
/// keeps it in IndexedDB).
pub use ksef_core::invoice::numbering::{DEFAULT_SERIES, PeriodCounter, SeriesRecord};

/// Why no number could be taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(crate::i18n::Lang::Pl))]
pub enum SeriesError {
    /// The browser database failed.
    Storage(#[from] StorageError),
    /// The stored pattern is not a valid series.
    Pattern(String),
    /// The issue date is not a date.
    Date,
    /// The company is unknown (no company chosen).
    NoCompany,
}

impl SeriesError {
    /// What happened and what to do, in `lang`.
    pub fn message(&self, lang: crate::i18n::Lang) -> String {
        use crate::i18n::Lang::{En, Pl};
        match (self, lang) {
            (Self::Storage(e), lang) => e.message(lang),
            (Self::Pattern(p), Pl) => {
                format!("Wzorzec numeracji „{p}” jest błędny. Użyj np. FV/{{n}}/{{MM}}/{{YYYY}}.")
            }
            (Self::Pattern(p), En) => format!(
                "The numbering pattern “{p}” is invalid: use e.g. FV/{{n}}/{{MM}}/{{YYYY}}."
            ),
            (Self::Date, Pl) => {
                "Najpierw wpisz poprawną datę wystawienia (RRRR-MM-DD) — numer zależy od miesiąca."
                    .into()
            }
            (Self::Date, En) => {
                "Enter a valid issue date (YYYY-MM-DD) first: the number depends on the month."
                    .into()
            }
            (Self::NoCompany, Pl) => "Wybierz firmę (Firmy), aby nadać numer z jej serii.".into(),
            (Self::NoCompany, En) => {
                "Choose a company (Companies) to number the invoice from its series.".into()
            }
        }
    }
}

/// The localStorage key earlier versions used for the seller `nip`.
pub fn legacy_key(nip: &str) -> String {
    format!("kwit.series.{}", nip.trim())
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The JSON earlier versions wrote (`{"pattern":"…","last":[7,"2026-11-03"]}` or
/// `"last":null`): the pattern and the last counter with its date. Read by hand, as only this
/// exact shape was ever written.
pub fn parse_legacy(json: &str) -> Option<(String, Option<(u32, String)>)> {
    let rest = json.trim().strip_prefix(r#"{"pattern":""#)?;
    let (pattern, rest) = rest.split_once(r#"","last":"#)?;
    if pattern.contains('\\') {
        return None;
    }
    let last = rest
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix("]}"))
        .and_then(|r| r.split_once(','))
        .and_then(|(n, d)| {
            Some((
                n.trim().parse().ok()?,
                d.trim().trim_matches('"').to_owned(),
            ))
        });
    Some((pattern.to_owned(), last))
}

/// The series found in localStorage for `nip`, as a record (the old "last" becomes the
/// counter of its period).
fn legacy_record(nip: &str) -> Option<SeriesRecord> {
    let json = local_storage()?.get_item(&legacy_key(nip)).ok()??;
    let (pattern, last) = parse_legacy(&json)?;
    let mut record = SeriesRecord {
        pattern,
        counters: Vec::new(),
    };
    if let (Ok(series), Some((n, d))) = (NumberingSeries::parse(&record.pattern), last)
        && let Some(date) = ksef_core::invoice::draft::parse_form_date(&d)
    {
        record.counters.push(PeriodCounter {
            period: series.period_of(date),
            last: n,
        });
    }
    Some(record)
}

/// Takes the next number of company `company_id`'s series for an invoice issued on
/// `issue_date` (`YYYY-MM-DD`). `nip` finds a series left in localStorage by an earlier
/// version; it is moved into IndexedDB (and removed from localStorage) once.
pub async fn take_number(
    db: &Db,
    company_id: &str,
    nip: &str,
    issue_date: &str,
) -> Result<String, SeriesError> {
    if company_id.is_empty() {
        return Err(SeriesError::NoCompany);
    }
    let date = ksef_core::invoice::draft::parse_form_date(issue_date).ok_or(SeriesError::Date)?;
    let mut migrated = false;
    let number = db
        .update(Store::Series, company_id, |stored: Option<String>| {
            let mut record = match stored {
                Some(text) => SeriesRecord::decode(&text),
                None => match legacy_record(nip) {
                    Some(r) => {
                        migrated = true;
                        r
                    }
                    None => SeriesRecord::default(),
                },
            };
            let number = record
                .advance(date)
                .map_err(|_| SeriesError::Pattern(record.pattern.clone()))?;
            Ok::<_, SeriesError>((record.encode(), number))
        })
        .await?;
    if migrated && let Some(storage) = local_storage() {
        let _ = storage.remove_item(&legacy_key(nip));
    }
    Ok(number)
}

/// The stored series of a company, if it has taken a number yet.
pub async fn load(db: &Db, company_id: &str) -> Result<Option<SeriesRecord>, StorageError> {
    Ok(db
        .get::<String>(Store::Series, company_id)
        .await?
        .map(|t| SeriesRecord::decode(&t)))
}

impl crate::api::Explain for SeriesError {
    fn message_in(&self, lang: crate::i18n::Lang) -> String {
        self.message(lang)
    }
}
