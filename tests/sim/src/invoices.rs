//! Reading invoices: `POST /invoices/query/metadata`, `GET /invoices/ksef/{ksefNumber}`,
//! async exports (ksef-guide §7), plus seeding purchase invoices (`/sim/inbox`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use crate::auth::{Auth, Permission};
use crate::error::ApiError;
use crate::export;
use crate::fa3check;
use crate::ksef_number::new_ksef_number;
use crate::query::{self, DateType, Filters, InvoiceRecord, RECORD_CAP};
use crate::server::JsonBody;
use crate::sessions::{EncryptionIn, processing_delay, unwrap_key};
use crate::state::AppState;
use crate::upo::xml_response;
use crate::util::{self, rfc3339};

const READ: [Permission; 1] = [Permission::InvoiceRead];
/// Export parts before encryption (real KSeF: 50 MB; small here so multi-part shows up).
const EXPORT_PART_SIZE: usize = 64 * 1024;

/// One export job.
pub struct ExportJob {
    pub context_nip: String,
    pub created: OffsetDateTime,
    pub ready_at: OffsetDateTime,
    /// `Err(code, description, details)` for failed exports (415 key error, 420 HWM).
    pub result: Result<ExportResult, (u16, &'static str, Option<&'static str>)>,
}

pub struct ExportResult {
    pub package: export::Package,
    pub reference: String,
    pub is_truncated: bool,
    pub date_type: DateType,
    pub last_date: Option<(String, String)>,
    pub hwm: Option<OffsetDateTime>,
    pub compression: export::Compression,
}

/// `permanentStorageHwmDate` at `now`: KSeF stores invoices asynchronously, so the point up
/// to which the set is complete trails the present (pobieranie-faktur/hwm.md); new
/// invoices get a later `permanentStorageDate`, so nothing ever lands at or before it.
pub fn hwm(state: &AppState, now: OffsetDateTime) -> OffsetDateTime {
    now - time::Duration::try_from(state.config.hwm_lag).unwrap_or(time::Duration::ZERO)
}

/// Invoices already through processing (`acquisitionDate` reached).
fn visible(records: &[InvoiceRecord], now: OffsetDateTime) -> impl Iterator<Item = &InvoiceRecord> {
    records.iter().filter(move |r| r.acquisition_date <= now)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryParams {
    sort_order: Option<String>,
    page_offset: Option<String>,
    page_size: Option<String>,
}

/// `POST /invoices/query/metadata`.
async fn query_metadata(
    State(state): State<AppState>,
    auth: Auth,
    Query(params): Query<QueryParams>,
    JsonBody(filters): JsonBody<Filters>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&READ)?;
    let descending = match params.sort_order.as_deref() {
        None | Some("Asc") => false,
        Some("Desc") => true,
        Some(o) => {
            return Err(ApiError::validation(format!(
                "sortOrder musi być Asc lub Desc (jest {o})."
            )));
        }
    };
    let offset = match params.page_offset.as_deref() {
        None => 0,
        Some(o) => o
            .parse::<usize>()
            .map_err(|_| ApiError::validation("pageOffset musi być liczbą ≥ 0."))?,
    };
    let size = match params.page_size.as_deref() {
        None => 10,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (10..=250).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(
                    "pageSize musi być z zakresu 10..250. / pageSize must be 10..250.",
                ));
            }
        },
    };
    let now = util::now();
    let hwm = hwm(&state, now);
    let window = query::window(&filters.date_range, now, hwm).map_err(query_error)?;
    let st = state.lock();
    let hits = query::select(
        visible(&st.invoices.invoices, now),
        &auth.context.value,
        &filters,
        &window,
        descending,
    );
    let page = query::page(&hits, offset, size, RECORD_CAP);
    Ok(axum::Json(json!({
        "hasMore": page.has_more,
        "isTruncated": page.is_truncated,
        "permanentStorageHwmDate": if window.kind == DateType::PermanentStorage { json!(rfc3339(hwm)) } else { Value::Null },
        "invoices": page.records.iter().map(|r| r.metadata()).collect::<Vec<_>>(),
    })))
}

