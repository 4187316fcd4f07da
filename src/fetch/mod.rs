//! Fetch stage: bounded, SSRF-safe HTTP GET.
//!
//! Takes a URL and per-request options (conditional-GET validators, body cap); gives the final URL,
//! status, headers of interest and the decompressed body, or a [`FetchError`] that says why.

use std::time::Duration;

use url::Url;

use crate::config::HttpConfig;

pub mod charset;

/// Conditional-GET validators remembered per source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` of the last 200 response.
    pub etag: Option<String>,
    /// `Last-Modified` of the last 200 response.
    pub last_modified: Option<String>,
}

/// Per-request options.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Sent as If-None-Match / If-Modified-Since.
    pub validators: Option<Validators>,
    /// Overrides `http.max_body_bytes`.
    pub max_body_bytes: Option<u64>,
    /// `Accept` header; a generic one when `None`.
    pub accept: Option<&'static str>,
}

/// A response that was read in full (within the cap).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// URL after redirects.
    pub url: Url,
    /// HTTP status (200, or 304 when `not_modified`).
    pub status: u16,
    /// True on 304: `body` is empty.
    pub not_modified: bool,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Decompressed body bytes.
    pub body: Vec<u8>,
    /// Validators to send next time.
    pub validators: Validators,
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The target (or a redirect hop, or a DNS answer) is a private/loopback/… address.
    #[error("blocked: {0}")]
    Blocked(String),
    /// A non-success status.
    #[error("HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After` for 429/503.
        retry_after: Option<Duration>,
    },
    /// The decompressed body passed the cap.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The cap in force.
        limit: u64,
    },
    /// Connect, read or total timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// More redirects than allowed, or a loop.
    #[error("too many redirects")]
    TooManyRedirects,
    /// Unsupported scheme or malformed URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// Anything else on the wire.
    #[error("network error: {0}")]
    Network(String),
}

/// The shared HTTP client.
#[derive(Clone)]
pub struct Fetcher {
    _cfg: HttpConfig,
}

impl Fetcher {
    /// Builds the client from `[http]`.
    pub fn new(cfg: &HttpConfig) -> Result<Self, FetchError> {
        Ok(Self { _cfg: cfg.clone() })
    }

    /// GETs `url` within the configured bounds.
    pub async fn get(&self, url: &Url, opts: &FetchOptions) -> Result<Fetched, FetchError> {
        let _ = (url, opts);
        unimplemented!("fetch stage")
    }
}
