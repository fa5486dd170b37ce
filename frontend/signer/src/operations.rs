//! The worker's operations: check a certificate and key, sign the XAdES login, make a key and
//! CSR, and the requests that talk to KSeF.

use ksef_core::api::ContextIdentifier;
use ksef_core::api::certificates::enrollment_data;
use ksef_core::crypto::ParsedCertificate;
use ksef_core::xades::{
    AuthTokenRequest, SigningKey, SubjectIdentifierType, XadesSigner, pem_or_der,
    sign_auth_token_request,
};
use serde::{Deserialize, Serialize};

pub mod remote;

use ksef_core::error::Language;

use crate::{Envelope, KeyAlgorithm, Reply, Request};

/// What the app shows about a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateFacts {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Start of validity, `YYYY-MM-DD`.
    pub valid_from: String,
    /// End of validity, `YYYY-MM-DD`.
    pub valid_to: String,
    /// `RSA` or `EC P-256`.
    pub key_type: String,
    /// The NIP the subject names (`serialNumber` TINPL-/NIP…, `organizationIdentifier`
    /// VATPL-…, ksef-guide §3.4): logging in with it in the same NIP context makes the
    /// user the Owner (§9).
    pub subject_nip: Option<String>,
}

impl CertificateFacts {
    /// One line for the credential list.
    pub fn summary(&self) -> String {
        format!(
            "{} ({} – {}, {})",
            self.subject, self.valid_from, self.valid_to, self.key_type
        )
    }
}

/// Why a certificate operation failed; each language's message says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message(Language::Pl))]
pub enum SignerError {
    /// The certificate is not a readable X.509 PEM.
    BadCertificate,
    /// The key is not a PEM private key at all.
    BadKey,
    /// The key is password-protected PKCS#8.
    EncryptedKey,
    /// PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) instead of PKCS#8.
    LegacyKeyFormat,
    /// A PKCS#8 key of another algorithm (P-384, Ed25519, …).
    UnsupportedKey,
    /// The key does not belong to the certificate.
    KeyMismatch,
    /// The certificate's validity ended.
    Expired(String),
    /// The certificate is not valid yet.
    NotYetValid(String),
    /// ksef-core failed (signing, key generation, CSR); the text is already bilingual.
    Crypto(ksef_core::error::Error),
    /// The message could not be read (app and worker from different releases?).
    Protocol(String),
}

impl SignerError {
    /// What happened and what to do, in `lang`.
    pub fn message(&self, lang: Language) -> String {
        match (self, lang) {
            (Self::BadCertificate, Language::Pl) => "Nie można odczytać certyfikatu — wklej certyfikat PEM (-----BEGIN CERTIFICATE-----).".into(),
            (Self::BadCertificate, Language::En) => "The certificate cannot be read: paste a PEM certificate (-----BEGIN CERTIFICATE-----).".into(),
            (Self::BadKey, Language::Pl) => "Nie można odczytać klucza prywatnego — wklej klucz PKCS#8 PEM (-----BEGIN PRIVATE KEY-----).".into(),
            (Self::BadKey, Language::En) => "The private key cannot be read: paste a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----).".into(),
            (Self::EncryptedKey, Language::Pl) => "Klucz prywatny jest zaszyfrowany hasłem — odszyfruj go (openssl pkcs8 -in klucz.pem -nocrypt… lub eksport bez hasła) i wklej ponownie.".into(),
            (Self::EncryptedKey, Language::En) => "The private key is password-protected: export it without a password (e.g. openssl pkcs8 -topk8 -nocrypt) and paste it again.".into(),
            (Self::LegacyKeyFormat, Language::Pl) => "Klucz jest w starym formacie (PKCS#1/SEC1) — przekształć go do PKCS#8: openssl pkcs8 -topk8 -nocrypt -in klucz.pem.".into(),
            (Self::LegacyKeyFormat, Language::En) => "The key is in the old PKCS#1/SEC1 format: convert it to PKCS#8 with openssl pkcs8 -topk8 -nocrypt -in key.pem.".into(),
            (Self::UnsupportedKey, Language::Pl) => "Nieobsługiwany typ klucza — KSeF przyjmuje klucze RSA lub EC P-256. Użyj innego certyfikatu albo wygeneruj certyfikat KSeF w Kwit.".into(),
            (Self::UnsupportedKey, Language::En) => "Unsupported key type: KSeF accepts RSA or EC P-256 keys. Use another certificate or generate a KSeF certificate in Kwit.".into(),
            (Self::KeyMismatch, Language::Pl) => "Klucz prywatny nie pasuje do certyfikatu — wybierz klucz wygenerowany razem z tym certyfikatem.".into(),
            (Self::KeyMismatch, Language::En) => "The private key does not match the certificate: choose the key created together with this certificate.".into(),
            (Self::Expired(x), Language::Pl) => format!("Certyfikat wygasł {x} — użyj ważnego certyfikatu lub wygeneruj nowy certyfikat KSeF."),
            (Self::Expired(x), Language::En) => format!("The certificate expired on {x}: use a valid certificate or generate a new KSeF certificate."),
            (Self::NotYetValid(x), Language::Pl) => format!("Certyfikat jest ważny dopiero od {x} — sprawdź zegar komputera lub poczekaj."),
            (Self::NotYetValid(x), Language::En) => format!("The certificate is only valid from {x}: check the computer's clock or wait."),
            (Self::Crypto(e), lang) => e.message(lang),
            (Self::Protocol(x), Language::Pl) => format!("Błąd modułu podpisu ({x}) — odśwież stronę."),
            (Self::Protocol(x), Language::En) => format!("Signing module error ({x}): reload the page."),
        }
    }

