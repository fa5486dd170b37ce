//! UPO v4-3 ("Urzędowe Poświadczenie Odbioru") documents, per invoice and per session
//! (ksef-guide §14; `schemas/upo/upo-v4-3.xsd`; samples in `samples/upo/v4-3/`).
//! The same root `Potwierdzenie` serves both: a session UPO lists every accepted
//! invoice and carries `OpisPotwierdzenia` paging, an invoice UPO lists one.

use quick_xml::escape::escape;

/// UPO namespace.
pub const UPO_NAMESPACE: &str = "http://upo.schematy.mf.gov.pl/KSeF/v4-3";
/// At most this many `Dokument` entries per UPO page (XSD `maxOccurs`).
pub const MAX_DOCUMENTS_PER_PAGE: usize = 10_000;

/// How the session was authenticated (`Uwierzytelnienie`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Authentication {
    /// `NumerReferencyjnyTokenaKSeF` — the KSeF token's reference number.
    KsefToken(String),
    /// `SkrotDokumentuUwierzytelniajacego` — Base64 SHA-256 of the signed request.
    SignedDocumentHash(String),
}

/// One `Dokument` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpoDocument {
    pub seller_nip: String,
    pub ksef_number: String,
    pub invoice_number: String,
    /// `P_1`, `YYYY-MM-DD`.
    pub issue_date: String,
    /// `invoicingDate`, RFC 3339.
    pub sent_at: String,
    /// `acquisitionDate`, RFC 3339.
    pub numbered_at: String,
    pub invoice_hash: String,
    /// `Online` or `Offline`.
    pub mode: String,
}

/// Everything above the documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpoHeader {
    pub session_reference: String,
    /// Context element name (`Nip`, `IdWewnetrzny`, `IdZlozonyVatUE`, `IdDostawcyUslugPeppol`) and value.
    pub context_kind: String,
    pub context_value: String,
    pub authentication: Authentication,
    /// e.g. `FA (3)`.
    pub system_code: String,
}

/// `OpisPotwierdzenia` for a session UPO page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageInfo {
    pub page: usize,
    pub page_count: usize,
    pub from: usize,
    pub to: usize,
    pub total: usize,
}

fn structure_name(system_code: &str) -> &'static str {
    match system_code {
        "FA (2)" => "Schemat_FA(2)_v1-0E.xsd",
        "FA_RR (1)" => "Schemat_FA_RR(1)_v1-1E.xsd",
        "PEF (3)" => "Schemat_PEF(3)_v2-1.xsd",
        "PEF_KOR (3)" => "Schemat_PEF_KOR(3)_v2-1.xsd",
        _ => "Schemat_FA(3)_v1-0E.xsd",
    }
}

/// Renders one UPO document (page).
pub fn render(header: &UpoHeader, page: Option<PageInfo>, documents: &[UpoDocument]) -> String {
    let mut x = String::with_capacity(1024 + documents.len() * 600);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str(&format!("<Potwierdzenie xmlns=\"{UPO_NAMESPACE}\">\n"));
    // The XSD fixes this text; TEST/DEMO add a suffix that breaks the schema.
    tag(
        &mut x,
        1,
        "NazwaPodmiotuPrzyjmujacego",
        "Ministerstwo Finansów",
    );
    tag(
        &mut x,
        1,
        "NumerReferencyjnySesji",
        &header.session_reference,
    );
    x.push_str("\t<Uwierzytelnienie>\n\t\t<IdKontekstu>\n");
    tag(&mut x, 3, &header.context_kind, &header.context_value);
    x.push_str("\t\t</IdKontekstu>\n");
    match &header.authentication {
        Authentication::KsefToken(r) => tag(&mut x, 2, "NumerReferencyjnyTokenaKSeF", r),
        Authentication::SignedDocumentHash(h) => {
            tag(&mut x, 2, "SkrotDokumentuUwierzytelniajacego", h)
        }
    }
    x.push_str("\t</Uwierzytelnienie>\n");
    if let Some(p) = page {
        x.push_str("\t<OpisPotwierdzenia>\n");
        tag(&mut x, 2, "Strona", &p.page.to_string());
        tag(&mut x, 2, "LiczbaStron", &p.page_count.to_string());
        tag(&mut x, 2, "ZakresDokumentowOd", &p.from.to_string());
        tag(&mut x, 2, "ZakresDokumentowDo", &p.to.to_string());
        tag(&mut x, 2, "CalkowitaLiczbaDokumentow", &p.total.to_string());
        x.push_str("\t</OpisPotwierdzenia>\n");
    }
    tag(
        &mut x,
        1,
        "NazwaStrukturyLogicznej",
        structure_name(&header.system_code),
    );
    tag(&mut x, 1, "KodFormularza", &header.system_code);
    for d in documents {
        x.push_str("\t<Dokument>\n");
        tag(&mut x, 2, "NipSprzedawcy", &d.seller_nip);
        tag(&mut x, 2, "NumerKSeFDokumentu", &d.ksef_number);
        tag(&mut x, 2, "NumerFaktury", &d.invoice_number);
        tag(&mut x, 2, "DataWystawieniaFaktury", &d.issue_date);
        tag(&mut x, 2, "DataPrzeslaniaDokumentu", &d.sent_at);
        tag(&mut x, 2, "DataNadaniaNumeruKSeF", &d.numbered_at);
        tag(&mut x, 2, "SkrotDokumentu", &d.invoice_hash);
        tag(&mut x, 2, "TrybWysylki", &d.mode);
        x.push_str("\t</Dokument>\n");
    }
    x.push_str("</Potwierdzenie>\n");
    x
}

