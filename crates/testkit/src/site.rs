//! A fixture news site served on loopback: the five seed articles inside cluttered page
//! templates, feeds in three formats, a listing page, an off-topic story, a syndicated copy in
//! another template, and misbehaving endpoints.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as AxPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Lines of the seed texts that are clutter captured with the article, rendered by the
/// templates as the widgets they came from instead of as body paragraphs.
const SEED_CLUTTER_LINES: &[&str] = &[
    "7 0 0",
    "Comments (0)",
    "Be the first to comment!",
    "Subscribe to get the latest posts sent to your email.",
    "Join the Discussion",
    "Discuss this story",
    "Community comments coming in a future update",
    "Be the first to share your perspective. Subscribe to comment.",
];

/// Phrases that must never reach a stored story: the seeds' own clutter and the templates'.
pub const CLUTTER_PHRASES: &[&str] = &[
    "7 0 0",
    "Comments (0)",
    "Be the first to comment",
    "Discover more from",
    "Subscribe to get the latest posts",
    "We use cookies",
    "Accept all cookies",
    "Advertisement",
    "Read more:",
    "Related posts",
    "Nvidia earnings beat estimates",
    "covers cloud computing for",
    "Post comment",
    "Privacy policy",
    "Share on LinkedIn",
    "You might also like",
    "Sign up for our weekly briefing",
    "Sponsored",
    "Most popular",
    "12 likes",
    "Join the Discussion",
];

/// One seed article, split into a title and body paragraphs.
#[derive(Debug, Clone)]
pub struct Seed {
    pub index: usize,
    pub title: String,
    pub paragraphs: Vec<String>,
}

impl Seed {
    /// The longest paragraphs, which any correct extraction keeps.
    pub fn key_paragraphs(&self, n: usize) -> Vec<String> {
        let mut p = self.paragraphs.clone();
        p.sort_by_key(|s| std::cmp::Reverse(s.len()));
        p.truncate(n);
        p
    }
}

/// Titles for the seeds whose text does not start with one.
const FALLBACK_TITLES: &[&str] = &[
    "",
    "",
    "",
    "The Microsoft–OpenAI Marriage Shows Its Cracks",
    "Microsoft and OpenAI Rewrite the Terms of Their Partnership",
];

