//! Export packages for `POST /invoices/exports` (ksef-guide §7.3): a ZIP with
//! `{ksefNumber}.xml` files (ascending by the filter date) and `_metadata.json`
//! (`{"invoices":[InvoiceMetadata…]}`), split into parts, each AES-256-CBC/PKCS#7
//! encrypted separately with the client's key and IV.

use std::io::{Cursor, Write};

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use serde_json::json;
use zip::write::SimpleFileOptions;

use crate::query::InvoiceRecord;
use crate::util::sha256_b64;

/// Parts are at most 50 MB before encryption (KSeF limit).
pub const MAX_PART_SIZE: usize = 50 * 1000 * 1000;

/// One encrypted part.
#[derive(Debug, Clone)]
pub struct Part {
    pub ordinal: usize,
    pub plain_size: usize,
    pub plain_hash: String,
    pub encrypted: Vec<u8>,
    pub encrypted_hash: String,
}

/// The finished package: its plaintext ZIP size and parts.
#[derive(Debug, Clone)]
pub struct Package {
    pub size: usize,
    pub invoice_count: usize,
    pub parts: Vec<Part>,
}

/// AES-256-CBC with PKCS#7 (ksef-guide §4.1).
pub fn aes_encrypt(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(data)
}

/// Inverse of [`aes_encrypt`]; `None` on bad length or padding.
pub fn aes_decrypt(key: &[u8; 32], iv: &[u8; 16], data: &[u8]) -> Option<Vec<u8>> {
    cbc::Decryptor::<Aes256>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(data)
        .ok()
}

/// `CompressionType` of the export request (2.6.0; `Zip` when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub enum Compression {
    #[default]
    Zip,
    TarGz,
}

impl Compression {
    /// File extension of the parts (`{ref}-001.zip.aes`, `{ref}-001.tar.gz.aes`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Zip => "zip",
            Compression::TarGz => "tar.gz",
        }
    }
}

/// Builds the ZIP and encrypts it in parts of at most `part_size` bytes.
pub fn build(
    records: &[&InvoiceRecord],
    only_metadata: bool,
    key: &[u8; 32],
    iv: &[u8; 16],
    part_size: usize,
) -> Result<Package, String> {
    build_as(Compression::Zip, records, only_metadata, key, iv, part_size)
}

/// Builds the package in `compression` and encrypts it in parts of at most `part_size`.
pub fn build_as(
    compression: Compression,
    records: &[&InvoiceRecord],
    only_metadata: bool,
    key: &[u8; 32],
    iv: &[u8; 16],
    part_size: usize,
) -> Result<Package, String> {
    let bytes = match compression {
        Compression::Zip => zip_bytes(records, only_metadata)?,
        Compression::TarGz => {
            let metadata =
                json!({"invoices": records.iter().map(|r| r.metadata()).collect::<Vec<_>>()})
                    .to_string();
            let mut entries: Vec<(String, &[u8])> = Vec::new();
            if !only_metadata {
                for r in records {
                    entries.push((format!("{}.xml", r.ksef_number), r.xml.as_slice()));
                }
            }
            entries.push(("_metadata.json".into(), metadata.as_bytes()));
            let mtime = crate::util::now().unix_timestamp();
            crate::targz::gzip(&crate::targz::tar(&entries, mtime), mtime)
        }
    };
    Ok(encrypt_parts(bytes, records.len(), key, iv, part_size))
}

fn zip_bytes(records: &[&InvoiceRecord], only_metadata: bool) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    if !only_metadata {
        for r in records {
            zip.start_file(format!("{}.xml", r.ksef_number), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&r.xml).map_err(|e| e.to_string())?;
        }
    }
    let metadata = json!({"invoices": records.iter().map(|r| r.metadata()).collect::<Vec<_>>()});
    zip.start_file("_metadata.json", options)
        .map_err(|e| e.to_string())?;
    zip.write_all(metadata.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

fn encrypt_parts(
    bytes: Vec<u8>,
    invoice_count: usize,
    key: &[u8; 32],
    iv: &[u8; 16],
    part_size: usize,
) -> Package {
    let part_size = part_size.clamp(16, MAX_PART_SIZE);
    let parts = bytes
        .chunks(part_size)
        .enumerate()
        .map(|(i, chunk)| {
            let encrypted = aes_encrypt(key, iv, chunk);
            Part {
                ordinal: i + 1,
                plain_size: chunk.len(),
                plain_hash: sha256_b64(chunk),
                encrypted_hash: sha256_b64(&encrypted),
                encrypted,
            }
        })
        .collect();
    Package {
        size: bytes.len(),
        invoice_count,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::tests::record;
    use std::io::Read;
    use time::macros::datetime;

    #[test]
    fn parts_decrypt_and_unzip_to_invoices_and_metadata() {
        let mut r = record(
            1,
            "1111111111",
            "5265877635",
            datetime!(2026-02-01 10:00 UTC),
        );
        r.xml = std::sync::Arc::new(b"<Faktura>1</Faktura>".repeat(20));
        let r2 = record(
            2,
            "1111111111",
            "5265877635",
            datetime!(2026-02-01 11:00 UTC),
        );
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let pkg = build(&[&r, &r2], false, &key, &iv, 100).unwrap();
        assert!(pkg.parts.len() > 1);
        let mut zip_bytes = Vec::new();
        for p in &pkg.parts {
            assert_eq!(sha256_b64(&p.encrypted), p.encrypted_hash);
            let plain = aes_decrypt(&key, &iv, &p.encrypted).unwrap();
            assert_eq!(plain.len(), p.plain_size);
            zip_bytes.extend(plain);
        }
        assert_eq!(zip_bytes.len(), pkg.size);
        let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
        let mut xml = String::new();
        archive
            .by_name(&format!("{}.xml", r.ksef_number))
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        assert!(xml.starts_with("<Faktura>1</Faktura>"));
        let mut meta = String::new();
        archive
            .by_name("_metadata.json")
            .unwrap()
            .read_to_string(&mut meta)
            .unwrap();
        let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
        assert_eq!(meta["invoices"][1]["ksefNumber"], r2.ksef_number);
        let meta_only = build(&[&r], true, &key, &iv, MAX_PART_SIZE).unwrap();
        let plain = aes_decrypt(&key, &iv, &meta_only.parts[0].encrypted).unwrap();
        let archive = zip::ZipArchive::new(Cursor::new(plain)).unwrap();
        assert_eq!(archive.len(), 1);
    }

    #[test]
    fn targz_package_holds_the_invoices_and_metadata() {
        let mut r = record(
            1,
            "1111111111",
            "5265877635",
            datetime!(2026-02-01 10:00 UTC),
        );
        r.xml = std::sync::Arc::new(b"<Faktura>1</Faktura>".to_vec());
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let pkg = build_as(Compression::TarGz, &[&r], false, &key, &iv, 64).unwrap();
        let plain: Vec<u8> = pkg
            .parts
            .iter()
            .flat_map(|p| aes_decrypt(&key, &iv, &p.encrypted).unwrap())
            .collect();
        assert_eq!(&plain[..2], &[0x1f, 0x8b], "a gzip stream");
        let entries = crate::targz::read(&plain).unwrap();
        assert_eq!(entries[0].0, format!("{}.xml", r.ksef_number));
        assert_eq!(entries[0].1, b"<Faktura>1</Faktura>");
        assert_eq!(entries[1].0, "_metadata.json");
    }
}
