//! FA(3) invoice verification as KSeF does it after decrypting a sent invoice.
//!
//! Three layers, each mapped to the per-invoice status code KSeF reports
//! (open-api.json `SessionInvoiceStatusResponse.status`; ksef-guide §4.6, §13):
//! * transport rules (UTF-8 without BOM, no foreign encoding, no processing
//!   instructions, well-formed XML) → `430` "Błąd weryfikacji pliku faktury";
//! * the official FA(3) XSD (vendored in `schemas/fa3/`) and semantic rules
//!   (`P_1` not after the acceptance date) → `450`;
//! * context rules: seller NIP outside the session context → `410`, an attachment
//!   (`Zalacznik`) in an online session → `415`.
//!
//! Duplicates (`440`) need the invoice store and are checked by the caller with
//! [`InvoiceFacts::duplicate_key`].
//!
//! This file holds the facts and rejection types, [`verify`] and the transport rules; `xsd.rs`
//! the schema validation (also of UPO and auth documents), `facts.rs` the facts extraction.

use quick_xml::Reader;
use quick_xml::events::Event;
use time::Date;

mod facts;
mod xsd;

pub use facts::{extract, parse_cents};
pub use xsd::{validate_auth_xsd, validate_upo_xsd, validate_xsd};

/// FA(3) namespace (ksef-guide §13).
pub const FA3_NAMESPACE: &str = "http://crd.gov.pl/wzor/2025/06/25/13775/";

/// A rejection of one invoice: the status KSeF shows for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    pub code: u16,
    /// Derived from `code` ([`status_description`]); restored after loading a state file.
    #[serde(skip)]
    pub description: &'static str,
    pub details: Vec<String>,
    /// `status.extensions` (duplicates: the original's session and KSeF number).
    pub extensions: Vec<(String, String)>,
}

impl Rejection {
    pub fn new(code: u16, details: Vec<String>) -> Self {
        Rejection {
            code,
            description: status_description(code),
            details,
            extensions: Vec::new(),
        }
    }
}

/// Descriptions from the open-api.json invoice status table.
pub fn status_description(code: u16) -> &'static str {
    match code {
        100 => "Faktura przyjęta do dalszego przetwarzania",
        150 => "Trwa przetwarzanie",
        200 => "Sukces",
        405 => "Przetwarzanie anulowane z powodu błędu sesji",
        410 => "Nieprawidłowy zakres uprawnień",
        415 => "Brak możliwości wysyłania faktury z załącznikiem",
        430 => "Błąd weryfikacji pliku faktury",
        435 => "Błąd odszyfrowania pliku",
        440 => "Duplikat faktury",
        450 => "Błąd weryfikacji semantyki dokumentu faktury",
        550 => "Operacja została anulowana przez system",
        _ => "Nieznany błąd",
    }
}

/// How the buyer (`Podmiot2`) is identified; names follow `InvoiceQueryBuyerIdentifierType`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Identifier {
    /// `Nip`, `VatUe`, `Other`, `None` (buyer) or `InternalId` (third subjects).
    pub kind: String,
    pub value: Option<String>,
}

/// A `Podmiot3` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ThirdSubject {
    pub identifier: Identifier,
    pub name: Option<String>,
    /// `Rola` (1..11), 0 for `RolaInna`.
    pub role: u8,
}

/// Everything the simulator needs from an invoice for statuses, UPO and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct InvoiceFacts {
    pub system_code: String,
    pub seller_nip: String,
    pub seller_name: Option<String>,
    pub buyer: Identifier,
    pub buyer_name: Option<String>,
    pub third_subjects: Vec<ThirdSubject>,
    /// `PodmiotUpowazniony` NIP, name and `RolaPU`.
    pub authorized_subject: Option<(String, Option<String>, u8)>,
    pub currency: String,
    /// `P_1` as written (`YYYY-MM-DD`).
    pub issue_date: String,
    /// `P_2`.
    pub invoice_number: String,
    /// `RodzajFaktury` (`VAT`, `KOR`, ...).
    pub invoice_type: String,
    /// `P_15` as written.
    pub gross: String,
    /// Sum of `P_13_*` net amounts (as text with 2 decimals).
    pub net: String,
    /// Sum of `P_14_*` VAT amounts.
    pub vat: String,
    pub has_attachment: bool,
    pub is_self_invoicing: bool,
}

impl InvoiceFacts {
    /// KSeF's duplicate key: seller NIP + `RodzajFaktury` + `P_2` (ksef-guide §4.6, §13).
    pub fn duplicate_key(&self) -> (String, String, String) {
        (
            self.seller_nip.clone(),
            self.invoice_type.clone(),
            self.invoice_number.clone(),
        )
    }

