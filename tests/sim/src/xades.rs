//! `POST /auth/xades-signature` — certificate login with a signed `AuthTokenRequest`
//! (ksef-guide §3.4; ksef-docs `auth/podpis-xades.md`, `auth/testowe-certyfikaty-i-podpisy-xades.md`).
//!
//! Real XML-DSig verification: every `ds:Reference` is re-digested after its transforms
//! (enveloped-signature, C14N 1.0/1.1/exclusive), `SignedInfo` is canonicalized with its
//! `CanonicalizationMethod` and `SignatureValue` is checked with the key of the embedded
//! certificate (RSA PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256 raw `r||s` or DER).
//! The document is validated against the auth XSD (21401), the XAdES `SignedProperties`
//! must be signed and name the KeyInfo certificate (`SigningCertificate`) and carry a
//! plausible `SigningTime`.
//! Certificates: self-signed with the NIP in the subject (as on TEST, refused with status 460
//! under `verifyCertificateChain=true`), or issued by the simulator CA (`certificates.rs`)
//! and not revoked.

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use bergshamra_c14n::{C14nMode, canonicalize_doc};
use bergshamra_xml::NodeSet;
use bergshamra_xml::uppsala::{self, Document, NodeId};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use crate::auth::{
    AuthMethod, AuthOperation, AuthOutcome, ContextId, Permission, SubjectId, start_operation,
};
use crate::error::ApiError;
use crate::keys::key_material;
use crate::state::AppState;
use crate::util;

const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_AUTH_20: &str = "http://ksef.mf.gov.pl/auth/token/2.0";
const NS_AUTH_21: &str = "http://ksef.mf.gov.pl/auth/token/2.1";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
const SHA1_URI: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA384_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const SHA512_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
/// Allowed clock difference for `SigningTime`: not later than now + this, not earlier than
/// the challenge's issue time − this. The docs give no number; the official C# client signs
/// with `SigningTime = now − 1 min`, so a few minutes of skew must pass.
pub const SIGNING_TIME_SKEW: time::Duration = time::Duration::minutes(5);
const OID_ORG_IDENTIFIER: &str = "2.5.4.97";

