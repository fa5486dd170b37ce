//! XAdES qualifying properties: `SignedProperties` signed, `SigningCertificate(V2)` naming
//! the KeyInfo certificate (digest, issuer DN and serial), and `SigningTime`.

use bergshamra_xml::uppsala::{Document, NodeId};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

use crate::error::ApiError;
use crate::util;

use super::dsig::{is_ancestor, text};
use super::{NS_DS, NS_XADES, SHA1_URI, SHA256_URI, SHA384_URI, SHA512_URI, invalid_signature};

/// XAdES (ETSI EN 319 132) qualifying properties: `SignedProperties` must be covered by a
/// `SignedInfo` reference, `SigningCertificate(V2)/Cert` must name the certificate in
/// `KeyInfo` (`CertDigest`; `IssuerSerial` when given) and `SigningTime` must be present.
/// Failures are signature failures (9105) with a detail saying which property is wrong.
pub(super) fn check_signed_properties(
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
