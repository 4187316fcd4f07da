//! An operator's per-source extraction rules (`body_selector`, `drop_selectors`) reach the
//! stored story: a site's own promo box that the generic rules keep is gone, and the article
//! text stays.

use std::path::Path;
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use newsdesk::config::Config;
use newsdesk::model::Trigger;
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::store::{self, Store, StoryFilter};
use testkit::site;
use testkit::site::load_seeds;
use tokio::sync::watch;

/// A box in the site's own words and class names: prose, no links, nothing a generic rule knows.
const PROMO: &str = "Our reporters spent a whole year inside the datacenters that power these \
                     models, and the six-part series starts next Tuesday on this site.";

fn article_page(title: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        "<html><head><title>{title}</title></head><body><main><article><h1>{title}</h1>\
         <div class=\"txt\">{body}<div class=\"k7q\"><p>{PROMO}</p></div></div>\
         </article></main></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_selectors_of_a_source_apply_to_its_stored_stories() {
    let seed = load_seeds().remove(0);
    let page = article_page(&seed.title, &seed.paragraphs);
    // Without the rule the promo survives: otherwise this test would prove nothing.
    assert!(newsdesk::extract::extract(&page, None)
        .text
        .contains("whole year inside"));

    let port = testkit::loopback::bind().await;
    let base = port.base.clone();
    let feed = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>{base}/</link><description>d</description><item><title>a</title><link>{base}/a</link><guid>a</guid></item></channel></rss>"#
    );
    let app = Router::new()
        .route(
            "/feed.rss",
            get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], feed) }),
        )
        .route(
            "/a",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
            }),
        );
    port.serve_detached(app);

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("news.db");
    let toml = format!(
        r#"
[storage]
url = "sqlite://{}"

[http]
allow_private_networks = true
per_host_delay = "0s"
respect_robots_txt = false

[[sources]]
name = "ruled"
kind = "feed"
url = "{base}/feed.rss"
body_selector = "div.txt"
drop_selectors = ["div.k7q"]
"#,
        db.display()
    );
    let config = Config::parse(&toml, Path::new("site-rules-test.toml")).expect("config");
    let store: Arc<dyn Store> = Arc::from(store::open(&config.storage.url).await.expect("store"));
    let pipeline = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
    pipeline.sync_sources().await.expect("sync");
    let (_tx, rx) = watch::channel(false);
    let report = pipeline
        .run(
            &RunRequest {
                trigger: Trigger::Manual,
                sources: vec!["ruled".into()],
                force: true,
            },
            rx,
        )
        .await
        .expect("run");
    let stories = store
        .stories(&StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("stories");
    assert_eq!(stories.len(), 1, "{report:?}");
    let story = &stories[0];
    assert!(!story.text.contains("whole year inside"), "{}", story.text);
    assert!(!story.html.contains("whole year inside"), "{}", story.html);
    for p in seed.key_paragraphs(2) {
        let head: String = p.chars().take(60).collect();
        assert!(
            site::fold_ws(&story.text).contains(&site::fold_ws(&head)),
            "lost {head:?} in {}",
            story.text
        );
    }
}
