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

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::OnceLock;

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use quick_xml::Reader;
use quick_xml::events::Event;
use time::Date;

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

/// The vendored FA(3) schema files, embedded so the binary works from any directory.
const FA3_FILES: [(&str, &str); 4] = [
    (
        "schemat_FA(3)_v1-0E.xsd",
        include_str!("../../../schemas/fa3/schemat_FA(3)_v1-0E.xsd"),
    ),
    (
        "bazowe/StrukturyDanych_v10-0E.xsd",
        include_str!("../../../schemas/fa3/bazowe/StrukturyDanych_v10-0E.xsd"),
    ),
    (
        "bazowe/ElementarneTypyDanych_v10-0E.xsd",
        include_str!("../../../schemas/fa3/bazowe/ElementarneTypyDanych_v10-0E.xsd"),
    ),
    (
        "bazowe/KodyKrajow_v10-0E.xsd",
        include_str!("../../../schemas/fa3/bazowe/KodyKrajow_v10-0E.xsd"),
    ),
];

const UPO_FILES: [(&str, &str); 1] = [(
    "upo-v4-3.xsd",
    include_str!("../../../schemas/upo/upo-v4-3.xsd"),
)];

/// The vendored `AuthTokenRequest` v2.1 schema (open-api `POST /auth/xades-signature`).
const AUTH_21: (&str, &str) = (
    "auth/schemat_auth_v2-1.xsd",
    include_str!("../../../schemas/auth/schemat_auth_v2-1.xsd"),
);
const AUTH_20_NAME: &str = "auth/schemat_auth_v2-0.xsd";

/// The v2.0 schema (`schemas/auth/schemat_auth_v2-0.xsd`) writes its `AllowedIps` patterns in
/// .NET regex syntax (`^…$`, `\b`) that XSD regex — and so libxml2 — rejects. v2.1 is the same
/// schema with those patterns in XSD syntax, so v2.0 documents are validated with v2.1's
/// rules in the v2.0 namespace.
fn auth_20_schema() -> String {
    AUTH_21.1.replace(
        "http://ksef.mf.gov.pl/auth/token/2.1",
        "http://ksef.mf.gov.pl/auth/token/2.0",
    )
}

/// Writes the embedded schemas once per process into a temp dir (libxml2 resolves
/// `xsd:import` against files), returning the main schema path.
fn schema_path(kind: SchemaKind) -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("ksef-sim-xsd-{}", std::process::id()));
            let auth_20 = auth_20_schema();
            let auth = [AUTH_21, (AUTH_20_NAME, auth_20.as_str())];
            for (name, body) in FA3_FILES.iter().chain(&UPO_FILES).chain(&auth) {
                let path = dir.join(name);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&path, body).map_err(|e| e.to_string())?;
            }
            Ok(dir)
        })
        .clone()?;
    Ok(dir.join(match kind {
        SchemaKind::Fa3 => FA3_FILES[0].0,
        SchemaKind::Upo => UPO_FILES[0].0,
        SchemaKind::Auth20 => AUTH_20_NAME,
        SchemaKind::Auth21 => AUTH_21.0,
    }))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SchemaKind {
    Fa3,
    Upo,
    Auth20,
    Auth21,
}

thread_local! {
    // libxml2 schema contexts are not `Send`; compiling the FA(3) XSD takes ~100 ms,
    // so each worker thread keeps its own compiled copy.
    static VALIDATORS: RefCell<Vec<(SchemaKind, SchemaValidationContext)>> = const { RefCell::new(Vec::new()) };
}

fn validate_against(kind: SchemaKind, xml: &[u8]) -> Result<(), Vec<String>> {
    validate_prepared(kind, xml, |_| {})
}

/// Parses `xml`, lets `prepare` change the tree (e.g. drop an enveloped signature), then
/// validates against the schema of `kind`.
fn validate_prepared(
    kind: SchemaKind,
    xml: &[u8],
    prepare: impl FnOnce(&libxml::tree::Document),
) -> Result<(), Vec<String>> {
    let parser = Parser::default();
    let options = ParserOptions {
        recover: false,
        no_net: true,
        no_error: true,
        no_warning: true,
        ..ParserOptions::default()
    };
    let doc = parser
        .parse_string_with_options(xml, options)
        .map_err(|_| {
            vec!["Plik nie jest poprawnym dokumentem XML. / Malformed XML.".to_string()]
        })?;
    prepare(&doc);
    VALIDATORS.with(|cell| {
        let mut validators = cell.borrow_mut();
        if !validators.iter().any(|(k, _)| *k == kind) {
            let path = schema_path(kind).map_err(|e| vec![format!("schema: {e}")])?;
            let mut parser_ctx = SchemaParserContext::from_file(&path.to_string_lossy());
            let ctx = SchemaValidationContext::from_parser(&mut parser_ctx).map_err(|errs| {
                errs.into_iter()
                    .map(|e| format!("schema: {}", e.message.unwrap_or_default()))
                    .collect::<Vec<_>>()
            })?;
            validators.push((kind, ctx));
        }
        let (_, ctx) = validators
            .iter_mut()
            .find(|(k, _)| *k == kind)
            .ok_or_else(|| vec!["schema missing".to_string()])?;
        ctx.validate_document(&doc).map_err(|errs| {
            let mut out: Vec<String> = errs
                .into_iter()
                .map(|e| {
                    let msg = e.message.unwrap_or_default();
                    match e.line {
                        Some(line) => format!("Linia {line}: {}", msg.trim()),
                        None => msg.trim().to_string(),
                    }
                })
                .collect();
            out.dedup();
            out.truncate(20);
            if out.is_empty() {
                out.push("Dokument niezgodny ze schematem XSD. / XSD validation failed.".into());
            }
            out
        })
    })
}

