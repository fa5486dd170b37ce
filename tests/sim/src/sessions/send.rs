//! Sending an invoice in an online session (`POST /sessions/online/{ref}/invoices`) and
//! [`record_invoice`], the verification and bookkeeping shared with batch processing.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::export::aes_decrypt;
use crate::fa3check::{self, Rejection};
use crate::ksef_number::new_ksef_number;
use crate::query::InvoiceRecord;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util;

use super::{Accepted, InvoiceStore, SessionInvoice, WRITE, no_session, processing_delay};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest {
    invoice_hash: String,
    invoice_size: i64,
    encrypted_invoice_hash: String,
    encrypted_invoice_size: i64,
    encrypted_invoice_content: String,
    #[serde(default)]
    offline_mode: bool,
    hash_of_corrected_invoice: Option<String>,
}

/// `POST /sessions/online/{referenceNumber}/invoices` → 202.
async fn send(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
    JsonBody(req): JsonBody<SendRequest>,
) -> Result<Response, ApiError> {
    auth.require(&WRITE)?;
    let (key, context_nip) = {
        let st = state.lock();
        let s = st
            .invoices
            .sessions
            .get(&reference)
            .filter(|s| s.context_nip == auth.context.value && s.batch.is_none())
            .ok_or_else(|| no_session(&reference))?;
        if s.closed.is_some() || util::now() > s.valid_until {
            let code = s.status(util::now()).0;
            return Err(ApiError::bad(
                21180,
                "Status sesji nie pozwala na wykonanie operacji.",
                vec![format!("Status sesji {code} uniemożliwia wysyłkę faktur.")],
            ));
        }
        if let Some(original) = &req.hash_of_corrected_invoice {
            check_correction(&st.invoices, &s.context_nip, original, req.offline_mode)?;
        }
        // `/limits/context` → onlineSession.maxInvoices (21155).
        let limit = st
            .limits
            .session(&s.context_nip)
            .online_session
            .max_invoices;
        if s.invoices.len() >= limit as usize {
            return Err(ApiError::bad(
                21155,
                "Przekroczono dozwoloną liczbę faktur w sesji.",
                vec![format!(
                    "Sesja o numerze referencyjnym {reference} osiągnęła dozwolony limit liczby faktur {limit}."
                )],
            ));
        }
        (s.key, s.context_nip.clone())
    };
    // A technical correction may carry an attachment even online (ksef-guide §11).
    let attachments_allowed = req.hash_of_corrected_invoice.is_some();
    let encrypted = util::b64_decode(&req.encrypted_invoice_content).ok_or_else(|| {
        ApiError::validation(
            "encryptedInvoiceContent nie jest poprawnym Base64. / Not valid Base64.",
        )
    })?;
    for (name, h) in [
        ("invoiceHash", &req.invoice_hash),
        ("encryptedInvoiceHash", &req.encrypted_invoice_hash),
    ] {
        if util::b64_decode(h).is_none_or(|b| b.len() != 32) {
            return Err(ApiError::validation(format!(
                "{name} musi być skrótem SHA-256 w Base64. / {name} must be a Base64 SHA-256."
            )));
        }
    }
    if req.invoice_size < 1 || req.encrypted_invoice_size < 1 {
        return Err(ApiError::validation(
            "Rozmiar pliku musi być dodatni. / Sizes must be ≥ 1.",
        ));
    }
    if encrypted.len() as i64 != req.encrypted_invoice_size {
        return Err(ApiError::bad(
            21402,
            "Nieprawidłowy rozmiar pliku.",
            vec![format!(
                "encryptedInvoiceSize = {}, a przesłano {} bajtów. / Encrypted size mismatch.",
                req.encrypted_invoice_size,
                encrypted.len()
            )],
        ));
    }
    if util::sha256_b64(&encrypted) != req.encrypted_invoice_hash {
        return Err(ApiError::bad(
            21403,
            "Nieprawidłowy skrót pliku.",
            vec!["encryptedInvoiceHash nie zgadza się z przesłaną treścią. / Encrypted hash mismatch.".into()],
        ));
    }
    let plain = key.and_then(|(k, iv)| aes_decrypt(&k, &iv, &encrypted));
    if let Some(plain) = &plain {
        if plain.len() as i64 != req.invoice_size {
            return Err(ApiError::bad(
                21402,
                "Nieprawidłowy rozmiar pliku.",
                vec![format!(
                    "invoiceSize = {}, a faktura ma {} bajtów. / Invoice size mismatch.",
                    req.invoice_size,
                    plain.len()
                )],
            ));
        }
        check_invoice_size(&state, &context_nip, plain)?;
        if util::sha256_b64(plain) != req.invoice_hash {
            return Err(ApiError::bad(
                21403,
                "Nieprawidłowy skrót pliku.",
                vec![
                    "invoiceHash nie zgadza się z odszyfrowaną fakturą. / Invoice hash mismatch."
                        .into(),
                ],
            ));
        }
    }
    let invoice_ref = record_invoice(
        &state,
        &reference,
        &context_nip,
        plain,
        req.invoice_hash,
        req.offline_mode,
        req.hash_of_corrected_invoice,
        attachments_allowed,
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"referenceNumber": invoice_ref})),
    )
        .into_response())
}