/// Splits a session's documents into UPO pages of at most `per_page` entries.
pub fn session_pages(
    header: &UpoHeader,
    documents: &[UpoDocument],
    per_page: usize,
) -> Vec<String> {
    let per_page = per_page.clamp(1, MAX_DOCUMENTS_PER_PAGE);
    let total = documents.len();
    let page_count = total.div_ceil(per_page).max(1);
    documents
        .chunks(per_page)
        .enumerate()
        .map(|(i, chunk)| {
            let info = PageInfo {
                page: i + 1,
                page_count,
                from: i * per_page + 1,
                to: i * per_page + chunk.len(),
                total,
            };
            render(header, Some(info), chunk)
        })
        .collect()
}

fn tag(x: &mut String, indent: usize, name: &str, value: &str) {
    for _ in 0..indent {
        x.push('\t');
    }
    x.push_str(&format!("<{name}>{}</{name}>\n", escape(value)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fa3check::validate_upo_xsd;

    fn header(auth: Authentication) -> UpoHeader {
        UpoHeader {
            session_reference: "20250625-SO-2C3E6C8000-B675CF5D68-07".into(),
            context_kind: "Nip".into(),
            context_value: "5265877635".into(),
            authentication: auth,
            system_code: "FA (3)".into(),
        }
    }

    fn doc(n: usize) -> UpoDocument {
        UpoDocument {
            seller_nip: "5265877635".into(),
            ksef_number: crate::ksef_number::ksef_number(
                "5265877635",
                time::Date::from_calendar_date(2025, time::Month::June, 26).unwrap(),
                n as u64,
            ),
            invoice_number: format!("FA/{n}/A&B<1>"),
            issue_date: "2025-06-26".into(),
            sent_at: "2025-09-16T11:05:40.841+02:00".into(),
            numbered_at: "2025-09-16T11:05:41.045+02:00".into(),
            invoice_hash: "GZMGNVzs3krF6URKgvaw77OOeG3nJ+WGziT5xguliQ8=".into(),
            mode: "Online".into(),
        }
    }

    #[test]
    fn invoice_upo_is_valid_against_the_xsd() {
        let xml = render(
            &header(Authentication::KsefToken(
                "20250819-EC-1ECDD12000-5EE71AE5E3-B7".into(),
            )),
            None,
            &[doc(1)],
        );
        validate_upo_xsd(xml.as_bytes()).unwrap();
        assert!(xml.contains("FA/1/A&amp;B&lt;1&gt;"));
    }

    #[test]
    fn session_upo_pages_are_valid_and_numbered() {
        let docs: Vec<_> = (1..=5).map(doc).collect();
        let pages = session_pages(
            &header(Authentication::SignedDocumentHash(
                "kyqH+QUgP8ATWd/95IY632mP4uqibwG66Oqclq9+qno=".into(),
            )),
            &docs,
            2,
        );
        assert_eq!(pages.len(), 3);
        for p in &pages {
            validate_upo_xsd(p.as_bytes()).unwrap();
        }
        assert!(pages[2].contains("<ZakresDokumentowOd>5</ZakresDokumentowOd>"));
        assert!(pages[2].contains("<LiczbaStron>3</LiczbaStron>"));
    }

    #[test]
    fn the_xsd_check_catches_a_broken_upo() {
        let xml = render(
            &header(Authentication::KsefToken("bad".into())),
            None,
            &[doc(1)],
        );
        assert!(validate_upo_xsd(xml.as_bytes()).is_err());
    }
}
