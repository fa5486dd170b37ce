//! KSeF certificate endpoints (guide §10.2 end): enrollment, and over a certificate's life
//! its listing ([`query`]), [`limits`] and [`revoke`]. They concern the authenticated subject
//! (its certificates in any context), not the login context.

use serde::{Deserialize, Serialize};

/// What a KSeF certificate is for (`KsefCertificateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateType {
    /// Logging in (XAdES).
    Authentication,
    /// Signing the offline QR code (KOD II) only.
    Offline,
}

impl CertificateType {
    /// The KSeF name, as the enrollment request carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authentication => "Authentication",
            Self::Offline => "Offline",
        }
    }
}

/// A certificate's status (`CertificateListItemStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CertificateStatus {
    /// Usable.
    Active,
    /// Unusable while its revocation completes.
    Blocked,
    /// Revoked.
    Revoked,
    /// Past `validTo`.
    Expired,
}

/// Why a certificate is revoked (`CertificateRevocationReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevocationReason {
    /// Not given.
    Unspecified,
    /// Replaced by another one (renewal).
    Superseded,
    /// The private key leaked or was lost.
    KeyCompromise,
}

/// `GET /certificates/enrollments/data` — DN attributes the CSR must carry.
pub mod enrollment_data {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, json_response};

    /// Request.
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// DN attributes.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// CN.
        pub common_name: String,
        /// C.
        pub country_name: String,
        /// givenName.
        #[serde(default)]
        pub given_name: Option<String>,
        /// surname.
        #[serde(default)]
        pub surname: Option<String>,
        /// serialNumber.
        #[serde(default)]
        pub serial_number: Option<String>,
        /// uniqueIdentifier.
        #[serde(default)]
        pub unique_identifier: Option<String>,
        /// O.
        #[serde(default)]
        pub organization_name: Option<String>,
        /// organizationIdentifier.
        #[serde(default)]
        pub organization_identifier: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            "/certificates/enrollments/data".into()
        }
        json_response!();
    }
}

/// `POST /certificates/enrollments` — submit a PKCS#10 CSR (`202`).
pub mod enroll {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, json_response};
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Display name.
        pub certificate_name: String,
        /// `Authentication` or `Offline`.
        pub certificate_type: String,
        /// Base64 DER PKCS#10.
        pub csr: String,
        /// Optional start of validity.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub valid_from: Option<String>,
    }

    /// Enrollment handle.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Reference.
        pub reference_number: String,
        /// Submission time.
        #[serde(default)]
        pub timestamp: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/certificates/enrollments".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `GET /certificates/enrollments/{referenceNumber}` — enrollment status.
pub mod enrollment_status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Enrollment reference.
        pub reference_number: String,
    }

    /// Status.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// 100 in progress, 200 issued, ≥ 400 failed.
        pub status: StatusInfo,
        /// Serial of the issued certificate.
        #[serde(default)]
        pub certificate_serial_number: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!(
                "/certificates/enrollments/{}",
                encode(&self.reference_number)
            )
        }
        json_response!();
    }
}

/// `POST /certificates/retrieve` — download issued certificates.
pub mod retrieve {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, json_response};
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Serials to fetch.
        pub certificate_serial_numbers: Vec<String>,
    }

    /// One certificate.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Certificate {
        /// Base64 DER.
        pub certificate: String,
        /// Name.
        pub certificate_name: String,
        /// Serial.
        pub certificate_serial_number: String,
        /// `Authentication` or `Offline`.
        pub certificate_type: String,
    }

    /// Certificates.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Response {
        /// Certificates.
        pub certificates: Vec<Certificate>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/certificates/retrieve".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /certificates/query?pageSize&pageOffset` — the subject's certificates, newest request
/// first, a page at a time (`pageOffset` from 0 while `hasMore`).
pub mod query {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{CertificateStatus, CertificateType};
    use crate::api::{Body, Endpoint, Identifier, json_response};
    use crate::error::Result;

