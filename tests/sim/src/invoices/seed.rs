//! Seeding purchase invoices: valid FA(3) invoices from built-in sellers, back-dated
//! ([`seed_purchases`], the demo) or arriving now ([`seed_arrivals`]), and `POST /sim/inbox`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use time::{Date, OffsetDateTime};

use crate::error::ApiError;
use crate::fa3check;
use crate::ksef_number::new_ksef_number;
use crate::query::InvoiceRecord;
use crate::server::JsonBody;
use crate::state::AppState;
use crate::util::{self};

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

/// `/sim/...` control routes of this file.
pub(super) fn control_routes() -> Router<AppState> {
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
