//! UPO v4-3 ("Urzędowe Poświadczenie Odbioru") documents, per invoice and per session
//! (ksef-guide §14; `schemas/upo/upo-v4-3.xsd`; samples in `samples/upo/v4-3/`).
//! The same root `Potwierdzenie` serves both: a session UPO lists every accepted
//! invoice and carries `OpisPotwierdzenia` paging, an invoice UPO lists one.
//!
//! Also the UPO endpoints: `GET /sessions/{ref}/upo/{upoRef}`, the invoice UPO by reference
//! or by KSeF number, and their `/storage/upo/...` links (no auth).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use quick_xml::escape::escape;
use time::OffsetDateTime;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::sessions::{Accepted, OnlineSession, SESSION_READ, SessionInvoice, no_session};
use crate::state::AppState;
use crate::util::{self, rfc3339};

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

// ---- HTTP: the UPO endpoints under `/v2/sessions/**` and their storage links ----

/// UPO documents of an [`OnlineSession`] (online or batch).
impl OnlineSession {
    fn upo_header(&self) -> UpoHeader {
        UpoHeader {
            session_reference: self.reference.clone(),
            context_kind: self.context_kind.clone(),
            context_value: self.context_nip.clone(),
            authentication: self.authentication.clone(),
            system_code: self.system_code.clone(),
        }
    }

    fn upo_document(&self, inv: &SessionInvoice, a: &Accepted) -> UpoDocument {
        UpoDocument {
            seller_nip: a.seller_nip.clone(),
            ksef_number: a.ksef_number.clone(),
            invoice_number: inv.invoice_number.clone().unwrap_or_default(),
            issue_date: a.issue_date.clone(),
            sent_at: rfc3339(inv.invoicing_date),
            numbered_at: rfc3339(a.acquisition_date),
            invoice_hash: inv.invoice_hash.clone(),
            mode: a.mode.clone(),
        }
    }

    /// UPO of one accepted invoice.
    fn invoice_upo(&self, inv: &SessionInvoice, now: OffsetDateTime) -> Option<String> {
        let a = inv.accepted(now)?;
        Some(render(
            &self.upo_header(),
            None,
            &[self.upo_document(inv, a)],
        ))
    }

    /// Session UPO pages (only once processed).
    pub(crate) fn session_upo(&self, now: OffsetDateTime) -> Vec<String> {
        let docs: Vec<UpoDocument> = self
            .invoices
            .iter()
            .filter_map(|i| i.accepted(now).map(|a| self.upo_document(i, a)))
            .collect();
        session_pages(&self.upo_header(), &docs, MAX_DOCUMENTS_PER_PAGE)
    }
}

/// An XML response with `x-ms-meta-hash` (ksef-guide §4.8).
pub fn xml_response(body: Vec<u8>) -> Response {
    let hash = util::sha256_b64(&body);
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(&hash) {
        r.headers_mut().insert("x-ms-meta-hash", v);
    }
    r
}

/// 21178 with the details open-api gives for the lookup that failed.
fn no_upo(session: &str, which: &UpoWhich<'_>) -> ApiError {
    let detail = match which {
        UpoWhich::KsefNumber(k) => format!(
            "UPO o numerze KSeF {k} i numerze referencyjnym sesji {session} nie zostało znalezione."
        ),
        UpoWhich::InvoiceRef(r) | UpoWhich::Page(r) => {
            format!("UPO o numerze referencyjnym {r} dla sesji {session} nie zostało znalezione.")
        }
    };
    ApiError::bad(
        21178,
        "Nie znaleziono UPO dla podanych kryteriów.",
        vec![detail],
    )
}

enum UpoWhich<'a> {
    InvoiceRef(&'a str),
    KsefNumber(&'a str),
    Page(&'a str),
}

fn find_upo(
    state: &AppState,
    reference: &str,
    context: Option<&str>,
    which: UpoWhich<'_>,
) -> Result<Response, ApiError> {
    let now = util::now();
    let mut st = state.lock();
    let s = st
        .invoices
        .sessions
        .get_mut(reference)
        .filter(|s| context.is_none_or(|c| c == s.context_nip))
        .ok_or_else(|| no_session(reference))?;
    let xml = match &which {
        UpoWhich::InvoiceRef(r) => s
            .invoices
            .iter()
            .find(|i| i.reference == *r)
            .and_then(|i| s.invoice_upo(i, now)),
        UpoWhich::KsefNumber(k) => s
            .invoices
            .iter()
            .find(|i| i.accepted(now).is_some_and(|a| a.ksef_number == *k))
            .and_then(|i| s.invoice_upo(i, now)),
        UpoWhich::Page(p) => {
            if s.status(now).0 != 200 {
                None
            } else {
                let _ = s.status_json(state, now);
                let idx = s.upo_pages.iter().position(|r| r == p);
                idx.and_then(|i| s.session_upo(now).into_iter().nth(i))
            }
        }
    };
    xml.map(|x| xml_response(x.into_bytes()))
        .ok_or_else(|| no_upo(reference, &which))
}

/// `GET /sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo`.
async fn upo_by_invoice(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, invoice)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(&SESSION_READ)?;
    find_upo(
        &state,
        &reference,
        Some(&auth.context.value),
        UpoWhich::InvoiceRef(&invoice),
    )
}

/// `GET /sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo`.
async fn upo_by_ksef(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, ksef)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(&SESSION_READ)?;
    find_upo(
        &state,
        &reference,
        Some(&auth.context.value),
        UpoWhich::KsefNumber(&ksef),
    )
}

/// `GET /sessions/{referenceNumber}/upo/{upoReferenceNumber}`.
async fn upo_page(
    State(state): State<AppState>,
    auth: Auth,
    Path((reference, page)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    auth.require(&SESSION_READ)?;
    find_upo(
        &state,
        &reference,
        Some(&auth.context.value),
        UpoWhich::Page(&page),
    )
}

/// `GET /storage/upo/{session}/invoices/{file}` — the link from the invoice status (no auth).
async fn storage_invoice_upo(
    State(state): State<AppState>,
    Path((reference, file)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(refused) = crate::storage::check(&state, uri.path(), uri.query()) {
        return refused;
    }
    let invoice = file.trim_end_matches(".xml");
    find_upo(&state, &reference, None, UpoWhich::InvoiceRef(invoice))
        .unwrap_or_else(|_| crate::storage::not_found())
}

/// `GET /storage/upo/{session}/pages/{file}` — session UPO page link (no auth).
async fn storage_page_upo(
    State(state): State<AppState>,
    Path((reference, file)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(refused) = crate::storage::check(&state, uri.path(), uri.query()) {
        return refused;
    }
    let page = file.trim_end_matches(".xml");
    find_upo(&state, &reference, None, UpoWhich::Page(page))
        .unwrap_or_else(|_| crate::storage::not_found())
}

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sessions/{referenceNumber}/invoices/{invoiceReferenceNumber}/upo",
            get(upo_by_invoice),
        )
        .route(
            "/sessions/{referenceNumber}/invoices/ksef/{ksefNumber}/upo",
            get(upo_by_ksef),
        )
        .route(
            "/sessions/{referenceNumber}/upo/{upoReferenceNumber}",
            get(upo_page),
        )
}

/// `/storage/...` routes of this module (no auth).
pub fn storage_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/storage/upo/{session}/invoices/{file}",
            get(storage_invoice_upo),
        )
        .route("/storage/upo/{session}/pages/{file}", get(storage_page_upo))
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
