//! Invoice query, download and export endpoints (guide §7).

use serde::{Deserialize, Serialize};

/// `dateRange` of a query/export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateRange {
    /// `Issue`, `Invoicing` or `PermanentStorage`.
    pub date_type: String,
    /// ISO-8601 start (max 3 months span).
    pub from: String,
    /// ISO-8601 end (default now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Clamp `to` to the permanent-storage high-water mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrict_to_permanent_storage_hwm_date: Option<bool>,
}

/// `InvoiceQueryFilters` (required fields plus the common optional ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceQueryFilters {
    /// `Subject1` (we sold), `Subject2` (we bought), `Subject3`, `SubjectAuthorized`.
    pub subject_type: String,
    /// Date range.
    pub date_range: DateRange,
    /// Exact KSeF number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ksef_number: Option<String>,
    /// Exact invoice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Exact seller NIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_nip: Option<String>,
}

/// Party of invoice metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// NIP (seller).
    #[serde(default)]
    pub nip: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// One invoice in query results / `_metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceMetadata {
    /// KSeF number.
    pub ksef_number: String,
    /// Seller's number (`P_2`).
    pub invoice_number: String,
    /// `P_1`.
    pub issue_date: String,
    /// Accepted for processing.
    #[serde(default)]
    pub invoicing_date: Option<String>,
    /// KSeF number assigned.
    #[serde(default)]
    pub acquisition_date: Option<String>,
    /// Durable write.
    #[serde(default)]
    pub permanent_storage_date: Option<String>,
    /// Seller.
    pub seller: Party,
    /// Buyer as raw JSON (`identifier{type,value}`, `name`).
    #[serde(default)]
    pub buyer: serde_json::Value,
    /// Net amount (JSON number, kept exact as a string).
    #[serde(default)]
    pub net_amount: serde_json::Value,
    /// Gross amount.
    #[serde(default)]
    pub gross_amount: serde_json::Value,
    /// VAT amount.
    #[serde(default)]
    pub vat_amount: serde_json::Value,
    /// ISO 4217.
    #[serde(default)]
    pub currency: Option<String>,
    /// Base64 SHA-256 of the XML.
    #[serde(default)]
    pub invoice_hash: Option<String>,
    /// Every other field as KSeF sent it (`invoiceType`, `formCode`, `thirdSubjects`,
    /// `invoicingMode`, …): kept so a stored copy loses nothing the filters may need.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, serde_json::Value>,
}

/// `POST /invoices/query/metadata?sortOrder&pageOffset&pageSize` — one page of metadata.
pub mod query_metadata {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::{InvoiceMetadata, InvoiceQueryFilters};
    use crate::api::{Body, Endpoint, json_response};
    use crate::error::Result;

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Filters (body).
        pub filters: InvoiceQueryFilters,
        /// 0-based page index.
        pub page_offset: u32,
        /// 10..=250.
        pub page_size: u32,
        /// Ascending by the filter date.
        pub ascending: bool,
    }

    /// One page.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// More pages follow.
        pub has_more: bool,
        /// 10 000 record cap hit: narrow the date range.
        #[serde(default)]
        pub is_truncated: bool,
        /// HWM for `PermanentStorage` queries.
        #[serde(default)]
        pub permanent_storage_hwm_date: Option<String>,
        /// Invoices.
        pub invoices: Vec<InvoiceMetadata>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            format!(
                "/invoices/query/metadata?sortOrder={}&pageOffset={}&pageSize={}",
                if self.ascending { "Asc" } else { "Desc" },
                self.page_offset,
                self.page_size
            )
        }
        fn body(&self) -> Result<Body> {
            Body::json(&self.filters)
        }
        json_response!();
    }
}

/// `GET /invoices/ksef/{ksefNumber}` — the invoice XML.
pub mod download {
    use http::Method;

    use crate::api::{Endpoint, RawDocument, encode};
    use crate::error::Result;
    use crate::transport::HttpResponse;

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// KSeF number.
        pub ksef_number: String,
    }

    impl Endpoint for Request {
        type Response = RawDocument;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/invoices/ksef/{}", encode(&self.ksef_number))
        }
        fn parse(response: HttpResponse) -> Result<RawDocument> {
            Ok(RawDocument::from_response(response))
        }
    }
}

/// `POST /invoices/exports` — start an encrypted asynchronous export (`201`).
pub mod export {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use super::InvoiceQueryFilters;
    use crate::api::{Body, Endpoint, json_response};
    use crate::crypto::EncryptionInfo;
    use crate::error::Result;

    /// Request body.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Wrapped AES key for the package parts.
        pub encryption: EncryptionInfo,
        /// What to export.
        pub filters: InvoiceQueryFilters,
        /// Only `_metadata.json`.
        pub only_metadata: bool,
    }

    /// Export handle.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `…-EH-…`.
        pub reference_number: String,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/invoices/exports".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `GET /invoices/exports/{referenceNumber}` — export status and package parts.
pub mod export_status {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Endpoint, StatusInfo, encode, json_response};

    /// Request.
    #[derive(Debug, Clone)]
    pub struct Request {
        /// Export reference.
        pub reference_number: String,
    }

    /// One encrypted part.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PackagePart {
        /// 1-based order.
        pub ordinal_number: u32,
        /// HTTP method for the download (GET).
        #[serde(default)]
        pub method: Option<String>,
        /// Absolute storage URL.
        pub url: String,
        /// Base64 SHA-256 of the encrypted part.
        #[serde(default)]
        pub encrypted_part_hash: Option<String>,
    }

    /// Package description.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Package {
        /// Invoices in the package.
        pub invoice_count: u64,
        /// Cap hit: continue from `last_permanent_storage_date`.
        pub is_truncated: bool,
        /// Parts to download, decrypt and concatenate.
        pub parts: Vec<PackagePart>,
        /// Last invoice's permanent storage date (for truncated packages).
        #[serde(default)]
        pub last_permanent_storage_date: Option<String>,
        /// High-water mark.
        #[serde(default)]
        pub permanent_storage_hwm_date: Option<String>,
    }

    /// Status.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// 100 in progress, 200 done, ≥ 210 failure.
        pub status: StatusInfo,
        /// Present on 200.
        #[serde(default)]
        pub package: Option<Package>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::GET;
        fn path(&self) -> String {
            format!("/invoices/exports/{}", encode(&self.reference_number))
        }
        json_response!();
    }
}
