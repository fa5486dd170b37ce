//! KSeF's public keys (§2): [`PublicKeys`], fetched, cached and picked by usage and date.

use super::KsefClient;
use crate::api;
use crate::crypto::{self, KeyUsage, ParsedCertificate};
use crate::error::{Error, Result};
use crate::transport::{Sleep, Transport};

/// KSeF public-key certificates, parsed; cache it and refetch on 21470.
///
/// Serializable so the browser can keep it across visits (IndexedDB): it is stored as the
/// list KSeF sent (`certificate` Base64 DER, `usage`, `validFrom`) and parsed again on load,
/// so a cached copy can never disagree with its certificates. The keys are public.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "Vec<CachedPublicKey>", try_from = "Vec<CachedPublicKey>")]
pub struct PublicKeys {
    entries: Vec<(Vec<KeyUsage>, String, ParsedCertificate)>,
}

/// One cached entry of [`PublicKeys`].
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedPublicKey {
    certificate: String,
    usage: Vec<KeyUsage>,
    valid_from: String,
}

impl From<PublicKeys> for Vec<CachedPublicKey> {
    fn from(keys: PublicKeys) -> Self {
        keys.entries
            .into_iter()
            .map(|(usage, valid_from, cert)| CachedPublicKey {
                certificate: crypto::base64_encode(&cert.der),
                usage,
                valid_from,
            })
            .collect()
    }
}

impl TryFrom<Vec<CachedPublicKey>> for PublicKeys {
    type Error = Error;

    fn try_from(cached: Vec<CachedPublicKey>) -> Result<Self> {
        let entries = cached
            .into_iter()
            .map(|c| {
                ParsedCertificate::from_base64(&c.certificate)
                    .map(|cert| (c.usage, c.valid_from, cert))
            })
            .collect::<Result<_>>()?;
        Ok(Self { entries })
    }
}

impl PublicKeys {
    /// Parses the `GET /security/public-key-certificates` response; unparsable entries are skipped.
    pub fn from_response(
        certs: &[api::security::public_key_certificates::PublicKeyCertificate],
    ) -> Result<Self> {
        let mut entries = Vec::new();
        for c in certs {
            let usages = c
                .usage
                .iter()
                .filter_map(|u| match u.as_str() {
                    "KsefTokenEncryption" => Some(KeyUsage::KsefTokenEncryption),
                    "SymmetricKeyEncryption" => Some(KeyUsage::SymmetricKeyEncryption),
                    _ => None,
                })
                .collect::<Vec<_>>();
            if let Ok(parsed) = ParsedCertificate::from_base64(&c.certificate) {
                entries.push((usages, c.valid_from.clone(), parsed));
            }
        }
        if entries.is_empty() {
            return Err(Error::NoPublicKey {
                usage: "KsefTokenEncryption/SymmetricKeyEncryption".into(),
            });
        }
        Ok(Self { entries })
    }

    /// True when nothing was fetched yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Picks a certificate for `usage` valid at `now_unix`, preferring the latest `validFrom` (§2).
    pub fn select(&self, usage: KeyUsage, now_unix: u64) -> Result<&ParsedCertificate> {
        self.entries
            .iter()
            .filter(|(u, _, c)| u.contains(&usage) && c.is_valid_at(now_unix))
            .max_by_key(|(_, _, c)| c.not_before_unix)
            .map(|(_, _, c)| c)
            .ok_or_else(|| Error::NoPublicKey {
                usage: usage.as_str().into(),
            })
    }
}

/// `GET /security/public-key-certificates`.
pub async fn fetch_public_keys<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
) -> Result<PublicKeys> {
    let certs = client
        .execute(&api::security::public_key_certificates::Request, None)
        .await?;
    PublicKeys::from_response(&certs)
}

/// Makes sure `keys` holds a usable key for `usage`, fetching when empty/outdated.
pub async fn ensure_public_keys<T: Transport, S: Sleep>(
    client: &KsefClient<T, S>,
    keys: &mut PublicKeys,
    usage: KeyUsage,
    now_unix: u64,
) -> Result<()> {
    if keys.select(usage, now_unix).is_err() {
        *keys = fetch_public_keys(client).await?;
        keys.select(usage, now_unix)?;
    }
    Ok(())
}