fn unreadable(detail: impl Into<String>) -> ApiError {
    ApiError::bad(21001, "Nieczytelna treść.", vec![detail.into()])
}
fn invalid_document(detail: impl Into<String>) -> ApiError {
    ApiError::bad(9101, "Nieprawidłowy dokument.", vec![detail.into()])
}
fn invalid_signature(detail: impl Into<String>) -> ApiError {
    ApiError::bad(9105, "Nieprawidłowy podpis.", vec![detail.into()])
}
fn invalid_certificate(detail: impl Into<String>) -> ApiError {
    ApiError::bad(21115, "Nieprawidłowy certyfikat.", vec![detail.into()])
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct XadesQuery {
    /// open-api: boolean query parameter; forces the chain (and OCSP/CRL) check on
    /// environments that accept self-signed certificates.
    #[serde(default)]
    verify_certificate_chain: Option<String>,
}

/// What a verified document says.
#[derive(Debug)]
pub struct VerifiedRequest {
    pub challenge: String,
    pub context: ContextId,
    pub subject_identifier_type: String,
    pub certificate_der: Vec<u8>,
    /// XAdES `SigningTime`.
    pub signing_time: time::OffsetDateTime,
}

fn element_named(doc: &Document<'_>, id: NodeId, ns: &str, local: &str) -> bool {
    doc.element(id)
        .is_some_and(|e| e.matches_name_ns(ns, local))
}

fn child(doc: &Document<'_>, parent: NodeId, ns: &str, local: &str) -> Result<NodeId, ApiError> {
    doc.first_child_element_by_name_ns(parent, ns, local)
        .ok_or_else(|| invalid_signature(format!("Brak elementu {local} w podpisie.")))
}

fn text(doc: &Document<'_>, id: NodeId) -> String {
    doc.text_content_deep(id).trim().to_string()
}

fn c14n(
    doc: &Document<'_>,
    mode: C14nMode,
    set: &NodeSet,
    prefixes: &[String],
) -> Result<Vec<u8>, ApiError> {
    canonicalize_doc(doc, mode, Some(set), prefixes)
        .map_err(|e| invalid_signature(format!("Błąd kanonikalizacji: {e}.")))
}

fn c14n_mode(uri: &str) -> Result<C14nMode, ApiError> {
    C14nMode::from_uri(uri).ok_or_else(|| {
        invalid_signature(format!("Nieobsługiwany algorytm kanonikalizacji: {uri}."))
    })
}

/// `InclusiveNamespaces PrefixList` of an exclusive C14N transform/method, if any.
fn prefix_list(doc: &Document<'_>, method: NodeId) -> Vec<String> {
    doc.children(method)
        .into_iter()
        .find(|c| {
            doc.element(*c)
                .is_some_and(|e| e.name.local_name == "InclusiveNamespaces")
        })
        .and_then(|c| doc.get_attribute(c, "PrefixList"))
        .map(|l| {
            l.split_whitespace()
                .map(|s| s.replace("#default", ""))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses and cryptographically verifies a signed `AuthTokenRequest`; synchronous KSeF
/// errors (21001, 21217, 9101, 21401, 9102, 9103, 9105, 21115) on failure.
pub fn verify_document(body: &[u8]) -> Result<VerifiedRequest, ApiError> {
    let xml = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad(21217, "Nieprawidłowe kodowanie znaków.", vec![]))?;
    if xml.contains("<!DOCTYPE") || xml.contains("<!ENTITY") {
        return Err(unreadable("Deklaracje DTD nie są dozwolone."));
    }
    let doc = uppsala::parse(xml).map_err(|e| unreadable(format!("Błąd XML: {e}.")))?;
    let root = doc
        .document_element()
        .ok_or_else(|| unreadable("Brak elementu głównego."))?;
    let ns = if element_named(&doc, root, NS_AUTH_20, "AuthTokenRequest") {
        NS_AUTH_20
    } else if element_named(&doc, root, NS_AUTH_21, "AuthTokenRequest") {
        NS_AUTH_21
    } else {
        return Err(invalid_document(
            "Element główny musi być AuthTokenRequest (http://ksef.mf.gov.pl/auth/token/2.0 lub 2.1).",
        ));
    };
    // open-api `POST /auth/xades-signature`: 21401 with the validator's text.
    crate::fa3check::validate_auth_xsd(body, ns == NS_AUTH_21).map_err(|details| {
        ApiError::bad(21401, "Dokument nie jest zgodny ze schemą (xsd).", details)
    })?;
    let field = |name: &str| {
        doc.first_child_element_by_name_ns(root, ns, name)
            .map(|id| text(&doc, id))
            .ok_or_else(|| invalid_document(format!("Brak elementu {name}.")))
    };
    let challenge = field("Challenge")?;
    let subject_identifier_type = field("SubjectIdentifierType")?;
    if !matches!(
        subject_identifier_type.as_str(),
        "certificateSubject" | "certificateFingerprint"
    ) {
        return Err(invalid_document(format!(
            "Nieznany SubjectIdentifierType: {subject_identifier_type}."
        )));
    }
    let ctx_node = doc
        .first_child_element_by_name_ns(root, ns, "ContextIdentifier")
        .ok_or_else(|| invalid_document("Brak elementu ContextIdentifier."))?;
    let ctx_el = doc
        .children(ctx_node)
        .into_iter()
        .find(|c| doc.element(*c).is_some())
        .ok_or_else(|| invalid_document("Pusty ContextIdentifier."))?;
    let kind = doc
        .element(ctx_el)
        .map(|e| e.name.local_name.to_string())
        .unwrap_or_default();
    let context = ContextId {
        kind,
        value: text(&doc, ctx_el),
    };

    // Enveloped signature: exactly one ds:Signature in the document, a child of the root.
    let signatures = doc.get_elements_by_tag_name_ns(NS_DS, "Signature");
    let signature = match signatures.as_slice() {
        [] => return Err(ApiError::bad(9102, "Brak podpisu.", vec![])),
        [one] => *one,
        _ => {
            return Err(ApiError::bad(
                9103,
                "Przekroczona liczba dozwolonych podpisów.",
                vec![],
            ));
        }
    };
    if doc.parent(signature) != Some(root) {
        return Err(invalid_signature(
            "Obsługiwany jest tylko podpis otoczony (enveloped) jako dziecko AuthTokenRequest.",
        ));
    }
    let signed_info = child(&doc, signature, NS_DS, "SignedInfo")?;
    let c14n_method = child(&doc, signed_info, NS_DS, "CanonicalizationMethod")?;
    let sig_method = child(&doc, signed_info, NS_DS, "SignatureMethod")?;
    let sig_alg = doc
        .get_attribute(sig_method, "Algorithm")
        .unwrap_or_default()
        .to_string();

    // Ids for same-document references (XAdES SignedProperties).
    let mut ids = std::collections::HashMap::new();
    for id in doc.descendants(doc.root()) {
        if let Some(v) = doc.get_attribute(id, "Id")
            && ids.insert(v.to_string(), id).is_some()
        {
            return Err(invalid_document(format!(
                "Powtórzony identyfikator Id={v}."
            )));
        }
    }

    let references = doc.child_elements_by_name_ns(signed_info, NS_DS, "Reference");
    if references.is_empty() {
        return Err(invalid_signature(
            "SignedInfo nie zawiera elementu Reference.",
        ));
    }
    let mut covers_document = false;
    let mut referenced = Vec::new();
    for reference in references {
        let uri = doc.get_attribute(reference, "URI").unwrap_or_default();
        let (target, mut set) = if uri.is_empty() {
            covers_document = true;
            (root, NodeSet::all_without_comments(&doc))
        } else if let Some(id) = uri.strip_prefix('#') {
            referenced.push(id.to_string());
            let node = *ids.get(id).ok_or_else(|| {
                invalid_signature(format!("Referencja {uri} wskazuje nieistniejący element."))
            })?;
            (node, NodeSet::tree_without_comments(node, &doc))
        } else {
            return Err(invalid_signature(format!(
                "Referencje zewnętrzne (URI={uri}) nie są dozwolone (podpis zewnętrzny)."
            )));
        };
        let mut mode = C14nMode::Inclusive;
        let mut prefixes = vec![];
        if let Some(transforms) = doc.first_child_element_by_name_ns(reference, NS_DS, "Transforms")
        {
            for t in doc.child_elements_by_name_ns(transforms, NS_DS, "Transform") {
                let alg = doc.get_attribute(t, "Algorithm").unwrap_or_default();
                if alg == ENVELOPED {
                    if !(target == signature || is_ancestor(&doc, target, signature)) {
                        continue;
                    }
                    set = set.subtract(&NodeSet::tree_with_comments(signature, &doc));
                } else {
                    mode = c14n_mode(alg)?;
                    prefixes = prefix_list(&doc, t);
                }
            }
        }
        let digest_method = child(&doc, reference, NS_DS, "DigestMethod")?;
        let digest_alg = doc
            .get_attribute(digest_method, "Algorithm")
            .unwrap_or_default();
        if digest_alg != SHA256_URI {
            return Err(invalid_signature(format!(
                "Nieobsługiwany algorytm skrótu: {digest_alg} (symulator: tylko SHA-256)."
            )));
        }
        let expected = util::b64_decode(&text(&doc, child(&doc, reference, NS_DS, "DigestValue")?))
            .ok_or_else(|| invalid_signature("DigestValue nie jest poprawnym Base64."))?;
        let actual = Sha256::digest(c14n(&doc, mode, &set, &prefixes)?);
        if actual.as_slice() != expected.as_slice() {
            return Err(invalid_signature(format!(
                "Skrót referencji URI=\"{uri}\" nie zgadza się — dokument zmieniono po podpisaniu."
            )));
        }
    }
    if !covers_document {
        return Err(invalid_signature(
            "Podpis nie obejmuje dokumentu (brak referencji URI=\"\").",
        ));
    }

    let mode = c14n_mode(
        doc.get_attribute(c14n_method, "Algorithm")
            .unwrap_or_default(),
    )?;
    let signed_info_bytes = c14n(
        &doc,
        mode,
        &NodeSet::tree_without_comments(signed_info, &doc),
        &prefix_list(&doc, c14n_method),
    )?;
    let signature_value: String = text(&doc, child(&doc, signature, NS_DS, "SignatureValue")?)
        .split_whitespace()
        .collect();
    let signature_value = util::b64_decode(&signature_value)
        .ok_or_else(|| invalid_signature("SignatureValue nie jest poprawnym Base64."))?;
    let cert_node = doc
        .get_elements_by_tag_name_ns(NS_DS, "X509Certificate")
        .into_iter()
        .find(|c| is_ancestor(&doc, signature, *c))
        .ok_or_else(|| invalid_certificate("Brak KeyInfo/X509Data/X509Certificate."))?;
    let cert_b64: String = text(&doc, cert_node).split_whitespace().collect();
    let certificate_der = util::b64_decode(&cert_b64)
        .ok_or_else(|| invalid_certificate("X509Certificate nie jest poprawnym Base64."))?;
    let cert = Certificate::from_der(&certificate_der)
        .map_err(|e| invalid_certificate(format!("Nie można odczytać certyfikatu: {e}.")))?;
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| invalid_certificate(e.to_string()))?;
    verify_signature_value(&sig_alg, &spki, &signed_info_bytes, &signature_value)?;
    let signing_time =
        check_signed_properties(&doc, signature, &referenced, &cert, &certificate_der)?;
    Ok(VerifiedRequest {
        challenge,
        context,
        subject_identifier_type,
        certificate_der,
        signing_time,
    })
}

/// XAdES (ETSI EN 319 132) qualifying properties: `SignedProperties` must be covered by a
/// `SignedInfo` reference, `SigningCertificate(V2)/Cert` must name the certificate in
/// `KeyInfo` (`CertDigest`; `IssuerSerial` when given) and `SigningTime` must be present.
/// Failures are signature failures (9105) with a detail saying which property is wrong.
fn check_signed_properties(
    doc: &Document<'_>,
    signature: NodeId,
    referenced: &[String],
    cert: &Certificate,
    cert_der: &[u8],
) -> Result<time::OffsetDateTime, ApiError> {
    let missing = |what: &str| {
        invalid_signature(format!(
            "Brak {what} w podpisie XAdES (QualifyingProperties/SignedProperties). / Missing {what}."
        ))
    };
    let props = doc
        .get_elements_by_tag_name_ns(NS_XADES, "SignedProperties")
        .into_iter()
        .find(|p| is_ancestor(doc, signature, *p))
        .ok_or_else(|| missing("SignedProperties"))?;
    let id = doc.get_attribute(props, "Id").unwrap_or_default();
    if id.is_empty() || !referenced.iter().any(|r| r == id) {
        return Err(invalid_signature(
            "SignedProperties nie są objęte podpisem (brak referencji do ich Id w SignedInfo). / SignedProperties are not signed.",
        ));
    }
    let signature_props = doc
        .first_child_element_by_name_ns(props, NS_XADES, "SignedSignatureProperties")
        .ok_or_else(|| missing("SignedSignatureProperties"))?;
    let signing_time = doc
        .first_child_element_by_name_ns(signature_props, NS_XADES, "SigningTime")
        .ok_or_else(|| missing("SigningTime"))?;
    let signing_time = parse_signing_time(&text(doc, signing_time)).ok_or_else(|| {
        invalid_signature("SigningTime nie jest poprawną datą xsd:dateTime. / SigningTime is not a valid dateTime.")
    })?;
    let signing_cert = doc
        .first_child_element_by_name_ns(signature_props, NS_XADES, "SigningCertificate")
        .or_else(|| {
            doc.first_child_element_by_name_ns(signature_props, NS_XADES, "SigningCertificateV2")
        })
        .ok_or_else(|| missing("SigningCertificate"))?;
    let tbs = cert.tbs_certificate();
    let serial = decimal(tbs.serial_number().as_bytes());
    let mut problem = "SigningCertificate nie zawiera elementu Cert.".to_string();
    for cert_node in doc.child_elements_by_name_ns(signing_cert, NS_XADES, "Cert") {
        let Some(digest_node) =
            doc.first_child_element_by_name_ns(cert_node, NS_XADES, "CertDigest")
        else {
            problem = "Cert bez CertDigest.".into();
            continue;
        };
        let alg = doc
            .first_child_element_by_name_ns(digest_node, NS_DS, "DigestMethod")
            .and_then(|m| doc.get_attribute(m, "Algorithm"))
            .unwrap_or_default();
        let Some(actual) = digest_with(alg, cert_der) else {
            problem = format!("Nieobsługiwany algorytm CertDigest: {alg}.");
            continue;
        };
        let expected = doc
            .first_child_element_by_name_ns(digest_node, NS_DS, "DigestValue")
            .map(|v| text(doc, v).split_whitespace().collect::<String>())
            .and_then(|v| util::b64_decode(&v));
        if expected.as_deref() != Some(actual.as_slice()) {
            problem = "CertDigest nie jest skrótem certyfikatu z KeyInfo.".into();
            continue;
        }
        if let Some(issuer_serial) =
            doc.first_child_element_by_name_ns(cert_node, NS_XADES, "IssuerSerial")
        {
            let serial_text = doc
                .first_child_element_by_name_ns(issuer_serial, NS_DS, "X509SerialNumber")
                .map(|n| text(doc, n))
                .unwrap_or_default();
            if serial_text.trim_start_matches('0') != serial.trim_start_matches('0') {
                problem = format!(
                    "IssuerSerial/X509SerialNumber {serial_text} nie jest numerem seryjnym certyfikatu z KeyInfo ({serial})."
                );
                continue;
            }
            let issuer_text = doc
                .first_child_element_by_name_ns(issuer_serial, NS_DS, "X509IssuerName")
                .map(|n| text(doc, n))
                .unwrap_or_default();
            if !same_name(&issuer_text, tbs.issuer()) {
                problem = format!(
                    "IssuerSerial/X509IssuerName „{issuer_text}” nie jest wystawcą certyfikatu z KeyInfo ({}).",
                    tbs.issuer()
                );
                continue;
            }
        }
        return Ok(signing_time);
    }
    Err(invalid_signature(format!(
        "SigningCertificate nie wskazuje certyfikatu użytego do podpisu: {problem} / SigningCertificate does not match the KeyInfo certificate."
    )))
}

/// `xsd:dateTime`; without a zone it is taken as UTC.
fn parse_signing_time(s: &str) -> Option<time::OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| time::OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())
}

