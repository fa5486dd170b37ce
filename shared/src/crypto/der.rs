//! Just enough DER to read the facts of an X.509 certificate the protocol needs (serial,
//! validity, the raw issuer, subject and SubjectPublicKeyInfo). The browser's main module
//! parses KSeF's public-key certificates with this; `x509-cert` for it cost the first load
//! 35.7 KB brotli (measured 2026-12-03: 402,967 → 367,214 B). Names are decoded by `x509-cert` only where they are shown or
//! signed ([`super::ParsedCertificate::issuer`]), which the main module never calls.

use time::{Date, Month, PrimitiveDateTime, Time};

/// The parts of a certificate's `TBSCertificate` (RFC 5280 §4.1), as raw DER where kept raw.
pub(super) struct TbsFacts<'a> {
    /// The serial number's INTEGER content octets, as encoded.
    pub serial: &'a [u8],
    /// The issuer `Name`, tag and length included.
    pub issuer: &'a [u8],
    /// The subject `Name`, tag and length included.
    pub subject: &'a [u8],
    /// `notBefore` as Unix seconds.
    pub not_before: i64,
    /// `notAfter` as Unix seconds.
    pub not_after: i64,
    /// `SubjectPublicKeyInfo`, tag and length included.
    pub spki: &'a [u8],
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xA0;

/// One TLV: its tag, its content and the whole encoding.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads TLVs one after another from a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<Tlv<'a>, String> {
        let bytes = self.0;
        let (&tag, rest) = bytes.split_first().ok_or("DER: unexpected end")?;
        if tag & 0x1F == 0x1F {
            return Err("DER: multi-byte tags are not used in certificates".into());
        }
        let (&first, mut rest) = rest.split_first().ok_or("DER: missing length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return Err("DER: bad length".into());
            }
            let (octets, after) = rest.split_at(n);
            rest = after;
            if octets[0] == 0 || (n == 1 && octets[0] < 0x80) {
                return Err("DER: length not in its shortest form".into());
            }
            octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return Err("DER: content longer than the data".into());
        }
        let header = bytes.len() - rest.len();
        let (content, after) = rest.split_at(len);
        self.0 = after;
        Ok(Tlv {
            tag,
            content,
            whole: &bytes[..header + len],
        })
    }

    fn expect(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, String> {
        let tlv = self.next()?;
        if tlv.tag != tag {
            return Err(format!("DER: {what} expected"));
        }
        Ok(tlv)
    }
}

/// Reads the facts of a DER `Certificate`; trailing bytes after it are refused.
pub(super) fn read_certificate(der: &[u8]) -> Result<TbsFacts<'_>, String> {
    let mut outer = Reader(der);
    let certificate = outer.expect(SEQUENCE, "Certificate")?;
    if !outer.0.is_empty() {
        return Err("DER: bytes after the certificate".into());
    }
    let mut cert = Reader(certificate.content);
    let tbs = cert.expect(SEQUENCE, "TBSCertificate")?;
    cert.expect(SEQUENCE, "signatureAlgorithm")?;
    cert.expect(0x03, "signatureValue")?;
    let mut tbs = Reader(tbs.content);
    let mut field = tbs.next()?;
    if field.tag == VERSION {
        field = tbs.next()?;
    }
    if field.tag != INTEGER || field.content.is_empty() {
        return Err("DER: serialNumber expected".into());
    }
    let serial = field.content;
    tbs.expect(SEQUENCE, "signature")?;
    let issuer = tbs.expect(SEQUENCE, "issuer")?.whole;
    let mut validity = Reader(tbs.expect(SEQUENCE, "validity")?.content);
    let not_before = read_time(validity.next()?)?;
    let not_after = read_time(validity.next()?)?;
    let subject = tbs.expect(SEQUENCE, "subject")?.whole;
    let spki = tbs.expect(SEQUENCE, "subjectPublicKeyInfo")?.whole;
    Ok(TbsFacts {
        serial,
        issuer,
        subject,
        not_before,
        not_after,
        spki,
    })
}

/// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950–2049) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`).
fn read_time(tlv: Tlv<'_>) -> Result<i64, String> {
    let text = std::str::from_utf8(tlv.content).map_err(|_| "DER: time is not ASCII")?;
    let digits = text
        .strip_suffix('Z')
        .ok_or("DER: time must be in UTC (Z)")?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("DER: time has non-digits".into());
    }
    let num = |range: std::ops::Range<usize>| -> u32 { digits[range].parse().unwrap_or(u32::MAX) };
    let (year, rest) = match (tlv.tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = num(0..2);
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (num(0..4), 4),
        _ => return Err("DER: validity time expected".into()),
    };
    let part = |i: usize| num(rest + 2 * i..rest + 2 * i + 2);
    let bad = |_| String::from("DER: impossible date or time");
    let month = Month::try_from(u8::try_from(part(0)).map_err(|_| "DER: bad month")?)
        .map_err(|_| "DER: bad month")?;
    let year = i32::try_from(year).map_err(|_| "DER: bad year")?;
    let small = |v: u32| u8::try_from(v).map_err(|_| String::from("DER: bad time"));
    let date = Date::from_calendar_date(year, month, small(part(1))?).map_err(bad)?;
    let clock = Time::from_hms(small(part(2))?, small(part(3))?, small(part(4))?).map_err(bad)?;
    Ok(PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp())
}
