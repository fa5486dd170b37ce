//! [`extract`]: the facts the simulator needs (parties, numbers, dates, amounts) read from an
//! FA(3) document by element path with quick-xml.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{Identifier, InvoiceFacts, ThirdSubject};

/// Pulls the facts out of an (XSD-valid) FA(3) document by element path.
pub fn extract(xml: &[u8]) -> Result<InvoiceFacts, String> {
    let text = std::str::from_utf8(xml).map_err(|e| e.to_string())?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut facts = InvoiceFacts::default();
    let mut net = Cents::default();
    let mut vat = Cents::default();
    let mut third: Option<ThirdSubject> = None;
    let mut authorized: Option<(String, Option<String>, u8)> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if name == "KodFormularza" {
                    for attr in e.attributes().flatten() {
                        if attr.key.local_name().as_ref() == "kodSystemowy" {
                            facts.system_code = attr
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .map(|v| v.into_owned())
                                .unwrap_or_default();
                        }
                    }
                }
                if name == "Podmiot3" && path.len() == 1 {
                    third = Some(ThirdSubject::default());
                }
                if name == "PodmiotUpowazniony" && path.len() == 1 {
                    authorized = Some((String::new(), None, 0));
                }
                if name == "Zalacznik" && path.len() == 1 {
                    facts.has_attachment = true;
                }
                path.push(name);
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                path.pop();
                if name == "Podmiot3"
                    && path.len() == 1
                    && let Some(t) = third.take()
                {
                    facts.third_subjects.push(t);
                }
            }
            Event::Empty(e) if e.local_name().as_ref() == "Zalacznik" && path.len() == 1 => {
                facts.has_attachment = true;
            }
            Event::Text(t) => {
                // quick-xml 0.38+ reports entity references separately (GeneralRef).
                let value = t.xml10_content().into_owned();
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                apply(
                    &p,
                    value,
                    &mut facts,
                    &mut net,
                    &mut vat,
                    &mut third,
                    &mut authorized,
                );
            }
            Event::GeneralRef(r) => {
                // Entity references split text in quick-xml 0.38+; keep P_2/Nazwa intact.
                let ch = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    }
                    .to_string(),
                };
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                append_text(&p, &ch, &mut facts);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if facts.seller_nip.is_empty() {
        return Err("Brak Podmiot1/DaneIdentyfikacyjne/NIP. / Seller NIP missing.".into());
    }
    if facts.buyer.kind.is_empty() {
        facts.buyer.kind = "None".into();
    }
    facts.net = net.to_string();
    facts.vat = vat.to_string();
    facts.authorized_subject = authorized;
    Ok(facts)
}

