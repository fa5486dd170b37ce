//! Enrollment: `GET /certificates/enrollments/data`, `POST /certificates/enrollments` (the
//! simulator CA issues the certificate at once) and `GET /certificates/enrollments/{ref}`.

use std::str::FromStr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use x509_cert::der::Decode;
use x509_cert::name::Name;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::keys::{CertKind, build_certificate, key_material};
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::csr::{CSR_INVALID, csr_spki_der, verify_csr};
use super::{Enrollment, IssuedCertificate, cert_error, limits_for, signature_login_required};

/// Subject fields a CSR must carry: taken from the login (NIP seal form).
fn enrollment_data(auth: &Auth) -> Value {
    let id = &auth.subject.value;
    json!({
        "commonName": format!("{} {id}", auth.subject.kind),
        "countryName": "PL",
        "organizationName": format!("Podmiot {id}"),
        "organizationIdentifier": format!("VATPL-{id}"),
    })
}

/// `GET /certificates/enrollments/data`.
async fn data(auth: Auth) -> Result<Json<Value>, ApiError> {
    signature_login_required(&auth, 25001)?;
    Ok(Json(enrollment_data(&auth)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnrollRequest {
    certificate_name: String,
    certificate_type: String,
    csr: String,
    #[serde(default)]
    valid_from: Option<String>,
}

/// `POST /certificates/enrollments` → 202; the certificate is issued at once.
async fn enroll(
    State(state): State<AppState>,
    auth: Auth,
    body: JsonBody<EnrollRequest>,
) -> Result<Response, ApiError> {
    signature_login_required(&auth, 25002)?;
    let req = body.0;
    {
        let st = state.lock();
        let owner = &auth.subject.value;
        let limits = limits_for(&st, owner);
        if st.certificates.enrollment_count(owner) >= limits.max_enrollments {
            return Err(cert_error(
                25006,
                "Osiągnięto limit możliwych do złożenia wniosków certyfikacyjnych.",
                format!(
                    "Limit wniosków: {}. / Enrollment limit reached.",
                    limits.max_enrollments
                ),
            ));
        }
        if st.certificates.active_count(owner, util::now()) >= limits.max_certificates {
            return Err(cert_error(
                25007,
                "Osiągnięto limit dopuszczalnej liczby posiadanych certyfikatów.",
                format!(
                    "Limit aktywnych certyfikatów: {}; unieważnij nieużywany certyfikat. / Active certificate limit reached; revoke one you no longer use.",
                    limits.max_certificates
                ),
            ));
        }
    }
    let kind = match req.certificate_type.as_str() {
        "Authentication" => CertKind::Authentication,
        "Offline" => CertKind::Offline,
        other => {
            return Err(ApiError::validation(format!(
                "Nieznany typ certyfikatu: {other}."
            )));
        }
    };
    if req.certificate_name.trim().is_empty() || req.certificate_name.chars().count() > 100 {
        return Err(ApiError::validation(
            "Nazwa certyfikatu musi mieć od 1 do 100 znaków.",
        ));
    }
    let der = util::b64_decode(&req.csr).ok_or_else(|| {
        cert_error(
            25004,
            CSR_INVALID,
            "Pole csr nie jest poprawnym Base64 (DER).".into(),
        )
    })?;
    let csr = x509_cert::request::CertReq::from_der(&der)
        .map_err(|e| cert_error(25004, CSR_INVALID, format!("Nie można odczytać CSR: {e}.")))?;
    verify_csr(&csr)?;
    // The CSR subject must carry the login identity ("we własnym imieniu").
    let subject_text = csr.info.subject.to_string();
    if !subject_text.contains(&auth.subject.value) {
        return Err(cert_error(
            25003,
            "Dane w CSR nie zgadzają się z danymi w użytym wektorze uwierzytelniającym.",
            format!(
                "Temat CSR musi zawierać identyfikator {}.",
                auth.subject.value
            ),
        ));
    }
    let now = util::now();
    let valid_from = match req.valid_from.as_deref() {
        None => now,
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::validation("validFrom musi być datą ISO 8601."))?,
    };
    let valid_to = valid_from + time::Duration::days(730);
    let mut serial = util::random_bytes(8);
    serial[0] = (serial[0] & 0x7f).max(1);
    let serial_hex = hex::encode_upper(&serial);
    let issuer = Name::from_str("CN=KSeF Simulator CA,O=Ministerstwo Finansow,C=PL")
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let cert_der = build_certificate(
        csr.info.subject.clone(),
        issuer,
        &csr_spki_der(&csr)?,
        &serial,
        valid_from,
        valid_to,
        kind,
        &key_material().ca_key,
    );
    let reference = util::reference_number("CE");
    let mut st = state.lock();
    st.certificates.issued.insert(
        serial_hex.clone(),
        IssuedCertificate {
            serial_hex: serial_hex.clone(),
            der: cert_der,
            name: req.certificate_name,
            kind: req.certificate_type,
            common_name: subject_text,
            owner: auth.subject.value.clone(),
            owner_kind: auth.subject.kind.clone(),
            requested: now,
            valid_from,
            valid_to,
            revoked: false,
        },
    );
    st.certificates.enrollments.insert(
        reference.clone(),
        Enrollment {
            reference_number: reference.clone(),
            owner: auth.subject.value.clone(),
            requested: now,
            serial_hex,
        },
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"referenceNumber": reference, "timestamp": util::rfc3339(now)})),
    )
        .into_response())
}

