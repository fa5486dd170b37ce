//! Reading the decrypted export package: a ZIP (Stored or Deflate entries) or a TarGz
//! (`compressionType`, api-changelog 2.7.0), into `(file name, bytes)` pairs.
//!
//! A small reader of its own instead of the `zip` crate: that crate pulls OS randomness,
//! `libc` and `nix` into the wasm build and has no inflate without `flate2`; this needs only
//! `miniz_oxide` (pure Rust). ZIP64 archives (over 4 GB or 65 535 entries) are refused with a
//! clear message: a KSeF package holds at most 10 000 invoices.

use miniz_oxide::inflate::decompress_to_vec_with_limit;

use crate::error::{Error, Result};

/// How the package was compressed (`compressionType` of the export request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Compression {
    /// `Zip` — the KSeF default.
    #[default]
    Zip,
    /// `TarGz` — recommended by KSeF for large packages (better ratio).
    TarGz,
}

impl Compression {
    /// The value sent as `compressionType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zip => "Zip",
            Self::TarGz => "TarGz",
        }
    }
}

/// One file of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the archive, e.g. `_metadata.json` or `{ksefNumber}.xml`.
    pub name: String,
    /// Uncompressed bytes.
    pub bytes: Vec<u8>,
}

fn bad(what: &str) -> Error {
    Error::Decode(format!(
        "paczka eksportu jest uszkodzona ({what}) — uruchom synchronizację ponownie / the export package is damaged ({what}): run the sync again"
    ))
}

fn u16_at(b: &[u8], at: usize) -> Result<u16> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| bad("ZIP: za krótki / too short"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("ZIP: za krótki / too short"))
}

/// CRC-32 (IEEE, reflected, as ZIP and gzip use it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Unpacks a package in the given format. `max_bytes` bounds every single file (a guard
/// against a damaged size field allocating gigabytes in the browser).
pub fn unpack(bytes: &[u8], compression: Compression, max_bytes: usize) -> Result<Vec<Entry>> {
    match compression {
        Compression::Zip => unzip(bytes, max_bytes),
        Compression::TarGz => untar(&gunzip(bytes, max_bytes)?),
    }
}

/// Reads every file of a ZIP archive through its central directory.
pub fn unzip(bytes: &[u8], max_bytes: usize) -> Result<Vec<Entry>> {
    const EOCD: u32 = 0x0605_4b50;
    let min = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (min..=bytes.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(bytes, i).ok() == Some(EOCD))
        .ok_or_else(|| bad("ZIP: brak katalogu / no central directory"))?;
    let count = u16_at(bytes, eocd + 10)?;
    let cd_offset = u32_at(bytes, eocd + 16)?;
    if count == u16::MAX || cd_offset == u32::MAX {
        return Err(bad("ZIP64 nieobsługiwany / ZIP64 not supported"));
    }
    let mut at = cd_offset as usize;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        if u32_at(bytes, at)? != 0x0201_4b50 {
            return Err(bad("ZIP: zły wpis katalogu / bad directory entry"));
        }
        let method = u16_at(bytes, at + 10)?;
        let crc = u32_at(bytes, at + 16)?;
        let compressed = u32_at(bytes, at + 20)? as usize;
        let size = u32_at(bytes, at + 24)? as usize;
        let name_len = usize::from(u16_at(bytes, at + 28)?);
        let extra_len = usize::from(u16_at(bytes, at + 30)?);
        let comment_len = usize::from(u16_at(bytes, at + 32)?);
        let local = u32_at(bytes, at + 42)? as usize;
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("ZIP: nazwa / name"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue;
        }
        if size > max_bytes {
            return Err(bad("ZIP: plik za duży / file too large"));
        }
        if u32_at(bytes, local)? != 0x0403_4b50 {
            return Err(bad("ZIP: zły nagłówek pliku / bad local header"));
        }
        let start = local
            + 30
            + usize::from(u16_at(bytes, local + 26)?)
            + usize::from(u16_at(bytes, local + 28)?);
        let data = bytes
            .get(start..start + compressed)
            .ok_or_else(|| bad("ZIP: ucięte dane / truncated data"))?;
        let content = match method {
            0 => data.to_vec(),
            8 => {
                decompress_to_vec_with_limit(data, size.max(1)).map_err(|_| bad("ZIP: Deflate"))?
            }
            _ => {
                return Err(bad(
                    "ZIP: nieznana metoda kompresji / unknown compression method",
                ));
            }
        };
        if content.len() != size || crc32(&content) != crc {
            return Err(bad("ZIP: suma kontrolna / checksum"));
        }
        out.push(Entry {
            name,
            bytes: content,
        });
    }
    Ok(out)
}

/// Inflates a gzip stream (RFC 1952, one member), checking CRC and size.
pub fn gunzip(bytes: &[u8], max_bytes: usize) -> Result<Vec<u8>> {
    if bytes.len() < 18 || bytes[0] != 0x1f || bytes[1] != 0x8b || bytes[2] != 8 {
        return Err(bad("gzip: nagłówek / header"));
    }
    let flags = bytes[3];
    let mut at = 10;
    if flags & 4 != 0 {
        at += 2 + usize::from(u16_at(bytes, at)?);
    }
    for flag in [8u8, 16] {
        if flags & flag != 0 {
            let end = bytes
                .get(at..)
                .and_then(|rest| rest.iter().position(|&b| b == 0))
                .ok_or_else(|| bad("gzip: nagłówek / header"))?;
            at += end + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    let trailer = bytes.len() - 8;
    let body = bytes
        .get(at..trailer)
        .ok_or_else(|| bad("gzip: ucięty / truncated"))?;
    let out = decompress_to_vec_with_limit(body, max_bytes).map_err(|_| bad("gzip: Deflate"))?;
    if crc32(&out) != u32_at(bytes, trailer)? || out.len() as u32 != u32_at(bytes, trailer + 4)? {
        return Err(bad("gzip: suma kontrolna / checksum"));
    }
    Ok(out)
}

fn octal(field: &[u8]) -> Result<usize> {
    let text = String::from_utf8_lossy(field);
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Ok(0);
    }
    usize::from_str_radix(digits, 8).map_err(|_| bad("tar: rozmiar / size"))
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the regular files of a ustar/GNU/pax tar archive (long names included).
pub fn untar(bytes: &[u8]) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let size = octal(&header[124..136])?;
        let kind = header[156];
        let data_start = at + 512;
        let data = bytes
            .get(data_start..data_start + size)
            .ok_or_else(|| bad("tar: ucięty / truncated"))?;
        at = data_start + size.div_ceil(512) * 512;
        match kind {
            b'L' => long_name = Some(c_string(data)),
            b'x' => {
                long_name = String::from_utf8_lossy(data)
                    .lines()
                    .find_map(|l| l.split_once(" path=").map(|(_, p)| p.to_owned()))
                    .or(long_name);
            }
            b'0' | 0 => {
                let name = long_name.take().unwrap_or_else(|| {
                    let prefix = c_string(&header[345..500]);
                    let name = c_string(&header[0..100]);
                    if prefix.is_empty() {
                        name
                    } else {
                        format!("{prefix}/{name}")
                    }
                });
                out.push(Entry {
                    name,
                    bytes: data.to_vec(),
                });
            }
            _ => long_name = None,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn damaged_archives_are_refused() {
        assert!(unzip(b"not a zip at all, really", 1 << 20).is_err());
        assert!(
            gunzip(
                &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
                10
            )
            .is_err()
        );
    }
}
