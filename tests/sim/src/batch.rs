//! Long on purpose: one capability, the batch session from open through part upload and close to background processing, all sharing the private `Upload`/`Part` bookkeeping.
//!
//! Batch sessions (ksef-docs `sesja-wsadowa.md`, open-api `/sessions/batch`): the client
//! declares an encrypted ZIP split into parts, uploads each part to its presigned link
//! (`PUT {public_url}/storage/batch/{session}/parts/{n}?sig=…`, streamed to a temporary
//! file, so 100 MB parts never sit in memory), then closes the session. Processing then
//! decrypts each part (AES-256-CBC, the session key and IV), joins them, checks the
//! package's declared size and SHA-256, unpacks the ZIP and verifies every invoice as the
//! online session does ([`crate::sessions::record_invoice`]): per-invoice statuses, KSeF
//! numbers and the session UPO come through the usual `/sessions/{ref}/...` endpoints.
//!
//! The session itself is an [`crate::sessions::OnlineSession`] with `batch` set (saved in
//! the state file once processed); the upload bookkeeping ([`BatchStore`]) and the part
//! files are not saved.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::{Auth, Permission};
use crate::error::ApiError;
use crate::server::JsonBody;
use crate::sessions::{EncryptionIn, OnlineSession, SessionKey, no_session, unwrap_key};
use crate::state::AppState;
use crate::upo::Authentication;
use crate::util;

const WRITE: [Permission; 2] = [Permission::InvoiceWrite, Permission::EnforcementOperations];
/// At most 50 parts (open-api `BatchFileInfo.fileParts`).
pub const MAX_PARTS: usize = 50;
/// A part is at most 100 MB before encryption (+ one AES block of padding).
pub const MAX_PART_BYTES: u64 = 100_000_000 + 16;
/// The whole package is at most 5 GB (open-api `BatchFileInfo.fileSize`).
pub const MAX_PACKAGE_BYTES: u64 = 5_000_000_000;
/// Invoices per batch session (ksef-docs `limity/limity.md`).
pub const MAX_INVOICES: usize = 10_000;
/// Upload time: 20 minutes per declared part, for every part (`sesja-wsadowa.md`).
const UPLOAD_TIME_PER_PART: time::Duration = time::Duration::minutes(20);
const SESSION_TTL: time::Duration = time::Duration::hours(12);

/// The package state of a batch session (`OnlineSession.batch`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchProgress {
    /// Parts may be uploaded until then (parts × 20 min from the opening).
    pub upload_deadline: OffsetDateTime,
    /// The package was processed (all invoices recorded or a package error set).
    pub processed: bool,
    /// A package-level error `(code, description, detail)`: 405, 415, 420, 430, 435.
    pub failure: Option<(u16, String, Option<String>)>,
    pub offline_mode: bool,
}