/// `GET /certificates/enrollments/{referenceNumber}`.
async fn enrollment_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let st = state.lock();
    let e = st
        .certificates
        .enrollments
        .get(&reference)
        .filter(|e| e.owner == auth.subject.value)
        .ok_or_else(|| {
            ApiError::validation(format!("Wniosek {reference} nie został znaleziony."))
        })?;
    if e.requested + state.config.enrollment_retention < util::now() {
        return Err(ApiError::Gone);
    }
    Ok(Json(json!({
        "requestDate": util::rfc3339(e.requested),
        "status": {"code": 200, "description": "Wniosek certyfikacyjny obsłużony pomyślnie"},
        "certificateSerialNumber": e.serial_hex,
    })))
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/certificates/enrollments/data", get(data))
        .route("/certificates/enrollments", post(enroll))
        .route(
            "/certificates/enrollments/{referenceNumber}",
            get(enrollment_status),
        )
}

#[cfg(test)]
mod tests {
    //! Enrollment in-process (`oneshot`): the certificate login is placed in the state
    //! directly to keep this unit test free of XAdES signing; real XAdES logins followed by
    //! enrollment (RSA and EC P-256 CSRs) are in `tests/xades_api.rs`.

    use std::str::FromStr;

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use rsa::signature::Verifier;
    use serde_json::{Value, json};
    use tower::ServiceExt;
    use x509_cert::builder::Builder;
    use x509_cert::der::{Decode, Encode};

    use crate::auth::{AuthMethod, AuthOperation, AuthOutcome, ContextId, Permission, SubjectId};
    use crate::keys::key_material;
    use crate::{AppState, SimConfig, util};

    const NIP: &str = "5265877635";

    fn certificate_login(state: &AppState) -> String {
        let now = util::now();
        let op = AuthOperation {
            reference_number: util::reference_number("AU"),
            start_date: now,
            ready_at: now,
            method: AuthMethod::SelfSignedSeal,
            context: ContextId::nip(NIP),
            subject: SubjectId {
                kind: "Nip".into(),
                value: NIP.into(),
            },
            permissions: Permission::OWNER.to_vec(),
            outcome: AuthOutcome::success(),
            redeemed: true,
            last_refresh: None,
            refresh_valid_until: None,
            revoked: false,
            ksef_token_ref: None,
            auth_document_hash: None,
            cert_fingerprint: None,
        };
        let (token, _) = crate::auth::issue(
            state,
            "ContextToken",
            &op,
            std::time::Duration::from_secs(60),
        );
        state
            .lock()
            .auth
            .operations
            .insert(op.reference_number.clone(), op);
        token
    }

