//! Shared helpers for the invoice tests: sample drafts and XSD validation via xmllint.

#![allow(dead_code)]

use ksef_core::invoice::{InvoiceDraft, LineDraft, SellerDraft};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use time::OffsetDateTime;
use time::macros::datetime;

pub const SELLER_NIP: &str = "5265877635";
pub const BUYER_NIP: &str = "7352765225";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn generated_at() -> OffsetDateTime {
    datetime!(2026-02-01 10:00:00 UTC)
}

pub fn line(description: &str, quantity: &str, price: &str, rate: &str) -> LineDraft {
    LineDraft {
        description: description.into(),
        unit: "szt.".into(),
        quantity: quantity.into(),
        unit_price: price.into(),
        rate: rate.into(),
    }
}

/// A complete, valid domestic VAT invoice draft.
pub fn vat_draft() -> InvoiceDraft {
    let mut d = InvoiceDraft {
        number: "FV/1/02/2026".into(),
        issue_date: "2026-02-01".into(),
        seller: SellerDraft {
            nip: SELLER_NIP.into(),
            name: "Jan Kowalski Software".into(),
            country: "PL".into(),
            address_line1: "ul. Testowa 1, 00-001 Warszawa".into(),
            ..SellerDraft::default()
        },
        lines: vec![line("Usługa programistyczna", "1", "100", "23")],
        ..InvoiceDraft::default()
    };
    d.buyer.nip = BUYER_NIP.into();
    d.buyer.name = "Nabywca S.A.".into();
    d.buyer.country = "PL".into();
    d.buyer.address_line1 = "ul. Polna 2, 00-002 Warszawa".into();
    d
}

/// Validates `xml` against the vendored FA(3) XSD with xmllint; Err carries its output.
pub fn xsd_check(xml: &str) -> Result<(), String> {
    let schema = repo_root().join("schemas/fa3/schemat_FA(3)_v1-0E.xsd");
    let mut child = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&schema)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("xmllint must be installed (apt-get install -y libxml2-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}\n--- xml ---\n{xml}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

pub fn assert_xsd_valid(xml: &str) {
    if let Err(e) = xsd_check(xml) {
        panic!("generated FA(3) is not XSD-valid:\n{e}");
    }
}