    /// Both languages, as the reply carries them.
    pub fn failure(&self) -> crate::Failure {
        crate::Failure {
            pl: self.message(Language::Pl),
            en: self.message(Language::En),
        }
    }
}

fn crypto(e: ksef_core::error::Error) -> SignerError {
    SignerError::Crypto(e)
}

fn date(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// The first 10-digit run after `TINPL`, `NIP` or `VATPL` in a subject DN
/// (ksef-guide §3.4: `(TINPL|NIP).*?(\d{10})`, `(VATPL).*?(\d{10})`).
pub fn subject_nip(subject: &str) -> Option<String> {
    ["VATPL", "TINPL", "NIP"].iter().find_map(|prefix| {
        let rest = &subject[subject.find(prefix)? + prefix.len()..];
        let start = rest.find(|c: char| c.is_ascii_digit())?;
        let digits: String = rest[start..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() >= 10).then(|| digits[..10].to_owned())
    })
}

/// Reads a PKCS#8 PEM key, telling apart the formats people actually paste.
pub fn read_key(key_pem: &str) -> Result<SigningKey, SignerError> {
    let text = key_pem.trim();
    if text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err(SignerError::EncryptedKey);
    }
    if text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY") {
        return Err(SignerError::LegacyKeyFormat);
    }
    if !text.starts_with("-----BEGIN PRIVATE KEY-----") {
        return Err(SignerError::BadKey);
    }
    let der = pem_or_der(text.as_bytes()).map_err(|_| SignerError::BadKey)?;
    // A DER SEQUENCE that is not RSA/P-256 is another algorithm; anything else is garbage.
    SigningKey::from_pkcs8(&der).map_err(|_| {
        if der.first() == Some(&0x30) && der.len() > 16 {
            SignerError::UnsupportedKey
        } else {
            SignerError::BadKey
        }
    })
}

/// Checks a certificate + key pair; returns the signer and what to show about it.
pub fn load(
    certificate_pem: &str,
    key_pem: &str,
    now_unix: u64,
) -> Result<(XadesSigner, CertificateFacts), SignerError> {
    let text = certificate_pem.trim();
    if !text.starts_with("-----BEGIN CERTIFICATE-----") {
        return Err(SignerError::BadCertificate);
    }
    let der = pem_or_der(text.as_bytes()).map_err(|_| SignerError::BadCertificate)?;
    let cert = ParsedCertificate::from_der(&der).map_err(|_| SignerError::BadCertificate)?;
    let key = read_key(key_pem)?;
    if key.public_key_der().map_err(crypto)? != cert.spki_der {
        return Err(SignerError::KeyMismatch);
    }
    if now_unix > cert.not_after_unix {
        return Err(SignerError::Expired(date(cert.not_after_unix)));
    }
    if now_unix < cert.not_before_unix {
        return Err(SignerError::NotYetValid(date(cert.not_before_unix)));
    }
    let facts = CertificateFacts {
        subject: cert.subject(),
        valid_from: date(cert.not_before_unix),
        valid_to: date(cert.not_after_unix),
        subject_nip: subject_nip(&cert.subject()),
        key_type: match key {
            SigningKey::Rsa(_) => "RSA",
            SigningKey::EcdsaP256(_) => "EC P-256",
        }
        .into(),
    };
    let signer = XadesSigner::new(&der, key_pem.trim().as_bytes()).map_err(crypto)?;
    Ok((signer, facts))
}

