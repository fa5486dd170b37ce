//! Pre-signed storage links (UPO, export parts) and the answers a real storage host gives.
//!
//! KSeF hands out links to an Azure-style blob store with a SAS query (`sv`, `se`, `sr`,
//! `sp`, `sig`) that stops working at the link's `...ExpirationDate`. The simulator signs
//! the path and the expiry with its per-instance secret; the storage routes then answer
//! like the blob host: `403 AuthenticationFailed` (XML) for an expired or altered link,
//! `404 BlobNotFound` (XML) for a blob that does not exist. Links are absolute, built on
//! `AppState::public_url` (`--public-url`, e.g. the relay's `https://host/ksef/sim`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::state::AppState;
use crate::util;

/// The SAS service version written into links (informative only).
const SAS_VERSION: &str = "2024-11-04";

fn expiry_text(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

fn parse_expiry(text: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::PrimitiveDateTime::parse(text, &fmt)
        .ok()
        .map(|t| t.assume_utc())
}

fn signature(state: &AppState, path: &str, expiry: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&state.jwt_secret).expect("HMAC takes any key length");
    mac.update(b"storage\n");
    mac.update(path.as_bytes());
    mac.update(b"\n");
    mac.update(expiry.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `{public_url}{path}?sv=..&se=..&sr=b&sp=r&sig=..`: valid until `expires` (whole seconds,
/// rounded down, so the link never outlives the date the API reports).
pub fn link(state: &AppState, path: &str, expires: OffsetDateTime) -> String {
    let se = expiry_text(expires);
    let sig = signature(state, path, &se);
    format!(
        "{}{path}?sv={SAS_VERSION}&se={}&sr=b&sp=r&sig={sig}",
        state.public_url,
        se.replace(':', "%3A")
    )
}

/// [`link`] valid for `seconds` from now (negative: already expired), for tests of clients
/// and relays that handle storage answers.
pub fn link_expiring_in(state: &AppState, path: &str, seconds: i64) -> String {
    link(state, path, util::now() + time::Duration::seconds(seconds))
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Checks the link's signature and expiry for `path` (the request path without the
/// relay's prefix: everything from `/storage/`).
#[allow(clippy::result_large_err)]
pub fn check(state: &AppState, path: &str, query: Option<&str>) -> Result<(), Response> {
    let query = query.unwrap_or("");
    let Some(se) = param(query, "se").map(|s| s.replace("%3A", ":").replace("%3a", ":")) else {
        return Err(forbidden(
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            "Signature fields not well formed.",
        ));
    };
    let sig = param(query, "sig").unwrap_or("");
    let expected = signature(state, path, &se);
    if sig.len() != expected.len() || !constant_eq(sig.as_bytes(), expected.as_bytes()) {
        return Err(forbidden(
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            "Signature did not match.",
        ));
    }
    let expires = parse_expiry(&se).ok_or_else(|| {
        forbidden(
            "Server failed to authenticate the request.",
            "Signature fields not well formed.",
        )
    })?;
    let now = util::now();
    if now >= expires {
        let fmt = |t: OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc2822)
                .unwrap_or_default()
        };
        return Err(forbidden(
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
            &format!(
                "Signed expiry time [{}] must be after signed start time [{}]",
                fmt(expires),
                fmt(now)
            ),
        ));
    }
    Ok(())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn blob_error(
    status: StatusCode,
    code: &'static str,
    message: &str,
    detail: Option<&str>,
) -> Response {
    let request_id = util::uuid_v4();
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let detail = detail
        .map(|d| {
            format!(
                "<AuthenticationErrorDetail>{}</AuthenticationErrorDetail>",
                esc(d)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}\nRequestId:{request_id}\nTime:{}</Message>{detail}</Error>",
        esc(message),
        util::now_rfc3339()
    );
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    h.insert("x-ms-error-code", HeaderValue::from_static(code));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-ms-request-id", v);
    }
    resp
}

fn forbidden(message: &str, detail: &str) -> Response {
    blob_error(
        StatusCode::FORBIDDEN,
        "AuthenticationFailed",
        message,
        Some(detail),
    )
}

/// `404 BlobNotFound`, as the blob host answers for a path that holds nothing.
pub fn not_found() -> Response {
    blob_error(
        StatusCode::NOT_FOUND,
        "BlobNotFound",
        "The specified blob does not exist.",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_round_trips_and_signature_binds_the_path() {
        let t = time::macros::datetime!(2026-12-02 15:04:05 UTC);
        assert_eq!(parse_expiry(&expiry_text(t)), Some(t));
        assert!(param("a=1&se=x&sig=y", "sig") == Some("y"));
    }
}
