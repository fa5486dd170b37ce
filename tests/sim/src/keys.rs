//! The simulator's own "Ministerstwo Finansów" RSA keys: published as self-signed X.509
//! certificates at `GET /security/public-key-certificates` (ksef-guide §2) and used to
//! decrypt KSeF tokens (auth) and AES session keys (sessions, exports).
//!
//! RSA key generation is slow in debug builds, so the key material is generated once per
//! process ([`key_material`]) and shared by every simulator spawned in it (tests spawn many).

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use rsa::pkcs1v15::SigningKey;
use rsa::{Oaep, PrivateKey};
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;
use x509_cert::TbsCertificate;
use x509_cert::builder::{Builder, CertificateBuilder, profile::BuilderProfile};
use x509_cert::der::Encode;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{EncodePublicKey, SubjectPublicKeyInfo, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};

use crate::error::ApiError;
use crate::state::AppState;
use crate::util;

/// RSA modulus size for all simulator keys (KSeF's examples suggest 4096; 2048 keeps tests fast).
pub const KEY_BITS: usize = 2048;

/// `PublicKeyCertificateUsage` in open-api.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Usage {
    KsefTokenEncryption,
    SymmetricKeyEncryption,
}

/// The private keys generated once per process: 2 per usage (rotation) + the CA key that
/// signs KSeF certificates issued by `/certificates/enrollments`.
pub struct KeyMaterial {
    pub token_keys: [PrivateKey; 2],
    pub symmetric_keys: [PrivateKey; 2],
    pub ca_key: PrivateKey,
}

static KEYS: OnceLock<KeyMaterial> = OnceLock::new();

/// Makes `material` this process's keys (a state file loaded at start, `persist.rs`). Fine
/// when no key was used yet or the same keys are installed again; an error when the process
/// already has other keys (then material encrypted for the file's keys could not be read).
pub fn install_key_material(material: KeyMaterial) -> Result<(), String> {
    let spki = |k: &PrivateKey| {
        k.to_public_key()
            .to_public_key_der()
            .map(|d| d.into_vec())
            .ok()
    };
    let fingerprint = |m: &KeyMaterial| {
        m.token_keys
            .iter()
            .chain(&m.symmetric_keys)
            .chain(std::iter::once(&m.ca_key))
            .map(spki)
            .collect::<Vec<_>>()
    };
    let wanted = fingerprint(&material);
    match KEYS.set(material) {
        Ok(()) => Ok(()),
        Err(_) if fingerprint(key_material()) == wanted => Ok(()),
        Err(_) => Err("Ten proces ma już inne klucze symulatora niż plik stanu; uruchom osobny proces. / This process already uses other simulator keys than the state file.".into()),
    }
}

/// Generates (on first call, in parallel threads) and returns the process-wide key material.
pub fn key_material() -> &'static KeyMaterial {
    KEYS.get_or_init(|| {
        let mut keys: Vec<PrivateKey> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..5)
                .map(|_| scope.spawn(|| new_rsa_key(KEY_BITS)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("RSA key generation thread panicked"))
                .collect()
        });
        let ca_key = keys.pop().expect("5 keys");
        let s2 = keys.pop().expect("5 keys");
        let s1 = keys.pop().expect("5 keys");
        let t2 = keys.pop().expect("5 keys");
        let t1 = keys.pop().expect("5 keys");
        KeyMaterial {
            token_keys: [t1, t2],
            symmetric_keys: [s1, s2],
            ca_key,
        }
    })
}

/// A fresh RSA private key from the OS RNG.
pub fn new_rsa_key(bits: usize) -> PrivateKey {
    PrivateKey::new(&mut getrandom::SysRng, bits).expect("RSA key generation failed")
}

/// One published key: certificate + private key + ids.
pub struct PublishedKey {
    pub usage: Usage,
    pub private: &'static PrivateKey,
    pub cert_der: Vec<u8>,
    /// Base64(SHA-256(SubjectPublicKeyInfo DER)).
    pub public_key_id: String,
    /// Base64(SHA-256(certificate DER)).
    pub certificate_id: String,
    pub valid_from: OffsetDateTime,
    pub valid_to: OffsetDateTime,
}

/// Why a decryption with the simulator's keys failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// `publicKeyId` not published (→ 21470).
    UnknownKey,
    /// The ciphertext is not RSA-OAEP-SHA256 for that key.
    DecryptionFailed,
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::UnknownKey => ApiError::unknown_key(),
            KeyError::DecryptionFailed => ApiError::validation(
                "Nie udało się odszyfrować danych kluczem publicznym KSeF (RSA-OAEP-SHA256).",
            ),
        }
    }
}

/// The set of published keys of one simulator instance.
pub struct KeyStore {
    pub keys: Vec<PublishedKey>,
}

impl KeyStore {
    /// Builds the certificates. With `rotation` both keys of each usage are published (the
    /// newer one with a later `validFrom`), otherwise only the first.
    pub fn new(rotation: bool) -> Self {
        let material = key_material();
        let now = util::now();
        let mut keys = Vec::new();
        for (usage, pair) in [
            (Usage::KsefTokenEncryption, &material.token_keys),
            (Usage::SymmetricKeyEncryption, &material.symmetric_keys),
        ] {
            let count = if rotation { 2 } else { 1 };
            for (i, private) in pair.iter().take(count).enumerate() {
                let valid_from =
                    now - time::Duration::days(30) + time::Duration::days(i as i64 * 29);
                let valid_to = valid_from + time::Duration::days(730);
                keys.push(publish(usage, private, valid_from, valid_to));
            }
        }
        KeyStore { keys }
    }

