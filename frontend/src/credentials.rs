//! Credentials per company: KSeF tokens and KSeF certificates (certificate + private key).
//! Secrets (the token, the private key) are sealed by the [`crate::vault`] before they are
//! stored; one credential per company is the default used to log in.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::session::token_reference;
use crate::store::{Db, Record, StorageError, Store};
use crate::vault::Sealed;

/// What kind of credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    /// A KSeF token (pasted).
    Token,
    /// A KSeF certificate with its private key.
    Certificate,
}

/// A stored credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Random id.
    pub id: String,
    /// The company it belongs to.
    pub company_id: String,
    /// The user's label.
    pub label: String,
    /// Token or certificate.
    pub kind: CredentialKind,
    /// The sealed secret: the KSeF token, or the PKCS#8 private key PEM.
    pub secret: Sealed,
    /// Token reference number (tokens only; not secret).
    #[serde(default)]
    pub reference_number: Option<String>,
    /// Certificate PEM (certificates only; public).
    #[serde(default)]
    pub certificate_pem: Option<String>,
    /// Certificate subject / validity summary for display (certificates only).
    #[serde(default)]
    pub summary: Option<String>,
    /// Used to log in by default.
    #[serde(default)]
    pub is_default: bool,
    /// Last status seen at KSeF (`Active`, `Revoked`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// Permissions last seen at KSeF.
    #[serde(default)]
    pub permissions: Vec<String>,
}

impl Record for Credential {
    const STORE: Store = Store::Credentials;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A problem with a credential the user entered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The label is empty.
    #[error("empty label")]
    EmptyLabel,
    /// The token does not look like a KSeF token.
    #[error("bad token")]
    BadToken,
    /// The certificate PEM does not parse.
    #[error("bad certificate")]
    BadCertificate,
    /// The key is not a PKCS#8 PEM.
    #[error("bad key")]
    BadKey,
}

impl CredentialError {
    /// A message for the user in their language.
    pub fn user_message(&self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Self::EmptyLabel, Lang::Pl) => "Podaj nazwę (etykietę), np. „Token do wystawiania”.",
            (Self::EmptyLabel, Lang::En) => "Enter a label, e.g. “Token for invoicing”.",
            (Self::BadToken, Lang::Pl) => {
                "To nie wygląda na token KSeF (numer-referencyjny|kontekst|sekret). Skopiuj cały token z KSeF."
            }
            (Self::BadToken, Lang::En) => {
                "This does not look like a KSeF token (reference|context|secret). Copy the whole token from KSeF."
            }
            (Self::BadCertificate, Lang::Pl) => {
                "Nie można odczytać certyfikatu. Wklej certyfikat w formacie PEM (-----BEGIN CERTIFICATE-----)."
            }
            (Self::BadCertificate, Lang::En) => {
                "The certificate cannot be read. Paste it as PEM (-----BEGIN CERTIFICATE-----)."
            }
            (Self::BadKey, Lang::Pl) => {
                "Nie można odczytać klucza prywatnego. Wklej klucz PKCS#8 w formacie PEM (-----BEGIN PRIVATE KEY-----)."
            }
            (Self::BadKey, Lang::En) => {
                "The private key cannot be read. Paste a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)."
            }
        }
    }
}

/// Checks a pasted token; returns its reference number.
pub fn check_token(label: &str, token: &str) -> Result<String, CredentialError> {
    if label.trim().is_empty() {
        return Err(CredentialError::EmptyLabel);
    }
    let token = token.trim();
    if token.len() > 160 || token.chars().any(char::is_whitespace) {
        return Err(CredentialError::BadToken);
    }
    token_reference(token)
        .map(str::to_owned)
        .ok_or(CredentialError::BadToken)
}

/// The DER bytes inside the first PEM block labelled `label`.
pub fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = pem[start..].find(&end)? + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    B64.decode(body).ok()
}

/// Checks the pasted certificate + PKCS#8 key look right (PEM blocks present); the signer
/// worker then checks that they belong together ([`crate::signer::check`]).
pub fn check_certificate(
    label: &str,
    certificate_pem: &str,
    key_pem: &str,
) -> Result<(), CredentialError> {
    if label.trim().is_empty() {
        return Err(CredentialError::EmptyLabel);
    }
    if pem_block(certificate_pem, "CERTIFICATE").is_none() {
        return Err(CredentialError::BadCertificate);
    }
    if !key_pem.contains("PRIVATE KEY-----") {
        return Err(CredentialError::BadKey);
    }
    Ok(())
}

/// The credentials of a company.
pub async fn for_company(db: &Db, company_id: &str) -> Result<Vec<Credential>, StorageError> {
    let mut all: Vec<Credential> = db.load_all().await?;
    all.retain(|c| c.company_id == company_id);
    crate::store::sort_small_by(&mut all, |a, b| {
        (b.is_default, &a.label) < (a.is_default, &b.label)
    });
    Ok(all)
}

/// The default credential of a company.
pub async fn default_for(db: &Db, company_id: &str) -> Result<Option<Credential>, StorageError> {
    Ok(for_company(db, company_id)
        .await?
        .into_iter()
        .find(|c| c.is_default))
}

/// Makes `id` the only default credential of its company.
pub async fn set_default(db: &Db, company_id: &str, id: &str) -> Result<(), StorageError> {
    for mut c in for_company(db, company_id).await? {
        let want = c.id == id;
        if c.is_default != want {
            c.is_default = want;
            db.save(&c).await?;
        }
    }
    Ok(())
}

/// Saves a new credential; the first one of a company becomes its default.
pub async fn add(db: &Db, mut credential: Credential) -> Result<(), StorageError> {
    let existing = for_company(db, &credential.company_id).await?;
    if !existing.iter().any(|c| c.is_default) {
        credential.is_default = true;
    }
    db.save(&credential).await
}

impl crate::api::Explain for CredentialError {
    fn message_in(&self, lang: Lang) -> String {
        self.user_message(lang).into()
    }
}
