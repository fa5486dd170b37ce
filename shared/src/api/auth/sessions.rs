//! The context's authentication sessions (`/auth/sessions`): each successful login is one,
//! alive while its refresh token is; revoking one stops its refresh token (its access tokens
//! still work until they expire), which is how "log out other devices" works.

use serde::{Deserialize, Serialize};

use crate::api::StatusInfo;

/// How a session logged in (`AuthenticationMethodInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodInfo {
    /// `XadesSignature`, `NationalNode`, `Token` or `Other`.
    pub category: String,
    /// KSeF's code of the method.
    pub code: String,
    /// Name to show the user.
    pub display_name: String,
}

/// One session (`AuthenticationListItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthSession {
    /// `…-AU-…`, for [`revoke`].
    pub reference_number: String,
    /// When the login started.
    pub start_date: String,
    /// Deprecated method name (`Token`, `InternalCertificate`, …).
    #[serde(default)]
    pub authentication_method: Option<String>,
    /// How it logged in.
    pub authentication_method_info: MethodInfo,
    /// The login's status (200 done, 425 revoked, …).
    pub status: StatusInfo,
    /// Whether its refresh token was issued.
    #[serde(default)]
    pub is_token_redeemed: Option<bool>,
    /// Last refresh.
    #[serde(default)]
    pub last_token_refresh_date: Option<String>,
    /// Until when it can refresh (unless revoked earlier).
    #[serde(default)]
    pub refresh_token_valid_until: Option<String>,
    /// The session of the token that asked (this browser).
    #[serde(default)]
    pub is_current: bool,
}

/// `GET /auth/sessions?pageSize` + `x-continuation-token` — active sessions, newest first.
pub mod list {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::AuthSession;
    use crate::api::{Endpoint, json_response};

    /// Request.
    #[derive(Debug, Clone, Default)]
    pub struct Request {
        /// 10–100.
        pub page_size: u32,
        /// From the previous page.
        pub continuation_token: Option<String>,
    }

    /// One page (`AuthenticationListResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Empty or absent on the last page.
        #[serde(default)]
        pub continuation_token: Option<String>,
        /// Sessions.
        pub items: Vec<AuthSession>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/auth/sessions?pageSize={}", self.page_size.clamp(10, 100))
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

/// `DELETE /auth/sessions/{referenceNumber}` — revoke one session (`204`).
pub mod revoke {
    use http::Method;

    use crate::api::{Endpoint, NoContent, encode};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Session reference.
        pub reference_number: String,
    }

    impl Endpoint for Request {
        type Response = NoContent;
        const METHOD: Method = Method::DELETE;
        fn path(&self) -> String {
            format!("/auth/sessions/{}", encode(&self.reference_number))
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}