/// Reads the five seeds (real partnership articles with their clutter, kept in the repository).
pub fn load_seeds() -> Vec<Seed> {
    let dir = crate::repo_root().join("tests/fixtures/seeds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/seeds")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let text = std::fs::read_to_string(f).expect("seed");
            let mut lines: Vec<String> = text
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .filter(|l| !SEED_CLUTTER_LINES.contains(&l.as_str()))
                .filter(|l| !l.starts_with("Discover more from"))
                .collect();
            let first_is_title = lines
                .first()
                .is_some_and(|l| l.len() < 120 && !l.ends_with('.'));
            let title = if first_is_title {
                lines.remove(0)
            } else {
                FALLBACK_TITLES[i].to_string()
            };
            // Seed 1 repeats its title as the first line of its body.
            if lines.first() == Some(&title) {
                lines.remove(0);
            }
            Seed {
                index: i,
                title,
                paragraphs: lines,
            }
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Body paragraphs as HTML: short lines without a full stop become subheadings.
fn body_html(paragraphs: &[String]) -> Vec<String> {
    paragraphs
        .iter()
        .map(|p| {
            if p.len() < 60 && !p.ends_with('.') {
                format!("<h2>{}</h2>", esc(p))
            } else if let Some(item) = p.strip_prefix("- ") {
                format!("<ul><li>{}</li></ul>", esc(item))
            } else {
                format!("<p>{}</p>", esc(p))
            }
        })
        .collect()
}

/// Template A: a WordPress-like news site with every kind of clutter, some inside the article.
pub fn template_a(
    base: &str,
    slug: &str,
    title: &str,
    paragraphs: &[String],
    day: usize,
) -> String {
    let body = body_html(paragraphs);
    let mid = body.len() / 2;
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{t} | Daily Tech Wire</title>
<meta property="og:title" content="{t}">
<meta name="author" content="Dana Whitfield">
<meta property="article:published_time" content="2026-11-{day:02}T09:30:00Z">
<link rel="canonical" href="{base}/2026/11/{slug}.html">
<script>window.dataLayer = [{{"event": "Subscribe now"}}];</script>
<style>.share-bar {{ display: flex; }}</style>
</head><body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<header class="site-header"><nav><a href="/">Home</a> <a href="/ai">AI</a> <a href="/cloud">Cloud</a> <a href="/newsletter">Newsletter</a></nav></header>
<main>
<article class="post">
<h1 class="entry-title">{t}</h1>
<div class="byline">By <a rel="author" href="/author/dana">Dana Whitfield</a> · <time datetime="2026-11-{day:02}T09:30:00Z">November {day}, 2026</time></div>
<div class="share-bar"><span class="share-count">7</span> <span class="like-count">0</span> <span class="comment-count">0</span></div>
<div class="entry-content">
{first}
<div class="ad-slot"><span class="ad-label">Advertisement</span></div>
<p class="read-more"><strong>Read more:</strong> <a href="/2026/10/cloud-prices.html">Why cloud prices keep rising</a></p>
{second}
<div class="newsletter-signup"><h3>Discover more from Daily Tech Wire</h3><p>Subscribe to get the latest posts sent to your email.</p><form><input type="email" placeholder="Type your email"><button>Subscribe</button></form></div>
</div>
<div class="author-bio"><p>Dana Whitfield covers cloud computing for Daily Tech Wire. She previously reported from Seattle for a decade.</p></div>
</article>
<section class="related-posts"><h2>Related posts</h2><ul><li><a href="/2026/11/nvidia.html">Nvidia earnings beat estimates</a></li><li><a href="/2026/11/laptops.html">Five laptops for students</a></li></ul></section>
<section id="comments" class="comments-area"><h2>Comments (0)</h2><p>Be the first to comment!</p><form><textarea></textarea><button>Post comment</button></form></section>
</main>
<footer class="site-footer">© 2026 Daily Tech Wire · <a href="/privacy">Privacy policy</a></footer>
</body></html>"#,
        t = esc(title),
        first = body[..mid].join("\n"),
        second = body[mid..].join("\n"),
    )
}

/// Template B: a syndication partner's div soup with its own clutter.
pub fn template_b(title: &str, paragraphs: &[String]) -> String {
    let body: Vec<String> = paragraphs
        .iter()
        .map(|p| format!("<div class=\"txt\">{}</div>", esc(p)))
        .collect();
    format!(
        r##"<html><head><title>{t} - Cloud Ledger</title></head><body>
<div class="wrapper">
 <div class="topbar"><a href="/">Cloud Ledger</a> | <a href="/markets">Markets</a> | <a href="/login">Log in</a></div>
 <div class="col-main">
  <div class="headline"><h1>{t}</h1></div>
  <div class="social"><a href="#">Share on X</a> · <a href="#">Share on LinkedIn</a> · <span class="likes">12 likes</span></div>
  <div class="story-body">
{body}
  </div>
  <div class="promo-box">Sign up for our weekly briefing on enterprise AI. <a href="/signup">Sign up</a></div>
  <div class="more-stories"><h4>You might also like</h4><a href="/x">Oracle raises guidance</a><br><a href="/y">Chip stocks slide</a></div>
 </div>
 <div class="sidebar"><div class="sponsored">Sponsored: <a href="/ad">Try our cloud cost calculator</a></div>
 <div class="popular"><h4>Most popular</h4><ol><li><a href="/p1">Markets open higher</a></li></ol></div></div>
</div></body></html>"##,
        t = esc(title),
        body = body.join("\n")
    )
}

