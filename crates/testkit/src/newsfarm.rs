//! A farm of generated news sources on loopback, for the failover test and the load bench.
//!
//! Source `i` is an RSS feed at `/feed/{i}.xml` announcing `items` articles at `/a/{i}/{j}`; every
//! article is a distinct on-topic story (a partnership paragraph plus pseudo-random filler, so no
//! two are exact or near duplicates). Feeds carry an ETag and answer 304 to a matching
//! `If-None-Match`. Every response waits a deterministic pseudo-random latency in
//! `latency_ms`. The farm listens on several loopback addresses (127.0.1.x), one host each,
//! as sources spread over many sites would be.
//!
//! It counts, per source, feed requests and requests that overlapped another one for the same
//! source (two daemons fetching one source at once).
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// What to serve.
#[derive(Debug, Clone)]
pub struct FarmSpec {
    /// Number of feeds.
    pub sources: usize,
    /// Articles per feed.
    pub items: usize,
    /// Response latency range (inclusive), milliseconds.
    pub latency_ms: (u64, u64),
    /// Number of loopback hosts to spread the sources over.
    pub hosts: usize,
    /// Paragraphs of filler per article.
    pub paragraphs: usize,
}

/// Counters shared with the handlers.
pub struct FarmStats {
    /// Feed requests per source.
    pub feed_hits: Vec<AtomicU32>,
    /// Feed requests in flight per source.
    inflight: Vec<AtomicU32>,
    /// Feed requests that began while another for the same source was in flight.
    pub overlaps: AtomicU64,
    /// Feed requests answered 304.
    pub not_modified: AtomicU64,
    /// Article requests.
    pub article_hits: AtomicU64,
}

impl FarmStats {
    /// Sum of feed requests.
    pub fn feed_total(&self) -> u64 {
        self.feed_hits
            .iter()
            .map(|h| u64::from(h.load(Ordering::Relaxed)))
            .sum()
    }

    /// A copy of the per-source feed counts.
    pub fn feed_snapshot(&self) -> Vec<u32> {
        self.feed_hits
            .iter()
            .map(|h| h.load(Ordering::Relaxed))
            .collect()
    }
}

/// The running farm.
pub struct Farm {
    /// Base URLs (`http://127.0.1.x:port`), one per host.
    pub bases: Vec<String>,
    /// Counters.
    pub stats: Arc<FarmStats>,
    /// What it serves.
    pub spec: FarmSpec,
    /// One server per host, serving until the farm is dropped.
    _servers: Vec<crate::loopback::Served>,
}

#[derive(Clone)]
struct St {
    spec: Arc<FarmSpec>,
    stats: Arc<FarmStats>,
    bases: Arc<Vec<String>>,
}

/// splitmix64: cheap, deterministic, well mixed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const SYLLABLES: &[&str] = &[
    "ba", "ko", "ti", "ra", "mu", "se", "lo", "ne", "vi", "da", "pu", "ge", "zo", "fi", "ha", "ju",
    "ke", "lu", "mo", "ni", "po", "qa", "ri", "sa", "tu", "ve", "wo", "xi", "ya", "ze",
];

fn word(seed: u64) -> String {
    let n = 2 + (seed % 3) as usize;
    let mut w = String::with_capacity(8);
    let mut s = seed;
    for _ in 0..n {
        s = mix(s);
        w.push_str(SYLLABLES[(s % SYLLABLES.len() as u64) as usize]);
    }
    w
}

fn latency(spec: &FarmSpec, key: u64) -> Duration {
    let (lo, hi) = spec.latency_ms;
    Duration::from_millis(lo + mix(key) % (hi - lo + 1))
}

/// The base URL source `i` is served from.
pub fn base_of(bases: &[String], i: usize) -> &str {
    &bases[i % bases.len()]
}

/// The article URL of item `j` of source `i`.
pub fn article_url(bases: &[String], i: usize, j: usize) -> String {
    format!("{}/a/{i}/{j}", base_of(bases, i))
}

/// The title of item `j` of source `i`.
pub fn title(i: usize, j: usize) -> String {
    format!("Microsoft and OpenAI partnership, report {i}-{j}")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn etag(i: usize) -> String {
    format!("\"farm-{i}-v1\"")
}

struct InflightGuard<'a>(&'a AtomicU32);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn feed(State(s): State<St>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = file
        .strip_suffix(".xml")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|i| *i < s.spec.sources)
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    s.stats.feed_hits[i].fetch_add(1, Ordering::SeqCst);
    if s.stats.inflight[i].fetch_add(1, Ordering::SeqCst) > 0 {
        s.stats.overlaps.fetch_add(1, Ordering::SeqCst);
    }
    let _guard = InflightGuard(&s.stats.inflight[i]);
    tokio::time::sleep(latency(&s.spec, i as u64)).await;
    let tag = etag(i);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == tag.as_bytes())
    {
        s.stats.not_modified.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    let base = base_of(&s.bases, i);
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Farm source {i}</title><link>{base}/</link><description>Generated</description>\n"
    );
    for j in 0..s.spec.items {
        let _ = writeln!(
            body,
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">farm-{i}-{j}</guid>\
             <pubDate>Mon, 23 Nov 2026 09:30:00 GMT</pubDate><description>Summary</description></item>",
            esc(&title(i, j)),
            article_url(&s.bases, i, j)
        );
    }
    body.push_str("</channel></rss>");
    (
        [
            (
                header::CONTENT_TYPE,
                "application/rss+xml; charset=utf-8".to_string(),
            ),
            (header::ETAG, tag),
        ],
        body,
    )
        .into_response()
}

