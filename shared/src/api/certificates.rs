//! KSeF certificate enrollment endpoints (guide §10.2 end).

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
