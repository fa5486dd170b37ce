//! KSeF token management endpoints (guide §8).

use serde::{Deserialize, Serialize};

/// One token as listed by KSeF (the secret itself is never listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    /// `…-EC-…`.
    pub reference_number: String,
    /// Description given at creation.
    pub description: String,
    /// Permissions fixed at creation.
    pub requested_permissions: Vec<String>,
    /// `Pending`, `Active`, `Revoking`, `Revoked`, `Failed`.
    pub status: String,
    /// Creation date.
    #[serde(default)]
    pub date_created: Option<String>,
    /// Last use.
    #[serde(default)]
    pub last_use_date: Option<String>,
}

/// `POST /tokens` — generate a KSeF token (`202`; the secret is shown once).
pub mod create {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, json_response};
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Request {
        /// e.g. `["InvoiceRead","InvoiceWrite"]`.
        pub permissions: Vec<String>,
        /// 5..256 characters.
        pub description: String,
    }

    /// New token.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `…-EC-…`.
        pub reference_number: String,
        /// The secret — store it, never log it.
        pub token: String,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/tokens".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `GET /tokens?pageSize` + `x-continuation-token` — list tokens.
pub mod list {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::TokenStatus;
    use crate::api::{Endpoint, json_response};

    /// Request.
    #[derive(Debug, Clone, Default)]
    pub struct Request {
        /// Page size 10..=100.
        pub page_size: u32,
        /// From the previous page.
        pub continuation_token: Option<String>,
    }

    /// One page.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Next page token; `None` on the last page.
        #[serde(default)]
        pub continuation_token: Option<String>,
        /// Tokens.
        pub tokens: Vec<TokenStatus>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/tokens?pageSize={}", self.page_size.clamp(10, 100))
        }
        fn headers(&self) -> Vec<(http::HeaderName, String)> {
            self.continuation_token
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| (crate::api::CONTINUATION_TOKEN, t.clone()))
                .collect()
        }
        json_response!();
    }
}

/// `GET /tokens/{referenceNumber}` — one token's status.
pub mod get {
    use http::Method;

    use super::TokenStatus;
    use crate::api::{Endpoint, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Token reference.
        pub reference_number: String,
    }

    impl Endpoint for Request {
        type Response = TokenStatus;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/tokens/{}", encode(&self.reference_number))
        }
        json_response!();
    }
}

/// `DELETE /tokens/{referenceNumber}` — revoke a token (`204`).
pub mod revoke {
    use http::Method;

    use crate::api::{Endpoint, NoContent, encode};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Token reference.
        pub reference_number: String,
    }

    impl Endpoint for Request {
        type Response = NoContent;
        const METHOD: Method = Method::DELETE;
        fn path(&self) -> String {
            format!("/tokens/{}", encode(&self.reference_number))
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}