fn digest_with(alg: &str, data: &[u8]) -> Option<Vec<u8>> {
    Some(match alg {
        SHA1_URI => sha1::Sha1::digest(data).to_vec(),
        SHA256_URI => Sha256::digest(data).to_vec(),
        SHA384_URI => sha2::Sha384::digest(data).to_vec(),
        SHA512_URI => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// Big-endian unsigned bytes as a decimal string (`X509SerialNumber` is an xsd:integer).
fn decimal(bytes: &[u8]) -> String {
    let mut digits = vec![0u8]; // little-endian base-10
    for &b in bytes {
        let mut carry = b as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// Compares an RFC 4514-style DN text with a certificate name as a set of (type, value)
/// pairs — order, spacing and case of the text vary between signing tools. A text with an
/// attribute type the simulator does not know is not held against the client.
fn same_name(text: &str, name: &x509_cert::name::Name) -> bool {
    let normalize = |v: &str| {
        v.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let mut from_cert: Vec<(String, String)> = name
        .iter()
        .map(|atv| {
            let value = std::str::from_utf8(atv.value.value()).unwrap_or_default();
            (atv.oid.to_string(), normalize(value))
        })
        .collect();
    let mut from_text = Vec::new();
    for part in split_unescaped(text, &[',', ';', '+']) {
        let Some((kind, value)) = part.split_once('=') else {
            return false;
        };
        let Some(oid) = attribute_oid(kind.trim()) else {
            return true;
        };
        let value = unescape_dn(value.trim());
        if value.starts_with('#') {
            return true;
        }
        from_text.push((oid, normalize(&value)));
    }
    from_cert.sort();
    from_text.sort();
    from_cert == from_text
}

fn split_unescaped(s: &str, separators: &[char]) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            parts.last_mut().expect("one part").push(c);
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            parts.last_mut().expect("one part").push(c);
        } else if separators.contains(&c) {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("one part").push(c);
        }
    }
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn unescape_dn(v: &str) -> String {
    let v = v.trim_matches('"');
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn attribute_oid(kind: &str) -> Option<String> {
    let lower = kind.to_ascii_lowercase();
    let numeric = lower.strip_prefix("oid.").unwrap_or(&lower);
    if numeric.chars().all(|c| c.is_ascii_digit() || c == '.') && numeric.contains('.') {
        return Some(numeric.to_string());
    }
    Some(
        match lower.as_str() {
            "cn" => "2.5.4.3",
            "c" => "2.5.4.6",
            "o" => "2.5.4.10",
            "ou" => "2.5.4.11",
            "l" => "2.5.4.7",
            "st" | "s" => "2.5.4.8",
            "street" => "2.5.4.9",
            "serialnumber" => "2.5.4.5",
            "organizationidentifier" => "2.5.4.97",
            "givenname" | "gn" | "g" => "2.5.4.42",
            "sn" | "surname" => "2.5.4.4",
            "title" => "2.5.4.12",
            "e" | "emailaddress" => "1.2.840.113549.1.9.1",
            "dc" => "0.9.2342.19200300.100.1.25",
            "uid" => "0.9.2342.19200300.100.1.1",
            _ => return None,
        }
        .to_string(),
    )
}

fn is_ancestor(doc: &Document<'_>, ancestor: NodeId, mut node: NodeId) -> bool {
    while let Some(p) = doc.parent(node) {
        if p == ancestor {
            return true;
        }
        node = p;
    }
    false
}

fn verify_signature_value(alg: &str, spki: &[u8], data: &[u8], sig: &[u8]) -> Result<(), ApiError> {
    let wrong = || invalid_signature("Wartość podpisu (SignatureValue) jest nieprawidłowa.");
    match alg {
        RSA_SHA256 => {
            let key = rsa::PublicKey::from_public_key_der(spki).map_err(|_| {
                invalid_signature("Algorytm rsa-sha256 wymaga certyfikatu z kluczem RSA.")
            })?;
            let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| wrong())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(data, &sig)
                .map_err(|_| wrong())
        }
        ECDSA_SHA256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki).map_err(|_| {
                invalid_signature("Algorytm ecdsa-sha256 wymaga certyfikatu z kluczem EC P-256.")
            })?;
            // XML-DSig 1.1: raw r||s; DER accepted too.
            let sig = if sig.len() == 64 {
                p256::ecdsa::Signature::from_slice(sig)
            } else {
                p256::ecdsa::Signature::from_der(sig)
            }
            .map_err(|_| wrong())?;
            key.verify(data, &sig).map_err(|_| wrong())
        }
        other => Err(invalid_signature(format!(
            "Nieobsługiwany algorytm podpisu: {other} (symulator: rsa-sha256, ecdsa-sha256)."
        ))),
    }
}

/// NIP named by a certificate subject: serialNumber `TINPL-…`/`NIP…` or
/// organizationIdentifier `VATPL-…` (ksef-guide §3.4 regexes), and whether it is a seal.
pub fn subject_nip(cert: &Certificate) -> Option<(String, bool)> {
    let mut found = None;
    for atv in cert.tbs_certificate().subject().iter() {
        let oid = atv.oid.to_string();
        let Ok(value) = std::str::from_utf8(atv.value.value()) else {
            continue;
        };
        let prefixes: &[&str] = match oid.as_str() {
            OID_ORG_IDENTIFIER => &["VATPL"],
            OID_SERIAL_NUMBER => &["TINPL", "NIP", "VATPL"],
            _ => continue,
        };
        for p in prefixes {
            if let Some(rest) = value.find(p).map(|i| &value[i + p.len()..])
                && let Some(nip) = ten_digits(rest)
            {
                let seal = oid == OID_ORG_IDENTIFIER || *p == "VATPL";
                if found.is_none() || seal {
                    found = Some((nip, seal));
                }
            }
        }
    }
    found
}

/// First run of exactly 10 digits (`.*?(\d{10})`).
fn ten_digits(s: &str) -> Option<String> {
    let b = s.as_bytes();
    (0..b.len()).find_map(|i| {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        (run >= 10).then(|| s[i..i + 10].to_string())
    })
}

/// How the simulator trusts the certificate: self-signed (TEST) or issued by its CA.
fn certificate_kind(
    state: &AppState,
    cert: &Certificate,
    der: &[u8],
) -> Result<AuthMethod, ApiError> {
    let tbs = cert.tbs_certificate();
    let now = util::now().unix_timestamp();
    let validity = tbs.validity();
    let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
    let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
    if now < not_before || now > not_after {
        return Err(invalid_certificate(
            "Certyfikat jest nieważny (poza okresem ważności).",
        ));
    }
    let tbs_der = tbs
        .to_der()
        .map_err(|e| invalid_certificate(e.to_string()))?;
    let sig_bytes = cert.signature().raw_bytes();
    let ca = key_material().ca_key.to_public_key();
    let ca_signed = rsa::pkcs1v15::Signature::try_from(sig_bytes)
        .ok()
        .is_some_and(|s| {
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(ca)
                .verify(&tbs_der, &s)
                .is_ok()
        });
    if ca_signed {
        let serial = hex::encode_upper(tbs.serial_number().as_bytes());
        let usable = {
            let st = state.lock();
            st.certificates
                .issued
                .values()
                .any(|c| c.der == der && !c.revoked && util::now() <= c.valid_to)
        };
        if !usable {
            return Err(invalid_certificate(format!(
                "Certyfikat KSeF {serial} jest unieważniony, wygasł lub jest nieznany."
            )));
        }
        return Ok(AuthMethod::InternalCertificate);
    }
    if tbs.issuer() == tbs.subject() {
        // Self-signed certificates are accepted only on TEST — as this simulator does; the
        // self-signature must still hold (sha256WithRSAEncryption / ecdsa-with-SHA256).
        verify_self_signature(cert, &tbs_der)?;
        return Ok(AuthMethod::SelfSignedSignature);
    }
    Err(invalid_certificate(
        "Niezaufany łańcuch certyfikatów: wymagany certyfikat samopodpisany (TEST) lub wydany przez KSeF.",
    ))
}

fn verify_self_signature(cert: &Certificate, tbs_der: &[u8]) -> Result<(), ApiError> {
    const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
    const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| invalid_certificate(e.to_string()))?;
    let sig = cert.signature().raw_bytes();
    let broken = || invalid_certificate("Podpis certyfikatu samopodpisanego jest nieprawidłowy.");
    match cert.signature_algorithm().oid.to_string().as_str() {
        SHA256_WITH_RSA => {
            let key = rsa::PublicKey::from_public_key_der(&spki).map_err(|_| broken())?;
            let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| broken())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(tbs_der, &sig)
                .map_err(|_| broken())
        }
        ECDSA_WITH_SHA256 => {
            let key =
                p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|_| broken())?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| broken())?;
            key.verify(tbs_der, &sig).map_err(|_| broken())
        }
        other => Err(invalid_certificate(format!(
            "Nieobsługiwany algorytm podpisu certyfikatu: {other} (symulator: sha256WithRSAEncryption, ecdsa-with-SHA256)."
        ))),
    }
}