    /// `P_1` as a date (already checked by the XSD).
    pub fn issue_date(&self) -> Option<Date> {
        parse_date(&self.issue_date)
    }

    /// `InvoiceType` name used in metadata (`Vat`, `Kor`, `KorZal` ...).
    pub fn metadata_invoice_type(&self) -> &'static str {
        match self.invoice_type.as_str() {
            "KOR" => "Kor",
            "ZAL" => "Zal",
            "ROZ" => "Roz",
            "UPR" => "Upr",
            "KOR_ZAL" => "KorZal",
            "KOR_ROZ" => "KorRoz",
            _ => "Vat",
        }
    }
}

/// `YYYY-MM-DD` to a date.
pub fn parse_date(text: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.get(..10)?, &fmt).ok()
}

/// Runs every content check of one decrypted invoice (not the duplicate check).
///
/// `context_nip` is the NIP of the session context; `accepted_on` the day KSeF took
/// the invoice (`invoicingDate`, Europe/Warsaw calendar day is close enough here).
pub fn verify(
    xml: &[u8],
    context_nip: &str,
    accepted_on: Date,
    attachments_allowed: bool,
) -> Result<InvoiceFacts, Rejection> {
    check_transport(xml).map_err(|d| Rejection::new(430, d))?;
    validate_xsd(xml).map_err(|d| Rejection::new(450, d))?;
    let facts = extract(xml).map_err(|d| Rejection::new(450, vec![d]))?;
    if facts.system_code != "FA (3)" {
        return Err(Rejection::new(
            450,
            vec![format!(
                "Kod formularza {} nie odpowiada schematowi sesji FA (3).",
                facts.system_code
            )],
        ));
    }
    if let Some(p1) = facts.issue_date()
        && p1 > accepted_on
    {
        // ksef-guide §13: "P_1 not after acceptance date".
        return Err(Rejection::new(
            450,
            vec![format!(
                "Data wystawienia faktury (P_1 = {p1}) jest późniejsza niż data przyjęcia ({accepted_on}). / Issue date is in the future."
            )],
        ));
    }
    if facts.seller_nip != context_nip {
        return Err(Rejection::new(
            410,
            vec![format!(
                "Brak uprawnień do wystawiania faktur w imieniu podmiotu {} (kontekst {context_nip}). / The seller NIP does not match the session context.",
                facts.seller_nip
            )],
        ));
    }
    if facts.has_attachment && !attachments_allowed {
        return Err(Rejection::new(
            415,
            vec!["Faktura z załącznikiem (Zalacznik) nie może być wysłana w sesji interaktywnej. / Invoices with attachments are not allowed here.".into()],
        ));
    }
    Ok(facts)
}

/// KSeF "Weryfikacja faktury" transport rules (ksef-guide §13).
pub fn check_transport(xml: &[u8]) -> Result<(), Vec<String>> {
    if xml.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(vec![
            "Plik zawiera znacznik BOM; wymagane UTF-8 bez BOM. / The file starts with a BOM."
                .into(),
        ]);
    }
    let text = std::str::from_utf8(xml).map_err(|e| {
        vec![format!(
            "Plik nie jest poprawnym UTF-8 (bajt {}). / Not valid UTF-8.",
            e.valid_up_to()
        )]
    })?;
    if let Some(c) = text.chars().find(|c| is_discouraged(*c)) {
        return Err(vec![format!(
            "Plik zawiera niedozwolony znak U+{:04X}. / Discouraged Unicode character.",
            c as u32
        )]);
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Decl(decl)) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let enc = enc.to_ascii_uppercase();
                    if enc != "UTF-8" {
                        return Err(vec![format!(
                            "Deklaracja kodowania {enc} jest niedozwolona; wymagane UTF-8. / Only UTF-8 is allowed."
                        )]);
                    }
                }
            }
            Ok(Event::PI(_)) => {
                return Err(vec![
                    "Plik zawiera instrukcje przetwarzania. / Processing instructions are not allowed.".into(),
                ]);
            }
            Ok(Event::DocType(_)) => {
                return Err(vec![
                    "Plik zawiera deklarację DOCTYPE. / DOCTYPE is not allowed.".into(),
                ]);
            }
            Ok(Event::Start(_)) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Ok(Event::Empty(_)) => {
                if depth == 0 {
                    roots += 1;
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(vec![format!(
                    "Plik nie jest poprawnym dokumentem XML (pozycja {}): {e}. / Malformed XML.",
                    reader.buffer_position()
                )]);
            }
        }
    }
    if roots != 1 || depth != 0 {
        return Err(vec![
            "Plik nie jest poprawnym dokumentem XML. / Malformed XML.".into(),
        ]);
    }
    Ok(())
}