/// An article that mentions Microsoft and OpenAI only in passing.
pub fn off_topic_paragraphs() -> Vec<String> {
    [
        "Google on Tuesday released Gemini 3, its most capable model yet, and said it would be available to developers through its cloud platform starting next week.",
        "The company said the new model scores higher than its predecessor on reasoning and coding benchmarks, and that it can process video, audio and long documents in a single prompt.",
        "Sundar Pichai told reporters that the launch reflects a decade of research at Google DeepMind, and that the model was trained on the company's own tensor processing units.",
        "Analysts said the release keeps pressure on rivals such as OpenAI, while enterprise buyers will compare pricing with offerings from Microsoft and Amazon.",
        "Gemini 3 will also ship on Pixel phones, where it powers a new assistant that can act inside apps, book tables and summarize long email threads.",
        "The company did not disclose how much the model cost to train, but said efficiency improvements cut the price per token by half compared with last year.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The running fixture site.
pub struct FixtureSite {
    pub addr: SocketAddr,
    pub base: String,
    pub seeds: Vec<Seed>,
    /// How many times each article page was requested.
    pub article_hits: Arc<AtomicUsize>,
    /// Serving until the site is dropped.
    _server: crate::loopback::Served,
}

#[derive(Clone)]
struct SiteState {
    base: String,
    seeds: Arc<Vec<Seed>>,
    article_hits: Arc<AtomicUsize>,
}

const RSS_ETAG: &str = "\"rss-v1\"";

async fn rss(State(s): State<SiteState>, headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == RSS_ETAG.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let b = &s.base;
    let item = |guid: &str, title: &str, link: &str| {
        format!(
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{guid}</guid>\
             <pubDate>Mon, 23 Nov 2026 09:30:00 GMT</pubDate><description>Summary</description></item>",
            esc(title),
            esc(link)
        )
    };
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Daily Tech Wire</title><link>{b}/</link><description>News</description>
{}
{}
{}
</channel></rss>"#,
        item(
            "dtw-0",
            &s.seeds[0].title,
            &format!("{b}/2026/11/seed-0.html?utm_source=rss&utm_medium=feed")
        ),
        item(
            "dtw-1",
            &s.seeds[1].title,
            &format!("{b}/2026/11/seed-1.html?utm_source=rss")
        ),
        item(
            "dtw-gemini",
            "Google launches Gemini 3",
            &format!("{b}/2026/11/gemini-3.html")
        ),
    );
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml; charset=utf-8"),
            (header::ETAG, RSS_ETAG),
        ],
        body,
    )
        .into_response()
}

async fn atom(State(s): State<SiteState>) -> Response {
    let b = &s.base;
    let entry = |id: &str, title: &str, link: &str| {
        format!(
            "<entry><id>{id}</id><title>{}</title><link rel=\"alternate\" href=\"{}\"/>\
             <updated>2026-11-23T09:30:00Z</updated><author><name>Dana Whitfield</name></author></entry>",
            esc(title),
            esc(link)
        )
    };
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Daily Tech Wire (Atom)</title><id>urn:dtw:atom</id><updated>2026-11-23T09:30:00Z</updated>
{}
{}
</feed>"#,
        entry(
            "urn:dtw:atom:2",
            &s.seeds[2].title,
            &format!("{b}/2026/11/seed-2.html")
        ),
        // The RSS feed's first story again, with other tracking parameters and another id.
        entry(
            "urn:dtw:atom:0",
            &s.seeds[0].title,
            &format!("{b}/2026/11/seed-0.html?utm_campaign=atom&fbclid=XYZ#top")
        ),
    );
    ([(header::CONTENT_TYPE, "application/atom+xml")], body).into_response()
}

async fn json_feed(State(s): State<SiteState>) -> Response {
    let b = &s.base;
    let v = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Daily Tech Wire (JSON)",
        "home_page_url": format!("{b}/"),
        "items": [{
            "id": "dtw-json-3",
            "url": format!("{b}/2026/11/seed-3.html?gclid=abc123"),
            "title": s.seeds[3].title,
            "date_published": "2026-11-23T09:30:00Z",
            "content_text": "Summary"
        }]
    });
    (
        [(header::CONTENT_TYPE, "application/feed+json")],
        v.to_string(),
    )
        .into_response()
}