    /// Filters (`QueryCertificatesRequest`); absent ones do not filter.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Filter {
        /// Exactly this serial (16 hex digits).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub certificate_serial_number: Option<String>,
        /// Name contains this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        /// Only this type.
        #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
        pub certificate_type: Option<CertificateType>,
        /// Only this status.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub status: Option<CertificateStatus>,
        /// Only those expiring after this ISO-8601 time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub expires_after: Option<String>,
    }

    /// Request: the filter in the body, the page in the query.
    #[derive(Debug, Clone, Default)]
    pub struct Request {
        /// Filters.
        pub filter: Filter,
        /// 10–50.
        pub page_size: u32,
        /// Page number from 0.
        pub page_offset: u32,
    }

    /// One certificate (`CertificateListItem`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Certificate {
        /// 16 hex digits.
        pub certificate_serial_number: String,
        /// Name given at enrollment.
        pub name: String,
        /// Type.
        #[serde(rename = "type")]
        pub certificate_type: CertificateType,
        /// CN of the subject.
        pub common_name: String,
        /// Status.
        pub status: CertificateStatus,
        /// `Nip`, `Pesel` or `Fingerprint` of the subject.
        pub subject_identifier: Identifier,
        /// Start of validity.
        pub valid_from: String,
        /// End of validity (warn before it).
        pub valid_to: String,
        /// Last use.
        #[serde(default)]
        pub last_use_date: Option<String>,
        /// When it was requested.
        pub request_date: String,
    }

    /// How many days before `validTo` the app warns and offers renewal.
    pub const RENEWAL_WARNING_DAYS: i64 = 30;

    impl Certificate {
        /// Whole days from `now_unix` until `validTo` (negative once expired); `None` if
        /// KSeF's date does not parse.
        pub fn days_left(&self, now_unix: i64) -> Option<i64> {
            let valid_to = time::OffsetDateTime::parse(
                &self.valid_to,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()?;
            Some((valid_to.unix_timestamp() - now_unix).div_euclid(86_400))
        }

        /// Whether to warn and offer renewal: an active certificate within
        /// [`RENEWAL_WARNING_DAYS`] of its end.
        pub fn needs_renewal(&self, now_unix: i64) -> bool {
            self.status == CertificateStatus::Active
                && self
                    .days_left(now_unix)
                    .is_some_and(|d| d < RENEWAL_WARNING_DAYS)
        }
    }

    /// One page (`QueryCertificatesResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Certificates.
        pub certificates: Vec<Certificate>,
        /// Whether the next page has more.
        #[serde(default)]
        pub has_more: bool,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/certificates/query?pageSize={}&pageOffset={}",
                self.page_size.clamp(10, 50),
                self.page_offset
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(&self.filter)
        }
        json_response!();
    }
}

/// `POST /certificates/{certificateSerialNumber}/revoke` — revoke a certificate (`204`; not
/// after a KSeF token login; 25008 unknown serial, 25009 already revoked or invalid).
pub mod revoke {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::RevocationReason;
    use crate::api::{Body, Endpoint, NoContent, encode};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request (`RevokeCertificateRequest` plus the serial in the path).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Serial (path).
        #[serde(skip)]
        pub certificate_serial_number: String,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub revocation_reason: Option<RevocationReason>,
    }

    impl Endpoint for Request {
        type Response = NoContent;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/certificates/{}/revoke",
                encode(&self.certificate_serial_number)
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}

/// `GET /certificates/limits` — whether the subject may request another certificate.
pub mod limits {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, json_response};

    /// Request.
    #[derive(Debug, Clone, Default)]
    pub struct Request;

    /// One limit (`CertificateLimit`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Limit {
        /// Still available.
        pub remaining: i32,
        /// Maximum.
        pub limit: i32,
    }

    /// Limits (`CertificateLimitsResponse`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Whether a new enrollment would be accepted now.
        pub can_request: bool,
        /// Enrollments (requests).
        pub enrollment: Limit,
        /// Active certificates.
        pub certificate: Limit,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            "/certificates/limits".into()
        }
        json_response!();
    }
}
