//! A readable view of any FA(3) invoice — ours or one fetched from KSeF — for the invoice
//! page and its print layout. Values stay exactly as the XML has them (amounts, dates and
//! codes as text, so nothing is rounded or reinterpreted); helpers give labels for codes.
//!
//! Elements the view does not model are never dropped: they land in [`InvoiceView::other`]
//! with their path, and the page shows them under "Inne dane". Rarely used, deeply nested
//! blocks (transaction terms, the order of an advance invoice, new vehicles, the attachment)
//! are kept as generic [`Section`] trees in document order.
//!
//! This file holds [`InvoiceView`] with its header and footer; each part of the document has a
//! file in `view/` (element tree, parties, lines, payment, the `Fa` body), re-exported here.

mod details;
mod lines;
mod party;
mod payment;
mod tree;

pub use details::{
    AdvanceInvoice, Annotations, CorrectedInvoice, Correction, Details, ExtraDescription,
    PartialAdvance, Settlement, SettlementItem,
};
pub use lines::{Line, RateTotal};
pub use party::{Address, Contact, Party};
pub use payment::{BankAccount, DueDate, PartialPayment, Payment, method_pl};
pub use tree::{OtherField, Section};

use serde::Serialize;

use super::Fa3Error;
use crate::qr::{self, QrEnvironment};
use details::details;
use tree::{collect_other, parse_tree};

/// `Naglowek`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Header {
    /// `KodFormularza` (`FA`).
    pub form_code: Option<String>,
    /// `@kodSystemowy` (`FA (3)`).
    pub system_code: Option<String>,
    /// `@wersjaSchemy` (`1-0E`).
    pub schema_version: Option<String>,
    /// `WariantFormularza` (3).
    pub variant: Option<String>,
    /// `DataWytworzeniaFa`.
    pub created_at: Option<String>,
    /// `SystemInfo` — the issuing software.
    pub system_info: Option<String>,
}

/// `Stopka/Rejestry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Registry {
    /// `PelnaNazwa`.
    pub full_name: Option<String>,
    /// `KRS`.
    pub krs: Option<String>,
    /// `REGON`.
    pub regon: Option<String>,
    /// `BDO`.
    pub bdo: Option<String>,
}

/// `Stopka`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Footer {
    /// `Informacje/StopkaFaktury`.
    pub texts: Vec<String>,
    /// `Rejestry`.
    pub registries: Vec<Registry>,
}

/// The whole invoice, ready to render.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvoiceView {
    /// `Naglowek`.
    pub header: Header,
    /// `Podmiot1` — seller.
    pub seller: Party,
    /// `Podmiot2` — buyer.
    pub buyer: Party,
    /// `Podmiot3` — other parties with their roles.
    pub third_parties: Vec<Party>,
    /// `PodmiotUpowazniony`.
    pub authorized: Option<Party>,
    /// `Fa`.
    pub details: Details,
    /// `Stopka`.
    pub footer: Footer,
    /// `Zalacznik` — the structured attachment, kept whole.
    pub attachment: Option<Section>,
    /// Elements not modelled above, with their paths (never dropped).
    pub other: Vec<OtherField>,
}

impl InvoiceView {
    /// Reads any FA(3) XML. Fails only on malformed XML or a root other than `Faktura`.
    pub fn parse(xml: &str) -> Result<Self, Fa3Error> {
        let root = parse_tree(xml)?;
        if root.name != "Faktura" {
            return Err(Fa3Error::NotFa3(root.name));
        }
        let header = root.get("Naglowek").map(|h| {
            let code = h.get("KodFormularza");
            Header {
                form_code: code.map(|c| c.text.clone()),
                system_code: code.and_then(|c| c.attribute("kodSystemowy")),
                schema_version: code.and_then(|c| c.attribute("wersjaSchemy")),
                variant: h.text("WariantFormularza"),
                created_at: h.text("DataWytworzeniaFa"),
                system_info: h.text("SystemInfo"),
            }
        });
        let footer = root.get("Stopka").map(|s| Footer {
            texts: s
                .all("Informacje")
                .flat_map(|i| i.texts("StopkaFaktury"))
                .collect(),
            registries: s
                .all("Rejestry")
                .map(|r| Registry {
                    full_name: r.text("PelnaNazwa"),
                    krs: r.text("KRS"),
                    regon: r.text("REGON"),
                    bdo: r.text("BDO"),
                })
                .collect(),
        });
        let mut view = Self {
            header: header.unwrap_or_default(),
            seller: root.get("Podmiot1").map(Party::of).unwrap_or_default(),
            buyer: root.get("Podmiot2").map(Party::of).unwrap_or_default(),
            third_parties: root.all("Podmiot3").map(Party::of).collect(),
            authorized: root.get("PodmiotUpowazniony").map(Party::of),
            details: root.get("Fa").map(details).unwrap_or_default(),
            footer: footer.unwrap_or_default(),
            attachment: root.get("Zalacznik").map(Section::of),
            other: Vec::new(),
        };
        collect_other(&root, "", &mut view.other);
        Ok(view)
    }

    /// Polish name of the invoice kind.
    pub fn kind_pl(&self) -> &'static str {
        match self.details.kind.as_deref() {
            Some("VAT") => "Faktura VAT",
            Some("KOR") => "Faktura korygująca",
            Some("ZAL") => "Faktura zaliczkowa",
            Some("ROZ") => "Faktura rozliczeniowa",
            Some("UPR") => "Faktura uproszczona",
            Some("KOR_ZAL") => "Korekta faktury zaliczkowej",
            Some("KOR_ROZ") => "Korekta faktury rozliczeniowej",
            _ => "Faktura",
        }
    }

    /// KOD I — the verification link printed with the invoice once it has a KSeF number
    /// (`kody-qr.md`): seller NIP, issue date (`P_1`) and the SHA-256 of the exact XML bytes.
    pub fn verification_url(
        &self,
        env: QrEnvironment,
        xml_bytes: &[u8],
    ) -> crate::error::Result<String> {
        let nip = self.seller.nip.as_deref().unwrap_or_default();
        let date = self.details.issue_date.as_deref().unwrap_or_default();
        qr::invoice_verification_url(env, nip, date, &crate::crypto::sha256_base64(xml_bytes))
    }
}
