//! What is handed to publishing, end to end on a loopback site: the article's own address (after
//! a redirect, a same-site canonical followed, another site's canonical refused, tracking
//! parameters dropped, `http://` kept), and the page's metadata (authors, dates, language, site
//! name) in the store, JSON Feed and Atom.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use newsdesk::config::Config;
use newsdesk::export::{self, StoryFormat};
use newsdesk::model::Trigger;
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::store::{self, Store, StoryFilter};
use testkit::site::load_seeds;
use tokio::sync::watch;

#[derive(Clone)]
struct Site {
    base: String,
    bodies: Arc<Vec<String>>,
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn feed(State(s): State<Site>) -> Response {
    let b = &s.base;
    let items: String = [
        "/go/a?utm_source=rss",
        "/2026/b.html?fbclid=xyz&utm_medium=feed",
        "/amp/c.html?utm_campaign=c",
    ]
    .iter()
    .enumerate()
    .map(|(i, path)| {
        format!(
            "<item><title>Item {i}</title><link>{}</link><guid>g{i}</guid></item>",
            quick_xml::escape::escape(format!("{b}{path}").as_str())
        )
    })
    .collect();
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"),
    )
        .into_response()
}

/// A feed link that redirects (with its own tracking parameter) to the article.
async fn go_a(State(s): State<Site>) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(
            header::LOCATION,
            format!("{}/2026/a.html?id=7&utm_medium=redirect", s.base),
        )],
    )
        .into_response()
}

/// No canonical; metadata in JSON-LD (two authors, an offset date, a modification date).
async fn page_a(State(s): State<Site>) -> Response {
    html(format!(
        r#"<!doctype html><html lang="en-GB"><head><title>Deal A | Example Wire</title>
        <meta property="og:site_name" content="Example Wire">
        <script type="application/ld+json">{{"@context":"https://schema.org","@graph":[
          {{"@type":"WebSite","name":"Example Wire"}},
          {{"@type":"NewsArticle","headline":"Deal A","description":"Deal A & why it matters",
            "datePublished":"2026-03-04T10:30:00+02:00","dateModified":"2026-03-05T08:00:00Z",
            "author":[{{"@type":"Person","name":"Ann Lee"}},{{"@type":"Person","name":"Bo Chen"}}]}}]}}
        </script></head><body><article><h1>Deal A</h1>{}</article></body></html>"#,
        s.bodies[0]
    ))
}

/// Declares a canonical on another registrable domain (a syndication partner): refused.
async fn page_b(State(s): State<Site>) -> Response {
    html(format!(
        r#"<html><head><title>Deal B</title>
        <link rel="canonical" href="https://partner.example/syndicated/deal-b">
        <meta name="author" content="By Cy Diaz">
        <meta name="description" content="Deal B,
          summed up">
        <meta property="article:published_time" content="2026-02-01T09:00:00-05:00">
        </head><body><article><h1>Deal B</h1>{}</article></body></html>"#,
        s.bodies[1]
    ))
}

/// An AMP copy whose canonical is the same site's article page: followed.
async fn page_c(State(s): State<Site>) -> Response {
    html(format!(
        r#"<html><head><title>Deal C</title>
        <link rel="canonical" href="/2026/c.html?utm_source=amp">
        </head><body><article><h1>Deal C</h1>{}</article></body></html>"#,
        s.bodies[2]
    ))
}

