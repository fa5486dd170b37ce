//! FA(3) writing, reading and XSD validity of everything Kwit generates.

mod common;

use common::*;

#[test]
fn minimal_vat_invoice_is_xsd_valid() {
    let inv = vat_draft().validate().expect("valid draft");
    let xml = inv.to_fa3_xml(generated_at());
    println!("{xml}");
    assert_xsd_valid(&xml);
}
