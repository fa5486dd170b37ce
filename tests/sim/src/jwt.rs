//! Minimal HS256 JWTs (RFC 7519) for the simulator's operation, access and refresh tokens.
//! Real clients treat KSeF JWTs as opaque (ksef-guide §3.7); the simulator verifies its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Serialize, de::DeserializeOwned};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs `claims` as a compact JWS with HS256.
pub fn sign<C: Serialize>(secret: &[u8], claims: &C) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

/// Verifies the HS256 signature and decodes the claims. `None` for anything malformed or forged.
pub fn verify<C: DeserializeOwned>(secret: &[u8], token: &str) -> Option<C> {
    let mut parts = token.split('.');
    let (header, payload, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(format!("{}.{}", token.split('.').next()?, payload).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let t = sign(b"k", &serde_json::json!({"a":1}));
        let v: serde_json::Value = verify(b"k", &t).unwrap();
        assert_eq!(v["a"], 1);
        assert!(verify::<serde_json::Value>(b"other", &t).is_none());
        let mut forged = t.clone();
        forged.insert(forged.find('.').unwrap() + 2, 'x');
        assert!(verify::<serde_json::Value>(b"k", &forged).is_none());
    }
}
