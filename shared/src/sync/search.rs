//! Searching the local copy of the invoices fetched from KSeF (the "Faktury KSeF" list):
//! every search and filter runs here, on what the sync stored, never as a KSeF call per view
//! (`limity-api.md`: 20 metadata queries per hour).

use serde::{Deserialize, Serialize};

use super::package::FetchedInvoice;
use super::state::SubjectType;

/// One line of the list, taken from KSeF's metadata of a fetched invoice (kept beside it, so
/// the list reads small records).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// KSeF number.
    pub ksef_number: String,
    /// The seller's invoice number.
    pub invoice_number: String,
    /// `YYYY-MM-DD`.
    pub issue_date: String,
    /// The perspective it was fetched under.
    pub subject: SubjectType,
    /// The other party's name as seen from the company (the buyer when we sold).
    pub counterparty_name: String,
    /// The other party's NIP or other identifier.
    pub counterparty_id: String,
    /// Gross amount as KSeF gave it, in `currency`.
    pub gross: f64,
    /// ISO 4217.
    pub currency: String,
    /// KSeF's `invoiceType` (`Vat`, `Kor`, `Zal`, `Roz`, …).
    pub kind: String,
    /// Whether the XML is kept (the invoice view works offline).
    pub has_xml: bool,
}

impl Row {
    /// The list's line for `invoice`.
    pub fn of(invoice: &FetchedInvoice) -> Self {
        let m = &invoice.metadata;
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (counterparty_name, counterparty_id) = match invoice.subject {
            SubjectType::Subject1 => (
                text(m.buyer.get("name")),
                text(m.buyer.get("identifier").and_then(|i| i.get("value"))),
            ),
            _ => (
                m.seller.name.clone().unwrap_or_default(),
                m.seller.nip.clone().unwrap_or_default(),
            ),
        };
        Self {
            ksef_number: invoice.ksef_number.clone(),
            invoice_number: m.invoice_number.clone(),
            issue_date: m.issue_date.clone(),
            subject: invoice.subject,
            counterparty_name,
            counterparty_id,
            gross: m.gross_amount.as_f64().unwrap_or(0.0),
            currency: m.currency.clone().unwrap_or_else(|| "PLN".into()),
            kind: text(m.other.get("invoiceType")),
            has_xml: invoice.xml.is_some(),
        }
    }
}

/// What the user filters by; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// Counterparty name or NIP, invoice number or KSeF number (any part, any case).
    pub text: String,
    /// One perspective only.
    pub subject: Option<SubjectType>,
    /// Issue date from (`YYYY-MM-DD`, inclusive).
    pub from: String,
    /// Issue date to (`YYYY-MM-DD`, inclusive).
    pub to: String,
    /// Smallest gross amount.
    pub min_gross: Option<f64>,
    /// Largest gross amount.
    pub max_gross: Option<f64>,
    /// Currency code.
    pub currency: String,
    /// `invoiceType`.
    pub kind: String,
}

impl Filter {
    /// Whether `row` passes every filter that is set.
    pub fn matches(&self, row: &Row) -> bool {
        let needle = self.text.trim().to_lowercase();
        let text_ok = needle.is_empty()
            || [
                &row.counterparty_name,
                &row.counterparty_id,
                &row.invoice_number,
                &row.ksef_number,
            ]
            .iter()
            .any(|h| h.to_lowercase().contains(&needle));
        text_ok
            && self.subject.is_none_or(|s| s == row.subject)
            && (self.from.is_empty() || row.issue_date.as_str() >= self.from.as_str())
            && (self.to.is_empty() || row.issue_date.as_str() <= self.to.as_str())
            && self.min_gross.is_none_or(|m| row.gross >= m)
            && self.max_gross.is_none_or(|m| row.gross <= m)
            && (self.currency.is_empty() || row.currency.eq_ignore_ascii_case(&self.currency))
            && (self.kind.is_empty() || row.kind.eq_ignore_ascii_case(&self.kind))
    }

    /// Whether a date or amount filter narrows the list (an empty result may be its doing).
    pub fn narrows_by_date_or_amount(&self) -> bool {
        !self.from.is_empty()
            || !self.to.is_empty()
            || self.min_gross.is_some()
            || self.max_gross.is_some()
    }

    /// The rows passing the filter, newest issue date first, then KSeF number.
    pub fn apply(&self, rows: &[Row]) -> Vec<Row> {
        let mut out: Vec<Row> = rows.iter().filter(|r| self.matches(r)).cloned().collect();
        out.sort_by(|a, b| {
            b.issue_date
                .cmp(&a.issue_date)
                .then_with(|| b.ksef_number.cmp(&a.ksef_number))
        });
        out
    }
}