/// The body paragraphs of item `j` of source `i`.
pub fn paragraphs(spec: &FarmSpec, i: usize, j: usize) -> Vec<String> {
    let mut out = vec![format!(
        "Microsoft and OpenAI said on Monday that their partnership will continue under a \
         revised agreement, report {i}-{j} says. The partnership gives Microsoft a stake in \
         OpenAI and keeps Azure as its cloud provider."
    )];
    let seed = ((i as u64) << 20) ^ (j as u64);
    for p in 0..spec.paragraphs {
        let mut para = String::new();
        for w in 0..60u64 {
            let mut wd = word(mix(seed.wrapping_mul(7919)
                ^ ((p as u64) << 8)
                ^ w
                ^ (w << 40)));
            if w == 0 {
                wd[..1].make_ascii_uppercase();
            }
            para.push_str(&wd);
            para.push_str(if w % 12 == 11 { ". " } else { " " });
        }
        out.push(format!("{}.", para.trim_end().trim_end_matches('.')));
    }
    out.push(format!(
        "Analysts expect the OpenAI partnership with Microsoft to shape the deal for years; \
         this was report {i}-{j}."
    ));
    out
}

async fn article(State(s): State<St>, Path((i, j)): Path<(usize, usize)>) -> Response {
    if i >= s.spec.sources || j >= s.spec.items {
        return StatusCode::NOT_FOUND.into_response();
    }
    s.stats.article_hits.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(latency(&s.spec, ((i as u64) << 16) ^ (j as u64) ^ 0xA5A5)).await;
    let t = esc(&title(i, j));
    let url = article_url(&s.bases, i, j);
    let mut body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <link rel=\"canonical\" href=\"{url}\"><meta name=\"author\" content=\"Farm Desk {i}\">\
         </head><body><header><nav><a href=\"/\">Home</a> <a href=\"/about\">About</a></nav></header>\
         <article><h1>{t}</h1><p class=\"byline\">By Farm Desk {i}</p>"
    );
    for p in paragraphs(&s.spec, i, j) {
        let _ = write!(body, "<p>{}</p>", esc(&p));
    }
    body.push_str("</article><footer><p>Farm footer</p></footer></body></html>");
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

impl Farm {
    /// Starts the farm on `spec.hosts` loopback addresses (127.0.1.1, 127.0.1.2, …).
    pub async fn start(spec: FarmSpec) -> Farm {
        let stats = Arc::new(FarmStats {
            feed_hits: (0..spec.sources).map(|_| AtomicU32::new(0)).collect(),
            inflight: (0..spec.sources).map(|_| AtomicU32::new(0)).collect(),
            overlaps: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            article_hits: AtomicU64::new(0),
        });
        let mut ports = Vec::new();
        for h in 0..spec.hosts.max(1) {
            let last = u8::try_from(h + 1).expect("at most 255 hosts");
            ports.push(crate::loopback::bind_ip(Ipv4Addr::new(127, 0, 1, last).into()).await);
        }
        let bases: Vec<String> = ports.iter().map(|p| p.base.clone()).collect();
        let st = St {
            spec: Arc::new(spec.clone()),
            stats: stats.clone(),
            bases: Arc::new(bases.clone()),
        };
        let app = Router::new()
            .route("/feed/{file}", get(feed))
            .route("/a/{i}/{j}", get(article))
            .with_state(st);
        let servers = ports.into_iter().map(|p| p.serve(app.clone())).collect();
        Farm {
            bases,
            stats,
            spec,
            _servers: servers,
        }
    }

    /// A daemon config for the farm: `storage_url`, the given `[schedule]` lines and
    /// `[http]` lines, and one `[[sources]]` per feed (`farm-00042`).
    pub fn config_toml(&self, storage_url: &str, schedule: &str, http: &str) -> String {
        let mut t = format!(
            "[storage]\nurl = \"{storage_url}\"\n\n[schedule]\n{schedule}\n\n[http]\n\
             allow_private_networks = true\nrespect_robots_txt = false\n{http}\n\n"
        );
        for i in 0..self.spec.sources {
            let _ = writeln!(
                t,
                "[[sources]]\nname = \"{}\"\nkind = \"feed\"\nurl = \"{}/feed/{i}.xml\"\n",
                source_name(i),
                base_of(&self.bases, i)
            );
        }
        t
    }

    /// Every article URL the farm announces.
    pub fn all_article_urls(&self) -> Vec<String> {
        (0..self.spec.sources)
            .flat_map(|i| (0..self.spec.items).map(move |j| (i, j)))
            .map(|(i, j)| article_url(&self.bases, i, j))
            .collect()
    }
}

/// The config name of source `i`.
pub fn source_name(i: usize) -> String {
    format!("farm-{i:05}")
}