/// One declared part and, once uploaded, where its bytes are.
#[derive(Debug, Clone)]
struct Part {
    size: u64,
    hash: String,
    signature: String,
    file: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Upload {
    context_nip: String,
    key: Option<SessionKey>,
    package_size: u64,
    package_hash: String,
    parts: Vec<Part>,
    deadline: OffsetDateTime,
}

/// Upload bookkeeping of open batch sessions (field `SimState.batch`; not saved).
#[derive(Debug, Default)]
pub struct BatchStore {
    uploads: HashMap<String, Upload>,
}

fn parts_dir() -> PathBuf {
    std::env::temp_dir().join(format!("ksef-sim-batch-{}", std::process::id()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormCodeIn {
    system_code: String,
    schema_version: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartIn {
    ordinal_number: i64,
    file_size: i64,
    file_hash: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchFileIn {
    file_size: i64,
    file_hash: String,
    #[serde(default)]
    compression_type: Option<String>,
    file_parts: Vec<PartIn>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenRequest {
    form_code: FormCodeIn,
    batch_file: BatchFileIn,
    encryption: EncryptionIn,
    #[serde(default)]
    offline_mode: bool,
}

fn part_size_error(detail: String) -> ApiError {
    ApiError::bad(21157, "Nieprawidłowy rozmiar części pakietu.", vec![detail])
}

fn is_sha256_b64(h: &str) -> bool {
    util::b64_decode(h).is_some_and(|b| b.len() == 32)
}

/// `POST /sessions/batch` → 201 `{referenceNumber, partUploadRequests}`.
async fn open(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<OpenRequest>,
) -> Result<Response, ApiError> {
    auth.require(&WRITE)?;
    let fc = &req.form_code;
    if (
        fc.system_code.as_str(),
        fc.schema_version.as_str(),
        fc.value.as_str(),
    ) != ("FA (3)", "1-0E", "FA")
    {
        return Err(ApiError::validation(format!(
            "Wskazany kod formularza nie jest wspierany ({} {} {}). / Unsupported formCode; use FA (3), 1-0E, FA.",
            fc.system_code, fc.schema_version, fc.value
        )));
    }
    let bf = &req.batch_file;
    match bf.compression_type.as_deref() {
        None | Some("Zip") => {}
        Some(other) => {
            return Err(ApiError::validation(format!(
                "Symulator przyjmuje paczki Zip (compressionType {other} nie jest obsługiwany). / Only Zip packages are simulated."
            )));
        }
    }
    if bf.file_size < 1 || bf.file_size as u64 > MAX_PACKAGE_BYTES {
        return Err(ApiError::validation(
            "batchFile.fileSize musi mieć od 1 bajta do 5 GB. / The package must be 1 byte to 5 GB.",
        ));
    }
    if !is_sha256_b64(&bf.file_hash) {
        return Err(ApiError::validation(
            "batchFile.fileHash musi być skrótem SHA-256 w Base64.",
        ));
    }
    if bf.file_parts.is_empty() {
        return Err(ApiError::validation("fileParts nie może być puste."));
    }
    if bf.file_parts.len() > MAX_PARTS {
        return Err(ApiError::bad(
            21161,
            "Przekroczono dozwoloną liczbę części pakietu.",
            vec![format!(
                "Zadeklarowano {} części; dozwolone {MAX_PARTS}.",
                bf.file_parts.len()
            )],
        ));
    }
    let mut ordinals: Vec<i64> = bf.file_parts.iter().map(|p| p.ordinal_number).collect();
    ordinals.sort_unstable();
    if ordinals != (1..=bf.file_parts.len() as i64).collect::<Vec<_>>() {
        return Err(ApiError::validation(
            "ordinalNumber części muszą być kolejnymi liczbami od 1. / Part ordinals must be 1..n.",
        ));
    }
    for p in &bf.file_parts {
        if p.file_size < 1 || p.file_size as u64 > MAX_PART_BYTES {
            return Err(part_size_error(format!(
                "Część {} ma {} bajtów; dozwolone 1..{MAX_PART_BYTES} (100 MB przed szyfrowaniem).",
                p.ordinal_number, p.file_size
            )));
        }
        if !is_sha256_b64(&p.file_hash) {
            return Err(ApiError::validation(format!(
                "fileHash części {} musi być skrótem SHA-256 w Base64.",
                p.ordinal_number
            )));
        }
    }
    let key = unwrap_key(&state, &req.encryption)?;
    let now = util::now();
    let reference = util::reference_number("SB");
    let count = bf.file_parts.len();
    let deadline = now + UPLOAD_TIME_PER_PART * count as i32;
    let mut parts: Vec<Part> = (0..count)
        .map(|_| Part {
            size: 0,
            hash: String::new(),
            signature: util::random_hex(16),
            file: None,
        })
        .collect();
    for p in &bf.file_parts {
        let slot = &mut parts[p.ordinal_number as usize - 1];
        slot.size = p.file_size as u64;
        slot.hash = p.file_hash.clone();
    }
    let upload_requests: Vec<_> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "ordinalNumber": i + 1,
                "method": "PUT",
                "url": format!("{}/storage/batch/{reference}/parts/{}?sig={}", state.public_url, i + 1, p.signature),
                "headers": {"Content-Type": "application/octet-stream", "x-ms-blob-type": "BlockBlob"},
            })
        })
        .collect();
    let authentication = match (&auth.ksef_token_ref, &auth.auth_document_hash) {
        (Some(r), _) => Authentication::KsefToken(r.clone()),
        (None, Some(h)) => Authentication::SignedDocumentHash(h.clone()),
        (None, None) => {
            Authentication::SignedDocumentHash(util::sha256_b64(auth.auth_reference.as_bytes()))
        }
    };
    let session = OnlineSession {
        reference: reference.clone(),
        context_kind: crate::sessions::upo_context_kind(&auth.context.kind).into(),
        context_nip: auth.context.value.clone(),
        authentication,
        auth_reference: auth.auth_reference.clone(),
        key,
        system_code: fc.system_code.clone(),
        created: now,
        updated: now,
        valid_until: now + SESSION_TTL,
        closed: None,
        invoices: Vec::new(),
        upo_pages: Vec::new(),
        batch: Some(BatchProgress {
            upload_deadline: deadline,
            processed: false,
            failure: None,
            offline_mode: req.offline_mode,
        }),
    };
    let mut st = state.lock();
    st.invoices.sessions.insert(reference.clone(), session);
    st.batch.uploads.insert(
        reference.clone(),
        Upload {
            context_nip: auth.context.value.clone(),
            key,
            package_size: bf.file_size as u64,
            package_hash: bf.file_hash.clone(),
            parts,
            deadline,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({"referenceNumber": reference, "partUploadRequests": upload_requests})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct SignatureQuery {
    sig: Option<String>,
}

fn storage_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{}</Code><Message>{message}</Message></Error>",
            status.canonical_reason().unwrap_or("Error")
        ),
    )
        .into_response()
}

/// Reads the next data chunk of a streamed body.
async fn next_chunk(body: &mut Body) -> Option<Result<axum::body::Bytes, axum::Error>> {
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await?;
        match frame {
            Ok(f) => {
                if let Ok(data) = f.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// `PUT /storage/batch/{session}/parts/{ordinal}?sig=` → 201. No bearer token (the link is
/// the key); streamed to a file; 400 for a size or hash other than declared, 401 for a wrong
/// link, 403 after the upload time.
async fn upload_part(
    State(state): State<AppState>,
    Path((session, ordinal)): Path<(String, usize)>,
    Query(q): Query<SignatureQuery>,
    req: axum::extract::Request,
) -> Response {
    let declared = {
        let st = state.lock();
        let Some(upload) = st.batch.uploads.get(&session) else {
            return storage_error(StatusCode::NOT_FOUND, "The specified blob does not exist.");
        };
        let Some(part) = ordinal.checked_sub(1).and_then(|i| upload.parts.get(i)) else {
            return storage_error(StatusCode::NOT_FOUND, "The specified blob does not exist.");
        };
        if q.sig.as_deref() != Some(part.signature.as_str()) {
            return storage_error(
                StatusCode::UNAUTHORIZED,
                "Server failed to authenticate the request.",
            );
        }
        if util::now() > upload.deadline {
            return storage_error(
                StatusCode::FORBIDDEN,
                "Upload time for this batch session has expired.",
            );
        }
        part.clone()
    };
    let dir = parts_dir();
    // Plain file writes: each chunk goes to the page cache quickly (tokio has no `fs` here).
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return ApiError::Internal(e.to_string()).into_response();
    }
    let path = dir.join(format!("{session}-{ordinal}.part"));
    let mut file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => return ApiError::Internal(e.to_string()).into_response(),
    };
    let mut body = req.into_body();
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let fail = |status, message: &str| {
        let _ = std::fs::remove_file(&path);
        storage_error(status, message)
    };
    while let Some(chunk) = next_chunk(&mut body).await {
        let Ok(chunk) = chunk else {
            return fail(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            );
        };
        size += chunk.len() as u64;
        if size > declared.size {
            return fail(
                StatusCode::BAD_REQUEST,
                "The part is larger than its declared fileSize.",
            );
        }
        hasher.update(&chunk);
        if file.write_all(&chunk).is_err() {
            return fail(StatusCode::INTERNAL_SERVER_ERROR, "Write failed.");
        }
    }
    if file.flush().is_err() {
        return fail(StatusCode::INTERNAL_SERVER_ERROR, "Write failed.");
    }
    if size != declared.size {
        return fail(
            StatusCode::BAD_REQUEST,
            "The part size differs from its declared fileSize.",
        );
    }
    if util::b64(&hasher.finalize()) != declared.hash {
        return fail(
            StatusCode::BAD_REQUEST,
            "The part SHA-256 differs from its declared fileHash.",
        );
    }
    let mut st = state.lock();
    match st
        .batch
        .uploads
        .get_mut(&session)
        .and_then(|u| u.parts.get_mut(ordinal - 1))
    {
        Some(part) => part.file = Some(path),
        None => {
            let _ = std::fs::remove_file(&path);
            return storage_error(StatusCode::NOT_FOUND, "The specified blob does not exist.");
        }
    }
    StatusCode::CREATED.into_response()
}

/// `POST /sessions/batch/{referenceNumber}/close` → 204; processing starts.
async fn close(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.require(&WRITE)?;
    let now = util::now();
    let upload = {
        let mut st = state.lock();
        let session = st
            .invoices
            .sessions
            .get(&reference)
            .filter(|s| s.context_nip == auth.context.value && s.batch.is_some())
            .ok_or_else(|| no_session(&reference))?;
        if session.closed.is_some() {
            return Err(ApiError::bad(
                21180,
                "Status sesji nie pozwala na wykonanie operacji.",
                vec!["Sesja jest już zamknięta. / The session is already closed.".into()],
            ));
        }
        let upload = st
            .batch
            .uploads
            .get(&reference)
            .filter(|u| u.context_nip == auth.context.value)
            .cloned()
            .ok_or_else(|| no_session(&reference))?;
        if now > upload.deadline {
            return Err(ApiError::bad(
                21208,
                "Czas oczekiwania na requesty upload lub finish został przekroczony.",
                vec!["Sesja anulowana, przekroczony czas wysyłki.".into()],
            ));
        }
        if let Some(missing) = upload.parts.iter().position(|p| p.file.is_none()) {
            return Err(ApiError::bad(
                21205,
                "Pakiet nie może być pusty.",
                vec![format!(
                    "Nie przesłano zadeklarowanej '{}' części pliku.",
                    missing + 1
                )],
            ));
        }
        st.batch.uploads.remove(&reference);
        if let Some(s) = st.invoices.sessions.get_mut(&reference) {
            s.closed = Some(now);
            s.updated = now;
        }
        upload
    };
    tokio::spawn(process(state, reference, upload));
    Ok(StatusCode::NO_CONTENT)
}

/// The status text of a package-level error (open-api `SessionStatusResponse`).
pub fn failure_description(code: u16) -> &'static str {
    match code {
        405 => "Błąd weryfikacji poprawności dostarczonych elementów paczki",
        415 => "Błąd odszyfrowania dostarczonego klucza",
        420 => "Przekroczony limit faktur w sesji",
        430 => "Błąd dekompresji pierwotnego archiwum",
        435 => "Błąd odszyfrowania zaszyfrowanych części archiwum",
        _ => "Nieznany błąd",
    }
}

/// Why a package could not be processed: `(code, description, detail)`.
type PackageError = (u16, String, Option<String>);

fn package_error(code: u16, description: &str, detail: &str) -> PackageError {
    (
        code,
        description.to_string(),
        (!detail.is_empty()).then(|| detail.to_string()),
    )
}

/// Decrypts and joins the parts, checks the package and unpacks the ZIP's invoice files.
fn unpack(upload: &Upload) -> Result<Vec<(String, Vec<u8>)>, PackageError> {
    let Some((key, iv)) = upload.key else {
        return Err(package_error(
            415,
            "Błąd odszyfrowania dostarczonego klucza",
            "",
        ));
    };
    let mut package = Vec::with_capacity(upload.package_size as usize);
    for (i, part) in upload.parts.iter().enumerate() {
        let path = part.file.as_ref().ok_or_else(|| {
            package_error(
                405,
                "Błąd weryfikacji poprawności dostarczonych elementów paczki",
                "",
            )
        })?;
        let encrypted = std::fs::read(path).map_err(|_| {
            package_error(
                405,
                "Błąd weryfikacji poprawności dostarczonych elementów paczki",
                &format!("Nie można odczytać części {}.", i + 1),
            )
        })?;
        let plain = crate::export::aes_decrypt(&key, &iv, &encrypted).ok_or_else(|| {
            package_error(
                435,
                "Błąd odszyfrowania zaszyfrowanych części archiwum",
                &format!("Część {} nie daje się odszyfrować kluczem sesji.", i + 1),
            )
        })?;
        package.extend_from_slice(&plain);
    }
    if package.len() as u64 != upload.package_size
        || util::sha256_b64(&package) != upload.package_hash
    {
        return Err(package_error(
            405,
            "Błąd weryfikacji poprawności dostarczonych elementów paczki",
            "Rozmiar lub skrót SHA-256 paczki nie zgadza się z batchFile. / The package size or hash differs from batchFile.",
        ));
    }
    let decompression =
        |why: String| package_error(430, "Błąd dekompresji pierwotnego archiwum", &why);
    let mut archive =
        zip::ZipArchive::new(Cursor::new(package)).map_err(|e| decompression(e.to_string()))?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| decompression(e.to_string()))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| decompression(e.to_string()))?;
        files.push((name, bytes));
    }
    if files.len() > MAX_INVOICES {
        return Err(package_error(
            420,
            "Przekroczony limit faktur w sesji",
            &format!(
                "Paczka zawiera {} faktur; limit {MAX_INVOICES}.",
                files.len()
            ),
        ));
    }
    Ok(files)
}