    /// The key a client should pick for `usage`: valid now, latest `validFrom` (guide §2).
    pub fn current(&self, usage: Usage) -> Option<&PublishedKey> {
        self.keys
            .iter()
            .filter(|k| k.usage == usage)
            .max_by_key(|k| k.valid_from)
    }

    /// RSA-OAEP-SHA256 decryption with the key `public_key_id` names, or with the current
    /// key of `usage` when the client sent no id.
    pub fn decrypt(
        &self,
        usage: Usage,
        public_key_id: Option<&str>,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let key = match public_key_id {
            Some(id) => self
                .keys
                .iter()
                .find(|k| k.usage == usage && k.public_key_id == id)
                .ok_or(KeyError::UnknownKey)?,
            None => self.current(usage).ok_or(KeyError::UnknownKey)?,
        };
        key.private
            .decrypt(Oaep::<Sha256>::new(), ciphertext)
            .map_err(|_| KeyError::DecryptionFailed)
    }
}

fn publish(
    usage: Usage,
    private: &'static PrivateKey,
    valid_from: OffsetDateTime,
    valid_to: OffsetDateTime,
) -> PublishedKey {
    let subject =
        Name::from_str("CN=Ministerstwo Finansow (KSeF simulator),O=Ministerstwo Finansow,C=PL")
            .expect("static name");
    let spki_der = private
        .to_public_key()
        .to_public_key_der()
        .expect("SPKI encoding")
        .into_vec();
    let serial = util::random_bytes(8);
    let cert_der = build_certificate(
        subject.clone(),
        subject,
        &spki_der,
        &serial,
        valid_from,
        valid_to,
        CertKind::EndEntity,
        private,
    );
    PublishedKey {
        usage,
        private,
        public_key_id: util::sha256_b64(&spki_der),
        certificate_id: util::sha256_b64(&cert_der),
        cert_der,
        valid_from,
        valid_to,
    }
}

/// What the certificate is for (drives the extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    /// Self-signed CA (signs issued KSeF certificates).
    Ca,
    /// An end-entity key-encipherment certificate (published MF keys).
    EndEntity,
    /// KSeF "Authentication" certificate (digitalSignature).
    Authentication,
    /// KSeF "Offline" certificate (nonRepudiation, for KOD II).
    Offline,
}

struct SimProfile {
    subject: Name,
    issuer: Name,
    kind: CertKind,
}

impl BuilderProfile for SimProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let usages = match self.kind {
            CertKind::Ca => KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            CertKind::EndEntity => KeyUsages::KeyEncipherment.into(),
            CertKind::Authentication => KeyUsages::DigitalSignature.into(),
            CertKind::Offline => KeyUsages::NonRepudiation.into(),
        };
        let subject = tbs.subject();
        Ok(vec![
            BasicConstraints {
                ca: self.kind == CertKind::Ca,
                path_len_constraint: None,
            }
            .to_extension(subject, &[])?,
            KeyUsage(usages).to_extension(subject, &[])?,
        ])
    }
}

/// Builds a DER X.509 v3 certificate for `spki_der`, signed (RSA PKCS#1 v1.5 SHA-256) by
/// `signer`.
#[allow(clippy::too_many_arguments)]
pub fn build_certificate(
    subject: Name,
    issuer: Name,
    spki_der: &[u8],
    serial: &[u8],
    valid_from: OffsetDateTime,
    valid_to: OffsetDateTime,
    kind: CertKind,
    signer: &PrivateKey,
) -> Vec<u8> {
    let spki = SubjectPublicKeyInfo::try_from(spki_der).expect("valid SPKI");
    let validity = Validity::new(to_x509_time(valid_from), to_x509_time(valid_to));
    // A positive serial: clear the top bit.
    let mut serial = serial.to_vec();
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f;
        if *first == 0 {
            *first = 1;
        }
    }
    let serial = SerialNumber::new(&serial).expect("serial");
    let profile = SimProfile {
        subject,
        issuer,
        kind,
    };
    let builder =
        CertificateBuilder::new(profile, serial, validity, spki).expect("certificate builder");
    let signing_key = SigningKey::<Sha256>::new(signer.clone());
    let cert = builder.build(&signing_key).expect("certificate signing");
    cert.to_der().expect("certificate DER")
}

fn to_x509_time(t: OffsetDateTime) -> Time {
    let secs = t.unix_timestamp().max(0) as u64;
    let st = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    Time::try_from(st).expect("time in X.509 range")
}

/// `PublicKeyCertificate` (open-api.json).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyCertificate {
    certificate: String,
    certificate_id: String,
    public_key_id: String,
    valid_from: String,
    valid_to: String,
    usage: Vec<Usage>,
}

/// `GET /security/public-key-certificates` (no auth).
async fn public_key_certificates(State(state): State<AppState>) -> Json<Vec<PublicKeyCertificate>> {
    Json(
        state
            .keys
            .keys
            .iter()
            .map(|k| PublicKeyCertificate {
                certificate: util::b64(&k.cert_der),
                certificate_id: k.certificate_id.clone(),
                public_key_id: k.public_key_id.clone(),
                valid_from: util::rfc3339(k.valid_from),
                valid_to: util::rfc3339(k.valid_to),
                usage: vec![k.usage],
            })
            .collect(),
    )
}

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/security/public-key-certificates",
        get(public_key_certificates),
    )
}