fn fingerprint(der: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(der))
}

/// `POST /auth/xades-signature?verifyCertificateChain=` → 202 (same body as ksef-token).
async fn xades_signature(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<XadesQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/xml") && !content_type.starts_with("text/xml") {
        return Err(ApiError::UnsupportedMediaType);
    }
    let verify_chain = match q.verify_certificate_chain.as_deref() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::validation(format!(
                "verifyCertificateChain musi mieć wartość true albo false (jest: {v})."
            )));
        }
    };
    let body = crate::server::read_body(req, &state).await?;
    let doc = verify_document(&body)?;
    let cert = Certificate::from_der(&doc.certificate_der)
        .map_err(|e| invalid_certificate(e.to_string()))?;
    let mut method = certificate_kind(&state, &cert, &doc.certificate_der)?;
    doc.context.validate()?;
    let now = util::now();
    {
        let mut st = state.lock();
        // SigningTime: not in the future, not before the challenge existed (± skew).
        if let Some(issued) = st.auth.challenges.get(&doc.challenge).map(|c| c.issued) {
            if doc.signing_time > now + SIGNING_TIME_SKEW {
                return Err(invalid_signature(format!(
                    "SigningTime {} jest w przyszłości; sprawdź zegar komputera. / SigningTime is in the future; check the clock.",
                    util::rfc3339(doc.signing_time)
                )));
            }
            if doc.signing_time < issued - SIGNING_TIME_SKEW {
                return Err(invalid_signature(format!(
                    "SigningTime {} jest wcześniejszy niż wydanie wyzwania ({}); podpisz dokument ponownie z nowym wyzwaniem. / Signed before the challenge was issued.",
                    util::rfc3339(doc.signing_time),
                    util::rfc3339(issued)
                )));
            }
        }
        // The challenge is consumed only by a correctly signed document.
        let _ = st
            .auth
            .consume_challenge(&doc.challenge, state.config.challenge_ttl)?;
    }
    // verifyCertificateChain=true: self-signed certificates have no trusted chain (they are
    // accepted on TEST only without the check); the outcome is an async 460 (open-api
    // AuthenticationOperationStatusResponse: "Niezaufany łańcuch certyfikatów").
    let untrusted_chain = verify_chain
        && matches!(
            method,
            AuthMethod::SelfSignedSignature | AuthMethod::SelfSignedSeal
        );

    // The reason (who lacks what) is only logged; the status says what open-api words.
    let no_permissions = |why: String| {
        tracing::debug!("415: {why}");
        AuthOutcome::failed(
            415,
            "Uwierzytelnianie zakończone niepowodzeniem",
            "Brak przypisanych uprawnień",
        )
    };
    let fp = fingerprint(&doc.certificate_der);
    let (subject, outcome, permissions) = if untrusted_chain {
        let subject = match subject_nip(&cert) {
            Some((nip, _)) => SubjectId {
                kind: "Nip".into(),
                value: nip,
            },
            None => SubjectId {
                kind: "Fingerprint".into(),
                value: fp.clone(),
            },
        };
        (
            subject,
            AuthOutcome::failed(
                460,
                "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu",
                "Niezaufany łańcuch certyfikatów",
            ),
            vec![],
        )
    } else if doc.subject_identifier_type == "certificateFingerprint" {
        // No permission grants to fingerprints exist in the simulator.
        (
            SubjectId {
                kind: "Fingerprint".into(),
                value: fp.clone(),
            },
            no_permissions(format!(
                "Odcisk certyfikatu {fp} nie ma uprawnień w kontekście {}.",
                doc.context.value
            )),
            vec![],
        )
    } else {
        match subject_nip(&cert) {
            None => {
                return Err(invalid_certificate(
                    "Temat certyfikatu nie zawiera NIP (serialNumber TINPL-…/organizationIdentifier VATPL-…); użyj certificateFingerprint.",
                ));
            }
            Some((nip, seal)) => {
                if method == AuthMethod::SelfSignedSignature && seal {
                    method = AuthMethod::SelfSignedSeal;
                }
                let subject = SubjectId {
                    kind: "Nip".into(),
                    value: nip.clone(),
                };
                // Owner = the certificate's NIP is the context NIP (guide §9).
                if doc.context.kind == "Nip" && doc.context.value == nip {
                    (subject, AuthOutcome::success(), Permission::OWNER.to_vec())
                } else {
                    let detail = format!(
                        "Podmiot {nip} z certyfikatu nie ma uprawnień w kontekście {} {}.",
                        doc.context.kind, doc.context.value
                    );
                    (subject, no_permissions(detail), vec![])
                }
            }
        }
    };
    let op = AuthOperation {
        reference_number: util::reference_number("AU"),
        start_date: now,
        ready_at: now + state.config.auth_processing_delay,
        method,
        context: doc.context,
        subject,
        permissions,
        outcome,
        redeemed: false,
        last_refresh: None,
        refresh_valid_until: None,
        revoked: false,
        ksef_token_ref: None,
        auth_document_hash: Some(util::sha256_b64(&body)),
        cert_fingerprint: Some(fp),
    };
    let mut st = state.lock();
    if let Some(policy) = crate::policy::AllowedIps::from_xml(&body) {
        st.auth.policies.insert(op.reference_number.clone(), policy);
    }
    Ok(start_operation(&state, &mut st, op))
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/auth/xades-signature", post(xades_signature))
}