fn query_error((code, detail): query::QueryError) -> ApiError {
    if code == 21405 {
        ApiError::validation(detail)
    } else {
        ApiError::bad(
            code,
            "Zakres filtrowania wykracza poza dostępny zakres danych.",
            vec![detail],
        )
    }
}

/// `GET /invoices/ksef/{ksefNumber}` — the raw XML, if the context is a party to it.
async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Path(ksef): Path<String>,
) -> Result<Response, ApiError> {
    auth.require(&READ)?;
    let now = util::now();
    let st = state.lock();
    let nip = &auth.context.value;
    let record = st
        .invoices
        .by_ksef
        .get(&ksef)
        .and_then(|i| st.invoices.invoices.get(*i))
        .filter(|r| {
            [
                query::SubjectType::Subject1,
                query::SubjectType::Subject2,
                query::SubjectType::Subject3,
                query::SubjectType::SubjectAuthorized,
            ]
            .into_iter()
            .any(|s| query::matches_subject(r, s, nip))
        })
        .ok_or_else(|| {
            ApiError::bad(
                21164,
                "Faktura o podanym identyfikatorze nie istnieje.",
                vec![format!(
                    "Nie znaleziono faktury {ksef}. / Invoice not found."
                )],
            )
        })?;
    if record.acquisition_date > now {
        return Err(ApiError::bad(
            21165,
            "Faktura o podanym numerze KSeF nie jest jeszcze dostępna.",
            vec!["Spróbuj ponownie za chwilę. / Try again shortly.".into()],
        ));
    }
    Ok(xml_response(record.xml.to_vec()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest {
    encryption: EncryptionIn,
    filters: Filters,
    #[serde(default)]
    only_metadata: bool,
    #[serde(default)]
    compression_type: export::Compression,
}

/// `POST /invoices/exports` → 201.
async fn start_export(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(req): JsonBody<ExportRequest>,
) -> Result<Response, ApiError> {
    auth.require(&READ)?;
    let key = unwrap_key(&state, &req.encryption)?;
    let now = util::now();
    let hwm = hwm(&state, now);
    // `from` after the HWM with restrictToPermanentStorageHwmDate: not a 400 but the
    // export's asynchronous status 420 (open-api InvoiceExportStatusResponse).
    let window = match query::window(&req.filters.date_range, now, hwm) {
        Ok(w) => Ok(w),
        Err((21183, _)) => Err((
            420,
            "Zakres filtrowania wykracza poza dostępny zakres danych",
            Some(query::HWM_DETAIL),
        )),
        Err(e) => return Err(query_error(e)),
    };
    let reference = util::reference_number("EH");
    let delay = time::Duration::try_from(processing_delay(&state)).unwrap_or(time::Duration::ZERO);
    let mut st = state.lock();
    // At most 10 exports in progress per context (21182).
    let running = st
        .invoices
        .exports
        .values()
        .filter(|j| j.context_nip == auth.context.value && now < j.ready_at)
        .count();
    if running >= 10 {
        return Err(ApiError::bad(
            21182,
            "Osiągnięto limit trwających eksportów.",
            vec!["Poczekaj na zakończenie trwających eksportów. / Wait for running exports to finish.".into()],
        ));
    }
    let result = match (key, window) {
        (None, _) => Err((415, "Błąd odszyfrowania dostarczonego klucza", None)),
        (_, Err(e)) => Err(e),
        (Some((k, iv)), Ok(window)) => {
            let hits = query::select(
                visible(&st.invoices.invoices, now),
                &auth.context.value,
                &req.filters,
                &window,
                false,
            );
            let is_truncated = hits.len() > RECORD_CAP;
            let taken: Vec<&InvoiceRecord> = hits.into_iter().take(RECORD_CAP).collect();
            let last_date = taken.last().map(|r| match window.kind {
                DateType::Issue => ("lastIssueDate".to_string(), r.facts.issue_date.clone()),
                DateType::Invoicing => ("lastInvoicingDate".to_string(), rfc3339(r.invoicing_date)),
                DateType::PermanentStorage => (
                    "lastPermanentStorageDate".to_string(),
                    rfc3339(r.permanent_storage_date),
                ),
            });
            export::build_as(
                req.compression_type,
                &taken,
                req.only_metadata,
                &k,
                &iv,
                EXPORT_PART_SIZE,
            )
            .map(|package| ExportResult {
                package,
                reference: reference.clone(),
                is_truncated,
                date_type: window.kind,
                last_date,
                hwm: (window.kind == DateType::PermanentStorage).then_some(hwm),
                compression: req.compression_type,
            })
            .map_err(|_| (500, "Nieznany błąd", None))
        }
    };
    st.invoices.exports.insert(
        reference.clone(),
        ExportJob {
            context_nip: auth.context.value.clone(),
            created: now,
            ready_at: now + delay,
            result,
        },
    );
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"referenceNumber": reference})),
    )
        .into_response())
}

