//! Small helpers shared by every module: time stamps, randomness, KSeF reference numbers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Current UTC time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// RFC 3339 with offset, as KSeF writes `date-time` fields (`2025-07-11T12:23:56.015+00:00`).
pub fn rfc3339(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]+00:00"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.format(&Rfc3339).unwrap_or_default())
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

/// `ExceptionResponse.timestamp` has no offset in KSeF's examples.
pub fn now_local_naive() -> String {
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]"
    );
    now().format(&fmt).unwrap_or_default()
}

/// Unix milliseconds.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `n` random bytes from the OS.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The OS RNG failing is unrecoverable for a crypto server.
    getrandom::fill(&mut buf).expect("OS random number generator unavailable");
    buf
}

pub fn random_hex(n_bytes: usize) -> String {
    hex::encode(random_bytes(n_bytes))
}

pub fn random_hex_upper(n_bytes: usize) -> String {
    hex::encode_upper(random_bytes(n_bytes))
}

/// Random UUID v4 text (for trace ids and `ExceptionResponse.referenceNumber`).
pub fn uuid_v4() -> String {
    let mut b = random_bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// CRC-8, polynomial 0x07, init 0 (ksef-docs faktury/numer-ksef.md; guide Appendix B.1).
pub fn crc8(data: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &byte in data {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A KSeF reference number `YYYYMMDD-<KIND>-XXXXXXXXXX-XXXXXXXXXX-CC` (36 chars), e.g. kind
/// `CR` challenge, `AU` auth operation, `EC` KSeF token, `SO` online session, `EE` invoice.
pub fn reference_number(kind: &str) -> String {
    let date = now();
    let body = format!(
        "{:04}{:02}{:02}-{}-{}-{}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        kind,
        random_hex_upper(5),
        random_hex_upper(5)
    );
    let crc = crc8(body.as_bytes());
    format!("{body}-{crc:02X}")
}

pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.trim()).ok()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn sha256_b64(data: &[u8]) -> String {
    b64(&sha256(data))
}

/// NIP checksum (weights 6,5,7,2,3,4,5,6,7 mod 11; guide Appendix B.2).
pub fn nip_is_valid(nip: &str) -> bool {
    let digits: Vec<u32> = nip.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || nip.len() != 10 || digits[0] == 0 {
        return false;
    }
    const W: [u32; 9] = [6, 5, 7, 2, 3, 4, 5, 6, 7];
    let sum: u32 = W.iter().zip(&digits).map(|(w, d)| w * d).sum();
    let check = sum % 11;
    check != 10 && check == digits[9]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_numbers_carry_a_valid_crc() {
        // Guide Appendix B.1: known good reference numbers.
        let known = "20250514-CR-226FB7B000-3ACF9BE4C0-10";
        assert_eq!(format!("{:02X}", crc8(&known.as_bytes()[..33])), "10");
        let r = reference_number("AU");
        assert_eq!(r.len(), 36);
        assert_eq!(format!("{:02X}", crc8(&r.as_bytes()[..33])), &r[34..]);
    }

    #[test]
    fn nip_checksum() {
        assert!(nip_is_valid("5265877635"));
        assert!(nip_is_valid("7352765225"));
        assert!(!nip_is_valid("1234567890"));
        assert!(!nip_is_valid("0000000000"));
    }
}
