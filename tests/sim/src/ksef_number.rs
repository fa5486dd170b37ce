//! KSeF numbers `NNNNNNNNNN-YYYYMMDD-HHHHHHHHHHHH-CC` (ksef-guide §6, Appendix B.1;
//! ksef-docs `faktury/numer-ksef.md`): seller NIP, acceptance date, 12 uppercase hex
//! digits of "technical part", CRC-8 (poly 0x07, init 0) of the first 32 characters.

use time::Date;

use crate::util::crc8;

/// Builds a KSeF number from its parts; `technical` supplies the 12 hex digits (48 bits).
pub fn ksef_number(seller_nip: &str, accepted_on: Date, technical: u64) -> String {
    let body = format!(
        "{seller_nip}-{:04}{:02}{:02}-{:012X}",
        accepted_on.year(),
        u8::from(accepted_on.month()),
        accepted_on.day(),
        technical & 0xFFFF_FFFF_FFFF
    );
    let crc = crc8(body.as_bytes());
    format!("{body}-{crc:02X}")
}

/// A fresh KSeF number with a random technical part.
pub fn new_ksef_number(seller_nip: &str, accepted_on: Date) -> String {
    let bytes = crate::util::random_bytes(8);
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes);
    ksef_number(seller_nip, accepted_on, u64::from_be_bytes(raw))
}

/// Shape + checksum check for a 35-character KSeF number (36-char KSeF 1.0 numbers,
/// with a hyphen inside the technical part, are accepted as input by KSeF too).
pub fn is_valid(number: &str) -> bool {
    let compact: String = if number.len() == 36 {
        let (a, b) = number.split_at(26);
        if !b.starts_with('-') {
            return false;
        }
        format!("{a}{}", &b[1..])
    } else {
        number.to_string()
    };
    let bytes = compact.as_bytes();
    if bytes.len() != 35 || bytes[10] != b'-' || bytes[19] != b'-' || bytes[32] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
    let upper_hex = |r: std::ops::Range<usize>| {
        bytes[r]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
    };
    if !digits(0..10) || !digits(11..19) || !upper_hex(20..32) || !upper_hex(33..35) {
        return false;
    }
    if number.len() == 36 {
        // The checksum of a KSeF 1.0 number covers its own 33-character prefix.
        return format!("{:02X}", crc8(&number.as_bytes()[..33])) == number[34..];
    }
    format!("{:02X}", crc8(&bytes[..32])) == compact[33..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_vectors_validate() {
        // ksef-guide Appendix B.1.
        for n in [
            "5265877635-20250826-0100001AF629-AF",
            "5265877635-20250626-010080DD2B5E-26",
            "5265877635-20250729-01004014E040-00",
            "5555555555-20250828-010080615740-E4",
        ] {
            assert!(is_valid(n), "{n}");
        }
        assert!(!is_valid("5555555555-20250808-9231003CA67B-BE"));
        assert!(!is_valid("5265877635-20250826-0100001af629-AF"));
    }

    #[test]
    fn generated_numbers_match_the_documented_example() {
        let date = Date::from_calendar_date(2025, time::Month::August, 26).unwrap();
        assert_eq!(
            ksef_number("5265877635", date, 0x0100001AF629),
            "5265877635-20250826-0100001AF629-AF"
        );
        let fresh = new_ksef_number("7352765225", date);
        assert_eq!(fresh.len(), 35);
        assert!(is_valid(&fresh), "{fresh}");
    }
}
