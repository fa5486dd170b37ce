//! KSeF numbers (`NIP-YYYYMMDD-HEX12-CC`) and KSeF reference numbers
//! (`YYYYMMDD-XX-HEX10-HEX10-CC`), both protected by CRC-8 (poly 0x07, init 0).
//!
//! Rules: /work/shared/ksef-guide.md §6, ksef-docs `faktury/numer-ksef.md`; vectors in Appendix B.1.

use crate::error::{Error, Result};

/// CRC-8/SMBUS: poly 0x07, init 0, no reflection, no final XOR.
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

fn is_upper_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

fn is_date(s: &str) -> bool {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let year: u32 = s[0..4].parse().unwrap_or(0);
    let month: u32 = s[4..6].parse().unwrap_or(0);
    let day: u32 = s[6..8].parse().unwrap_or(0);
    year >= 2020 && (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn check_crc(body: &str, crc: &str, what: &str) -> Result<()> {
    let expected = format!("{:02X}", crc8(body.as_bytes()));
    if crc.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{what}: błędna suma kontrolna (oczekiwano {expected}) / wrong checksum (expected {expected})"
        )))
    }
}

/// A validated 35-character KSeF invoice number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KsefNumber(String);

impl KsefNumber {
    /// Validates shape and CRC-8 (over the first 32 characters). 36-character KSeF 1.0
    /// numbers (`HEX6-HEX6`) are accepted too, with the CRC over everything before the last hyphen.
    pub fn parse(text: &str) -> Result<Self> {
        let s = text.trim();
        let bad = || {
            Error::InvalidInput(format!(
                "„{s}” nie jest numerem KSeF (NIP-RRRRMMDD-XXXXXXXXXXXX-CC) / not a KSeF number"
            ))
        };
        let parts: Vec<&str> = s.split('-').collect();
        let (nip, date, tech) = match parts.as_slice() {
            [nip, date, tech, _crc] if tech.len() == 12 => (*nip, *date, tech.to_string()),
            [nip, date, a, b, _crc] if a.len() == 6 && b.len() == 6 => {
                (*nip, *date, format!("{a}{b}"))
            }
            _ => return Err(bad()),
        };
        let nip_ok =
            nip.len() == 10 && nip.bytes().all(|b| b.is_ascii_digit()) && !nip.starts_with('0');
        if !nip_ok || !is_date(date) || !is_upper_hex(&tech) {
            return Err(bad());
        }
        let (body, crc) = s.split_at(s.len() - 3);
        let crc = &crc[1..];
        if crc.len() != 2 || !is_upper_hex(&crc.to_ascii_uppercase()) {
            return Err(bad());
        }
        check_crc(body, crc, "Numer KSeF / KSeF number")?;
        Ok(Self(s.to_ascii_uppercase()))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seller NIP (first 10 digits).
    pub fn seller_nip(&self) -> &str {
        &self.0[..10]
    }
}

impl std::fmt::Display for KsefNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated KSeF reference number (session, invoice, auth operation, token …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReferenceNumber(String);

impl ReferenceNumber {
    /// Validates `YYYYMMDD-XX-HEX10-HEX10-CC` and the CRC-8 over the first 33 characters
    /// (ksef-guide §6, "[inferred]" — holds for all undamaged doc examples).
    pub fn parse(text: &str) -> Result<Self> {
        let s = text.trim();
        let bad = || {
            Error::InvalidInput(format!(
                "„{s}” nie jest numerem referencyjnym KSeF / not a KSeF reference number"
            ))
        };
        let parts: Vec<&str> = s.split('-').collect();
        let [date, kind, a, b, crc] = parts.as_slice() else {
            return Err(bad());
        };
        if !is_date(date)
            || kind.len() != 2
            || !kind.bytes().all(|c| c.is_ascii_uppercase())
            || a.len() != 10
            || b.len() != 10
            || !is_upper_hex(a)
            || !is_upper_hex(b)
            || crc.len() != 2
        {
            return Err(bad());
        }
        check_crc(&s[..33], crc, "Numer referencyjny / reference number")?;
        Ok(Self(s.to_string()))
    }

    /// Two-letter type code (`SO` online session, `EE` invoice, `AU` auth, …).
    pub fn kind(&self) -> &str {
        &self.0[9..11]
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ReferenceNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_all_documented_ksef_numbers() {
        for n in [
            "5265877635-20250826-0100001AF629-AF",
            "5265877635-20250626-010080DD2B5E-26",
            "5265877635-20250729-01004014E040-00",
            "5265877635-20250916-010040741B3E-46",
            "5265877635-20250916-0100C002FF3E-D5",
            "5265877635-20250916-02000009FF3E-FB",
            "5265877635-20250916-020000583241-84",
            "5265877635-20250916-0200A0D6723E-C2",
            "5265877635-20250925-010020A0A242-0A",
            "5555555555-20250828-010080615740-E4",
        ] {
            let k = KsefNumber::parse(n).unwrap_or_else(|e| panic!("{n}: {e}"));
            assert_eq!(k.as_str(), n);
        }
        assert_eq!(
            KsefNumber::parse("5555555555-20250828-010080615740-E4")
                .unwrap()
                .seller_nip(),
            "5555555555"
        );
    }

    #[test]
    fn rejects_wrong_crc_and_shapes() {
        let err = KsefNumber::parse("5555555555-20250808-9231003CA67B-BE").unwrap_err();
        assert!(err.to_string().contains("FA"), "{err}");
        for bad in [
            "",
            "5265877635-20250826-0100001AF629",
            "0265877635-20250826-0100001AF629-AF",
            "5265877635-20251326-0100001AF629-AF",
            "5265877635-20250826-0100001AG629-AF",
            "5265877635-20250826-0100001AF629-AE",
        ] {
            assert!(KsefNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validates_reference_numbers() {
        for r in [
            "20250514-CR-226FB7B000-3ACF9BE4C0-10",
            "20250514-AU-2DFC46C000-3AC6D5877F-D4",
            "20250625-SO-2C3E6C8000-B675CF5D68-07",
            "20250625-EE-319D7EE000-B67F415CDC-2C",
            "20250626-SB-213D593000-4DE10D80A5-E9",
            "20251010-EC-1DCE3E3000-12ECB5B36E-45",
            "20250901-EU-47FDBE3000-5961A5D232-BF",
        ] {
            assert!(ReferenceNumber::parse(r).is_ok(), "{r}");
        }
        assert_eq!(
            ReferenceNumber::parse("20250625-SO-2C3E6C8000-B675CF5D68-07")
                .unwrap()
                .kind(),
            "SO"
        );
        assert!(ReferenceNumber::parse("20250625-SO-2C3E6C8000-B675CF5D68-08").is_err());
        assert!(ReferenceNumber::parse("20250625-SO-2C3E6C8000-B675CF5D68").is_err());
    }
}