/// `GET /invoices/exports/{referenceNumber}`.
async fn export_status(
    State(state): State<AppState>,
    auth: Auth,
    Path(reference): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    auth.require(&READ)?;
    let now = util::now();
    let st = state.lock();
    let job = st
        .invoices
        .exports
        .get(&reference)
        .filter(|j| j.context_nip == auth.context.value)
        .ok_or_else(|| {
            ApiError::bad(
                21175,
                "Wynik zapytania o podanym identyfikatorze nie istnieje.",
                vec![],
            )
        })?;
    // Export status is kept 7 days (ksef-guide §7), then 410 Gone.
    if job.created + state.config.export_retention < now {
        return Err(ApiError::Gone);
    }
    if now < job.ready_at {
        return Ok(axum::Json(
            json!({"status": {"code": 100, "description": "Eksport faktur w toku"}}),
        ));
    }
    let r = match &job.result {
        Err((code, description, details)) => {
            let mut status = json!({"code": code, "description": description});
            if let Some(d) = details {
                status["details"] = json!([d]);
            }
            return Ok(axum::Json(json!({ "status": status })));
        }
        Ok(r) => r,
    };
    // Whole seconds: the signed link expires exactly at the reported date.
    let package_ttl =
        time::Duration::try_from(state.config.export_package_ttl).unwrap_or(time::Duration::DAY);
    let expires_at = (job.ready_at + package_ttl)
        .replace_nanosecond(0)
        .unwrap_or(job.ready_at);
    // The package is gone before the status is (status 210, then 410 after the retention).
    if now >= expires_at {
        return Ok(axum::Json(json!({"status": {"code": 210,
            "description": "Eksport faktur wygasł i nie jest już dostępny do pobrania"}})));
    }
    let expires = rfc3339(expires_at);
    let parts: Vec<Value> = r
        .package
        .parts
        .iter()
        .map(|p| {
            let name = part_name(r, p.ordinal);
            let path = format!("/storage/exports/{}/{name}", r.reference);
            json!({
                "ordinalNumber": p.ordinal,
                "partName": name,
                "method": "GET",
                "url": crate::storage::link(&state, &path, expires_at),
                "partSize": p.plain_size,
                "partHash": p.plain_hash,
                "encryptedPartSize": p.encrypted.len(),
                "encryptedPartHash": p.encrypted_hash,
                "expirationDate": expires,
            })
        })
        .collect();
    let mut package = json!({
        "invoiceCount": r.package.invoice_count,
        "size": r.package.size,
        "parts": parts,
        "isTruncated": r.is_truncated,
        "permanentStorageHwmDate": r.hwm.map(rfc3339),
    });
    if let Some((k, v)) = &r.last_date {
        package[k.as_str()] = json!(v);
    }
    let _ = r.date_type;
    Ok(axum::Json(json!({
        "status": {"code": 200, "description": "Eksport faktur zakończony sukcesem"},
        "completedDate": rfc3339(job.ready_at),
        "packageExpirationDate": expires,
        "package": package,
    })))
}

/// `{ref}-001.zip.aes` or `{ref}-001.tar.gz.aes`.
fn part_name(r: &ExportResult, ordinal: usize) -> String {
    format!(
        "{}-{ordinal:03}.{}.aes",
        r.reference,
        r.compression.extension()
    )
}