/// Validates against the official FA(3) XSD (`schemas/fa3/schemat_FA(3)_v1-0E.xsd`).
pub fn validate_xsd(xml: &[u8]) -> Result<(), Vec<String>> {
    validate_against(SchemaKind::Fa3, xml)
}

/// Validates a signed `AuthTokenRequest` against its XSD (v2.0 or v2.1 by namespace). The
/// schema has no place for `ds:Signature`, so the enveloped signature (a child of the root,
/// removed by the enveloped-signature transform anyway) is dropped before validation.
pub fn validate_auth_xsd(xml: &[u8], v21: bool) -> Result<(), Vec<String>> {
    let kind = if v21 {
        SchemaKind::Auth21
    } else {
        SchemaKind::Auth20
    };
    validate_prepared(kind, xml, |doc| {
        if let Some(root) = doc.get_root_element() {
            for mut child in root.get_child_elements() {
                let is_signature = child.get_name() == "Signature"
                    && child
                        .get_namespace()
                        .is_some_and(|ns| ns.get_href() == "http://www.w3.org/2000/09/xmldsig#");
                if is_signature {
                    child.unlink_node();
                }
            }
        }
    })
}

/// Validates against the UPO v4-3 XSD (`schemas/upo/upo-v4-3.xsd`).
pub fn validate_upo_xsd(xml: &[u8]) -> Result<(), Vec<String>> {
    validate_against(SchemaKind::Upo, xml)
}

/// Pulls the facts out of an (XSD-valid) FA(3) document by element path.
pub fn extract(xml: &[u8]) -> Result<InvoiceFacts, String> {
    let text = std::str::from_utf8(xml).map_err(|e| e.to_string())?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut facts = InvoiceFacts::default();
    let mut net = Cents::default();
    let mut vat = Cents::default();
    let mut third: Option<ThirdSubject> = None;
    let mut authorized: Option<(String, Option<String>, u8)> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if name == "KodFormularza" {
                    for attr in e.attributes().flatten() {
                        if attr.key.local_name().as_ref() == "kodSystemowy" {
                            facts.system_code = attr
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map(|v| v.into_owned())
                                .unwrap_or_default();
                        }
                    }
                }
                if name == "Podmiot3" && path.len() == 1 {
                    third = Some(ThirdSubject::default());
                }
                if name == "PodmiotUpowazniony" && path.len() == 1 {
                    authorized = Some((String::new(), None, 0));
                }
                if name == "Zalacznik" && path.len() == 1 {
                    facts.has_attachment = true;
                }
                path.push(name);
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                path.pop();
                if name == "Podmiot3"
                    && path.len() == 1
                    && let Some(t) = third.take()
                {
                    facts.third_subjects.push(t);
                }
            }
            Event::Empty(e) if e.local_name().as_ref() == "Zalacznik" && path.len() == 1 => {
                facts.has_attachment = true;
            }
            Event::Text(t) => {
                // quick-xml 0.38+ reports entity references separately (GeneralRef).
                let value = t.xml10_content().into_owned();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                apply(
                    &p,
                    value,
                    &mut facts,
                    &mut net,
                    &mut vat,
                    &mut third,
                    &mut authorized,
                );
            }
            Event::GeneralRef(r) => {
                // Entity references split text in quick-xml 0.38+; keep P_2/Nazwa intact.
                let ch = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    }
                    .to_string(),
                };
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                append_text(&p, &ch, &mut facts);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if facts.seller_nip.is_empty() {
        return Err("Brak Podmiot1/DaneIdentyfikacyjne/NIP. / Seller NIP missing.".into());
    }
    if facts.buyer.kind.is_empty() {
        facts.buyer.kind = "None".into();
    }
    facts.net = net.to_string();
    facts.vat = vat.to_string();
    facts.authorized_subject = authorized;
    Ok(facts)
}

