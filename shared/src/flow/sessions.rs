//! Online sessions (§4): open, encrypt and send invoices, wait for their KSeF numbers and
//! UPOs, close.

use crate::crypto::Encrypter;

use super::{KsefClient, PublicKeys, ensure_public_keys, fetch_public_keys};
use crate::api::{self, NoContent, RawDocument};
use crate::crypto::{self, KeyUsage, SymmetricKey};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// An open online session and its AES key (keep it to send more invoices).
#[derive(Debug, Clone)]
pub struct OnlineSession {
    /// `…-SO-…`.
    pub reference_number: String,
    /// Expiry from KSeF.
    pub valid_until: Option<String>,
    /// AES key/IV used for every invoice of the session.
    pub key: SymmetricKey,
}

/// Opens an online FA(3) session with a fresh random AES key (§4.2); refetches keys on 21470.
pub async fn open_online_session<T: Transport, S: Sleep, R: Encrypter + ?Sized>(
    client: &KsefClient<T, S>,
    keys: &mut PublicKeys,
    access_token: &str,
    now_unix: u64,
    rng: &mut R,
) -> Result<OnlineSession> {
    ensure_public_keys(client, keys, KeyUsage::SymmetricKeyEncryption, now_unix).await?;
    let key = SymmetricKey::generate(rng)?;
    let mut refetched = false;
    loop {
        let cert = keys.select(KeyUsage::SymmetricKeyEncryption, now_unix)?;
        let request = api::sessions::open_online::Request {
            form_code: api::FormCode::fa3(),
            encryption: crypto::encryption_info(cert, &key, rng).await?,
        };
        match client.execute(&request, Some(access_token)).await {
            Ok(r) => {
                return Ok(OnlineSession {
                    reference_number: r.reference_number,
                    valid_until: r.valid_until,
                    key,
                });
            }
            Err(Error::UnknownPublicKey) if !refetched => {
                refetched = true;
                *keys = fetch_public_keys(client).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Builds the encrypted `send invoice` body for `invoice_xml` (hashes and sizes of both forms, §4.3),
/// hashing and encrypting through `crypto` (WebCrypto in the browser).
pub async fn encrypt_invoice<E: Encrypter + ?Sized>(
    session: &OnlineSession,
    invoice_xml: &[u8],
    offline_mode: bool,
    crypto: &mut E,
) -> Result<api::sessions::send_invoice::Request> {
    let invoice_hash = crypto::base64_encode(&crypto.sha256(invoice_xml).await?);
    let encrypted = crypto.aes256_cbc_encrypt(&session.key, invoice_xml).await?;
    let encrypted_hash = crypto::base64_encode(&crypto.sha256(&encrypted).await?);
    Ok(api::sessions::send_invoice::Request {
        session_reference_number: session.reference_number.clone(),
        invoice_hash,
        invoice_size: invoice_xml.len() as u64,
        encrypted_invoice_hash: encrypted_hash,
        encrypted_invoice_size: encrypted.len() as u64,
        encrypted_invoice_content: crypto::base64_encode(&encrypted),
        offline_mode,
        hash_of_corrected_invoice: None,
    })
}

/// A sent invoice: where to poll for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvoice {
    /// Session it was sent in.
    pub session_reference_number: String,
    /// `…-EE-…`.
    pub invoice_reference_number: String,
    /// Base64 SHA-256 of the XML (also used for KOD I).
    pub invoice_hash: String,
}

/// Sends one invoice in `session` (§4.3).
pub async fn send_invoice<T: Transport, S: Sleep, R: Encrypter + ?Sized>(
    client: &KsefClient<T, S>,
    access_token: &str,
    session: &OnlineSession,
    invoice_xml: &[u8],
    rng: &mut R,
) -> Result<SentInvoice> {
    if invoice_xml.is_empty() {
        return Err(Error::InvalidInput(
            "pusty plik faktury / empty invoice file".into(),
        ));
    }
    let request = encrypt_invoice(session, invoice_xml, false, rng).await?;
    let invoice_hash = request.invoice_hash.clone();
    let r = client.execute(&request, Some(access_token)).await?;
    Ok(SentInvoice {
        session_reference_number: session.reference_number.clone(),
        invoice_reference_number: r.reference_number,
        invoice_hash,
    })
}

/// Sends an invoice reusing `session` when open; opens a new one when there is none
/// or KSeF says it expired/closed (21173/21180).
pub async fn send_invoice_reusing_session<T: Transport, S: Sleep, R: Encrypter + ?Sized>(
    client: &KsefClient<T, S>,
    keys: &mut PublicKeys,
    access_token: &str,
    session: &mut Option<OnlineSession>,
    invoice_xml: &[u8],
    now_unix: u64,
    rng: &mut R,
) -> Result<SentInvoice> {
    if let Some(open) = session.as_ref() {
        match send_invoice(client, access_token, open, invoice_xml, rng).await {
            Err(Error::NoSession { .. }) => *session = None,
            other => return other,
        }
    }
    let fresh = open_online_session(client, keys, access_token, now_unix, rng).await?;
    let sent = send_invoice(client, access_token, &fresh, invoice_xml, rng).await;
    *session = Some(fresh);
    sent
}

/// Final invoice status with the KSeF number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedInvoice {
    /// KSeF number.
    pub ksef_number: String,
    /// Storage link to the UPO, if KSeF gave one.
    pub upo_download_url: Option<String>,
    /// Acquisition date.
    pub acquisition_date: Option<String>,
}

/// Polls the invoice status with backoff until accepted (200) or rejected (≥ 400) (§4.6).
pub async fn wait_for_invoice<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    sent: &SentInvoice,
) -> Result<AcceptedInvoice> {
    let request = api::sessions::invoice_status::Request {
        session_reference_number: sent.session_reference_number.clone(),
        invoice_reference_number: sent.invoice_reference_number.clone(),
    };
    client
        .poll_until(
            &request,
            Some(access_token),
            || format!("faktura / invoice {}", sent.invoice_reference_number),
            |r| match r.status.code {
                200 => {
                    let ksef_number = r.ksef_number.ok_or_else(|| {
                        Error::Decode(
                            "status 200 bez numeru KSeF / status 200 without a KSeF number".into(),
                        )
                    })?;
                    Ok(Some(AcceptedInvoice {
                        ksef_number,
                        upo_download_url: r.upo_download_url,
                        acquisition_date: r.acquisition_date,
                    }))
                }
                100..=199 => Ok(None),
                code => Err(Error::InvoiceRejected {
                    code,
                    description: r.status.description,
                    details: r.status.details,
                }),
            },
        )
        .await
}

/// Invoice UPO XML by invoice reference (§4.8).
pub async fn invoice_upo<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    sent: &SentInvoice,
) -> Result<RawDocument> {
    client
        .execute(
            &api::sessions::invoice_upo::Request {
                session_reference_number: sent.session_reference_number.clone(),
                invoice_reference_number: sent.invoice_reference_number.clone(),
            },
            Some(access_token),
        )
        .await
}

/// Closes the session (§4.4).
pub async fn close_online_session<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    session: &OnlineSession,
) -> Result<()> {
    client
        .execute(
            &api::sessions::close_online::Request {
                reference_number: session.reference_number.clone(),
            },
            Some(access_token),
        )
        .await
        .map(|NoContent| ())
}

/// Polls a closed session until processed and returns its UPO page links (§4.5).
pub async fn wait_for_session_upo<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    access_token: &str,
    session_reference_number: &str,
) -> Result<Vec<api::sessions::status::UpoPage>> {
    let request = api::sessions::status::Request {
        reference_number: session_reference_number.to_owned(),
    };
    client
        .poll_until(
            &request,
            Some(access_token),
            || format!("sesja / session {session_reference_number}"),
            |r| match r.status.code {
                200 => Ok(Some(r.upo.map(|u| u.pages).unwrap_or_default())),
                100..=199 => Ok(None),
                code => Err(Error::SessionFailed {
                    code,
                    description: r.status.description,
                }),
            },
        )
        .await
}