/// Verifies one decrypted invoice (FA(3) rules, duplicates) and records its outcome in the
/// session `reference`: the online `send` and the batch processing (batch.rs) share it.
/// `plain = None` means the invoice could not be decrypted (status 435). Returns the
/// invoice's reference number.
#[allow(clippy::too_many_arguments)]
pub async fn record_invoice(
    state: &AppState,
    reference: &str,
    context_nip: &str,
    plain: Option<Vec<u8>>,
    invoice_hash: String,
    offline_mode: bool,
    hash_of_corrected_invoice: Option<String>,
    attachments_allowed: bool,
) -> Result<String, ApiError> {
    let now = util::now();
    let delay = time::Duration::try_from(processing_delay(state)).unwrap_or(time::Duration::ZERO);
    // FA(3) validation compiles the XSD once per thread: keep it off the async workers.
    // The calendar day in Poland (Europe/Warsaw with summer time): "P_1 not in the
    // future" and the automatic offline mode are decided on it.
    let today = crate::clock::warsaw_today(now);
    let verified = match plain.clone() {
        None => Err(Rejection::new(
            435,
            vec!["Nie udało się odszyfrować faktury kluczem sesji. / The invoice could not be decrypted with the session key.".into()],
        )),
        Some(xml) => {
            let nip = context_nip.to_string();
            tokio::task::spawn_blocking(move || fa3check::verify(&xml, &nip, today, attachments_allowed))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
        }
    };
    // P_2 for the status list, even for rejected invoices (parsed before locking).
    let invoice_number = plain
        .as_deref()
        .and_then(|x| fa3check::extract(x).ok())
        .map(|f| f.invoice_number)
        .filter(|n| !n.is_empty());
    let invoice_ref = util::reference_number("EE");
    let mut st = state.lock();
    let store = &mut st.invoices;
    let outcome = match verified {
        Err(r) => Err(r),
        Ok(facts) => {
            if let Some((ksef, sess)) = store.duplicates.get(&facts.duplicate_key()).cloned() {
                let mut r = Rejection::new(
                    440,
                    vec![format!(
                        "Duplikat faktury. Faktura o numerze KSeF: {ksef} została już prawidłowo przesłana do systemu w sesji: {sess}"
                    )],
                );
                r.extensions = vec![
                    ("originalSessionReferenceNumber".into(), sess),
                    ("originalKsefNumber".into(), ksef),
                ];
                Err(r)
            } else {
                let acquisition = now + delay;
                let accepted_day = acquisition.date();
                // Automatic offline: P_1 earlier than the acceptance day
                // (ksef-docs offline/automatyczne-okreslanie-trybu-offline.md).
                let mode = if offline_mode || facts.issue_date().is_some_and(|d| d < today) {
                    "Offline"
                } else {
                    "Online"
                };
                let ksef_number = new_ksef_number(&facts.seller_nip, accepted_day);
                let record = InvoiceRecord {
                    ksef_number: ksef_number.clone(),
                    facts: facts.clone(),
                    invoice_hash: invoice_hash.clone(),
                    invoicing_date: now,
                    acquisition_date: acquisition,
                    permanent_storage_date: acquisition + time::Duration::milliseconds(1),
                    invoicing_mode: mode.into(),
                    hash_of_corrected_invoice: hash_of_corrected_invoice.clone(),
                    session_reference: reference.to_string(),
                    xml: Arc::new(plain.clone().unwrap_or_default()),
                };
                store.insert(record);
                if let Some(original) = &hash_of_corrected_invoice {
                    store.corrected.insert(original.clone());
                }
                Ok(Accepted {
                    ksef_number,
                    seller_nip: facts.seller_nip.clone(),
                    issue_date: facts.issue_date.clone(),
                    acquisition_date: acquisition,
                    permanent_storage_date: acquisition + time::Duration::milliseconds(1),
                    mode: mode.into(),
                })
            }
        }
    };
    let session = store
        .sessions
        .get_mut(reference)
        .ok_or_else(|| no_session(reference))?;
    session.updated = now;
    let ordinal = session.invoices.len() + 1;
    session.invoices.push(SessionInvoice {
        ordinal,
        reference: invoice_ref.clone(),
        invoice_hash,
        invoice_number,
        invoicing_date: now,
        ready_at: now + delay,
        outcome,
    });
    Ok(invoice_ref)
}

