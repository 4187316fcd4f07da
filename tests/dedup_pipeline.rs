//! Dedup through the whole pipeline: a near-copy in another template with a new headline and
//! a changed paragraph is a `duplicate` after a restart (the index is rebuilt from the database)
//! and when two runs race; other reports of the same event are stored and share a cluster.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as AxPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use newsdesk::config::Config;
use newsdesk::model::{Outcome, RunReport, Trigger};
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::store::{self, EventFilter, Store, StoryFilter};
use testkit::site::{load_seeds, template_a, template_b, Seed};
use tokio::sync::watch;

#[derive(Clone)]
struct Site {
    base: String,
    seeds: Arc<Vec<Seed>>,
}

/// The near-copy of seed 0: another site's template, a new headline, its second paragraph
/// dropped and a note added.
fn near_copy(seed: &Seed) -> String {
    let mut paragraphs = seed.paragraphs.clone();
    paragraphs.remove(1);
    paragraphs.push(
        "This story was first published by Daily Tech Wire and is republished here under a \
         content partnership, with minor edits for style."
            .to_string(),
    );
    template_b("Microsoft, OpenAI rewrite their deal", &paragraphs)
}

async fn page(State(s): State<Site>, AxPath(slug): AxPath<String>) -> Response {
    let html = match slug.as_str() {
        "near-copy" => near_copy(&s.seeds[0]),
        _ => match slug
            .strip_prefix("seed-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(i) if i < s.seeds.len() => template_a(
                &s.base,
                &slug,
                &s.seeds[i].title,
                &s.seeds[i].paragraphs,
                20 + i,
            ),
            _ => return StatusCode::NOT_FOUND.into_response(),
        },
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// `/feeds/{a+b+c}.rss`: a feed of the named pages.
async fn feed(State(s): State<Site>, AxPath(name): AxPath<String>) -> Response {
    let items: String = name
        .trim_end_matches(".rss")
        .split('+')
        .map(|slug| {
            format!(
                "<item><title>{slug}</title><link>{b}/p/{slug}?utm_source=feed</link>\
                 <guid isPermaLink=\"false\">{slug}</guid></item>",
                b = s.base
            )
        })
        .collect();
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>{}/</link><description>d</description>{items}</channel></rss>"#,
        s.base
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

async fn start_site() -> (String, testkit::loopback::Served) {
    let port = testkit::loopback::bind().await;
    let base = port.base.clone();
    let site = Site {
        base: base.clone(),
        seeds: Arc::new(load_seeds()),
    };
    let app = Router::new()
        .route("/p/{slug}", get(page))
        .route("/feeds/{name}", get(feed))
        .with_state(site);
    (base, port.serve(app))
}

/// One source per feed, named after it.
fn config(base: &str, db: &Path, feeds: &[&str]) -> Config {
    config_with(base, db, feeds, "")
}

/// [`config`] with `extra` TOML sections.
fn config_with(base: &str, db: &Path, feeds: &[&str], extra: &str) -> Config {
    let mut toml = format!(
        r#"
[storage]
url = "sqlite://{}"

[schedule]
cron = "0 */15 * * * *"
concurrency = 2
item_concurrency = 2

[http]
allow_private_networks = true
connect_timeout = "2s"
read_timeout = "2s"
total_timeout = "5s"
per_host_concurrency = 8
per_host_delay = "0s"
respect_robots_txt = false
"#,
        db.display()
    );
    toml.push_str(extra);
    for f in feeds {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"{f}\"\nkind = \"feed\"\nurl = \"{base}/feeds/{f}.rss\"\n"
        ));
    }
    Config::parse(&toml, Path::new("dedup-test.toml")).expect("config")
}

async fn pipeline(base: &str, db: &Path, feeds: &[&str]) -> (Pipeline, Arc<dyn Store>) {
    pipeline_for(config(base, db, feeds)).await
}

/// A pipeline over `config`'s store, its sources synced.
async fn pipeline_for(config: Config) -> (Pipeline, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::from(store::open(&config.storage.url).await.expect("store"));
    let p = Pipeline::new(Arc::new(config), store.clone()).expect("pipeline");
    p.sync_sources().await.expect("sync");
    (p, store)
}

async fn run(p: &Pipeline, sources: &[&str]) -> RunReport {
    let (_tx, rx) = watch::channel(false);
    let req = RunRequest {
        trigger: Trigger::Manual,
        sources: sources.iter().map(|s| s.to_string()).collect(),
        force: true,
    };
    p.run(&req, rx).await.expect("run")
}

