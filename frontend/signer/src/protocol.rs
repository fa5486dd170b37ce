//! The messages between the app and the worker. The app's first load compiles only this.

use serde::{Deserialize, Serialize};

/// A message with the id that pairs a reply with its request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Request number (1, 2, …); 0 is the worker's ready signal.
    pub id: u32,
    /// The request or the reply.
    pub body: T,
}

/// What the app asks the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Request {
    /// Checks an imported certificate + PKCS#8 key: both readable, the key belongs to the
    /// certificate, the certificate is valid at `now_unix`.
    #[serde(rename_all = "camelCase")]
    Check {
        /// Certificate, PEM.
        certificate_pem: String,
        /// Private key, PKCS#8 PEM. Secret.
        key_pem: String,
        /// Current time, Unix seconds.
        now_unix: u64,
    },
    /// Logs in with the certificate (ksef-guide §3.4): challenge → signed `AuthTokenRequest`
    /// → poll → redeem, ksef-core's flow over the relay at `base_url` (`/ksef/{env}/v2`).
    #[serde(rename_all = "camelCase")]
    Login {
        /// KSeF API base through the relay.
        base_url: String,
        /// Certificate, PEM.
        certificate_pem: String,
        /// Private key, PKCS#8 PEM. Secret.
        key_pem: String,
        /// The company's NIP (login context).
        nip: String,
        /// Current time, Unix seconds (validity check, XAdES SigningTime).
        now_unix: u64,
    },
    /// In a certificate session: enrollment data → key + CSR here → enrollment at KSeF → the
    /// issued certificate with its key (ksef-docs `certyfikaty-KSeF.md`).
    #[serde(rename_all = "camelCase")]
    Enroll {
        /// KSeF API base through the relay.
        base_url: String,
        /// Access token of the session. Secret.
        access_token: String,
        /// `certificateName`.
        name: String,
        /// `Authentication` or `Offline`.
        certificate_type: String,
        /// Key type.
        algorithm: KeyAlgorithm,
        /// Current time, Unix seconds.
        now_unix: u64,
    },
}

/// Key types KSeF accepts in a CSR (ksef-docs `certyfikaty-KSeF.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyAlgorithm {
    /// EC P-256 (recommended by KSeF; fast to generate).
    #[default]
    EcP256,
    /// RSA 2048.
    Rsa2048,
}

/// What the worker answers: the fields of the operation's result, or `failure`. A flat
/// struct because the app deserializes it: an enum costs more first-load wasm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Reply {
    /// The worker is listening (the id 0 message).
    pub ready: bool,
    /// Why the operation failed, in both languages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// [`Request::Check`], [`Request::Enroll`]: subject, validity, key type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// [`Request::Login`]: access and refresh tokens. Secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<ksef_core::flow::AuthTokens>,
    /// [`Request::Login`]: the certificate names the context NIP, so the user is the Owner
    /// (ksef-guide §9).
    pub owner: bool,
    /// [`Request::Enroll`]: the issued certificate, PEM.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_pem: Option<String>,
    /// [`Request::Enroll`]: its private key, PKCS#8 PEM. Secret: seal it before storing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pem: Option<String>,
}

/// A failure's message in each language, each written on its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Polish.
    pub pl: String,
    /// English.
    pub en: String,
}