/// `/limits/context` → onlineSession sizes: 1 MB (10^6 B) without attachments, 3 MB with
/// (weryfikacja-faktury.md "Rozmiar pliku"); a larger invoice is refused at once.
fn check_invoice_size(state: &AppState, context_nip: &str, plain: &[u8]) -> Result<(), ApiError> {
    let limits = state.lock().limits.session(context_nip).online_session;
    let plain_max = u64::from(limits.max_invoice_size_in_mb) * 1_000_000;
    let attachment_max = u64::from(limits.max_invoice_with_attachment_size_in_mb) * 1_000_000;
    let size = plain.len() as u64;
    if size <= plain_max {
        return Ok(());
    }
    let has_attachment = fa3check::extract(plain).is_ok_and(|f| f.has_attachment);
    let (max_mb, what) = if has_attachment {
        (
            limits.max_invoice_with_attachment_size_in_mb,
            "z załącznikiem",
        )
    } else {
        (limits.max_invoice_size_in_mb, "bez załącznika")
    };
    if size
        > if has_attachment {
            attachment_max
        } else {
            plain_max
        }
    {
        return Err(ApiError::validation(format!(
            "Rozmiar faktury {what} ({size} B) przekracza dozwolony limit {max_mb} MB."
        )));
    }
    Ok(())
}

/// Technical correction rules (ksef-guide §11): the original must be an offline invoice of
/// this context rejected for technical reasons (not 410), corrected at most once.
fn check_correction(
    store: &InvoiceStore,
    context_nip: &str,
    original: &str,
    offline_mode: bool,
) -> Result<(), ApiError> {
    let refused = |detail: &str| {
        ApiError::bad(
            21167,
            "Status faktury nie pozwala na korektę techniczną.",
            vec![detail.to_string()],
        )
    };
    if !offline_mode {
        return Err(refused(
            "Korekta techniczna wymaga offlineMode = true. / A technical correction must be sent with offlineMode true.",
        ));
    }
    if store.corrected.contains(original) {
        return Err(ApiError::bad(
            21166,
            "Korekta techniczna niedostępna.",
            vec!["Faktura posiada już przetworzoną prawidłowo korektę techniczną.".into()],
        ));
    }
    let rejected = store
        .sessions
        .values()
        .filter(|s| s.context_nip == context_nip)
        .flat_map(|s| s.invoices.iter())
        .any(|i| {
            i.invoice_hash == original
                && matches!(&i.outcome, Err(r) if r.code != 410 && r.code != 405)
        });
    if !rejected {
        return Err(refused(
            "Nie znaleziono odrzuconej faktury o podanym skrócie. / No rejected invoice with that hash.",
        ));
    }
    Ok(())
}

/// `/v2` routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/sessions/online/{referenceNumber}/invoices", post(send))
}