/// `GET /storage/exports/{reference}/{partName}` — encrypted part (no auth; the link's
/// signature and expiry are checked like a blob host's SAS: 403, unknown blobs 404).
async fn storage_part(
    State(state): State<AppState>,
    Path((reference, name)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Response {
    if let Err(refused) = crate::storage::check(&state, uri.path(), uri.query()) {
        return refused;
    }
    let st = state.lock();
    let part = st
        .invoices
        .exports
        .get(&reference)
        .and_then(|job| job.result.as_ref().ok())
        .and_then(|r| {
            r.package
                .parts
                .iter()
                .find(|p| part_name(r, p.ordinal) == name)
        });
    let Some(part) = part else {
        return crate::storage::not_found();
    };
    let mut resp = (StatusCode::OK, part.encrypted.clone()).into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&part.encrypted_hash) {
        resp.headers_mut().insert("x-ms-meta-hash", v);
    }
    resp
}

/// Sellers used for seeded purchase invoices (valid NIP checksums, guide Appendix B.2).
const SELLERS: [(&str, &str); 5] = [
    ("7352765225", "Biuro Rachunkowe Liczydło sp. z o.o."),
    ("3756977049", "Hosting Chmurka S.A."),
    ("7762811692", "Drukarnia Pod Lipą Jan Kowalski"),
    ("5555555555", "Telekom Zasięg sp. z o.o."),
    ("7980332920", "Paliwa i Serwis Auto-Max sp.j."),
];

/// A valid FA(3) VAT invoice from `seller` to `buyer` (23% on `net_cents`).
pub fn purchase_invoice_xml(
    seller: (&str, &str),
    buyer: (&str, &str),
    number: &str,
    issue: Date,
    item: &str,
    net_cents: i64,
) -> String {
    let vat = (net_cents * 23 + 50) / 100;
    let money = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/">
  <Naglowek>
    <KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza>
    <DataWytworzeniaFa>{issue}T09:00:00Z</DataWytworzeniaFa>
    <SystemInfo>ksef-sim</SystemInfo>
  </Naglowek>
  <Podmiot1>
    <DaneIdentyfikacyjne><NIP>{snip}</NIP><Nazwa>{sname}</Nazwa></DaneIdentyfikacyjne>
    <Adres><KodKraju>PL</KodKraju><AdresL1>ul. Handlowa 5, 00-950 Warszawa</AdresL1></Adres>
  </Podmiot1>
  <Podmiot2>
    <DaneIdentyfikacyjne><NIP>{bnip}</NIP><Nazwa>{bname}</Nazwa></DaneIdentyfikacyjne>
    <Adres><KodKraju>PL</KodKraju><AdresL1>ul. Polna 2, 00-002 Warszawa</AdresL1></Adres>
    <JST>2</JST><GV>2</GV>
  </Podmiot2>
  <Fa>
    <KodWaluty>PLN</KodWaluty>
    <P_1>{issue}</P_1>
    <P_2>{number}</P_2>
    <P_13_1>{net}</P_13_1><P_14_1>{vat}</P_14_1>
    <P_15>{gross}</P_15>
    <Adnotacje>
      <P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A>
      <Zwolnienie><P_19N>1</P_19N></Zwolnienie>
      <NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu>
      <P_23>2</P_23>
      <PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy>
    </Adnotacje>
    <RodzajFaktury>VAT</RodzajFaktury>
    <FaWiersz>
      <NrWierszaFa>1</NrWierszaFa><P_7>{item}</P_7><P_8A>szt.</P_8A><P_8B>1</P_8B>
      <P_9A>{net}</P_9A><P_11>{net}</P_11><P_12>23</P_12>
    </FaWiersz>
  </Fa>
</Faktura>
"#,
        snip = seller.0,
        sname = esc(seller.1),
        bnip = buyer.0,
        bname = esc(buyer.1),
        number = esc(number),
        net = money(net_cents),
        vat = money(vat),
        gross = money(net_cents + vat),
        item = esc(item),
    )
}

