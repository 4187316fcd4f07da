//! End to end on the fixture site: feeds and pages in, clean on-topic stories out, one outcome
//! per item, nothing twice.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use newsdesk::config::Config;
use newsdesk::model::{EventScope, Outcome, RunReport, Trigger};
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::store::{self, EventFilter, Store, StoryFilter};
use testkit::site::{fold_ws, FixtureSite, CLUTTER_PHRASES};
use tokio::sync::watch;

async fn pipeline_for(site: &FixtureSite, db: &Path) -> (Arc<Pipeline>, Arc<dyn Store>) {
    let config = Config::parse(&site.config_toml(db), Path::new("fixture.toml")).expect("config");
    let store: Arc<dyn Store> = Arc::from(store::open(&config.storage.url).await.expect("store"));
    let p = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
    p.sync_sources().await.expect("sync");
    (Arc::new(p), store)
}

async fn manual_run(p: &Pipeline) -> RunReport {
    let (_tx, rx) = watch::channel(false);
    let req = RunRequest {
        trigger: Trigger::Manual,
        sources: vec![],
        force: true,
    };
    p.run(&req, rx).await.expect("run")
}

fn status_of(r: &RunReport, name: &str) -> String {
    r.sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("source {name} in report"))
        .status
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_site_end_to_end() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/folder/newsdesk.db");
    let (p, store) = pipeline_for(&site, &db).await;

    let first = manual_run(&p).await;
    assert!(db.exists(), "database file and folders are created");

    // Exactly the five partnership stories, once each.
    let stories = store
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    let titles: Vec<_> = stories.iter().map(|s| s.title.clone()).collect();
    assert_eq!(stories.len(), 5, "stored: {titles:?}\nreport: {first:#?}");
    for seed in &site.seeds {
        let matching: Vec<_> = stories
            .iter()
            .filter(|s| {
                let text = fold_ws(&s.text);
                seed.key_paragraphs(3)
                    .iter()
                    .all(|p| text.contains(&fold_ws(p)))
            })
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "seed {} ({}) must be stored once with its body; stored titles {titles:?}",
            seed.index,
            seed.title
        );
        let story = matching[0];
        assert_eq!(story.status.as_str(), "new");
        assert!(!story.html.contains("<script"), "html is sanitized");
        assert!(!story.url.contains("utm_"), "{}", story.url);
        assert!(!story.dedup_key.contains("utm_"), "{}", story.dedup_key);
        for phrase in CLUTTER_PHRASES {
            assert!(
                !story.text.contains(phrase),
                "seed {}: clutter '{phrase}' left in text:\n{}",
                seed.index,
                story.text
            );
        }
    }

    // Per-source outcomes.
    let c = &first.counts;
    assert_eq!(c.stored, 5, "{first:#?}");
    assert_eq!(c.off_topic, 1, "{first:#?}");
    assert_eq!(c.duplicates, 1, "syndicated copy: {first:#?}");
    assert_eq!(c.sources_failed, 3, "{first:#?}");
    for ok in ["a-rss", "b-atom", "c-json", "d-archive"] {
        assert_eq!(status_of(&first, ok), "ok", "{first:#?}");
    }
    for bad in ["e-broken", "f-error", "g-slow"] {
        assert!(status_of(&first, bad).starts_with("failed"), "{first:#?}");
    }
    assert!(status_of(&first, "f-error").contains("500"), "{first:#?}");

    // The log says what happened to each item and why.
    let events = store
        .events(&EventFilter {
            run_id: Some(first.run_id),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("events");
    let off: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::OffTopic)
        .collect();
    assert_eq!(off.len(), 1);
    assert!(off[0].url.as_deref().unwrap_or("").contains("gemini"));
    assert!(off[0].score.is_some() && !off[0].reason.is_empty());
    let dup: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Duplicate)
        .collect();
    assert_eq!(dup.len(), 1);
    assert!(dup[0].url.as_deref().unwrap_or("").contains("cloud-ledger"));
    let original = stories
        .iter()
        .find(|s| s.dedup_key.ends_with("/2026/11/seed-1.html"))
        .expect("seed 1 stored under its own URL");
    assert_eq!(dup[0].duplicate_of, Some(original.id));
    let failed_sources: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == Outcome::Failed && e.scope == EventScope::Source)
        .map(|e| e.source.as_str())
        .collect();
    for bad in ["e-broken", "f-error", "g-slow"] {
        assert!(failed_sources.contains(&bad), "{failed_sources:?}");
    }
    let stored_events = events
        .iter()
        .filter(|e| e.outcome == Outcome::Stored)
        .count();
    assert_eq!(stored_events, 5);

    // A second run stores nothing new and fetches no article again.
    let hits = site.article_hits.load(Ordering::SeqCst);
    let second = manual_run(&p).await;
    assert_eq!(second.counts.stored, 0, "{second:#?}");
    assert_eq!(second.counts.duplicates, 0, "{second:#?}");
    assert_eq!(status_of(&second, "a-rss"), "not_modified", "ETag honoured");
    assert_eq!(
        site.article_hits.load(Ordering::SeqCst),
        hits,
        "no article refetched"
    );
    let all = store
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    assert_eq!(all.len(), 5);

    // The source state records the failures.
    let states = store.sources().await.expect("sources");
    let slow = states.iter().find(|s| s.name == "g-slow").expect("g-slow");
    assert_eq!(slow.consecutive_errors, 2);
    assert!(
        slow.last_error
            .as_deref()
            .unwrap_or("")
            .contains("timed out"),
        "{slow:?}"
    );
    let rss = states.iter().find(|s| s.name == "a-rss").expect("a-rss");
    assert_eq!(rss.etag.as_deref(), Some("\"rss-v1\""));
    assert_eq!(rss.consecutive_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_store_each_story_once() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("shared.db");
    // Two pipelines over one database file stand for the daemon and a manual fetch.
    let (a, store) = pipeline_for(&site, &db).await;
    let (b, _) = pipeline_for(&site, &db).await;
    let (ra, rb) = tokio::join!(manual_run(&a), manual_run(&b));
    let stored = ra.counts.stored + rb.counts.stored;
    assert_eq!(stored, 5, "a: {ra:#?}\nb: {rb:#?}");
    // No source was fetched by both.
    for name in ["a-rss", "b-atom", "c-json", "d-archive"] {
        let fetched_by_a = !status_of(&ra, name).starts_with("busy");
        let fetched_by_b = !status_of(&rb, name).starts_with("busy");
        assert!(fetched_by_a ^ fetched_by_b, "{name}: a {ra:#?} b {rb:#?}");
    }
    let all = store
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories");
    assert_eq!(all.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_run_fetches_only_due_sources() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (p, _store) = pipeline_for(&site, &dir.path().join("due.db")).await;
    let (_tx, rx) = watch::channel(false);
    let sched = RunRequest {
        trigger: Trigger::Schedule,
        sources: vec![],
        force: false,
    };
    let first = p.run(&sched, rx.clone()).await.expect("run");
    assert_eq!(first.counts.sources, 7, "new sources are due at once");
    let second = p.run(&sched, rx).await.expect("run");
    assert_eq!(
        second.counts.sources, 0,
        "nothing is due right after: {second:#?}"
    );
}