async fn archive() -> Response {
    let body = r#"<html><head><title>Archive</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<ul class="posts">
<li><a class="post-title" href="/2026/11/seed-4.html">Microsoft and OpenAI rewrite the terms</a></li>
<li><a class="post-title" href="/partner/cloud-ledger/clean-breakup?ref=archive">From our partners: a clean breakup</a></li>
<li><a class="post-title" href="/2026/11/seed-2.html?ref=archive&amp;utm_source=archive#comments">Earlier coverage</a></li>
</ul>
<a href="/page/2">Older posts</a>
</body></html>"#;
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn article(State(s): State<SiteState>, AxPath(slug): AxPath<String>) -> Response {
    s.article_hits.fetch_add(1, Ordering::SeqCst);
    let slug = slug.trim_end_matches(".html");
    let page = if let Some(n) = slug.strip_prefix("seed-") {
        match n.parse::<usize>().ok().and_then(|i| s.seeds.get(i)) {
            Some(seed) => template_a(
                &s.base,
                slug,
                &seed.title,
                &seed.paragraphs,
                20 + seed.index,
            ),
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    } else if slug == "gemini-3" {
        template_a(
            &s.base,
            slug,
            "Google launches Gemini 3",
            &off_topic_paragraphs(),
            22,
        )
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn syndicated(State(s): State<SiteState>) -> Response {
    s.article_hits.fetch_add(1, Ordering::SeqCst);
    let seed = &s.seeds[1];
    let page = template_b(&format!("Analysis: {}", seed.title), &seed.paragraphs);
    ([(header::CONTENT_TYPE, "text/html")], page).into_response()
}

async fn broken_feed() -> Response {
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        "this is {not} a feed \u{0} at all <<<",
    )
        .into_response()
}

async fn server_error() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
}

async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "too late".into_response()
}

impl FixtureSite {
    /// Starts the site on 127.0.0.1 with an OS-chosen port.
    pub async fn start() -> FixtureSite {
        let port = crate::loopback::bind().await;
        let (addr, base) = (port.addr, port.base.clone());
        let seeds = load_seeds();
        let article_hits = Arc::new(AtomicUsize::new(0));
        let state = SiteState {
            base: base.clone(),
            seeds: Arc::new(seeds.clone()),
            article_hits: article_hits.clone(),
        };
        let app = Router::new()
            .route("/feed.rss", get(rss))
            .route("/atom.xml", get(atom))
            .route("/feed.json", get(json_feed))
            .route("/archive", get(archive))
            .route("/2026/11/{slug}", get(article))
            .route("/partner/cloud-ledger/clean-breakup", get(syndicated))
            .route("/broken.xml", get(broken_feed))
            .route("/error.xml", get(server_error))
            .route("/slow.xml", get(slow))
            .with_state(state);
        FixtureSite {
            addr,
            base,
            seeds,
            article_hits,
            _server: port.serve(app),
        }
    }

    /// A config for this site: four good sources and three failing ones, sources processed
    /// one at a time in name order so outcomes are deterministic.
    pub fn config_toml(&self, db_path: &Path) -> String {
        let b = &self.base;
        format!(
            r#"
[storage]
url = "sqlite://{db}"

[schedule]
cron = "0 */15 * * * *"
concurrency = 1
item_concurrency = 4

[http]
allow_private_networks = true
connect_timeout = "2s"
read_timeout = "2s"
total_timeout = "3s"
per_host_concurrency = 8
per_host_delay = "0s"
respect_robots_txt = false

[[sources]]
name = "a-rss"
kind = "feed"
url = "{b}/feed.rss"

[[sources]]
name = "b-atom"
kind = "feed"
url = "{b}/atom.xml"

[[sources]]
name = "c-json"
kind = "feed"
url = "{b}/feed.json"

[[sources]]
name = "d-archive"
kind = "page"
url = "{b}/archive"
link_selector = "a.post-title"

[[sources]]
name = "e-broken"
kind = "feed"
url = "{b}/broken.xml"

[[sources]]
name = "f-error"
kind = "feed"
url = "{b}/error.xml"

[[sources]]
name = "g-slow"
kind = "feed"
url = "{b}/slow.xml"
"#,
            db = db_path.display()
        )
    }
}

/// Folds whitespace so text comparisons survive re-wrapping.
pub fn fold_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
