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
//! under `verifyCertificateChain=true`), or issued by the simulator CA (`certificates/`)
//! and not revoked.
//!
//! This file holds the handler; `dsig.rs` the XML-DSig verification, `properties.rs` the XAdES
//! properties, `certificate.rs` the certificate's NIP and trust.

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::der::Decode;

use crate::auth::{
    AuthMethod, AuthOperation, AuthOutcome, ContextId, Permission, SubjectId, start_operation,
};
use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

mod certificate;
mod dsig;
mod properties;

pub use certificate::subject_nip;
use certificate::{certificate_kind, fingerprint};
pub use dsig::verify_document;

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
