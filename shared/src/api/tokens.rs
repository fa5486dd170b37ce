//! KSeF token management endpoints (guide §8).

use serde::{Deserialize, Serialize};

/// A token's status (`AuthenticationTokenStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenState {
    /// Created, not usable yet (permissions being attached).
    Pending,
    /// Usable for login.
    Active,
    /// Being revoked; no longer usable.
    Revoking,
    /// Revoked.
    Revoked,
    /// Activation failed: generate a new one.
    Failed,
}

impl TokenState {
    /// The KSeF name (`Active`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Revoking => "Revoking",
            Self::Revoked => "Revoked",
            Self::Failed => "Failed",
        }
    }

    /// The state named `name`, if known.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Active,
            Self::Revoking,
            Self::Revoked,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One token as listed by KSeF (`QueryTokensResponseItem`, `TokenStatusResponse`; the secret
/// itself is never listed). KSeF 2.6 reports no expiry for tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    /// `…-EC-…`.
    pub reference_number: String,
    /// Description given at creation.
    pub description: String,
    /// Permissions fixed at creation.
    pub requested_permissions: Vec<String>,
    /// `Pending`, `Active`, `Revoking`, `Revoked`, `Failed` (see [`state`](Self::state)).
    pub status: String,
    /// Creation date.
    #[serde(default)]
    pub date_created: Option<String>,
    /// Last use.
    #[serde(default)]
    pub last_use_date: Option<String>,
    /// Who generated it (`Nip`, `Pesel` or `Fingerprint`).
    #[serde(default)]
    pub author_identifier: Option<crate::api::Identifier>,
    /// The context it logs into.
    #[serde(default)]
    pub context_identifier: Option<crate::api::Identifier>,
    /// Why it failed, when it did.
    #[serde(default)]
    pub status_details: Option<Vec<String>>,
}

impl TokenStatus {
    /// The status, if this version knows its name.
    pub fn state(&self) -> Option<TokenState> {
        TokenState::parse(&self.status)
    }

    /// Its permissions this version knows (unknown names are left out).
    pub fn permissions(&self) -> Vec<crate::api::permissions::Permission> {
        self.requested_permissions
            .iter()
            .filter_map(|p| crate::api::permissions::Permission::parse(p))
            .collect()
    }
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

/// `GET /tokens?status&description&authorIdentifier&authorIdentifierType&pageSize` +
/// `x-continuation-token` — list tokens, newest first.
pub mod list {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{TokenState, TokenStatus};
    use crate::api::{Endpoint, encode, json_response};

    /// Request; empty filters do not filter.
    #[derive(Debug, Clone, Default)]
    pub struct Request {
        /// Page size 10..=100.
        pub page_size: u32,
        /// From the previous page.
        pub continuation_token: Option<String>,
        /// Only tokens in these states (any of them).
        pub statuses: Vec<TokenState>,
        /// Description contains this (case-insensitive, ≥ 3 characters).
        pub description: Option<String>,
        /// Author's identifier contains this (≥ 3 characters).
        pub author_identifier: Option<String>,
        /// `Nip`, `Pesel` or `Fingerprint`: where `author_identifier` is looked for.
        pub author_identifier_type: Option<String>,
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
            let mut path = format!("/tokens?pageSize={}", self.page_size.clamp(10, 100));
            for status in &self.statuses {
                path.push_str("&status=");
                path.push_str(status.as_str());
            }
            let texts = [
                ("description", &self.description),
                ("authorIdentifier", &self.author_identifier),
                ("authorIdentifierType", &self.author_identifier_type),
            ];
            for (name, value) in texts {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    path.push_str(&format!("&{name}={}", encode(v)));
                }
            }
            path
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
