//! Serde mirror of the FA(3) schema subset Kwit writes and reads.
//!
//! Field order is the XSD `sequence` order (`schemas/fa3/schemat_FA(3)_v1-0E.xsd`); choices
//! are flattened into optional fields in the order the XSD lists their branches. Elements
//! Kwit does not model are skipped on read. Names are the XML element names on purpose.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Faktura")]
#[allow(non_snake_case)]
pub(crate) struct Faktura {
    #[serde(rename = "@xmlns", default, skip_serializing_if = "Option::is_none")]
    pub xmlns: Option<String>,
    pub Naglowek: Naglowek,
    pub Podmiot1: Podmiot1,
    pub Podmiot2: Podmiot2,
    pub Fa: Fa,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Stopka: Option<Stopka>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Naglowek {
    pub KodFormularza: KodFormularza,
    pub WariantFormularza: String,
    pub DataWytworzeniaFa: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SystemInfo: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct KodFormularza {
    #[serde(rename = "@kodSystemowy")]
    pub kod_systemowy: String,
    #[serde(rename = "@wersjaSchemy")]
    pub wersja_schemy: String,
    #[serde(rename = "$text")]
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Podmiot1 {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub PrefiksPodatnika: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrEORI: Option<String>,
    pub DaneIdentyfikacyjne: DaneIdentyfikacyjne,
    pub Adres: Adres,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub DaneKontaktowe: Vec<DaneKontaktowe>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Podmiot2 {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrEORI: Option<String>,
    pub DaneIdentyfikacyjne: DaneIdentyfikacyjne,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Adres: Option<Adres>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub DaneKontaktowe: Vec<DaneKontaktowe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKlienta: Option<String>,
    pub JST: String,
    pub GV: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct DaneIdentyfikacyjne {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NIP: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub KodUE: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrVatUE: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub KodKraju: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrID: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub BrakID: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Nazwa: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Adres {
    pub KodKraju: String,
    pub AdresL1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub AdresL2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub GLN: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct DaneKontaktowe {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Telefon: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Fa {
    pub KodWaluty: String,
    pub P_1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_1M: Option<String>,
    pub P_2: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_6: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub OkresFa: Option<OkresFa>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_1W: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_2W: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_3W: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_4W: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_14_5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_6_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_6_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_6_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_7: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_8: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_9: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_10: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_13_11: Option<String>,
    pub P_15: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub KursWalutyZ: Option<String>,
    pub Adnotacje: Adnotacje,
    pub RodzajFaktury: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub PrzyczynaKorekty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub TypKorekty: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub DaneFaKorygowanej: Vec<DaneFaKorygowanej>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub DodatkowyOpis: Vec<DodatkowyOpis>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub FakturaZaliczkowa: Vec<FakturaZaliczkowa>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub FaWiersz: Vec<FaWiersz>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Platnosc: Option<Platnosc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Zamowienie: Option<Zamowienie>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct OkresFa {
    pub P_6_Od: String,
    pub P_6_Do: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Adnotacje {
    pub P_16: String,
    pub P_17: String,
    pub P_18: String,
    pub P_18A: String,
    pub Zwolnienie: Zwolnienie,
    pub NoweSrodkiTransportu: NoweSrodkiTransportu,
    pub P_23: String,
    pub PMarzy: PMarzy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Zwolnienie {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_19: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_19A: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_19B: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_19C: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_19N: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct NoweSrodkiTransportu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_22: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_22N: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct PMarzy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzy_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzy_3_1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzy_3_2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzy_3_3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_PMarzyN: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct DaneFaKorygowanej {
    pub DataWystFaKorygowanej: String,
    pub NrFaKorygowanej: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKSeF: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKSeFFaKorygowanej: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKSeFN: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct DodatkowyOpis {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrWiersza: Option<String>,
    pub Klucz: String,
    pub Wartosc: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct FakturaZaliczkowa {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKSeFZN: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrFaZaliczkowej: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NrKSeFFaZaliczkowej: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct FaWiersz {
    pub NrWierszaFa: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub UU_ID: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_6A: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_7: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_8A: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_8B: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_9A: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_9B: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_10: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_11: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_11A: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_11Vat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_12: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub KursWaluty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub StanPrzed: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Platnosc {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Zaplacono: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub DataZaplaty: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub TerminPlatnosci: Vec<TerminPlatnosci>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub FormaPlatnosci: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub PlatnoscInna: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub OpisPlatnosci: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub RachunekBankowy: Vec<RachunekBankowy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct TerminPlatnosci {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub Termin: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct RachunekBankowy {
    pub NrRB: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub SWIFT: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub NazwaBanku: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Zamowienie {
    pub WartoscZamowienia: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ZamowienieWiersz: Vec<ZamowienieWiersz>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct ZamowienieWiersz {
    pub NrWierszaZam: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_7Z: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_8AZ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_8BZ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_9AZ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_11NettoZ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_11VatZ: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub P_12Z: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Stopka {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub Informacje: Vec<Informacje>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub(crate) struct Informacje {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub StopkaFaktury: Option<String>,
}