fn is_discouraged(c: char) -> bool {
    let u = c as u32;
    (0x7F..=0x84).contains(&u)
        || (0x86..=0x9F).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn minimal(seller: &str, number: &str, p1: &str) -> String {
        include_str!("../../tests/data/minimal-fa3.xml")
            .replace("5265877635", seller)
            .replace("FV/1/02/2026", number)
            .replace("2026-02-01</P_1>", &format!("{p1}</P_1>"))
    }

    fn day(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn minimal_invoice_passes_and_facts_are_extracted() {
        let xml = minimal("5265877635", "FV/1/02/2026", "2026-02-01");
        let facts = verify(xml.as_bytes(), "5265877635", day("2026-02-02"), false).unwrap();
        assert_eq!(facts.seller_nip, "5265877635");
        assert_eq!(facts.buyer.kind, "Nip");
        assert_eq!(facts.buyer.value.as_deref(), Some("7352765225"));
        assert_eq!(facts.invoice_number, "FV/1/02/2026");
        assert_eq!(facts.invoice_type, "VAT");
        assert_eq!(facts.gross, "123.00");
        assert_eq!(facts.net, "100.00");
        assert_eq!(facts.vat, "23.00");
        assert_eq!(facts.currency, "PLN");
        assert_eq!(facts.system_code, "FA (3)");
        assert_eq!(facts.seller_name.as_deref(), Some("Sprzedawca sp. z o.o."));
    }

    #[test]
    fn vendored_samples_pass_the_xsd() {
        let pdf = include_str!("../../../../samples/fa3/pdf-generator-invoice.xml");
        validate_xsd(pdf.as_bytes()).unwrap();
        let facts = extract(pdf.as_bytes()).unwrap();
        assert_eq!(facts.seller_nip, "5265877635");
    }

    #[test]
    fn xsd_violation_is_450_with_details() {
        let xml = minimal("5265877635", "FV/1", "2026-02-01").replace("<P_15>123.00</P_15>", "");
        let err = verify(xml.as_bytes(), "5265877635", day("2026-03-01"), false).unwrap_err();
        assert_eq!(err.code, 450);
        assert!(
            err.details
                .iter()
                .any(|d| d.contains("P_15") || d.contains("Adnotacje")),
            "{err:?}"
        );
    }

    #[test]
    fn future_issue_date_is_450() {
        let xml = minimal("5265877635", "FV/2", "2026-03-05");
        let err = verify(xml.as_bytes(), "5265877635", day("2026-03-04"), false).unwrap_err();
        assert_eq!(err.code, 450);
        assert!(err.details[0].contains("P_1"));
    }

    #[test]
    fn other_seller_is_410() {
        let xml = minimal("7352765225", "FV/3", "2026-02-01");
        let err = verify(xml.as_bytes(), "5265877635", day("2026-03-04"), false).unwrap_err();
        assert_eq!(err.code, 410);
    }

    #[test]
    fn attachment_is_415_in_online_session() {
        let xml = include_str!(
            "../../../../samples/fa3/csharp-invoice-template-fa-3-with-attachment.xml"
        )
        .replace("#nip#", "5265877635")
        .replace("#invoice_number#", "FV/ZAL/1");
        validate_xsd(xml.as_bytes()).unwrap();
        let p1 = extract(xml.as_bytes()).unwrap().issue_date().unwrap();
        let err = verify(xml.as_bytes(), "5265877635", p1, false).unwrap_err();
        assert_eq!(err.code, 415);
    }

    #[test]
    fn transport_violations_are_430() {
        let xml = minimal("5265877635", "FV/4", "2026-02-01");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(xml.as_bytes());
        let accepted = day("2026-03-01");
        assert_eq!(
            verify(&bom, "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
        let latin = xml.replace("UTF-8", "ISO-8859-2");
        assert_eq!(
            verify(latin.as_bytes(), "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
        let pi = xml.replace("<Faktura", "<?xml-stylesheet href=\"a.xsl\"?><Faktura");
        assert_eq!(
            verify(pi.as_bytes(), "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
        assert_eq!(
            verify(b"<Faktura><a></Faktura>", "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
        assert_eq!(
            verify(b"not xml", "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
        assert_eq!(
            verify(&[0xff, 0xfe, 0x00], "5265877635", accepted, false)
                .unwrap_err()
                .code,
            430
        );
    }

    #[test]
    fn escaped_invoice_number_is_kept_whole() {
        let xml = minimal("5265877635", "FV/A&amp;B/1", "2026-02-01");
        let facts = extract(xml.as_bytes()).unwrap();
        assert_eq!(facts.invoice_number, "FV/A&B/1");
    }
}
