//! Fetch stage: bounded, SSRF-safe HTTP GET.
//!
//! Takes a URL and per-request options (conditional-GET validators, body cap); gives the final URL,
//! status, headers of interest and the decompressed body, or a [`FetchError`] that says why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;
use url::Url;

use crate::config::HttpConfig;

mod robots;
pub mod ssrf;

use ssrf::BlockedTarget;

/// Conditional-GET validators remembered per source.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    #[error("HTTP {status}{}", retry_after.map(|d| format!(" (Retry-After: {}s)", d.as_secs())).unwrap_or_default())]
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

/// Longest `ETag` / `Last-Modified` kept for the next conditional GET.
const MAX_VALIDATOR_BYTES: usize = 1024;

/// Generic `Accept` when the caller names none.
const DEFAULT_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// Raised by the redirect policy when the chain is too long or loops.
#[derive(Debug, thiserror::Error)]
#[error("too many redirects")]
struct RedirectLimit;

/// Raised by the redirect policy when a hop is not http(s).
#[derive(Debug, thiserror::Error)]
#[error("redirect to unsupported URL {0}")]
struct BadRedirect(String);

/// Per-host politeness: at most N requests in flight, and a minimum gap between request starts.
struct HostGate {
    permits: Semaphore,
    next_start: tokio::sync::Mutex<Instant>,
}

/// The shared HTTP client: one connection pool, SSRF guard, per-host politeness, robots cache.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: Arc<HttpConfig>,
    hosts: Arc<Mutex<HashMap<String, Arc<HostGate>>>>,
    robots: Arc<Mutex<HashMap<String, Arc<OnceCell<robots::RobotsEntry>>>>>,
}

impl Fetcher {
    /// Builds the client from `[http]`: timeouts, redirect policy, DNS filter, User-Agent.
    pub fn new(cfg: &HttpConfig) -> Result<Self, FetchError> {
        Self::with_pinned_hosts(cfg, &[])
    }

    /// Like [`Fetcher::new`], with host names pinned to addresses (as `curl --resolve` does).
    /// A pinned name skips DNS and its address is trusted as given, private or not: this is how
    /// tests reach a loopback server under a name while `allow_private_networks` is off, so that
    /// every other path (IP literals, redirect hops, DNS answers of other names) stays guarded.
    #[doc(hidden)]
    pub fn with_pinned_hosts(
        cfg: &HttpConfig,
        pins: &[(&str, std::net::SocketAddr)],
    ) -> Result<Self, FetchError> {
        // Another component (sqlx, a test) may have installed the provider first: that is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let allow_private = cfg.allow_private_networks;
        let max_redirects = cfg.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects
                || attempt.previous().iter().any(|u| u == attempt.url())
            {
                return attempt.error(RedirectLimit);
            }
            let next = attempt.url().clone();
            if let Err(e) = check_url(&next, allow_private) {
                return match e {
                    FetchError::Blocked(m) => attempt.error(BlockedTarget(m)),
                    other => attempt.error(BadRedirect(other.to_string())),
                };
            }
            attempt.follow()
        });
        let ua = HeaderValue::from_str(&cfg.user_agent_header())
            .map_err(|e| FetchError::Network(format!("invalid User-Agent: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .user_agent(ua)
            .redirect(policy)
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .timeout(cfg.total_timeout)
            .gzip(true)
            .brotli(true)
            .deflate(true);
        if !allow_private {
            builder = builder.dns_resolver(ssrf::PublicOnlyResolver);
        }
        for (name, addr) in pins {
            builder = builder.resolve(name, *addr);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Network(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            cfg: Arc::new(cfg.clone()),
            hosts: Arc::default(),
            robots: Arc::default(),
        })
    }

    /// GETs `url` within the configured bounds.
    ///
    /// Waits for the host's politeness slot, sends validators when given, follows at most
    /// `max_redirects` public hops, and reads at most the body cap of decompressed bytes.
    pub async fn get(&self, url: &Url, opts: &FetchOptions) -> Result<Fetched, FetchError> {
        check_url(url, self.cfg.allow_private_networks)?;
        let gate = self.gate(url);
        let _permit = gate
            .permits
            .acquire()
            .await
            .map_err(|e| FetchError::Network(format!("host gate closed: {e}")))?;
        {
            let mut next = gate.next_start.lock().await;
            let now = Instant::now();
            if *next > now {
                tokio::time::sleep_until(*next).await;
            }
            *next = Instant::now() + self.cfg.per_host_delay;
        }
        let total = self.cfg.total_timeout;
        match tokio::time::timeout(total, self.get_inner(url, opts)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(format!(
                "whole request took longer than {total:?}"
            ))),
        }
    }

    async fn get_inner(&self, url: &Url, opts: &FetchOptions) -> Result<Fetched, FetchError> {
        let limit = opts.max_body_bytes.unwrap_or(self.cfg.max_body_bytes);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(opts.accept.unwrap_or(DEFAULT_ACCEPT)),
        );
        if let Some(v) = &opts.validators {
            // A validator that is not a valid header value is stale junk: skip it.
            if let Some(h) = v
                .etag
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(header::IF_NONE_MATCH, h);
            }
            if let Some(h) = v
                .last_modified
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(header::IF_MODIFIED_SINCE, h);
            }
        }
        let resp = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = resp.status().as_u16();
        let final_url = resp.url().clone();
        let h = resp.headers();
        let text_header = |name: header::HeaderName| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let content_type = text_header(header::CONTENT_TYPE);
        // Validators are stored per source and sent back: a giant one is junk, not kept.
        let validator = |name| text_header(name).filter(|v| v.len() <= MAX_VALIDATOR_BYTES);
        let validators = Validators {
            etag: validator(header::ETAG),
            last_modified: validator(header::LAST_MODIFIED),
        };
        if status == 304 {
            return Ok(Fetched {
                url: final_url,
                status,
                not_modified: true,
                content_type,
                body: Vec::new(),
                // A 304 may omit validators: keep the ones we sent.
                validators: merge_validators(validators, opts.validators.as_ref()),
            });
        }
        if !resp.status().is_success() {
            let retry_after = if status == 429 || status == 503 {
                text_header(header::RETRY_AFTER).and_then(|v| parse_retry_after(&v))
            } else {
                None
            };
            return Err(FetchError::Status {
                status,
                retry_after,
            });
        }
        // Content-Length is only a hint (absent when decompressing); the stream count is the cap.
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let cap = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut body = Vec::with_capacity(
            resp.content_length()
                .map_or(0, |n| usize::try_from(n).unwrap_or(0))
                .min(cap)
                .min(1 << 20),
        );
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(map_reqwest)?;
            if body.len() + chunk.len() > cap {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: final_url,
            status,
            not_modified: false,
            content_type,
            body,
            validators,
        })
    }

    /// Whether robots.txt of `url`'s origin lets our User-Agent fetch it.
    ///
    /// The file is fetched once per origin (through this same SSRF-safe client) and cached for a
    /// day; a missing file, a 4xx/5xx, or a fetch error all allow. Always true when
    /// `http.respect_robots_txt` is off.
    pub async fn allowed_by_robots(&self, url: &Url) -> bool {
        if !self.cfg.respect_robots_txt {
            return true;
        }
        let origin = url.origin().ascii_serialization();
        loop {
            let cell = {
                let mut map = self.robots.lock().unwrap_or_else(|p| p.into_inner());
                map.entry(origin.clone()).or_default().clone()
            };
            let entry = cell
                .get_or_init(|| robots::fetch(self, url, &self.cfg))
                .await;
            if entry.is_fresh() {
                return entry.allows(url);
            }
            // Stale: drop it (unless someone already replaced it) and fetch again.
            let mut map = self.robots.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(&origin).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                map.remove(&origin);
            }
        }
    }

    fn gate(&self, url: &Url) -> Arc<HostGate> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut map = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key)
            .or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Semaphore::new(self.cfg.per_host_concurrency.max(1)),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                })
            })
            .clone()
    }
}

