//! Each verdict an item can get, on a real loopback HTTP server (axum) and a real SQLite file:
//! known, robots-disallowed, fetch failure, no body, exact duplicate, near duplicate, off topic,
//! stored — the verdict and its reason.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use url::Url;

use super::*;
use crate::config::Config;
use crate::model::{SourceItem, Trigger};
use crate::store::Store;

/// Path → (status, body) served by the test site; pages can be added while it runs.
type Pages = Arc<Mutex<HashMap<String, (u16, String)>>>;

async fn serve_page(State(pages): State<Pages>, uri: Uri) -> Response {
    let found = pages
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(uri.path())
        .cloned();
    let Some((status, body)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if uri.path().ends_with(".txt") {
        "text/plain"
    } else {
        "text/html; charset=utf-8"
    };
    (status, [("content-type", kind)], body).into_response()
}

/// A loopback site, a SQLite file and a pipeline over both.
struct Bench {
    base: String,
    pages: Pages,
    pipeline: Pipeline,
    source: SourceConfig,
    run_id: i64,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start() -> Bench {
        let pages: Pages = Arc::default();
        pages.lock().expect("pages").insert(
            "/robots.txt".into(),
            (200, "User-agent: *\nDisallow: /private/\n".into()),
        );
        let app = axum::Router::new()
            .fallback(serve_page)
            .with_state(pages.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("items.db");
        let toml = format!(
            "[storage]\nurl = \"sqlite://{}\"\n\
             [http]\nallow_private_networks = true\nrespect_robots_txt = true\n\
             per_host_delay = \"0s\"\ntotal_timeout = \"5s\"\n\
             [[sources]]\nname = \"site\"\nkind = \"feed\"\nurl = \"{base}/feed.xml\"\n",
            db.display()
        );
        let config = Config::parse(&toml, Path::new("items.toml")).expect("config");
        let source = config.sources[0].clone();
        let store: Arc<dyn Store> = Arc::from(
            crate::store::open(&config.storage.url)
                .await
                .expect("store"),
        );
        let pipeline = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
        pipeline.sync_sources().await.expect("sync");
        let run_id = store
            .start_run(Trigger::Manual, Utc::now())
            .await
            .expect("run");
        Bench {
            base,
            pages,
            pipeline,
            source,
            run_id,
            _dir: dir,
        }
    }

    fn page(&self, path: &str, status: u16, body: String) -> SourceItem {
        self.pages
            .lock()
            .expect("pages")
            .insert(path.into(), (status, body));
        self.item(path)
    }

    fn item(&self, path: &str) -> SourceItem {
        SourceItem {
            guid: Some(path.into()),
            url: Url::parse(&format!("{}{path}", self.base)).expect("url"),
            title: Some(format!("Feed title of {path}")),
            author: None,
            published_at: None,
        }
    }

    async fn judge(&self, item: &SourceItem) -> Verdict {
        let ctx = ItemContext::of(&self.source, item);
        let (verdict, _, _) = self
            .pipeline
            .judge_item(&self.source, item, &ctx)
            .await
            .expect("judged");
        verdict
    }

    /// Takes the item to its outcome; gives the outcome and its event's reason.
    async fn process(&self, item: SourceItem) -> (Outcome, String) {
        let url = item.url.to_string();
        let end = self
            .pipeline
            .process_item(self.run_id, &self.source, item)
            .await
            .expect("processed");
        let ItemEnd::Done { outcome, .. } = end else {
            panic!("{url}: no outcome recorded");
        };
        let events = self
            .pipeline
            .store
            .events(&crate::store::EventFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("events");
        let event = events
            .into_iter()
            .find(|e| e.url.as_deref() == Some(url.as_str()))
            .expect("the item's event");
        assert_eq!(event.outcome, outcome);
        (outcome, event.reason)
    }
}

const PARTNERSHIP: [&str; 5] = [
    "Microsoft and OpenAI announced on Tuesday that their partnership will be restructured, \
     with Microsoft keeping a large stake in the company that makes ChatGPT.",
    "Under the new partnership agreement, OpenAI may buy computing power from cloud providers \
     other than Azure, while Microsoft keeps rights to the models until an expert panel rules.",
    "Analysts said the deal ends months of talks between Satya Nadella and Sam Altman about \
     revenue sharing, exclusivity and the so-called AGI clause in the original contract.",
    "The investment Microsoft made since 2019 is now worth far more than the thirteen billion \
     dollars it put in, according to people familiar with the partnership terms.",
    "Regulators in Brussels and Washington have looked at the alliance for antitrust concerns, \
     and both companies said they expect the review to continue into next year.",
];

const GARDENING: [&str; 4] = [
    "Tomatoes planted in late spring need a sunny spot, rich soil and steady watering through \
     the hottest weeks of the summer if the fruit is not to split.",
    "Gardeners who mulch their beds with straw keep the soil moist for longer and find that \
     weeds are easier to pull when they appear between the rows.",
    "A stake and soft ties keep tall varieties upright; pinching out the side shoots sends the \
     plant's strength into the trusses that are already setting fruit.",
    "Feed every fortnight once the first flowers open, and pick the fruit as soon as it colours \
     so that the plant keeps producing until the first frost arrives.",
];

fn article(title: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html><html><head><title>{title}</title></head><body>\
         <nav><a href=\"/\">Home</a></nav><article><h1>{title}</h1>\n{body}</article>\
         <footer>Copyright</footer></body></html>"
    )
}

fn failed(v: Verdict) -> (String, bool, bool) {
    match v {
        Verdict::Failed {
            reason,
            retry,
            permanent,
        } => (reason, retry, permanent),
        other => panic!("expected a failure, got {}", describe(&other)),
    }
}

fn describe(v: &Verdict) -> String {
    match v {
        Verdict::Known => "known".into(),
        Verdict::Duplicate { reason, .. } => format!("duplicate: {reason}"),
        Verdict::OffTopic(t) => format!("off topic: {}", t.reason),
        Verdict::Failed { reason, .. } => format!("failed: {reason}"),
        Verdict::Deferred(at) => format!("deferred until {at}"),
        Verdict::Store(s, _) => format!("store: {:?}", s.title),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_topic_article_is_stored_and_then_known() {
    let b = Bench::start().await;
    let item = b.page(
        "/deal",
        200,
        article("Microsoft and OpenAI rework deal", &PARTNERSHIP),
    );
    match b.judge(&item).await {
        Verdict::Store(story, topic) => {
            assert_eq!(
                story.title.as_deref(),
                Some("Microsoft and OpenAI rework deal")
            );
            assert!(story.text.contains("expert panel rules"), "{}", story.text);
            assert_eq!(story.dedup_key, crate::dedup::canonical_url(&item.url));
            assert!(topic.on_topic && topic.score >= 6.0, "{}", topic.reason);
        }
        other => panic!("expected a story to store, got {}", describe(&other)),
    }
    let (outcome, reason) = b.process(item.clone()).await;
    assert_eq!(outcome, Outcome::Stored, "{reason}");
    // The reason is the topic's: what made it on topic.
    assert!(reason.contains(">= threshold 6.0"), "{reason}");
    assert!(
        matches!(b.judge(&item).await, Verdict::Known),
        "a stored item is known"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_robots_txt_disallows_is_not_fetched() {
    let b = Bench::start().await;
    let item = b.page("/private/deal", 200, article("Deal", &PARTNERSHIP));
    let (reason, retry, permanent) = failed(b.judge(&item).await);
    assert_eq!(reason, "article page disallowed by robots.txt");
    assert!(!retry && !permanent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_fetch_is_retried_and_a_gone_page_is_permanent() {
    let b = Bench::start().await;
    let gone = b.item("/gone");
    let (reason, retry, permanent) = failed(b.judge(&gone).await);
    assert!(reason.starts_with("article fetch:"), "{reason}");
    assert!(reason.contains("404"), "{reason}");
    assert!(
        retry && permanent,
        "404 is retried a bounded number of times"
    );
    let broken = b.page("/broken", 500, "oops".into());
    let (reason, retry, permanent) = failed(b.judge(&broken).await);
    assert!(
        reason.starts_with("article fetch:") && reason.contains("500"),
        "{reason}"
    );
    assert!(
        retry && !permanent,
        "500 may pass: retried until it is given up"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_without_a_body_fails_for_good() {
    let b = Bench::start().await;
    let item = b.page(
        "/empty",
        200,
        "<!doctype html><html><head><title>Nothing</title></head><body></body></html>".into(),
    );
    let (reason, retry, permanent) = failed(b.judge(&item).await);
    assert_eq!(reason, "no article body found on the page");
    assert!(!retry && !permanent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_body_at_another_address_is_an_exact_duplicate() {
    let b = Bench::start().await;
    let first = b.page("/deal", 200, article("Deal", &PARTNERSHIP));
    assert_eq!(b.process(first).await.0, Outcome::Stored);
    let copy = b.page("/syndicated/deal", 200, article("Deal", &PARTNERSHIP));
    match b.judge(&copy).await {
        Verdict::Duplicate { of, reason, score } => {
            assert_eq!(reason, format!("same body text as story {of}"));
            assert_eq!(score, Some(1.0));
        }
        other => panic!("expected an exact duplicate, got {}", describe(&other)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lightly_edited_copy_is_a_near_duplicate() {
    let b = Bench::start().await;
    let first = b.page("/deal", 200, article("Deal", &PARTNERSHIP));
    assert_eq!(b.process(first).await.0, Outcome::Stored);
    let mut edited = PARTNERSHIP.map(str::to_string);
    edited[4] = edited[4].replace("next year", "the coming year");
    let edited: Vec<&str> = edited.iter().map(String::as_str).collect();
    let copy = b.page("/copy", 200, article("Deal (updated)", &edited));
    // Not the same bytes: the judge lets it through to the near-copy check under the lock.
    assert!(matches!(b.judge(&copy).await, Verdict::Store(..)));
    let (outcome, reason) = b.process(copy).await;
    assert_eq!(outcome, Outcome::Duplicate, "{reason}");
    assert!(reason.starts_with("near-duplicate of story "), "{reason}");
    assert!(reason.contains("(similarity 0."), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_about_something_else_is_off_topic() {
    let b = Bench::start().await;
    let item = b.page("/tomatoes", 200, article("Growing tomatoes", &GARDENING));
    match b.judge(&item).await {
        Verdict::OffTopic(t) => {
            assert!(!t.on_topic);
            assert!(
                t.reason
                    .starts_with("'Microsoft' mentioned 0 time(s), 2 needed"),
                "names what is missing: {}",
                t.reason
            );
        }
        other => panic!("expected off topic, got {}", describe(&other)),
    }
    let (outcome, _) = b.process(item).await;
    assert_eq!(outcome, Outcome::OffTopic);
}
