//! The client every flow runs on: [`KsefClient`] (base URL, storage links, 429 retries),
//! [`PollPolicy`] and the status polling the flows share.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

use crate::api::{self, Body, Endpoint, RawDocument};
use crate::error::{Error, Result};
use crate::transport::{HttpRequest, HttpResponse, Sleep, Transport};

/// How long to poll and how often; defaults fit KSeF's per-endpoint rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// First wait in ms.
    pub initial_delay_ms: u64,
    /// Upper bound of a single wait.
    pub max_delay_ms: u64,
    /// Give up after this many status requests.
    pub max_attempts: u32,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_delay_ms: 500,
            max_delay_ms: 5_000,
            max_attempts: 60,
        }
    }
}

impl PollPolicy {
    /// The wait before poll `attempt` (0-based), in milliseconds.
    pub fn delay(&self, attempt: u32) -> u64 {
        let factor = 1u64 << attempt.min(10);
        (self.initial_delay_ms.saturating_mul(factor)).min(self.max_delay_ms)
    }
}

/// A KSeF API endpoint reached through a transport.
#[derive(Debug, Clone)]
pub struct KsefClient<T, S> {
    transport: T,
    sleep: S,
    base_url: String,
    storage_base: Option<String>,
    /// Polling policy for all waits.
    pub poll: PollPolicy,
    /// How many times a 429 is retried after `Retry-After` (≤ 60 s) before giving up.
    pub rate_limit_retries: u32,
}

impl<T: Transport, S: Sleep> KsefClient<T, S> {
    /// `base_url` ends with `/v2`, e.g. `https://api-test.ksef.mf.gov.pl/v2` or the
    /// relay's same-origin `/ksef/test/v2`.
    pub fn new(transport: T, sleep: S, base_url: impl Into<String>) -> Self {
        Self {
            transport,
            sleep,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            storage_base: None,
            poll: PollPolicy::default(),
            rate_limit_retries: 2,
        }
    }

    /// Rewrite absolute storage links `{any host}/storage/...` to `{storage_base}/...`
    /// (the SPA sets `/ksef/{env}/storage`, see brief "Fixed interfaces").
    pub fn with_storage_base(mut self, storage_base: impl Into<String>) -> Self {
        self.storage_base = Some(storage_base.into().trim_end_matches('/').to_owned());
        self
    }

    /// Maps a storage URL returned by KSeF to the one this client can fetch.
    pub fn storage_url(&self, url: &str) -> String {
        match (&self.storage_base, url.find("/storage/")) {
            (Some(base), Some(i)) => format!("{base}{}", &url[i + "/storage".len()..]),
            _ => url.to_owned(),
        }
    }

    /// Sleeps through the caller's sleeper.
    pub async fn sleep_ms(&self, ms: u64) {
        self.sleep.sleep(ms).await;
    }

    async fn send_raw(&self, request: HttpRequest) -> Result<HttpResponse> {
        self.transport
            .send(request)
            .await
            .map_err(crate::error::network)
    }

    /// Sends `endpoint` with an optional bearer token; retries 429 after `Retry-After`.
    pub async fn execute<E: Endpoint>(
        &self,
        endpoint: &E,
        bearer: Option<&str>,
    ) -> Result<E::Response> {
        let request = Prepared {
            method: E::METHOD,
            path: endpoint.path(),
            headers: endpoint.headers(),
            body: endpoint.body()?,
        };
        E::parse(self.exchange(request, bearer).await?)
    }

    /// The request/response loop of [`execute`](Self::execute), once for every endpoint:
    /// not generic over the endpoint, so each endpoint adds only its path, body and parser
    /// to the browser's wasm.
    async fn exchange(&self, request: Prepared, bearer: Option<&str>) -> Result<HttpResponse> {
        let mut attempt = 0;
        loop {
            let response = self.send_raw(self.build(&request, bearer)?).await?;
            if response.status().is_success() {
                return Ok(response);
            }
            match api::error_from_response(&response) {
                Error::RateLimited { retry_after_secs }
                    if attempt < self.rate_limit_retries && retry_after_secs <= 60 =>
                {
                    attempt += 1;
                    self.sleep.sleep(retry_after_secs * 1000).await;
                }
                other => return Err(other),
            }
        }
    }

    /// Asks `endpoint` for a status until `check` finishes (`Ok(Some)`) or fails, waiting
    /// with the poll backoff between requests; `check` returns `Ok(None)` while KSeF is still
    /// processing (codes 100–199). Gives [`Error::StillProcessing`] about `what` after
    /// `poll.max_attempts` waits.
    pub(super) async fn poll_until<E: Endpoint, R>(
        &self,
        endpoint: &E,
        bearer: Option<&str>,
        what: impl FnOnce() -> String,
        mut check: impl FnMut(E::Response) -> Result<Option<R>>,
    ) -> Result<R> {
        let mut attempt = 0;
        loop {
            if let Some(done) = check(self.execute(endpoint, bearer).await?)? {
                return Ok(done);
            }
            if attempt >= self.poll.max_attempts {
                return Err(Error::StillProcessing { what: what() });
            }
            self.sleep_ms(self.poll.delay(attempt)).await;
            attempt += 1;
        }
    }

    fn build(&self, request: &Prepared, bearer: Option<&str>) -> Result<HttpRequest> {
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(format!("{}{}", self.base_url, request.path))
            .header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            builder = builder.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let body = match &request.body {
            Body::Empty => Vec::new(),
            Body::Json(bytes) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                bytes.clone()
            }
            Body::Xml(bytes) => {
                builder = builder.header(CONTENT_TYPE, "application/xml");
                bytes.clone()
            }
        };
        builder
            .body(body)
            .map_err(|e| Error::InvalidInput(format!("URL: {e}")))
    }

    /// Uploads `body` to a presigned storage link (a batch part) without authorization: the
    /// link is the key, KSeF's access token never goes with it.
    pub async fn put_storage(
        &self,
        url: &str,
        headers: Vec<(http::HeaderName, String)>,
        body: Vec<u8>,
    ) -> Result<()> {
        let mut builder = http::Request::put(self.storage_url(url));
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(body)
            .map_err(|e| Error::InvalidInput(format!("URL: {e}")))?;
        let response = self.send_raw(request).await?;
        if !response.status().is_success() {
            return Err(api::error_from_response(&response));
        }
        Ok(())
    }

    /// GETs a storage link (UPO, export part) without authorization.
    pub async fn fetch_storage(&self, url: &str) -> Result<RawDocument> {
        let request = http::Request::get(self.storage_url(url))
            .body(Vec::new())
            .map_err(|e| Error::InvalidInput(format!("URL: {e}")))?;
        let response = self.send_raw(request).await?;
        if !response.status().is_success() {
            return Err(api::error_from_response(&response));
        }
        Ok(RawDocument::from_response(response))
    }
}

/// An endpoint's request, taken apart once so [`KsefClient::exchange`] can rebuild it for a retry.
struct Prepared {
    method: http::Method,
    path: String,
    headers: Vec<(http::HeaderName, String)>,
    body: Body,
}
