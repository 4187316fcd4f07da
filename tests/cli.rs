//! The binary as operators use it: `fetch`, `stories`, `logs`, `sources`, config refusal.

use std::path::Path;
use std::process::Output;

use testkit::site::FixtureSite;
use testkit::{newsdesk, newsdesk_async};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bad_config_is_refused_with_file_key_and_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(&str, &str, &str)] = &[
        ("[http]\nallow_private = true\n", "http.allow_private", "unknown field"),
        ("[schedule]\ncron = \"every five minutes\"\n", "schedule.cron", "cron"),
        (
            "[[sources]]\nname = \"x\"\nkind = \"page\"\nurl = \"https://example.com/\"\nlink_selector = \"a[[\"\n",
            "sources[0].link_selector",
            "selector",
        ),
        (
            "[[sources]]\nname = \"x\"\nkind = \"feed\"\nurl = \"https://example.com/\"\nbody_selector = \"div..story\"\n",
            "sources[0].body_selector",
            "invalid CSS selector",
        ),
        (
            "[[sources]]\nname = \"x\"\nkind = \"feed\"\nurl = \"https://example.com/\"\ndrop_selectors = [\".ad\", \"p:::x\"]\n",
            "sources[0].drop_selectors[1]",
            "invalid CSS selector",
        ),
        (
            "[[sources]]\nname = \"x\"\nkind = \"feed\"\nurl = \"https://example.com/a\"\n[[sources]]\nname = \"x\"\nkind = \"feed\"\nurl = \"https://example.com/b\"\n",
            "sources[1].name",
            "duplicate",
        ),
        ("[storage]\nurl = \"mysql://db\"\n", "storage.url", "sqlite"),
        (
            "[dedup]\nnear_duplicate_threshold = 1.5\n",
            "dedup.near_duplicate_threshold",
            "at most 1",
        ),
        ("[dedup]\ncluster_window = \"0s\"\n", "dedup.cluster_window", "positive"),
        ("[schedule\ncron = 1", "schedule", "line 1"),
    ];
    for (text, key, reason) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("write");
        for cmd in ["fetch", "run", "check-config"] {
            let out = newsdesk!(&path, &[cmd]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} on {text:?}: {err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(key), "expected key {key} in: {err}");
            assert!(err.contains(reason), "expected reason {reason} in: {err}");
        }
    }
    let missing = newsdesk!(&dir.path().join("nope.toml"), &["fetch"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn shipped_config_passes_check_config() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/newsdesk.toml");
    let out = newsdesk!(&shipped, &["check-config"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_then_read_stories_logs_and_sources() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsdesk.toml");
    std::fs::write(
        &config,
        site.config_toml(&dir.path().join("db/newsdesk.db")),
    )
    .expect("write");

    // Preview lists what would happen and stores nothing.
    let feed = format!("{}/feed.rss", site.base);
    let out = newsdesk_async!(&config, &["preview", &feed, "--format", "json"]).await;
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let outcomes: Vec<&str> = preview
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "stored").count(),
        2,
        "{preview}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "off_topic").count(),
        1,
        "{preview}"
    );
    let archive = format!("{}/archive", site.base);
    let out = newsdesk_async!(&config, &["preview", &archive, "--kind", "page"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("link_selector"));

    let started = std::time::Instant::now();
    let out = newsdesk_async!(&config, &["fetch"]).await;
    // A measurement for the README, not an assertion: shared machines are noisy.
    let summary = stdout(&out);
    eprintln!(
        "newsdesk fetch on the fixture site: {:?}\n{summary}",
        started.elapsed()
    );
    // Failed sources do not make the run fail.
    assert!(
        out.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["a-rss", "d-archive", "f-error", "TOTAL"] {
        assert!(summary.contains(name), "{summary}");
    }
    assert!(summary.contains("failed: HTTP 500"), "{summary}");

    let out = newsdesk_async!(&config, &["stories", "--format", "json"]).await;
    let stories: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stories json");
    let stories = stories.as_array().expect("array");
    assert_eq!(stories.len(), 5);
    for s in stories {
        for field in [
            "id",
            "source",
            "url",
            "fetched_url",
            "dedup_key",
            "title",
            "authors",
            "site_name",
            "language",
            "published_at",
            "updated_at",
            "fetched_at",
            "status",
            "text",
            "html",
        ] {
            assert!(s.get(field).is_some(), "missing {field} in {s}");
        }
        assert_eq!(s["status"], "new");
        assert!(s["cluster_id"].is_i64(), "every story has a cluster: {s}");
    }
    // `--cluster ID` lists exactly that cluster's stories; the table has a cluster column.
    let cluster = stories[0]["cluster_id"].as_i64().expect("cluster id");
    let members = stories
        .iter()
        .filter(|s| s["cluster_id"].as_i64() == Some(cluster))
        .count();
    let cluster_arg = cluster.to_string();
    let out = newsdesk_async!(
        &config,
        &["stories", "--cluster", &cluster_arg, "--format", "json"],
    )
    .await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stories json");
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), members);
    assert!(listed
        .iter()
        .all(|s| s["cluster_id"].as_i64() == Some(cluster)));
    let out = newsdesk_async!(&config, &["stories"]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.lines().next().unwrap_or("").contains("CLUSTER"),
        "{table}"
    );

    let out = newsdesk_async!(
        &config,
        &["fetch", "--source", "c-json", "--format", "json"],
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report json");
    assert_eq!(
        report["sources"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    let out = newsdesk_async!(&config, &["fetch", "--source", "nope"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    let out = newsdesk_async!(
        &config,
        &["logs", "--outcome", "off_topic", "--format", "json"],
    )
    .await;
    let logs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("logs json");
    let events = logs["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{logs}");
    assert_eq!(events[0]["outcome"], "off_topic");
    // Two runs: an unknown source name is refused before a run starts.
    assert!(
        logs["runs"].as_array().is_some_and(|r| r.len() == 2),
        "{logs}"
    );

    let out = newsdesk_async!(&config, &["logs", "--source", "f-error", "--since", "1h"]).await;
    let table = stdout(&out);
    assert!(table.contains("HTTP 500"), "{table}");
    assert!(!table.contains("a-rss"), "{table}");

    let out = newsdesk_async!(&config, &["sources"]).await;
    let table = stdout(&out);
    assert!(
        table.contains("g-slow") && table.contains("timed out"),
        "{table}"
    );
}

#[test]
fn extract_tries_site_rules_and_refuses_bad_selectors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("page.html");
    std::fs::write(
        &page,
        "<html><body><article><h1>Deal</h1><div class=\"txt\">\
         <p>Microsoft and OpenAI signed a new agreement on Monday that changes how the two companies share revenue from models.</p>\
         <div class=\"k7q\"><p>Our reporters spent a whole year inside the datacenters that power these models, and the series starts soon.</p></div>\
         </div></article></body></html>",
    )
    .expect("write page");
    let cfg = dir.path().join("unused.toml");
    let page_arg = page.display().to_string();
    let plain = newsdesk!(&cfg, &["extract", &page_arg]);
    assert!(plain.status.success());
    assert!(
        stdout(&plain).contains("whole year inside"),
        "{}",
        stdout(&plain)
    );
    let ruled = newsdesk!(&cfg, &["extract", "--drop-selector", "div.k7q", &page_arg]);
    assert!(ruled.status.success());
    assert!(
        !stdout(&ruled).contains("whole year inside"),
        "{}",
        stdout(&ruled)
    );
    assert!(
        stdout(&ruled).contains("signed a new agreement"),
        "{}",
        stdout(&ruled)
    );
    let bad = newsdesk!(&cfg, &["extract", "--body-selector", "div[[", &page_arg]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid CSS selector 'div[['"));
}