/// Why the list may be empty (`seed-faq.md`, "Pobieranie faktur nic nie zwraca"), each with
/// whether it applies here, so the page can say which one it is where it can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyCause {
    /// No KSeF login for this company: nothing can be fetched.
    NotLoggedIn,
    /// This perspective was never synced for the company.
    NeverSynced,
    /// The date range (or amounts) exclude everything kept.
    FilterTooNarrow,
    /// Invoices exist under another perspective (seller vs buyer).
    OtherPerspective,
    /// Another company is selected than the one the invoices belong to.
    OtherCompany,
}

/// What the page knows when the filtered list came out empty.
#[derive(Debug, Clone, Default)]
pub struct EmptyFacts {
    /// Logged in to KSeF for the current company.
    pub logged_in: bool,
    /// The filter's perspective (or the one shown) has a finished sync.
    pub synced: bool,
    /// Rows the company holds with no filter at all.
    pub total_rows: usize,
    /// Rows passing every filter but the perspective.
    pub rows_other_perspective: usize,
    /// The user keeps other companies in Kwit.
    pub other_companies: bool,
}

impl EmptyCause {
    /// Every cause, in the order the FAQ lists them.
    pub const ALL: [Self; 5] = [
        Self::NotLoggedIn,
        Self::NeverSynced,
        Self::FilterTooNarrow,
        Self::OtherPerspective,
        Self::OtherCompany,
    ];

    /// Whether this cause applies, as far as the facts tell (`None`: cannot tell).
    pub fn applies(self, filter: &Filter, facts: &EmptyFacts) -> Option<bool> {
        match self {
            Self::NotLoggedIn => Some(!facts.logged_in),
            Self::NeverSynced => Some(!facts.synced),
            Self::FilterTooNarrow => Some(
                facts.total_rows > 0
                    && (filter.narrows_by_date_or_amount() || !filter.text.is_empty()),
            ),
            Self::OtherPerspective => Some(facts.rows_other_perspective > 0),
            // Kwit cannot know which company the user meant: only possible when there are others.
            Self::OtherCompany => (!facts.other_companies).then_some(false),
        }
    }