/// Runs one request; the ones that talk to KSeF ([`Request::Login`], [`Request::Enroll`]) only
/// in the worker, where fetch exists.
pub async fn handle_async(request: Request) -> Result<Reply, SignerError> {
    match request {
        Request::Login {
            base_url,
            certificate_pem,
            key_pem,
            nip,
            now_unix,
        } => {
            let (_, facts) = load(&certificate_pem, &key_pem, now_unix)?;
            let tokens = ksef_core::flow::login_with_certificate(
                &remote::client(base_url),
                async |challenge: &ksef_core::api::auth::challenge::Response| {
                    sign_auth(
                        &certificate_pem,
                        &key_pem,
                        &challenge.challenge,
                        &nip,
                        now_unix,
                    )
                    .map(String::into_bytes)
                    .map_err(|e| ksef_core::error::Error::Signature(e.to_string()))
                },
                false,
            )
            .await
            .map_err(crypto)?;
            let owner = facts.subject_nip.as_deref() == Some(nip.as_str());
            Ok(Reply {
                tokens: Some(tokens),
                owner,
                ..Reply::default()
            })
        }
        Request::Enroll {
            base_url,
            access_token,
            name,
            certificate_type,
            algorithm,
            now_unix,
        } => {
            let client = remote::client(base_url);
            let data = ksef_core::flow::enrollment_data(&client, &access_token)
                .await
                .map_err(crypto)?;
            let (csr, key_pem) = key_and_csr(algorithm, &data)?;
            let issued = ksef_core::flow::enroll_certificate(
                &client,
                &access_token,
                &name,
                &certificate_type,
                &csr,
            )
            .await
            .map_err(crypto)?;
            let certificate_pem = certificate_pem(&issued.certificate);
            // KSeF dates the certificate from the moment it issued it, which is after the
            // request left (key generation, polling): check it against the clock now, or a
            // fresh certificate would look "not yet valid" whenever a second boundary passed.
            let checked_at = remote::now_unix().max(now_unix);
            let (_, facts) = load(&certificate_pem, &key_pem, checked_at)?;
            Ok(Reply {
                summary: Some(format!("{certificate_type} · {}", facts.summary())),
                certificate_pem: Some(certificate_pem),
                key_pem: Some(key_pem),
                ..Reply::default()
            })
        }
        other => handle(other),
    }
}

/// PEM armour for a Base64 DER certificate as KSeF returns it.
pub fn certificate_pem(base64_der: &str) -> String {
    let body: Vec<u8> = base64_der
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn rfc3339(unix: u64) -> String {
    i64::try_from(unix)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Runs one request that needs no network.
pub fn handle(request: Request) -> Result<Reply, SignerError> {
    match request {
        Request::Check {
            certificate_pem,
            key_pem,
            now_unix,
        } => load(&certificate_pem, &key_pem, now_unix).map(|(_, facts)| Reply {
            summary: Some(facts.summary()),
            ..Reply::default()
        }),
        Request::Login { .. } | Request::Enroll { .. } => Err(SignerError::Protocol(
            "network operation outside the worker".into(),
        )),
    }
}

/// The XAdES-signed `AuthTokenRequest` for `challenge` in the context of `nip`, after
/// checking the pair at `now_unix` (also the SigningTime).
pub fn sign_auth(
    certificate_pem: &str,
    key_pem: &str,
    challenge: &str,
    nip: &str,
    now_unix: u64,
) -> Result<String, SignerError> {
    let (signer, _) = load(certificate_pem, key_pem, now_unix)?;
    let request = AuthTokenRequest {
        challenge: challenge.to_owned(),
        context: ContextIdentifier::nip(nip),
        subject_identifier_type: SubjectIdentifierType::CertificateSubject,
    };
    let xml = sign_auth_token_request(&request, &signer, &rfc3339(now_unix)).map_err(crypto)?;
    String::from_utf8(xml).map_err(|e| crypto(ksef_core::error::Error::Crypto(e.to_string())))
}

/// A fresh key and its DER CSR.
pub fn key_and_csr(
    algorithm: KeyAlgorithm,
    data: &enrollment_data::Response,
) -> Result<(Vec<u8>, String), SignerError> {
    let mut rng = getrandom::SysRng;
    let key = match algorithm {
        KeyAlgorithm::EcP256 => SigningKey::generate_p256(&mut rng),
        KeyAlgorithm::Rsa2048 => SigningKey::generate_rsa2048(&mut rng),
    }
    .map_err(crypto)?;
    let csr = ksef_core::csr::build_csr(data, &key).map_err(crypto)?;
    Ok((csr, key.to_pkcs8_pem().map_err(crypto)?))
}

/// Answers one message text (the worker's `onmessage`); never panics on bad input.
pub async fn handle_message(text: &str) -> String {
    #[derive(Deserialize)]
    struct IdOnly {
        id: u32,
    }
    let (id, result) = match serde_json::from_str::<Envelope<Request>>(text) {
        Ok(envelope) => (envelope.id, handle_async(envelope.body).await),
        Err(e) => (
            serde_json::from_str::<IdOnly>(text).map_or(0, |m| m.id),
            Err(SignerError::Protocol(e.to_string())),
        ),
    };
    let body = result.unwrap_or_else(|e| Reply {
        failure: Some(e.failure()),
        ..Reply::default()
    });
    serde_json::to_string(&Envelope { id, body }).unwrap_or_default()
}

/// The worker's first message.
pub fn ready_message() -> String {
    serde_json::to_string(&Envelope {
        id: 0,
        body: Reply {
            ready: true,
            ..Reply::default()
        },
    })
    .unwrap_or_default()
}