async fn start() -> (String, testkit::loopback::Served) {
    let port = testkit::loopback::bind().await;
    let base = port.base.clone();
    let bodies: Vec<String> = load_seeds()
        .into_iter()
        .take(3)
        .map(|s| s.paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect())
        .collect();
    let app = Router::new()
        .route("/feed.xml", get(feed))
        .route("/go/a", get(go_a))
        .route("/2026/a.html", get(page_a))
        .route("/2026/b.html", get(page_b))
        .route("/amp/c.html", get(page_c))
        .with_state(Site {
            base: base.clone(),
            bodies: Arc::new(bodies),
        });
    (base, port.serve(app))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_url_and_metadata_reach_every_output() {
    let (base, _stop) = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        r#"
[storage]
url = "sqlite://{db}"
[http]
allow_private_networks = true
per_host_delay = "0s"
respect_robots_txt = false
[[sources]]
name = "wire"
kind = "feed"
url = "{base}/feed.xml"
"#,
        db = dir.path().join("n.db").display()
    );
    let config = Config::parse(&toml, Path::new("t.toml")).expect("config");
    let store: Arc<dyn Store> = Arc::from(store::open(&config.storage.url).await.expect("store"));
    let p = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
    p.sync_sources().await.expect("sync");
    let (_tx, rx) = watch::channel(false);
    let report = p
        .run(
            &RunRequest {
                trigger: Trigger::Manual,
                sources: vec![],
                force: true,
            },
            rx,
        )
        .await
        .expect("run");
    assert_eq!(report.counts.stored, 3, "{report:#?}");

    let mut stories = store
        .stories(&StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("stories");
    stories.sort_by(|a, b| a.title.cmp(&b.title));
    let urls: Vec<&str> = stories.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            format!("{base}/2026/a.html?id=7"),
            format!("{base}/2026/b.html"),
            format!("{base}/2026/c.html"),
        ],
        "redirect followed, partner canonical refused, same-site canonical taken, tracking gone"
    );
    // The dedup key is its own field and not what is published.
    assert!(stories[0].dedup_key.starts_with("https://127.0.0.1"));
    assert_eq!(
        stories[0].fetched_url,
        format!("{base}/2026/a.html?id=7&utm_medium=redirect")
    );

    let a = &stories[0];
    assert_eq!(a.authors, ["Ann Lee", "Bo Chen"]);
    assert_eq!(a.site_name.as_deref(), Some("Example Wire"));
    assert_eq!(a.language.as_deref(), Some("en-GB"));
    assert_eq!(
        a.published_at.map(|d| d.to_rfc3339()),
        Some("2026-03-04T08:30:00+00:00".into())
    );
    assert_eq!(
        a.updated_at.map(|d| d.to_rfc3339()),
        Some("2026-03-05T08:00:00+00:00".into())
    );
    // The standfirst, which the body leaves out: JSON-LD first, else `<meta>`, else none.
    assert_eq!(a.summary.as_deref(), Some("Deal A & why it matters"));
    assert_eq!(stories[1].summary.as_deref(), Some("Deal B, summed up"));
    assert_eq!(stories[2].summary, None);
    assert_eq!(stories[1].authors, ["Cy Diaz"]);
    assert_eq!(
        stories[1].published_at.map(|d| d.to_rfc3339()),
        Some("2026-02-01T14:00:00+00:00".into())
    );

    // JSON Feed: the same url, no tracked link anywhere, metadata where the page stated it.
    let feed: serde_json::Value =
        serde_json::from_str(&export::render(&stories, StoryFormat::Jsonfeed, "t"))
            .expect("json feed");
    let items = feed["items"].as_array().expect("items");
    for (item, s) in items.iter().zip(&stories) {
        assert_eq!(item["url"].as_str(), Some(s.url.as_str()));
        assert!(item.get("external_url").is_none());
        assert!(!item.to_string().contains("utm_"), "{item}");
    }
    assert_eq!(
        items[0]["authors"],
        serde_json::json!([{"name": "Ann Lee"}, {"name": "Bo Chen"}])
    );
    assert_eq!(items[0]["date_published"], "2026-03-04T08:30:00Z");
    assert_eq!(items[0]["date_modified"], "2026-03-05T08:00:00Z");
    assert_eq!(items[0]["language"], "en-GB");
    assert_eq!(items[0]["summary"], "Deal A & why it matters");
    assert!(items[2].get("summary").is_none(), "not stated");
    assert!(items[1].get("date_modified").is_none(), "not stated");
    assert!(items[2].get("authors").is_none(), "not stated");

    // Atom: alternate is the published url, via the (untracked) fetched page when it differs.
    let atom = export::render(&stories, StoryFormat::Atom, "t");
    assert!(!atom.contains("utm_"), "{atom}");
    assert!(atom.contains(&format!(
        r#"<link rel="alternate" href="{base}/2026/a.html?id=7"/>"#
    )));
    assert!(atom.contains(&format!(r#"<link rel="via" href="{base}/amp/c.html"/>"#)));
    assert!(atom.contains(r#"<entry xml:lang="en-GB">"#));
    assert!(atom.contains(
        "<author><name>Ann Lee</name></author>\n    <author><name>Bo Chen</name></author>"
    ));
    assert!(atom.contains("<published>2026-03-04T08:30:00Z</published>"));
    assert!(atom.contains("<updated>2026-03-05T08:00:00Z</updated>"));
    assert!(atom.contains("<source><title>Example Wire</title></source>"));
    assert!(atom.contains("<summary>Deal A &amp; why it matters</summary>"));
    assert_eq!(atom.matches("<summary>").count(), 2, "{atom}");
}