/// Processes a closed batch session in the background.
async fn process(state: AppState, reference: String, upload: Upload) {
    // Invoices with attachments (Zalacznik) need the context's consent (/testdata/attachment).
    let (offline_mode, attachments_allowed) = {
        let st = state.lock();
        let now = util::now();
        (
            st.invoices
                .sessions
                .get(&reference)
                .and_then(|s| s.batch.as_ref())
                .is_some_and(|b| b.offline_mode),
            st.testdata
                .attachments
                .get(&upload.context_nip)
                .is_some_and(|c| c.revoked.is_none_or(|r| r > now)),
        )
    };
    let task_upload = upload.clone();
    let unpacked = tokio::task::spawn_blocking(move || unpack(&task_upload))
        .await
        .unwrap_or_else(|e| Err(package_error(500, "Nieznany błąd (500)", &e.to_string())));
    for part in &upload.parts {
        if let Some(path) = &part.file {
            let _ = std::fs::remove_file(path);
        }
    }
    let failure = match unpacked {
        Err(e) => Some(e),
        Ok(files) => {
            for (_name, xml) in files {
                let hash = util::sha256_b64(&xml);
                if let Err(e) = crate::sessions::record_invoice(
                    &state,
                    &reference,
                    &upload.context_nip,
                    Some(xml),
                    hash,
                    offline_mode,
                    None,
                    attachments_allowed,
                )
                .await
                {
                    tracing::warn!("batch {reference}: {e}");
                }
            }
            None
        }
    };
    let mut st = state.lock();
    if let Some(s) = st.invoices.sessions.get_mut(&reference) {
        s.updated = util::now();
        if let Some(b) = s.batch.as_mut() {
            b.failure = failure;
            b.processed = true;
        }
    }
    state.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/batch", post(open))
        .route("/sessions/batch/{referenceNumber}/close", post(close))
}

/// The presigned part links (no bearer token, no body size limit: parts are streamed).
pub fn storage_routes() -> Router<AppState> {
    Router::new().route(
        "/storage/batch/{session}/parts/{ordinal}",
        put(upload_part).layer(axum::extract::DefaultBodyLimit::disable()),
    )
}
