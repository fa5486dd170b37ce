//! XSD validation with libxml2: the vendored FA(3), UPO v4-3 and auth schemas, embedded,
//! written once per process to a temp dir and compiled once per thread.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::OnceLock;

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

/// The vendored FA(3) schema files, embedded so the binary works from any directory.
const FA3_FILES: [(&str, &str); 4] = [
    (
        "schemat_FA(3)_v1-0E.xsd",
        include_str!("../../../../schemas/fa3/schemat_FA(3)_v1-0E.xsd"),
    ),
    (
        "bazowe/StrukturyDanych_v10-0E.xsd",
        include_str!("../../../../schemas/fa3/bazowe/StrukturyDanych_v10-0E.xsd"),
    ),
    (
        "bazowe/ElementarneTypyDanych_v10-0E.xsd",
        include_str!("../../../../schemas/fa3/bazowe/ElementarneTypyDanych_v10-0E.xsd"),
    ),
    (
        "bazowe/KodyKrajow_v10-0E.xsd",
        include_str!("../../../../schemas/fa3/bazowe/KodyKrajow_v10-0E.xsd"),
    ),
];

const UPO_FILES: [(&str, &str); 1] = [(
    "upo-v4-3.xsd",
    include_str!("../../../../schemas/upo/upo-v4-3.xsd"),
)];

/// The vendored `AuthTokenRequest` v2.1 schema (open-api `POST /auth/xades-signature`).
const AUTH_21: (&str, &str) = (
    "auth/schemat_auth_v2-1.xsd",
    include_str!("../../../../schemas/auth/schemat_auth_v2-1.xsd"),
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

/// v2.1 still anchors two patterns the .NET way (`TNipVatUE` ends in `$`, `TPeppolId` is
/// `^…$`); in XSD regex, and so in libxml2, `^` and `$` are ordinary characters, so no real
/// `NipVatUe` or `PeppolId` context would pass. XSD patterns always match the whole value,
/// so the anchors are dropped.
fn without_dotnet_anchors(xsd: &str) -> String {
    let mut out = String::with_capacity(xsd.len());
    let mut rest = xsd;
    const OPEN: &str = "<xsd:pattern value=\"";
    while let Some(i) = rest.find(OPEN) {
        let start = i + OPEN.len();
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('"') else {
            rest = &rest[start..];
            break;
        };
        let pattern = &rest[start..start + len];
        let pattern = pattern.strip_prefix('^').unwrap_or(pattern);
        out.push_str(pattern.strip_suffix('$').unwrap_or(pattern));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Writes the embedded schemas once per process into a temp dir (libxml2 resolves
/// `xsd:import` against files), returning the main schema path.
fn schema_path(kind: SchemaKind) -> Result<PathBuf, String> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("ksef-sim-xsd-{}", std::process::id()));
            let auth_20 = without_dotnet_anchors(&auth_20_schema());
            let auth_21 = without_dotnet_anchors(AUTH_21.1);
            let auth = [
                (AUTH_21.0, auth_21.as_str()),
                (AUTH_20_NAME, auth_20.as_str()),
            ];
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
