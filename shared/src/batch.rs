//! Batch sessions (`sesja-wsadowa.md`): many invoices in one encrypted ZIP, with the same
//! rule as the online send ([`crate::send`]): nothing twice, nothing lost.
//!
//! [`BatchSend`] is the whole send as it is stored: the invoices (each with its file name
//! in the ZIP and its `invoiceHash`), the session key, the package's and the parts' hashes,
//! and how far it got ([`BatchStage`]). It is written through [`BatchStore`] before every
//! network step, so a reload carries on where it stopped: a part already confirmed is not
//! uploaded again, an opened session is never opened a second time for the same invoices,
//! and the bytes uploaded after a reload are checked against the hashes declared at opening
//! (the ZIP and the encryption are deterministic for the same XML, key and IV).
//!
//! An opening whose answer was lost leaves at most an empty session that KSeF cancels when
//! its upload time runs out (no part of it was ever uploaded): the invoices go out only in
//! the session whose reference was recorded.

use serde::{Deserialize, Serialize};

use crate::api;
use crate::api::batch::open_batch::{self, FilePart, PartUpload};
use crate::crypto::{self, Encrypter, KeyUsage, SymmetricKey};
use crate::error::{Error, Result};
use crate::flow::{KsefClient, PublicKeys, ensure_public_keys, fetch_public_keys};
use crate::send::SendState;
use crate::transport::{Sleep, Transport};

/// A part is at most 100 MB before encryption (`sesja-wsadowa.md`).
pub const MAX_PART_BYTES: usize = 100_000_000;
/// At most 50 parts (open-api `BatchFileInfo.fileParts`).
pub const MAX_PARTS: usize = 50;
/// At most 10,000 invoices in a batch session (`limity/limity.md`).
pub const MAX_INVOICES: usize = 10_000;

/// A ZIP of `files` (name, bytes) with STORED (uncompressed) entries and CRC-32, no ZIP64:
/// what KSeF unpacks, without a compressor in the browser's wasm.
pub fn zip_stored(files: &[(String, &[u8])]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: usize) {
        out.extend_from_slice(&(v as u16).to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: usize) {
        out.extend_from_slice(&(v as u32).to_le_bytes());
    }
    // version 2.0, flags, method STORED, time 00:00, date 1980-01-01, crc, sizes, name length
    fn common(out: &mut Vec<u8>, crc: u32, size: usize, name: &str) {
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
        u32le(out, crc as usize);
        u32le(out, size);
        u32le(out, size);
        u16le(out, name.len());
        u16le(out, 0);
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, bytes) in files {
        let crc = crc32(bytes);
        let offset = out.len();
        u32le(&mut out, 0x0403_4b50);
        common(&mut out, crc, bytes.len(), name);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(bytes);
        u32le(&mut central, 0x0201_4b50);
        u16le(&mut central, 20);
        common(&mut central, crc, bytes.len(), name);
        // comment length, disk, internal and external attributes
        central.extend_from_slice(&[0; 10]);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size) = (out.len(), central.len());
    out.append(&mut central);
    u32le(&mut out, 0x0605_4b50);
    u32le(&mut out, 0);
    u16le(&mut out, files.len());
    u16le(&mut out, files.len());
    u32le(&mut out, cd_size);
    u32le(&mut out, cd_offset);
    u16le(&mut out, 0);
    out
}

/// CRC-32 (ISO-HDLC, as ZIP uses it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// How far a batch send got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStage {
    /// Package built and recorded; no session yet.
    #[default]
    Prepared,
    /// Session open; parts being uploaded (see [`BatchSend::uploaded`]).
    Open,
    /// Closed: KSeF processes the package.
    Closed,
    /// Every invoice has its final outcome.
    Done,
}

/// One invoice of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchItem {
    /// The caller's id (the draft's).
    pub id: String,
    /// Its file name in the ZIP.
    pub file_name: String,
    /// Base64 SHA-256 of the XML: how KSeF's per-invoice statuses are matched to it.
    pub invoice_hash: String,
    /// The exact XML sent.
    pub xml: String,
    /// Accepted or rejected, once known.
    #[serde(default)]
    pub outcome: Option<SendState>,
}

