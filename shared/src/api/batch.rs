//! Batch session endpoints (`sesja-wsadowa.md`, open-api tag "Wysyłka wsadowa"): open with
//! the encrypted package's parts, then close once every part is uploaded to its link.
//! Status, invoices and UPO come from the same `/sessions/{ref}/…` endpoints as an online
//! session ([`crate::api::sessions`]).

/// `POST /sessions/batch` — open a batch session declaring the package and its parts (`201`).
pub mod open_batch {
    use http::Method;
    use serde::{Deserialize, Serialize};

    use crate::api::{Body, Endpoint, FormCode, json_response};
    use crate::crypto::EncryptionInfo;
    use crate::error::Result;

    /// One encrypted part (open-api `BatchFilePartInfo`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FilePart {
        /// 1, 2, … in package order.
        pub ordinal_number: u32,
        /// Size of the encrypted part.
        pub file_size: u64,
        /// Base64 SHA-256 of the encrypted part.
        pub file_hash: String,
    }

    /// The package (open-api `BatchFileInfo`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BatchFile {
        /// Size of the whole ZIP before splitting and encryption.
        pub file_size: u64,
        /// Base64 SHA-256 of the whole ZIP.
        pub file_hash: String,
        /// 1–50 parts.
        pub file_parts: Vec<FilePart>,
    }

    /// Request body (open-api `OpenBatchSessionRequest`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Request {
        /// Form of the invoices in the package.
        pub form_code: FormCode,
        /// The package.
        pub batch_file: BatchFile,
        /// Wrapped AES key and IV the parts are encrypted with.
        pub encryption: EncryptionInfo,
        /// Invoices issued in an offline mode.
        pub offline_mode: bool,
    }

    /// Where and how to upload one part (open-api `PartUploadRequest`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PartUpload {
        /// The part it is for.
        pub ordinal_number: u32,
        /// HTTP method (`PUT`).
        pub method: String,
        /// Presigned storage link (no access token).
        pub url: String,
        /// Headers to send with the part.
        #[serde(default)]
        pub headers: PartHeaders,
    }

    /// The headers KSeF's storage asks for with a part (open-api: a string map; the two it
    /// gives are read by name, so the browser's wasm holds no map of them).
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PartHeaders {
        /// `Content-Type`.
        #[serde(rename = "Content-Type", alias = "content-type", default)]
        pub content_type: Option<String>,
        /// `x-ms-blob-type` (`BlockBlob`).
        #[serde(rename = "x-ms-blob-type", default)]
        pub blob_type: Option<String>,
    }

    /// Session handle (open-api `OpenBatchSessionResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Response {
        /// `…-SB-…`.
        pub reference_number: String,
        /// One per declared part.
        pub part_upload_requests: Vec<PartUpload>,
    }

    impl Endpoint for Request {
        type Response = Response;
        const METHOD: Method = Method::POST;
        fn path(&self) -> String {
            "/sessions/batch".into()
        }
        fn body(&self) -> Result<Body> {
            Body::json(self)
        }
        json_response!();
    }
}

/// `POST /sessions/batch/{referenceNumber}/close` — all parts uploaded; processing starts (`204`).
pub mod close_batch {
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
            format!("/sessions/batch/{}/close", encode(&self.reference_number))
        }
        fn parse(_: HttpResponse) -> Result<NoContent> {
            Ok(NoContent)
        }
    }
}
