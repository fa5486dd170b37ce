//! Authentication endpoints (guide §3).

use serde::{Deserialize, Serialize};

use crate::api::{StatusInfo, TokenInfo};

pub mod sessions;

/// `202` body of `POST /auth/ksef-token` and `POST /auth/xades-signature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationInit {
    /// `…-AU-…` operation reference.
    pub reference_number: String,
    /// Bearer token for polling and redeem.
    pub authentication_token: TokenInfo,
}

/// `POST /auth/challenge` — a 10-minute challenge plus server time.
pub mod challenge {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, json_response};

    /// Request (no body, no auth).
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// Challenge response.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `YYYYMMDD-CR-…`.
        pub challenge: String,
        /// ISO-8601 server time.
        #[serde(default)]
        pub timestamp: String,
        /// Unix milliseconds; encrypted together with the KSeF token.
        pub timestamp_ms: i64,
        /// Client IP as seen by KSeF.
        #[serde(default)]
        pub client_ip: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/auth/challenge".into()
        }
        json_response!();
    }
}

/// `POST /auth/ksef-token` — log in with an RSA-OAEP encrypted KSeF token.
pub mod ksef_token {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::AuthenticationInit;
    use crate::api::{Body, ContextIdentifier, Endpoint, json_response};
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Challenge from `/auth/challenge`.
        pub challenge: String,
        /// Whose context to log into.
        pub context_identifier: ContextIdentifier,
        /// Base64 RSA-OAEP(`token|timestampMs`).
        pub encrypted_token: String,
        /// Which KSeF key encrypted it.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub public_key_id: Option<String>,
    }

    impl Endpoint for Request {
        type Response = AuthenticationInit;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/auth/ksef-token".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /auth/xades-signature` — log in with a signed `AuthTokenRequest`.
pub mod xades_signature {
    use http::Method;

    use super::AuthenticationInit;
    use crate::api::{Body, Endpoint, json_response};
    use crate::error::Result;

    /// Request: the signed XML document.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Signed `AuthTokenRequest` bytes.
        pub signed_xml: Vec<u8>,
        /// Ask KSeF to check the chain/OCSP even on TEST.
        pub verify_certificate_chain: bool,
    }

    impl Endpoint for Request {
        type Response = AuthenticationInit;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            if self.verify_certificate_chain {
                "/auth/xades-signature?verifyCertificateChain=true".into()
            } else {
                "/auth/xades-signature".into()
            }
        }
        fn body(&self) -> Result<Body> {
            Ok(Body::Xml(self.signed_xml.clone()))
        }
        json_response!();
    }
}

/// `GET /auth/{referenceNumber}` — status of an authentication operation.
pub mod status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request (Bearer authenticationToken).
    #[derive(Debug, Clone)]
    pub struct Request {
        /// `…-AU-…`.
        pub reference_number: String,
    }

    /// Status response (only the fields Kwit uses).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// 100 in progress, 200 ok, ≥ 400 failed.
        pub status: StatusInfo,
        /// Start of the operation.
        #[serde(default)]
        pub start_date: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/auth/{}", encode(&self.reference_number))
        }
        json_response!();
    }
}

/// `POST /auth/token/redeem` — one-shot exchange for access + refresh tokens.
pub mod redeem {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, TokenInfo, json_response};

    /// Request (Bearer authenticationToken).
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// Tokens.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Short-lived access token.
        pub access_token: TokenInfo,
        /// Refresh token (up to 7 days).
        pub refresh_token: TokenInfo,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/auth/token/redeem".into()
        }
        json_response!();
    }
}

/// `POST /auth/token/refresh` — new access token from the refresh token.
pub mod refresh {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, TokenInfo, json_response};

    /// Request (Bearer refreshToken).
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// New access token.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Access token.
        pub access_token: TokenInfo,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/auth/token/refresh".into()
        }
        json_response!();
    }
}

/// `DELETE /auth/sessions/current` — log out (revokes the refresh token).
pub mod revoke_current {
    use http::Method;

    use crate::api::{Endpoint, NoContent};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request (Bearer access or refresh token).
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    impl Endpoint for Request {
        type Response = NoContent;
        const METHOD: Method = Method::DELETE;
        fn path(&self) -> String {
            "/auth/sessions/current".into()
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}

/// Keeps `StatusInfo` used in docs of this module.
pub type AuthStatus = StatusInfo;