fn append_text(path: &[&str], text: &str, facts: &mut InvoiceFacts) {
    match path {
        [_, "Fa", "P_2"] => facts.invoice_number.push_str(text),
        [_, "Podmiot1", "DaneIdentyfikacyjne", "Nazwa"] => facts
            .seller_name
            .get_or_insert_with(String::new)
            .push_str(text),
        [_, "Podmiot2", "DaneIdentyfikacyjne", "Nazwa"] => facts
            .buyer_name
            .get_or_insert_with(String::new)
            .push_str(text),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    path: &[&str],
    value: String,
    facts: &mut InvoiceFacts,
    net: &mut Cents,
    vat: &mut Cents,
    third: &mut Option<ThirdSubject>,
    authorized: &mut Option<(String, Option<String>, u8)>,
) {
    // Names and P_2 may arrive in pieces around entity references: keep them verbatim.
    if let [_, "Podmiot1", "DaneIdentyfikacyjne", "Nazwa"]
    | [_, "Podmiot2", "DaneIdentyfikacyjne", "Nazwa"]
    | [_, "Fa", "P_2"] = path
    {
        append_text(path, &value, facts);
        return;
    }
    let value = value.trim().to_string();
    if value.is_empty() {
        return;
    }
    match path {
        [_, "Podmiot1", "DaneIdentyfikacyjne", "NIP"] => facts.seller_nip = value,
        [_, "Podmiot2", "DaneIdentyfikacyjne", field] => match *field {
            "NIP" => {
                facts.buyer = Identifier {
                    kind: "Nip".into(),
                    value: Some(value),
                }
            }
            "KodUE" => {
                facts.buyer.kind = "VatUe".into();
                facts.buyer.value = Some(value);
            }
            "NrVatUE" => {
                facts.buyer.kind = "VatUe".into();
                let prefix = facts.buyer.value.take().unwrap_or_default();
                facts.buyer.value = Some(format!("{prefix}{value}"));
            }
            "NrID" => {
                facts.buyer = Identifier {
                    kind: "Other".into(),
                    value: Some(value),
                }
            }
            "BrakID" => {
                facts.buyer = Identifier {
                    kind: "None".into(),
                    value: None,
                }
            }
            _ => {}
        },
        [_, "Podmiot3", "DaneIdentyfikacyjne", field] => {
            if let Some(t) = third.as_mut() {
                match *field {
                    "NIP" => t.identifier = ident("Nip", value),
                    "IDWew" => t.identifier = ident("InternalId", value),
                    "NrVatUE" => t.identifier = ident("VatUe", value),
                    "NrID" => t.identifier = ident("Other", value),
                    "BrakID" => {
                        t.identifier = Identifier {
                            kind: "None".into(),
                            value: None,
                        }
                    }
                    "Nazwa" => t.name = Some(value),
                    _ => {}
                }
            }
        }
        [_, "Podmiot3", "Rola"] => {
            if let Some(t) = third.as_mut() {
                t.role = value.parse().unwrap_or(0);
            }
        }
        [_, "PodmiotUpowazniony", "DaneIdentyfikacyjne", "NIP"] => {
            if let Some(a) = authorized.as_mut() {
                a.0 = value;
            }
        }
        [_, "PodmiotUpowazniony", "DaneIdentyfikacyjne", "Nazwa"] => {
            if let Some(a) = authorized.as_mut() {
                a.1 = Some(value);
            }
        }
        [_, "PodmiotUpowazniony", "RolaPU"] => {
            if let Some(a) = authorized.as_mut() {
                a.2 = value.parse().unwrap_or(0);
            }
        }
        [_, "Fa", "KodWaluty"] => facts.currency = value,
        [_, "Fa", "P_1"] => facts.issue_date = value,
        [_, "Fa", "P_15"] => facts.gross = value,
        [_, "Fa", "RodzajFaktury"] => facts.invoice_type = value,
        [_, "Fa", field] if field.starts_with("P_13_") => net.add(&value),
        [_, "Fa", field] if field.starts_with("P_14_") && !field.ends_with('W') => vat.add(&value),
        [_, "Fa", "Adnotacje", "P_17"] => facts.is_self_invoicing = value == "1",
        _ => {}
    }
}

fn ident(kind: &str, value: String) -> Identifier {
    Identifier {
        kind: kind.into(),
        value: Some(value),
    }
}

/// Money sum in hundredths (XSD `TKwotowy` has at most 2 fraction digits).
#[derive(Default, Debug, Clone, Copy)]
struct Cents(i64);

impl Cents {
    fn add(&mut self, text: &str) {
        if let Some(c) = parse_cents(text) {
            self.0 = self.0.saturating_add(c);
        }
    }
}

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// `"123.4"` → 12340; `None` for anything that is not a 2-decimal amount.
pub fn parse_cents(text: &str) -> Option<i64> {
    let text = text.trim();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut cents = whole.parse::<i64>().ok()?.checked_mul(100)?;
    let frac_val = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    cents = cents.checked_add(frac_val)?;
    Some(if neg { -cents } else { cents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_parse() {
        assert_eq!(parse_cents("123.4"), Some(12340));
        assert_eq!(parse_cents("-0.05"), Some(-5));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(Cents(-5).to_string(), "-0.05");
    }
}
