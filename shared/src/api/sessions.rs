//! Online (interactive) session endpoints (guide §4).

/// `POST /sessions/online` — open a session with an RSA-wrapped AES key (`201`).
pub mod open_online {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, FormCode, json_response};
    use crate::crypto::EncryptionInfo;
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Form of the invoices sent in this session.
        pub form_code: FormCode,
        /// Wrapped AES key and IV.
        pub encryption: EncryptionInfo,
    }

    /// Session handle.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `…-SO-…`.
        pub reference_number: String,
        /// Session expiry (12 h).
        #[serde(default)]
        pub valid_until: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/sessions/online".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /sessions/online/{referenceNumber}/invoices` — send one encrypted invoice (`202`).
pub mod send_invoice {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, encode, json_response};
    use crate::error::Result;

    /// Request.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Session reference (path).
        #[serde(skip)]
        pub session_reference_number: String,
        /// Base64 SHA-256 of the plaintext XML.
        pub invoice_hash: String,
        /// Plaintext size.
        pub invoice_size: u64,
        /// Base64 SHA-256 of the ciphertext.
        pub encrypted_invoice_hash: String,
        /// Ciphertext size.
        pub encrypted_invoice_size: u64,
        /// Base64 ciphertext.
        pub encrypted_invoice_content: String,
        /// Issued in an offline mode.
        pub offline_mode: bool,
        /// Technical correction of a rejected offline invoice.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub hash_of_corrected_invoice: Option<String>,
    }

    /// Invoice handle.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `…-EE-…`.
        pub reference_number: String,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/sessions/online/{}/invoices",
                encode(&self.session_reference_number)
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /sessions/online/{referenceNumber}/close` — close; starts the session UPO (`204`).
pub mod close_online {
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
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!("/sessions/online/{}/close", encode(&self.reference_number))
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}

/// `GET /sessions/{referenceNumber}` — session status and UPO pages.
pub mod status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Session reference.
        pub reference_number: String,
    }

    /// One UPO page.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct UpoPage {
        /// `…-EU-…`.
        pub reference_number: String,
        /// Absolute storage URL (no auth).
        pub download_url: String,
    }

    /// UPO container.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Upo {
        /// Pages.
        pub pages: Vec<UpoPage>,
    }

    /// Status.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// 100 open, 170 closed, 200 processed, ≥ 400 failed.
        pub status: StatusInfo,
        /// Present after close.
        #[serde(default)]
        pub upo: Option<Upo>,
        /// Counters.
        #[serde(default)]
        pub invoice_count: Option<u64>,
        /// Counters.
        #[serde(default)]
        pub successful_invoice_count: Option<u64>,
        /// Counters.
        #[serde(default)]
        pub failed_invoice_count: Option<u64>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/sessions/{}", encode(&self.reference_number))
        }
        json_response!();
    }
}

/// `GET /sessions/{ref}/invoices` — the invoices of a session, a page at a time (how a send
/// whose answer was lost is found again, by its `invoiceHash`).
pub mod invoices {
    use http::Method;
    use serde::Deserialize;

    use crate::api::{Endpoint, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Session reference.
        pub reference_number: String,
        /// 10–1000 (open-api `pageSize`).
        pub page_size: u32,
        /// `x-continuation-token` from the previous page.
        pub continuation_token: Option<String>,
    }

    /// One page (open-api `SessionInvoicesResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Empty or absent on the last page.
        #[serde(default)]
        pub continuation_token: Option<String>,
        /// The invoices, each as `GET /sessions/{ref}/invoices/{invoiceRef}` reports it.
        pub invoices: Vec<super::invoice_status::Response>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!(
                "/sessions/{}/invoices?pageSize={}",
                encode(&self.reference_number),
                self.page_size.clamp(10, 1000)
            )
        }
        fn headers(&self) -> Vec<(http::HeaderName, String)> {
            self.continuation_token
                .iter()
                .map(|t| (crate::api::CONTINUATION_TOKEN, t.clone()))
                .collect()
        }
        json_response!();
    }
}

/// `GET /sessions/{ref}/invoices/{invoiceReferenceNumber}` — one invoice's processing status.
pub mod invoice_status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Session reference.
        pub session_reference_number: String,
        /// Invoice reference.
        pub invoice_reference_number: String,
    }

    /// Invoice status.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// Invoice reference.
        pub reference_number: String,
        /// 100/150 processing, 200 accepted, ≥ 400 rejected.
        pub status: StatusInfo,
        /// Assigned on 200.
        #[serde(default)]
        pub ksef_number: Option<String>,
        /// Seller's invoice number (`P_2`).
        #[serde(default)]
        pub invoice_number: Option<String>,
        /// Date KSeF number was assigned.
        #[serde(default)]
        pub acquisition_date: Option<String>,
        /// Base64 SHA-256 of the invoice.
        #[serde(default)]
        pub invoice_hash: Option<String>,
        /// Storage link to the invoice UPO (no auth).
        #[serde(default)]
        pub upo_download_url: Option<String>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!(
                "/sessions/{}/invoices/{}",
                encode(&self.session_reference_number),
                encode(&self.invoice_reference_number)
            )
        }
        json_response!();
    }
}

/// `GET /sessions/{ref}/invoices/{invoiceReferenceNumber}/upo` — invoice UPO XML.
pub mod invoice_upo {
    use http::Method;

    use crate::api::{Endpoint, RawDocument, encode};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Session reference.
        pub session_reference_number: String,
        /// Invoice reference.
        pub invoice_reference_number: String,
    }

    impl Endpoint for Request {
        type Response = RawDocument;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!(
                "/sessions/{}/invoices/{}/upo",
                encode(&self.session_reference_number),
                encode(&self.invoice_reference_number)
            )
        }
        fn parse(response: HttpResponse) -> Result<RawDocument> {
            Ok(RawDocument::from_response(response))
        }
    }
}