fn merge_validators(got: Validators, sent: Option<&Validators>) -> Validators {
    let sent = sent.cloned().unwrap_or_default();
    Validators {
        etag: got.etag.or(sent.etag),
        last_modified: got.last_modified.or(sent.last_modified),
    }
}

/// Refuses non-http(s) URLs and, unless allowed, IP literals of non-public addresses.
/// Names are checked later, on their DNS answers.
fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidUrl(format!(
            "scheme '{}' is not http or https: {}",
            truncate_chars(url.scheme(), 40),
            url_for_message(url.as_str())
        )));
    }
    let ip = match url.host() {
        None => {
            return Err(FetchError::InvalidUrl(format!(
                "no host: {}",
                url_for_message(url.as_str())
            )))
        }
        Some(url::Host::Domain(_)) => return Ok(()),
        Some(url::Host::Ipv4(v4)) => std::net::IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => std::net::IpAddr::V6(v6),
    };
    if allow_private {
        return Ok(());
    }
    match ssrf::blocked_reason(ip) {
        Some(why) => Err(FetchError::Blocked(format!(
            "{}: {ip} is {why}",
            url_for_message(url.as_str())
        ))),
        None => Ok(()),
    }
}

/// `s` cut to at most `max` characters, ending in `…` when cut: URLs and error chains quoted
/// in messages (a 100 KB link must not fill every log line).
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if s.chars().count() > max => format!("{}…", &s[..at]),
        _ => s.to_string(),
    }
}

/// A URL as quoted in messages: at most 200 characters.
pub fn url_for_message(url: &str) -> String {
    truncate_chars(url, 200)
}

/// `Retry-After` is either delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Turns a reqwest error into our error, recognising what our resolver and redirect policy raised.
fn map_reqwest(e: reqwest::Error) -> FetchError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut chain = Vec::new();
    while let Some(s) = src {
        if let Some(b) = s.downcast_ref::<BlockedTarget>() {
            return FetchError::Blocked(b.0.clone());
        }
        if s.downcast_ref::<RedirectLimit>().is_some() {
            return FetchError::TooManyRedirects;
        }
        if let Some(b) = s.downcast_ref::<BadRedirect>() {
            return FetchError::InvalidUrl(b.0.clone());
        }
        chain.push(s.to_string());
        src = s.source();
    }
    let text = truncate_chars(&chain.join(": "), 1000);
    if e.is_timeout() {
        FetchError::Timeout(text)
    } else {
        FetchError::Network(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_char_boundary() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(truncate_chars("ééééé", 4), "ééé…");
        let url = format!("https://e.example/{}", "x".repeat(100_000));
        assert_eq!(url_for_message(&url).chars().count(), 200);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        let d = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(d > Duration::from_secs(3500) && d <= Duration::from_secs(3600));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn literal_urls_checked() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(matches!(
            check_url(&u("http://127.0.0.1/"), false),
            Err(FetchError::Blocked(_))
        ));
        assert!(matches!(
            check_url(&u("http://[::ffff:7f00:1]/"), false),
            Err(FetchError::Blocked(_))
        ));
        assert!(matches!(
            check_url(&u("http://0x7f.1/"), false),
            Err(FetchError::Blocked(_))
        ));
        assert!(matches!(
            check_url(&u("ftp://example.com/"), false),
            Err(FetchError::InvalidUrl(_))
        ));
        assert!(check_url(&u("http://127.0.0.1/"), true).is_ok());
        assert!(check_url(&u("https://example.com/"), false).is_ok());
    }
}
