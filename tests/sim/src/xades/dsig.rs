//! XML-DSig: [`verify_document`] parses the signed `AuthTokenRequest`, re-digests every
//! `ds:Reference` after its transforms, canonicalizes `SignedInfo` and checks `SignatureValue`.

use bergshamra_c14n::{C14nMode, canonicalize_doc};
use bergshamra_xml::NodeSet;
use bergshamra_xml::uppsala::{self, Document, NodeId};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::{Decode, Encode};

use crate::auth::ContextId;
use crate::error::ApiError;
use crate::util;

use super::properties::check_signed_properties;
use super::{
    ECDSA_SHA256, ENVELOPED, NS_AUTH_20, NS_AUTH_21, NS_DS, RSA_SHA256, SHA256_URI,
    VerifiedRequest, invalid_certificate, invalid_document, invalid_signature, unreadable,
};

fn element_named(doc: &Document<'_>, id: NodeId, ns: &str, local: &str) -> bool {
    doc.element(id)
        .is_some_and(|e| e.matches_name_ns(ns, local))
}

fn child(doc: &Document<'_>, parent: NodeId, ns: &str, local: &str) -> Result<NodeId, ApiError> {
    doc.first_child_element_by_name_ns(parent, ns, local)
        .ok_or_else(|| invalid_signature(format!("Brak elementu {local} w podpisie.")))
}

pub(super) fn text(doc: &Document<'_>, id: NodeId) -> String {
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

pub(super) fn is_ancestor(doc: &Document<'_>, ancestor: NodeId, mut node: NodeId) -> bool {
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