/// A batch send as it is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSend {
    /// Environment name, as the caller names it.
    pub env: String,
    /// The invoices, in ZIP order.
    pub items: Vec<BatchItem>,
    /// Base64 AES-256 key of the session. Secret (as secret as the XML stored beside it).
    pub key: String,
    /// Base64 IV.
    pub iv: String,
    /// Bytes of the ZIP per part before encryption.
    pub part_size: usize,
    /// Size of the ZIP.
    pub zip_size: u64,
    /// Base64 SHA-256 of the ZIP.
    pub zip_hash: String,
    /// The encrypted parts as declared at opening.
    pub parts: Vec<FilePart>,
    /// How far it got.
    pub stage: BatchStage,
    /// `…-SB-…`, once open.
    #[serde(default)]
    pub session_reference: Option<String>,
    /// Upload links, one per part, once open.
    #[serde(default)]
    pub uploads: Vec<PartUpload>,
    /// Which parts storage confirmed.
    #[serde(default)]
    pub uploaded: Vec<bool>,
}

impl BatchSend {
    /// Builds the package of `invoices` (id, FA(3) XML) in parts of at most `part_size` ZIP
    /// bytes, with a fresh session key, hashing and encrypting through `crypto`.
    pub async fn prepare<E: Encrypter + ?Sized>(
        env: &str,
        invoices: Vec<(String, String)>,
        part_size: usize,
        crypto: &mut E,
    ) -> Result<Self> {
        if invoices.is_empty() || invoices.len() > MAX_INVOICES {
            return Err(Error::InvalidInput(format!(
                "sesja wsadowa mieści od 1 do {MAX_INVOICES} faktur — zaznacz mniej / a batch holds 1 to {MAX_INVOICES} invoices: select fewer"
            )));
        }
        let key = SymmetricKey::generate(crypto)?;
        let mut items = Vec::with_capacity(invoices.len());
        for (n, (id, xml)) in invoices.into_iter().enumerate() {
            items.push(BatchItem {
                id,
                file_name: format!("faktura-{:05}.xml", n + 1),
                invoice_hash: crypto::base64_encode(&crypto.sha256(xml.as_bytes()).await?),
                xml,
                outcome: None,
            });
        }
        let mut batch = Self {
            env: env.to_owned(),
            items,
            key: crypto::base64_encode(&key.key),
            iv: crypto::base64_encode(&key.iv),
            part_size: part_size.clamp(1, MAX_PART_BYTES),
            zip_size: 0,
            zip_hash: String::new(),
            parts: Vec::new(),
            stage: BatchStage::Prepared,
            session_reference: None,
            uploads: Vec::new(),
            uploaded: Vec::new(),
        };
        let zip = batch.zip();
        if zip.len().div_ceil(batch.part_size) > MAX_PARTS || zip.len() as u64 >= u32::MAX as u64 {
            return Err(Error::InvalidInput(
                "paczka faktur jest za duża — wyślij je w kilku sesjach / the package is too large: send the invoices in several batches".into(),
            ));
        }
        batch.zip_size = zip.len() as u64;
        batch.zip_hash = crypto::base64_encode(&crypto.sha256(&zip).await?);
        for (i, part) in batch.encrypt(&zip, crypto).await?.iter().enumerate() {
            batch.parts.push(FilePart {
                ordinal_number: i as u32 + 1,
                file_size: part.len() as u64,
                file_hash: crypto::base64_encode(&crypto.sha256(part).await?),
            });
        }
        Ok(batch)
    }

    fn zip(&self) -> Vec<u8> {
        let files: Vec<(String, &[u8])> = self
            .items
            .iter()
            .map(|i| (i.file_name.clone(), i.xml.as_bytes()))
            .collect();
        zip_stored(&files)
    }

    fn session_key(&self) -> Result<SymmetricKey> {
        let bad = || Error::Decode("klucz sesji wsadowej / batch session key".into());
        Ok(SymmetricKey {
            key: crypto::base64_decode(&self.key)?
                .try_into()
                .map_err(|_| bad())?,
            iv: crypto::base64_decode(&self.iv)?
                .try_into()
                .map_err(|_| bad())?,
        })
    }

    async fn encrypt<E: Encrypter + ?Sized>(
        &self,
        zip: &[u8],
        crypto: &mut E,
    ) -> Result<Vec<Vec<u8>>> {
        let key = self.session_key()?;
        let mut parts = Vec::new();
        for chunk in zip.chunks(self.part_size) {
            parts.push(crypto.aes256_cbc_encrypt(&key, chunk).await?);
        }
        Ok(parts)
    }

    /// Parts storage confirmed, of all parts.
    pub fn parts_progress(&self) -> (usize, usize) {
        (
            self.uploaded.iter().filter(|u| **u).count(),
            self.parts.len(),
        )
    }

    /// Invoices with a final outcome, of all invoices.
    pub fn invoices_progress(&self) -> (usize, usize) {
        (
            self.items.iter().filter(|i| i.outcome.is_some()).count(),
            self.items.len(),
        )
    }