/// Stores one invoice as if the seller had sent it at `invoicing`.
fn store_seeded(
    state: &AppState,
    xml: String,
    invoicing: OffsetDateTime,
) -> Result<String, String> {
    let facts = fa3check::verify(xml.as_bytes(), &seller_of(&xml)?, invoicing.date(), false)
        .map_err(|r| format!("{}: {}", r.code, r.details.join("; ")))?;
    let mut st = state.lock();
    if let Some((k, _)) = st.invoices.duplicates.get(&facts.duplicate_key()) {
        return Err(format!("duplikat faktury {k}"));
    }
    let ksef_number = new_ksef_number(&facts.seller_nip, invoicing.date());
    let session = util::reference_number("SO");
    let record = InvoiceRecord {
        ksef_number: ksef_number.clone(),
        invoice_hash: util::sha256_b64(xml.as_bytes()),
        facts,
        invoicing_date: invoicing,
        acquisition_date: invoicing + time::Duration::seconds(1),
        permanent_storage_date: invoicing + time::Duration::seconds(2),
        invoicing_mode: "Online".into(),
        hash_of_corrected_invoice: None,
        session_reference: session,
        xml: Arc::new(xml.into_bytes()),
    };
    st.invoices.insert(record);
    Ok(ksef_number)
}

fn seller_of(xml: &str) -> Result<String, String> {
    fa3check::extract(xml.as_bytes()).map(|f| f.seller_nip)
}

const ITEMS: [&str; 6] = [
    "Usługa księgowa",
    "Hosting serwera VPS",
    "Wydruk ulotek A5",
    "Abonament telefoniczny",
    "Paliwo ON",
    "Przegląd samochodu",
];

/// Seeds `count` purchase invoices for `buyer_nip` from the built-in sellers, spread over
/// the last ~60 days (inside one 3-month query window). Returns their KSeF numbers.
pub fn seed_purchases(
    state: &AppState,
    buyer: (&str, &str),
    count: usize,
    seller: Option<&str>,
) -> Vec<String> {
    let now = util::now();
    let tag = util::random_hex_upper(3);
    let mut out = Vec::new();
    // Nobody sells to themselves: skip the buyer among the built-in sellers.
    let sellers: Vec<(&str, &str)> = SELLERS
        .iter()
        .copied()
        .filter(|(n, _)| *n != buyer.0)
        .collect();
    for i in 0..count {
        let (snip, sname) = match seller {
            Some(s) => SELLERS
                .iter()
                .find(|(n, _)| *n == s)
                .copied()
                .unwrap_or((s, "Sprzedawca testowy")),
            None => sellers[i % sellers.len()],
        };
        let days_ago = (count - i) as i64 * 60 / count.max(1) as i64;
        let invoicing = (now - time::Duration::days(days_ago))
            .replace_time(time::Time::from_hms(9, 30, 0).unwrap_or(time::Time::MIDNIGHT));
        let invoicing = if invoicing > now {
            now - time::Duration::minutes(1)
        } else {
            invoicing
        };
        let number = format!("FV/{tag}/{}/{}", i + 1, invoicing.year());
        let net = 10_000 + (i as i64 * 7_919) % 250_000;
        let xml = purchase_invoice_xml(
            (snip, sname),
            buyer,
            &number,
            invoicing.date(),
            ITEMS[i % ITEMS.len()],
            net,
        );
        if let Ok(k) = store_seeded(state, xml, invoicing) {
            out.push(k);
        }
    }
    out
}