async fn all_stories(store: &dyn Store) -> Vec<newsdesk::model::Story> {
    store
        .stories(&StoryFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("stories")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_never_lets_a_near_copy_through_and_clusters_survive_it() {
    let (base, _stop) = start_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("restart.db");
    let feeds = ["seed-0", "near-copy+seed-2"];

    let (first, store) = pipeline(&base, &db, &feeds).await;
    let r = run(&first, &["seed-0"]).await;
    assert_eq!(r.counts.stored, 1, "{r:#?}");
    let original = all_stories(store.as_ref()).await[0].clone();
    assert_eq!(
        original.cluster_id,
        Some(original.id),
        "a first story starts its own cluster"
    );
    drop(first);
    drop(store);

    // A new process: empty memory, same database.
    let (second, store) = pipeline(&base, &db, &feeds).await;
    let r = run(&second, &["near-copy+seed-2"]).await;
    assert_eq!((r.counts.stored, r.counts.duplicates), (1, 1), "{r:#?}");
    let events = store
        .events(&EventFilter {
            outcome: Some(Outcome::Duplicate),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(events.len(), 1, "{events:#?}");
    let dup = &events[0];
    assert!(
        dup.url.as_deref().unwrap_or("").contains("near-copy"),
        "{dup:#?}"
    );
    assert_eq!(dup.duplicate_of, Some(original.id));
    assert!(
        dup.reason.starts_with("near-duplicate of story"),
        "{dup:#?}"
    );
    assert!(
        dup.score.unwrap_or(0.0) >= newsdesk::dedup::DEFAULT_THRESHOLD,
        "{dup:#?}"
    );

    // The other report of the same event, in other words, joins the first story's cluster.
    let stories = all_stories(store.as_ref()).await;
    assert_eq!(stories.len(), 2);
    let other = stories
        .iter()
        .find(|s| s.id != original.id)
        .expect("seed 2");
    assert_eq!(other.cluster_id, Some(original.id), "{:?}", other.title);
    let cluster = store
        .stories(&StoryFilter {
            cluster_id: Some(original.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("cluster");
    assert_eq!(cluster.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_at_once_store_a_near_copied_story_once() {
    let (base, _stop) = start_site().await;
    for round in 0..4 {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("race.db");
        let feeds = ["seed-0", "near-copy"];
        // Two pipelines over one database stand for the daemon and a manual fetch.
        let (a, store) = pipeline(&base, &db, &feeds).await;
        let (b, _) = pipeline(&base, &db, &feeds).await;
        let (ra, rb) = tokio::join!(run(&a, &["seed-0"]), run(&b, &["near-copy"]));
        assert_eq!(
            ra.counts.stored + rb.counts.stored,
            1,
            "round {round}: a {ra:#?}\nb {rb:#?}"
        );
        assert_eq!(ra.counts.duplicates + rb.counts.duplicates, 1);
        assert_eq!(all_stories(store.as_ref()).await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_thresholds_take_effect() {
    let (base, _stop) = start_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("strict.db");
    let feeds = ["seed-0", "near-copy+seed-2"];
    // Only identical signatures are near-copies, only identical vectors one event.
    let config = config_with(
        &base,
        &db,
        &feeds,
        "\n[dedup]\nnear_duplicate_threshold = 1.0\ncluster_threshold = 1.0\nrecluster_threshold = 1.0\n",
    );
    let (p, store) = pipeline_for(config).await;
    run(&p, &["seed-0"]).await;
    let r = run(&p, &["near-copy+seed-2"]).await;
    // With the default thresholds the first test sees (stored 1, duplicate 1) and one cluster.
    assert_eq!((r.counts.stored, r.counts.duplicates), (2, 0), "{r:#?}");
    let stories = all_stories(store.as_ref()).await;
    assert_eq!(stories.len(), 3);
    for s in &stories {
        assert_eq!(
            s.cluster_id,
            Some(s.id),
            "{:?} joined another cluster",
            s.title
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reclusters_the_window_and_stores_the_new_cluster_ids() {
    let (base, _stop) = start_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("recluster.db");
    let feeds = ["seed-0", "seed-2"];
    // Nothing joins a cluster on arrival; only the re-clustering after a run groups stories.
    let config = config_with(&base, &db, &feeds, "\n[dedup]\ncluster_threshold = 1.0\n");
    let (p, store) = pipeline_for(config).await;
    assert_eq!(run(&p, &["seed-0"]).await.counts.stored, 1);
    assert_eq!(run(&p, &["seed-2"]).await.counts.stored, 1);
    let stories = all_stories(store.as_ref()).await;
    let first = stories.iter().map(|s| s.id).min().expect("two stories");
    for s in &stories {
        assert_eq!(s.cluster_id, Some(first), "{:?} was not regrouped", s.title);
    }
}