    async fn call(
        state: &AppState,
        method: &str,
        uri: &str,
        token: &str,
        body: Value,
    ) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = crate::app(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn csr(subject: &str) -> Vec<u8> {
        let key = key_material().token_keys[0].clone();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        let builder = x509_cert::builder::RequestBuilder::new(
            x509_cert::name::Name::from_str(subject).unwrap(),
        )
        .unwrap();
        let req: x509_cert::request::CertReq = builder
            .build::<_, rsa::pkcs1v15::Signature>(&signer)
            .unwrap();
        req.to_der().unwrap()
    }

    #[tokio::test]
    async fn csr_enrollment_issues_a_ca_signed_certificate() {
        let state = AppState::new(SimConfig::for_tests(), "http://127.0.0.1".into());
        let token = certificate_login(&state);
        let (status, data) = call(
            &state,
            "GET",
            "/v2/certificates/enrollments/data",
            &token,
            json!(null),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(data["organizationIdentifier"], format!("VATPL-{NIP}"));

        // Tampered CSR signature → 25004; subject without the NIP → 25003.
        let mut bad = csr(&format!("CN=Firma {NIP},O=Firma,C=PL"));
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let (status, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Authentication","csr": util::b64(&bad)})).await;
        assert_eq!(status, 400);
        assert_eq!(
            body["exception"]["exceptionDetailList"][0]["exceptionCode"],
            25004
        );
        let (_, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Authentication","csr": util::b64(&csr("CN=Someone else,C=PL"))})).await;
        assert_eq!(
            body["exception"]["exceptionDetailList"][0]["exceptionCode"],
            25003
        );

        let (status, body) = call(&state, "POST", "/v2/certificates/enrollments", &token,
            json!({"certificateName":"Laptop","certificateType":"Offline","csr": util::b64(&csr(&format!("CN=Firma {NIP},O=Firma,C=PL")))})).await;
        assert_eq!(status, 202, "{body}");
        let reference = body["referenceNumber"].as_str().unwrap().to_string();
        let (_, st) = call(
            &state,
            "GET",
            &format!("/v2/certificates/enrollments/{reference}"),
            &token,
            json!(null),
        )
        .await;
        assert_eq!(st["status"]["code"], 200);
        let serial = st["certificateSerialNumber"].as_str().unwrap().to_string();
        assert_eq!(serial.len(), 16);
        let (_, got) = call(
            &state,
            "POST",
            "/v2/certificates/retrieve",
            &token,
            json!({"certificateSerialNumbers":[serial]}),
        )
        .await;
        let der =
            util::b64_decode(got["certificates"][0]["certificate"].as_str().unwrap()).unwrap();
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        assert!(
            cert.tbs_certificate()
                .issuer()
                .to_string()
                .contains("KSeF Simulator CA")
        );
        // Signed by the simulator CA.
        let ca =
            rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key_material().ca_key.to_public_key());
        let sig = rsa::pkcs1v15::Signature::try_from(cert.signature().raw_bytes()).unwrap();
        ca.verify(&cert.tbs_certificate().to_der().unwrap(), &sig)
            .unwrap();

        let (status, _) = call(
            &state,
            "POST",
            &format!("/v2/certificates/{serial}/revoke"),
            &token,
            json!({}),
        )
        .await;
        assert_eq!(status, 204);
        let (_, q) = call(
            &state,
            "POST",
            "/v2/certificates/query",
            &token,
            json!({"status":"Revoked"}),
        )
        .await;
        assert_eq!(q["certificates"][0]["certificateSerialNumber"], serial);
        assert_eq!(q["certificates"][0]["type"], "Offline");
    }
}
