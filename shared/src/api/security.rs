//! Security endpoints.

/// `GET /security/public-key-certificates` — KSeF's RSA keys for token and AES-key encryption.
pub mod public_key_certificates {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, json_response};

    /// Request (no parameters, no auth).
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// One published certificate.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PublicKeyCertificate {
        /// DER, Base64.
        pub certificate: String,
        /// `KsefTokenEncryption` and/or `SymmetricKeyEncryption`.
        pub usage: Vec<String>,
        /// ISO-8601.
        pub valid_from: String,
        /// ISO-8601.
        pub valid_to: String,
        /// Base64 SHA-256 of the SPKI (may be absent on older servers).
        #[serde(default)]
        pub public_key_id: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Vec<PublicKeyCertificate>;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            "/security/public-key-certificates".into()
        }
        json_response!();
    }
}