    /// Where invoice `id` stands, as the online send would show it: `Sending` until its
    /// outcome is known, then `Accepted` or `Rejected`.
    pub fn state_of(&self, id: &str) -> Option<SendState> {
        let item = self.items.iter().find(|i| i.id == id)?;
        Some(item.outcome.clone().unwrap_or_else(|| SendState::Sending {
            env: self.env.clone(),
            session_reference: self.session_reference.clone().unwrap_or_default(),
            invoice_hash: item.invoice_hash.clone(),
            xml: item.xml.clone(),
        }))
    }
}

/// Where the batch is kept (the browser: an IndexedDB record). Written before every network
/// step and after every answer.
#[allow(async_fn_in_trait)] // one thread (the browser) and tests; no Send bound
pub trait BatchStore {
    /// Stores `batch`; an error stops the step before anything leaves.
    async fn save(&mut self, batch: &BatchSend) -> Result<(), String>;
}

/// Runs a batch send under one login.
pub struct BatchSender<'a, T, S> {
    /// The client of the batch's environment.
    pub client: &'a KsefClient<T, S>,
    /// KSeF's public keys (fetched when missing).
    pub keys: &'a mut PublicKeys,
    /// Access token. Secret.
    pub access_token: &'a str,
    /// The time now (seconds since the epoch), for the public keys' validity.
    pub now_unix: u64,
}