/// Seeds `count` purchase invoices for `buyer_nip` that arrive now: issued today, with KSeF
/// dates from this moment on (1 ms apart), so they land after the current permanent-storage
/// HWM, as new invoices do on KSeF (an incremental sync must pick them up; back-dated seeds
/// from [`seed_purchases`] sit before any HWM a client has already synced to).
pub fn seed_arrivals(
    state: &AppState,
    buyer: (&str, &str),
    count: usize,
    seller: Option<&str>,
) -> Vec<String> {
    let now = util::now();
    let tag = util::random_hex_upper(3);
    let sellers: Vec<(&str, &str)> = SELLERS
        .iter()
        .copied()
        .filter(|(n, _)| *n != buyer.0)
        .collect();
    let mut out = Vec::new();
    for i in 0..count {
        let (snip, sname) = match seller {
            Some(s) => SELLERS
                .iter()
                .find(|(n, _)| *n == s)
                .copied()
                .unwrap_or((s, "Sprzedawca testowy")),
            None => sellers[i % sellers.len()],
        };
        let invoicing = now + time::Duration::milliseconds(i as i64);
        let number = format!("FV/N{tag}/{}/{}", i + 1, invoicing.year());
        let net = 10_000 + (i as i64 * 7_919) % 250_000;
        let xml = purchase_invoice_xml(
            (snip, sname),
            buyer,
            &number,
            invoicing.date(),
            ITEMS[i % ITEMS.len()],
            net,
        );
        if let Ok(k) = store_seeded(state, xml, invoicing) {
            out.push(k);
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InboxRequest {
    nip: String,
    count: Option<usize>,
    seller_nip: Option<String>,
    buyer_name: Option<String>,
    /// `true`: the invoices arrive now (after the HWM) instead of over the last 60 days.
    arriving_now: Option<bool>,
}

/// `POST /sim/inbox {"nip", "count"?, "sellerNip"?, "arrivingNow"?}` — invoices issued by other
/// sellers to `nip`.
async fn inbox(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<InboxRequest>,
) -> Result<Response, ApiError> {
    if !crate::auth::nip_format_ok(&req.nip) {
        return Err(ApiError::validation(
            "nip musi mieć 10 cyfr. / nip must be 10 digits.",
        ));
    }
    if let Some(s) = &req.seller_nip
        && (!crate::auth::nip_format_ok(s) || *s == req.nip)
    {
        return Err(ApiError::validation(
            "sellerNip musi mieć 10 cyfr i różnić się od nip.",
        ));
    }
    let count = req.count.unwrap_or(1);
    // Up to just over the 10 000-record query cap, so clients can meet `isTruncated`.
    if !(1..=10_500).contains(&count) {
        return Err(ApiError::validation("count musi być z zakresu 1..10500."));
    }
    let name = req.buyer_name.clone().unwrap_or_else(|| {
        state
            .lock()
            .company_names
            .get(&req.nip)
            .cloned()
            .unwrap_or_else(|| "Nabywca testowy".into())
    });
    // XSD validation of thousands of invoices is CPU work: keep it off the async workers.
    let numbers = tokio::task::spawn_blocking(move || {
        let buyer = (req.nip.as_str(), name.as_str());
        if req.arriving_now == Some(true) {
            seed_arrivals(&state, buyer, count, req.seller_nip.as_deref())
        } else {
            seed_purchases(&state, buyer, count, req.seller_nip.as_deref())
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"ksefNumbers": numbers})),
    )
        .into_response())
}

/// `/v2` routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invoices/query/metadata", post(query_metadata))
        .route("/invoices/ksef/{ksefNumber}", get(download))
        .route("/invoices/exports", post(start_export))
        .route("/invoices/exports/{referenceNumber}", get(export_status))
}

/// `/storage/...` routes of this module (no auth).
pub fn storage_routes() -> Router<AppState> {
    Router::new().route("/storage/exports/{reference}/{name}", get(storage_part))
}

/// `/sim/...` control routes of this module.
pub fn control_routes() -> Router<AppState> {
    Router::new().route("/sim/inbox", post(inbox))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_invoice_xml_is_valid_fa3() {
        let issue = Date::from_calendar_date(2026, time::Month::March, 3).unwrap();
        let xml = purchase_invoice_xml(
            SELLERS[0],
            ("5265877635", "Kwit & Co"),
            "FV/1/2026",
            issue,
            "Usługa",
            12345,
        );
        let facts = fa3check::verify(xml.as_bytes(), SELLERS[0].0, issue, false).unwrap();
        assert_eq!(facts.gross, "151.84");
        assert_eq!(facts.vat, "28.39");
        assert_eq!(facts.buyer_name.as_deref(), Some("Kwit & Co"));
    }
}