    /// The advice, Polish.
    pub fn pl(self) -> &'static str {
        match self {
            Self::NotLoggedIn => {
                "Nie jesteś zalogowany do KSeF dla tej firmy — zaloguj się (Dostęp i logowanie) i uruchom synchronizację."
            }
            Self::NeverSynced => {
                "Faktury z tej perspektywy nie były jeszcze pobrane — kliknij „Synchronizuj”."
            }
            Self::FilterTooNarrow => {
                "Zakres dat, kwot lub wyszukiwanie wyklucza zapisane faktury — poszerz zakres lub wyczyść filtry."
            }
            Self::OtherPerspective => {
                "Faktury są zapisane w innej perspektywie: faktury zakupowe to „Nabywca (Podmiot 2)”, sprzedażowe to „Sprzedawca (Podmiot 1)” — zmień perspektywę."
            }
            Self::OtherCompany => {
                "Sprawdź, czy wybrana jest właściwa firma (przełącznik u góry strony): faktury pobiera się osobno dla każdej firmy."
            }
        }
    }

    /// The advice, English.
    pub fn en(self) -> &'static str {
        match self {
            Self::NotLoggedIn => {
                "You are not logged in to KSeF for this company: log in (Access and login) and run the sync."
            }
            Self::NeverSynced => {
                "Invoices of this perspective have not been fetched yet: click \"Sync\"."
            }
            Self::FilterTooNarrow => {
                "The date or amount range or the search excludes the stored invoices: widen the range or clear the filters."
            }
            Self::OtherPerspective => {
                "Invoices are stored under another perspective: purchase invoices are \"Buyer (Subject 2)\", sales are \"Seller (Subject 1)\"; switch the perspective."
            }
            Self::OtherCompany => {
                "Check that the right company is selected (the switcher at the top): invoices are fetched for each company separately."
            }
        }
    }

    /// A stable name for tests and `data-` attributes.
    pub fn key(self) -> &'static str {
        match self {
            Self::NotLoggedIn => "not-logged-in",
            Self::NeverSynced => "never-synced",
            Self::FilterTooNarrow => "filter",
            Self::OtherPerspective => "perspective",
            Self::OtherCompany => "company",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::invoices::{InvoiceMetadata, Party};

    fn invoice(
        ksef: &str,
        subject: SubjectType,
        seller: &str,
        date: &str,
        gross: f64,
    ) -> FetchedInvoice {
        let metadata: InvoiceMetadata = serde_json::from_value(serde_json::json!({
            "ksefNumber": ksef, "invoiceNumber": format!("FV/{ksef}"), "issueDate": date,
            "seller": {"nip": "1111111111", "name": seller},
            "buyer": {"identifier": {"type": "Nip", "value": "5265877635"}, "name": "Kupujący Sp. z o.o."},
            "grossAmount": gross, "currency": "PLN", "invoiceType": if gross < 0.0 { "Kor" } else { "Vat" },
        }))
        .unwrap();
        let _: &Party = &metadata.seller;
        FetchedInvoice {
            ksef_number: ksef.into(),
            subject,
            metadata,
            xml: None,
        }
    }

    fn rows() -> Vec<Row> {
        [
            invoice(
                "A",
                SubjectType::Subject2,
                "Hurtownia Łódź",
                "2026-11-02",
                123.0,
            ),
            invoice("B", SubjectType::Subject2, "Drukarnia", "2026-11-20", 50.0),
            invoice("C", SubjectType::Subject1, "Ja", "2026-10-01", -10.0),
        ]
        .iter()
        .map(Row::of)
        .collect()
    }

    #[test]
    fn the_counterparty_is_the_other_side_of_the_perspective() {
        let r = rows();
        assert_eq!(r[0].counterparty_name, "Hurtownia Łódź");
        assert_eq!(r[0].counterparty_id, "1111111111");
        assert_eq!(r[2].counterparty_name, "Kupujący Sp. z o.o.");
        assert_eq!(r[2].counterparty_id, "5265877635");
        assert_eq!(r[2].kind, "Kor");
    }

    #[test]
    fn filters_combine_and_sort_newest_first() {
        let r = rows();
        let all = Filter::default().apply(&r);
        assert_eq!(
            all.iter()
                .map(|r| r.ksef_number.as_str())
                .collect::<Vec<_>>(),
            ["B", "A", "C"]
        );
        let by_name = Filter {
            text: "łódź".into(),
            ..Filter::default()
        }
        .apply(&r);
        assert_eq!(by_name.len(), 1);
        assert_eq!(by_name[0].ksef_number, "A");
        let by_nip = Filter {
            text: "526587".into(),
            ..Filter::default()
        }
        .apply(&r);
        assert_eq!(
            by_nip.len(),
            1,
            "the buyer's NIP is the counterparty only on sales"
        );
        let buyer = Filter {
            subject: Some(SubjectType::Subject2),
            from: "2026-11-10".into(),
            ..Filter::default()
        };
        assert_eq!(buyer.apply(&r).len(), 1);
        let amounts = Filter {
            min_gross: Some(60.0),
            max_gross: Some(200.0),
            ..Filter::default()
        };
        assert_eq!(amounts.apply(&r)[0].ksef_number, "A");
        let kor = Filter {
            kind: "kor".into(),
            ..Filter::default()
        };
        assert_eq!(kor.apply(&r)[0].ksef_number, "C");
        assert!(
            Filter {
                currency: "EUR".into(),
                ..Filter::default()
            }
            .apply(&r)
            .is_empty()
        );
    }

    #[test]
    fn an_empty_result_names_the_causes_that_apply() {
        let filter = Filter {
            subject: Some(SubjectType::Subject1),
            ..Filter::default()
        };
        let facts = EmptyFacts {
            logged_in: true,
            synced: true,
            total_rows: 2,
            rows_other_perspective: 2,
            other_companies: false,
        };
        let applying: Vec<_> = EmptyCause::ALL
            .into_iter()
            .filter(|c| c.applies(&filter, &facts) == Some(true))
            .collect();
        assert_eq!(applying, [EmptyCause::OtherPerspective]);
        let fresh = EmptyFacts {
            logged_in: false,
            synced: false,
            other_companies: true,
            ..EmptyFacts::default()
        };
        let applying: Vec<_> = EmptyCause::ALL
            .into_iter()
            .filter(|c| c.applies(&Filter::default(), &fresh) == Some(true))
            .collect();
        assert_eq!(applying, [EmptyCause::NotLoggedIn, EmptyCause::NeverSynced]);
        assert_eq!(
            EmptyCause::OtherCompany.applies(&Filter::default(), &fresh),
            None
        );
        assert_eq!(
            EmptyCause::OtherCompany.applies(&Filter::default(), &facts),
            Some(false)
        );
        let narrow = Filter {
            from: "2030-01-01".into(),
            ..Filter::default()
        };
        assert_eq!(
            EmptyCause::FilterTooNarrow.applies(&narrow, &facts),
            Some(true)
        );
    }
}
