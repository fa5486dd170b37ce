//! The authorization policy of a login (`authorizationPolicy.allowedIps` in
//! `POST /auth/ksef-token`, `AuthorizationPolicy/AllowedIps` in the XAdES `AuthTokenRequest`):
//! the access token of that login works only from the listed IPv4 addresses, ranges and
//! CIDR masks; from anywhere else KSeF answers `403` with `reasonCode: ip-not-allowed`
//! (open-api `ForbiddenProblemDetails`; `uwierzytelnianie.md`).

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ApiError;

/// `AllowedIps` (open-api) — the same lists as the XML `Ip4Address`/`Ip4Range`/`Ip4Mask`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedIps {
    #[serde(default)]
    pub ip4_addresses: Vec<String>,
    #[serde(default)]
    pub ip4_ranges: Vec<String>,
    #[serde(default)]
    pub ip4_masks: Vec<String>,
}

fn ip4(text: &str) -> Option<Ipv4Addr> {
    text.trim().parse().ok()
}

impl AllowedIps {
    /// Reads `authorizationPolicy` of a JSON request: `Ok(None)` when absent or without
    /// `allowedIps`, 21405 when an entry is not an IPv4 address, range or mask.
    pub fn from_json(policy: Option<&Value>) -> Result<Option<Self>, ApiError> {
        let Some(ips) = policy
            .and_then(|p| p.get("allowedIps"))
            .filter(|v| !v.is_null())
        else {
            return Ok(None);
        };
        let list = |name: &str| -> Result<Vec<String>, ApiError> {
            match ips.get(name) {
                None | Some(Value::Null) => Ok(vec![]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or_else(|| {
                            ApiError::validation(format!("{name}: oczekiwano tekstu."))
                        })
                    })
                    .collect(),
                Some(_) => Err(ApiError::validation(format!(
                    "{name}: oczekiwano listy adresów."
                ))),
            }
        };
        let allowed = AllowedIps {
            ip4_addresses: list("ip4Addresses")?,
            ip4_ranges: list("ip4Ranges")?,
            ip4_masks: list("ip4Masks")?,
        };
        allowed.validate()?;
        Ok(Some(allowed))
    }

    /// Reads `AuthorizationPolicy/AllowedIps` of a (schema-valid) XAdES `AuthTokenRequest`.
    pub fn from_xml(document: &[u8]) -> Option<Self> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_reader(document);
        let mut allowed = AllowedIps::default();
        let mut inside_policy = false;
        let mut current: Option<String> = None;
        let mut found = false;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => {
                    let name = e.local_name().as_ref().to_string();
                    if name == "AuthorizationPolicy" {
                        inside_policy = true;
                    } else if name == "AllowedIps" && inside_policy {
                        found = true;
                    }
                    current = Some(name);
                }
                Ok(Event::Text(t)) if inside_policy => {
                    let text = t.xml10_content().trim().to_string();
                    match current.as_deref() {
                        Some("Ip4Address") => allowed.ip4_addresses.push(text),
                        Some("Ip4Range") => allowed.ip4_ranges.push(text),
                        Some("Ip4Mask") => allowed.ip4_masks.push(text),
                        _ => {}
                    }
                }
                Ok(Event::End(e)) => {
                    if e.local_name().as_ref() == "AuthorizationPolicy" {
                        inside_policy = false;
                    }
                    current = None;
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        found.then_some(allowed)
    }

    fn validate(&self) -> Result<(), ApiError> {
        let bad = |v: &str| ApiError::validation(format!("Nieprawidłowy adres IPv4: {v}."));
        for a in &self.ip4_addresses {
            ip4(a).ok_or_else(|| bad(a))?;
        }
        for r in &self.ip4_ranges {
            let (from, to) = r.split_once('-').ok_or_else(|| bad(r))?;
            ip4(from).zip(ip4(to)).ok_or_else(|| bad(r))?;
        }
        for m in &self.ip4_masks {
            let (net, bits) = m.split_once('/').ok_or_else(|| bad(m))?;
            ip4(net).ok_or_else(|| bad(m))?;
            bits.parse::<u8>()
                .ok()
                .filter(|b| *b <= 32)
                .ok_or_else(|| bad(m))?;
        }
        Ok(())
    }

    /// Whether `ip` is one of the allowed addresses (an empty policy allows nothing).
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4,
                None => return false,
            },
        };
        let n = u32::from(ip);
        self.ip4_addresses.iter().any(|a| ip4(a) == Some(ip))
            || self.ip4_ranges.iter().any(|r| {
                r.split_once('-')
                    .and_then(|(a, b)| ip4(a).zip(ip4(b)))
                    .is_some_and(|(a, b)| (u32::from(a)..=u32::from(b)).contains(&n))
            })
            || self.ip4_masks.iter().any(|m| {
                m.split_once('/')
                    .and_then(|(net, bits)| ip4(net).zip(bits.parse::<u32>().ok()))
                    .is_some_and(|(net, bits)| {
                        let mask = if bits == 0 {
                            0
                        } else {
                            u32::MAX << (32 - bits.min(32))
                        };
                        n & mask == u32::from(net) & mask
                    })
            })
    }
}

/// `403 ip-not-allowed` with `security.clientIp` (open-api `ForbiddenProblemDetails`).
pub fn ip_not_allowed(ip: IpAddr) -> ApiError {
    ApiError::ForbiddenWith {
        reason_code: "ip-not-allowed",
        detail: "Żądanie pochodzi z adresu IP innego niż wskazany podczas uwierzytelnienia.".into(),
        security: serde_json::json!({"clientIp": ip.to_string()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ranges_and_masks_match() {
        let p = AllowedIps {
            ip4_addresses: vec!["10.1.1.1".into()],
            ip4_ranges: vec!["192.168.0.10-192.168.0.20".into()],
            ip4_masks: vec!["172.16.0.0/16".into()],
        };
        let ok = |s: &str| p.allows(s.parse().unwrap());
        assert!(ok("10.1.1.1") && !ok("10.1.1.2"));
        assert!(ok("192.168.0.15") && !ok("192.168.0.21"));
        assert!(ok("172.16.200.3") && !ok("172.17.0.1"));
        assert!(!AllowedIps::default().allows("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn xml_policy_is_read() {
        let xml = br#"<AuthTokenRequest xmlns="http://ksef.mf.gov.pl/auth/token/2.0"><AuthorizationPolicy><AllowedIps><Ip4Address>1.2.3.4</Ip4Address><Ip4Mask>10.0.0.0/8</Ip4Mask></AllowedIps></AuthorizationPolicy></AuthTokenRequest>"#;
        let p = AllowedIps::from_xml(xml).unwrap();
        assert_eq!(p.ip4_addresses, vec!["1.2.3.4"]);
        assert_eq!(p.ip4_masks, vec!["10.0.0.0/8"]);
        assert!(AllowedIps::from_xml(b"<AuthTokenRequest/>").is_none());
    }
}