fn append_text(path: &[&str], text: &str, facts: &mut InvoiceFacts) {
    match path {
        [_, "Fa", "P_2"] => facts.invoice_number.push_str(text),
        [_, "Podmiot1", "DaneIdentyfikacyjne", "Nazwa"] => facts
            .seller_name
            .get_or_insert_with(String::new)
            .push_str(text),
        [_, "Podmiot2", "DaneIdentyfikacyjne", "Nazwa"] => facts
            .buyer_name
            .get_or_insert_with(String::new)
            .push_str(text),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    path: &[&str],
    value: String,
    facts: &mut InvoiceFacts,
    net: &mut Cents,
    vat: &mut Cents,
    third: &mut Option<ThirdSubject>,
    authorized: &mut Option<(String, Option<String>, u8)>,
) {
    // Names and P_2 may arrive in pieces around entity references: keep them verbatim.
    if let [_, "Podmiot1", "DaneIdentyfikacyjne", "Nazwa"]
    | [_, "Podmiot2", "DaneIdentyfikacyjne", "Nazwa"]
    | [_, "Fa", "P_2"] = path
    {
        append_text(path, &value, facts);
        return;
    }
    let value = value.trim().to_string();
    if value.is_empty() {
        return;
    }
    match path {
        [_, "Podmiot1", "DaneIdentyfikacyjne", "NIP"] => facts.seller_nip = value,
        [_, "Podmiot2", "DaneIdentyfikacyjne", field] => match *field {
            "NIP" => {
                facts.buyer = Identifier {
                    kind: "Nip".into(),
                    value: Some(value),
                }
            }
            "KodUE" => {
                facts.buyer.kind = "VatUe".into();
                facts.buyer.value = Some(value);
            }
            "NrVatUE" => {
                facts.buyer.kind = "VatUe".into();
                let prefix = facts.buyer.value.take().unwrap_or_default();
                facts.buyer.value = Some(format!("{prefix}{value}"));
            }
            "NrID" => {
                facts.buyer = Identifier {
                    kind: "Other".into(),
                    value: Some(value),
                }
            }
            "BrakID" => {
                facts.buyer = Identifier {
                    kind: "None".into(),
                    value: None,
                }
            }
            _ => {}
        },
        [_, "Podmiot3", "DaneIdentyfikacyjne", field] => {
            if let Some(t) = third.as_mut() {
                match *field {
                    "NIP" => t.identifier = ident("Nip", value),
                    "IDWew" => t.identifier = ident("InternalId", value),
                    "NrVatUE" => t.identifier = ident("VatUe", value),
                    "NrID" => t.identifier = ident("Other", value),
                    "BrakID" => {
                        t.identifier = Identifier {
                            kind: "None".into(),
                            value: None,
                        }
                    }
                    "Nazwa" => t.name = Some(value),
                    _ => {}
                }
            }
        }
        [_, "Podmiot3", "Rola"] => {
            if let Some(t) = third.as_mut() {
                t.role = value.parse().unwrap_or(0);
            }
        }
        [_, "PodmiotUpowazniony", "DaneIdentyfikacyjne", "NIP"] => {
            if let Some(a) = authorized.as_mut() {
                a.0 = value;
            }
        }
        [_, "PodmiotUpowazniony", "DaneIdentyfikacyjne", "Nazwa"] => {
            if let Some(a) = authorized.as_mut() {
                a.1 = Some(value);
            }
        }
        [_, "PodmiotUpowazniony", "RolaPU"] => {
            if let Some(a) = authorized.as_mut() {
                a.2 = value.parse().unwrap_or(0);
            }
        }
        [_, "Fa", "KodWaluty"] => facts.currency = value,
        [_, "Fa", "P_1"] => facts.issue_date = value,
        [_, "Fa", "P_15"] => facts.gross = value,
        [_, "Fa", "RodzajFaktury"] => facts.invoice_type = value,
        [_, "Fa", field] if field.starts_with("P_13_") => net.add(&value),
        [_, "Fa", field] if field.starts_with("P_14_") && !field.ends_with('W') => vat.add(&value),
        [_, "Fa", "Adnotacje", "P_17"] => facts.is_self_invoicing = value == "1",
        _ => {}
    }
}

fn ident(kind: &str, value: String) -> Identifier {
    Identifier {
        kind: kind.into(),
        value: Some(value),
    }
}

/// Money sum in hundredths (XSD `TKwotowy` has at most 2 fraction digits).
#[derive(Default, Debug, Clone, Copy)]
struct Cents(i64);

impl Cents {
    fn add(&mut self, text: &str) {
        if let Some(c) = parse_cents(text) {
            self.0 = self.0.saturating_add(c);
        }
    }
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// `"123.4"` → 12340; `None` for anything that is not a 2-decimal amount.
pub fn parse_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut cents = whole.parse::<i64>().ok()?.checked_mul(100)?;
    let frac_val = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    cents = cents.checked_add(frac_val)?;
    Some(if neg { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn minimal(seller: &str, number: &str, p1: &str) -> String {
        include_str!("../tests/data/minimal-fa3.xml")
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
        let pdf = include_str!("../../../samples/fa3/pdf-generator-invoice.xml");
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
        let xml =
            include_str!("../../../samples/fa3/csharp-invoice-template-fa-3-with-attachment.xml")
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

    #[test]
    fn cents_parse() {
        assert_eq!(parse_cents("123.4"), Some(12340));
        assert_eq!(parse_cents("-0.05"), Some(-5));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }
}