impl<T: Transport, S: Sleep> BatchSender<'_, T, S> {
    /// Carries `batch` on from its stage to [`BatchStage::Done`], storing it after each step.
    /// On an error the stored batch is the last state reached; calling again continues from
    /// there and never opens a second session or uploads a confirmed part again.
    pub async fn advance<St: BatchStore, E: Encrypter + ?Sized>(
        &mut self,
        store: &mut St,
        batch: &mut BatchSend,
        crypto: &mut E,
    ) -> Result<()> {
        if batch.stage == BatchStage::Prepared {
            // Recorded BEFORE the session is opened.
            store.save(batch).await.map_err(Error::Storage)?;
            self.open(batch, crypto).await?;
            store.save(batch).await.map_err(Error::Storage)?;
        }
        if batch.stage == BatchStage::Open {
            self.upload(store, batch, crypto).await?;
            self.close(batch).await?;
            let _ = store.save(batch).await;
        }
        if batch.stage == BatchStage::Closed {
            self.results(batch).await?;
            let _ = store.save(batch).await;
        }
        Ok(())
    }

    async fn open<E: Encrypter + ?Sized>(
        &mut self,
        batch: &mut BatchSend,
        crypto: &mut E,
    ) -> Result<()> {
        let usage = KeyUsage::SymmetricKeyEncryption;
        ensure_public_keys(self.client, self.keys, usage, self.now_unix).await?;
        let key = batch.session_key()?;
        let mut refetched = false;
        let opened = loop {
            let cert = self.keys.select(usage, self.now_unix)?;
            let request = open_batch::Request {
                form_code: api::FormCode::fa3(),
                batch_file: open_batch::BatchFile {
                    file_size: batch.zip_size,
                    file_hash: batch.zip_hash.clone(),
                    file_parts: batch.parts.clone(),
                },
                encryption: crypto::encryption_info(cert, &key, crypto).await?,
                offline_mode: false,
            };
            match self.client.execute(&request, Some(self.access_token)).await {
                Err(Error::UnknownPublicKey) if !refetched => {
                    refetched = true;
                    *self.keys = fetch_public_keys(self.client).await?;
                }
                other => break other?,
            }
        };
        let mut uploads = opened.part_upload_requests;
        uploads.sort_by_key(|u| u.ordinal_number);
        if uploads.len() != batch.parts.len() {
            return Err(Error::Decode(
                "KSeF dał inną liczbę linków niż części / KSeF gave a link count other than the parts'".into(),
            ));
        }
        batch.uploaded = vec![false; uploads.len()];
        batch.uploads = uploads;
        batch.session_reference = Some(opened.reference_number);
        batch.stage = BatchStage::Open;
        Ok(())
    }

    async fn upload<St: BatchStore, E: Encrypter + ?Sized>(
        &mut self,
        store: &mut St,
        batch: &mut BatchSend,
        crypto: &mut E,
    ) -> Result<()> {
        if batch.uploaded.iter().all(|u| *u) {
            return Ok(());
        }
        let parts = batch.encrypt(&batch.zip(), crypto).await?;
        for (i, part) in parts.into_iter().enumerate() {
            if batch.uploaded[i] {
                continue;
            }
            // Never different bytes than declared at opening.
            if crypto::base64_encode(&crypto.sha256(&part).await?) != batch.parts[i].file_hash {
                return Err(Error::InvalidInput(
                    "część paczki różni się od zadeklarowanej — wyślij faktury od nowa / a package part differs from the one declared: send the invoices again".into(),
                ));
            }
            let upload = &batch.uploads[i];
            let h = &upload.headers;
            let headers = [
                (http::header::CONTENT_TYPE, &h.content_type),
                (BLOB_TYPE, &h.blob_type),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.clone()?)))
            .collect();
            self.client.put_storage(&upload.url, headers, part).await?;
            batch.uploaded[i] = true;
            let _ = store.save(batch).await;
        }
        Ok(())
    }

    async fn close(&mut self, batch: &mut BatchSend) -> Result<()> {
        let reference = batch.session_reference.clone().unwrap_or_default();
        let closed = self
            .client
            .execute(
                &api::batch::close_batch::Request {
                    reference_number: reference.clone(),
                },
                Some(self.access_token),
            )
            .await;
        if let Err(e) = closed {
            // A close whose answer was lost: KSeF says whether it is still open (100).
            if e.is_retryable() || self.status(&reference).await?.status.code == 100 {
                return Err(e);
            }
        }
        batch.stage = BatchStage::Closed;
        Ok(())
    }

    async fn status(&self, reference: &str) -> Result<api::sessions::status::Response> {
        self.client
            .execute(
                &api::sessions::status::Request {
                    reference_number: reference.to_owned(),
                },
                Some(self.access_token),
            )
            .await
    }

    /// Waits for the session to be processed, then gives every invoice its outcome from the
    /// session's invoice list (matched by `invoiceHash`).
    async fn results(&mut self, batch: &mut BatchSend) -> Result<()> {
        let reference = batch.session_reference.clone().unwrap_or_default();
        let poll = self.client.poll;
        let mut attempt = 0;
        let session = loop {
            let status = self.status(&reference).await?.status;
            if !(100..200).contains(&status.code) {
                break status;
            }
            if attempt >= poll.max_attempts {
                return Err(Error::StillProcessing {
                    what: format!("sesja wsadowa / batch session {reference}"),
                });
            }
            self.client.sleep_ms(poll.delay(attempt)).await;
            attempt += 1;
        };
        let mut listed = Vec::new();
        let mut continuation_token = None;
        for _ in 0..MAX_INVOICES / 1000 + 2 {
            let page = self
                .client
                .execute(
                    &api::sessions::invoices::Request {
                        reference_number: reference.clone(),
                        page_size: 1000,
                        continuation_token: continuation_token.take(),
                    },
                    Some(self.access_token),
                )
                .await?;
            listed.extend(page.invoices);
            match page.continuation_token {
                Some(t) if !t.is_empty() => continuation_token = Some(t),
                _ => break,
            }
        }
        let env = batch.env.clone();
        for item in &mut batch.items {
            let found = listed
                .iter()
                .find(|i| i.invoice_hash.as_deref() == Some(item.invoice_hash.as_str()));
            item.outcome = Some(match found {
                Some(i) if i.status.code == 200 && i.ksef_number.is_some() => SendState::Accepted {
                    env: env.clone(),
                    session_reference: reference.clone(),
                    invoice_reference: i.reference_number.clone(),
                    ksef_number: i.ksef_number.clone().unwrap_or_default(),
                    upo_url: i.upo_download_url.clone(),
                    acquisition_date: i.acquisition_date.clone(),
                    xml: item.xml.clone(),
                },
                Some(i) if i.status.code >= 400 => SendState::Rejected {
                    env: env.clone(),
                    session_reference: reference.clone(),
                    invoice_reference: Some(i.reference_number.clone()),
                    code: i.status.code,
                    description: i.status.description.clone(),
                    details: i.status.details.clone(),
                },
                Some(_) => {
                    return Err(Error::StillProcessing {
                        what: format!("faktura / invoice {}", item.file_name),
                    });
                }
                // Not in the list: the package itself was refused (405, 415, 430, 435, 440).
                None => SendState::Rejected {
                    env: env.clone(),
                    session_reference: reference.clone(),
                    invoice_reference: None,
                    code: session.code,
                    description: session.description.clone(),
                    details: session.details.clone(),
                },
            });
        }
        batch.stage = BatchStage::Done;
        Ok(())
    }
}

/// `x-ms-blob-type`, which KSeF's storage links ask for (built at compile time).
const BLOB_TYPE: http::HeaderName = http::HeaderName::from_static("x-ms-blob-type");
