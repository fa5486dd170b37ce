//! The parties: `Podmiot1`/`2`/`3`, `PodmiotUpowazniony`, `Podmiot1K`/`2K`, with their
//! addresses and contacts.

use serde::Serialize;

use super::tree::Node;

/// `TAdres`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// `KodKraju`.
    pub country: Option<String>,
    /// `AdresL1`.
    pub line1: Option<String>,
    /// `AdresL2`.
    pub line2: Option<String>,
    /// `GLN`.
    pub gln: Option<String>,
}

impl Address {
    fn of(node: &Node) -> Self {
        Self {
            country: node.text("KodKraju"),
            line1: node.text("AdresL1"),
            line2: node.text("AdresL2"),
            gln: node.text("GLN"),
        }
    }
}

/// `DaneKontaktowe` (e-mail and phone; `EmailPU`/`TelefonPU` for the authorised subject).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// E-mail.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A party: `Podmiot1`, `Podmiot2`, `Podmiot3`, `PodmiotUpowazniony`, or a party of the
/// corrected invoice (`Podmiot1K`, `Podmiot2K`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Party {
    /// `PrefiksPodatnika` (VAT-UE prefix of the seller).
    pub vat_prefix: Option<String>,
    /// `NrEORI`.
    pub eori: Option<String>,
    /// `NIP`.
    pub nip: Option<String>,
    /// `IDWew` (internal identifier, Podmiot3).
    pub internal_id: Option<String>,
    /// `KodUE` of a VAT-UE number.
    pub eu_country: Option<String>,
    /// `NrVatUE`.
    pub eu_vat_number: Option<String>,
    /// `KodKraju` of a foreign identifier.
    pub id_country: Option<String>,
    /// `NrID` — a foreign tax identifier.
    pub foreign_id: Option<String>,
    /// `BrakID` = 1: no identifier.
    pub no_id: Option<String>,
    /// `Nazwa`.
    pub name: Option<String>,
    /// `Adres`.
    pub address: Option<Address>,
    /// `AdresKoresp`.
    pub correspondence_address: Option<Address>,
    /// `DaneKontaktowe` (up to 3).
    pub contacts: Vec<Contact>,
    /// `StatusInfoPodatnika` (1 liquidation, 2 restructuring, 3 bankruptcy, 4 inheritance).
    pub taxpayer_status: Option<String>,
    /// `NrKlienta`.
    pub customer_number: Option<String>,
    /// `IDNabywcy`.
    pub buyer_id: Option<String>,
    /// `JST` (1: a local-government unit's subordinate unit).
    pub jst: Option<String>,
    /// `GV` (1: a VAT group member).
    pub gv: Option<String>,
    /// `Rola` (Podmiot3) or `RolaPU` (authorised subject).
    pub role: Option<String>,
    /// `RolaInna` = 1: another role, described in `role_description`.
    pub other_role: Option<String>,
    /// `OpisRoli`.
    pub role_description: Option<String>,
    /// `Udzial` — share in percent (additional buyer).
    pub share: Option<String>,
}

impl Party {
    pub(super) fn of(node: &Node) -> Self {
        let mut p = Self {
            vat_prefix: node.text("PrefiksPodatnika"),
            eori: node.text("NrEORI"),
            address: node.get("Adres").map(Address::of),
            correspondence_address: node.get("AdresKoresp").map(Address::of),
            contacts: node
                .all("DaneKontaktowe")
                .map(|c| Contact {
                    email: c.text("Email").or_else(|| c.text("EmailPU")),
                    phone: c.text("Telefon").or_else(|| c.text("TelefonPU")),
                })
                .collect(),
            taxpayer_status: node.text("StatusInfoPodatnika"),
            customer_number: node.text("NrKlienta"),
            buyer_id: node.text("IDNabywcy"),
            jst: node.text("JST"),
            gv: node.text("GV"),
            role: node.text("Rola").or_else(|| node.text("RolaPU")),
            other_role: node.text("RolaInna"),
            role_description: node.text("OpisRoli"),
            share: node.text("Udzial"),
            ..Self::default()
        };
        // Podmiot1K/2K carry the identification directly; the others in DaneIdentyfikacyjne.
        let id = node.get("DaneIdentyfikacyjne").unwrap_or(node);
        p.nip = id.text("NIP");
        p.internal_id = id.text("IDWew");
        p.eu_country = id.text("KodUE");
        p.eu_vat_number = id.text("NrVatUE");
        p.id_country = id.text("KodKraju");
        p.foreign_id = id.text("NrID");
        p.no_id = id.text("BrakID");
        p.name = id.text("Nazwa");
        p
    }

    /// The identifier to show: NIP, VAT-UE, foreign ID, internal ID, or "brak".
    pub fn identifier(&self) -> String {
        if let Some(nip) = &self.nip {
            format!("NIP {nip}")
        } else if let Some(vat) = &self.eu_vat_number {
            format!(
                "VAT UE {}{vat}",
                self.eu_country.clone().unwrap_or_default()
            )
        } else if let Some(id) = &self.foreign_id {
            format!("{} {id}", self.id_country.clone().unwrap_or_default())
        } else if let Some(id) = &self.internal_id {
            format!("ID {id}")
        } else {
            "brak identyfikatora / no identifier".into()
        }
    }

    /// Polish label of the Podmiot3 `Rola` code.
    pub fn third_party_role_pl(&self) -> Option<&'static str> {
        Some(match self.role.as_deref()? {
            "1" => "Faktor",
            "2" => "Odbiorca",
            "3" => "Podmiot pierwotny",
            "4" => "Dodatkowy nabywca",
            "5" => "Wystawca faktury",
            "6" => "Dokonujący płatności",
            "7" => "JST — wystawca",
            "8" => "JST — odbiorca",
            "9" => "Członek grupy VAT — wystawca",
            "10" => "Członek grupy VAT — odbiorca",
            "11" => "Pracownik",
            _ => return None,
        })
    }
}
