//! Two `newsdesk run` daemons on one PostgreSQL against a loopback farm of feeds; one is killed
//! with SIGKILL mid-run. Its leases expire, the other daemon finishes its sources, every story is
//! stored exactly once, and no source is fetched by both daemons at once.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use newsfarm::{Farm, FarmSpec};
use sqlx::postgres::PgPoolOptions;
use sqlx::Row;
use testkit::{newsfarm, pg};

const SOURCES: usize = 40;
const ITEMS: usize = 3;

fn spawn_daemon(config: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("spawn daemon")
}

struct Reap(Vec<Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_daemon_leases_expire_and_the_other_finishes() {
    let Some(url) = pg::fresh_db("failover").await else {
        return;
    };
    let farm = Farm::start(FarmSpec {
        sources: SOURCES,
        items: ITEMS,
        latency_ms: (150, 250),
        hosts: 4,
        paragraphs: 3,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsdesk.toml");
    // A short lease so the test does not wait long for the dead daemon's sources; a run every
    // second so the survivor comes back for them once the lease has run out.
    std::fs::write(
        &config,
        farm.config_toml(
            &url,
            "cron = \"* * * * * *\"\nconcurrency = 2\nitem_concurrency = 2\nlease = \"4s\"",
            "per_host_concurrency = 8\nper_host_delay = \"0s\"\ntotal_timeout = \"10s\"",
        ),
    )
    .expect("config");
    // Migrate first so the test can poll tables from the start (the daemons find it done).
    newsdesk::store::open(&url).await.expect("migrate");
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect");

    // Both daemons are killed on every way out of this test (a failed assertion included).
    let mut reap = Reap(vec![spawn_daemon(&config, &dir.path().join("a.log"))]);
    let a_pid = reap.0[0].id();
    // Let daemon A take a head start, then start B beside it.
    wait_for(
        &db,
        "SELECT count(*) FROM stories",
        1,
        Duration::from_secs(60),
    )
    .await;
    reap.0
        .push(spawn_daemon(&config, &dir.path().join("b.log")));

    // Kill A while it holds leases (mid-source), once the two daemons have shared some work.
    wait_for(
        &db,
        "SELECT count(*) FROM stories",
        (SOURCES * ITEMS / 4) as i64,
        Duration::from_secs(60),
    )
    .await;
    let a_owner = format!("{a_pid}-%");
    let start = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM sources WHERE lease_owner LIKE $1")
            .bind(&a_owner)
            .fetch_one(&db)
            .await
            .expect("leases");
        if n > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "daemon A never held a lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reap.0[0].kill().expect("SIGKILL daemon A");
    let _ = reap.0[0].wait();
    let killed_at = chrono::Utc::now();
    // What the dead daemon still holds (it cannot change any more).
    let held: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sources WHERE lease_owner LIKE $1")
            .bind(&a_owner)
            .fetch_all(&db)
            .await
            .expect("held leases");
    assert!(!held.is_empty(), "A died holding leases");
    let stored_at_kill: i64 = sqlx::query_scalar("SELECT count(*) FROM stories")
        .fetch_one(&db)
        .await
        .expect("count");
    assert!(
        (stored_at_kill as usize) < SOURCES * ITEMS,
        "A was killed mid-run"
    );

    // B finishes everything: every source fetched successfully and released, every story in.
    let done_sql = "SELECT count(*) FROM sources WHERE last_success_at IS NOT NULL \
                    AND lease_owner IS NULL";
    wait_for(&db, done_sql, SOURCES as i64, Duration::from_secs(120)).await;
    wait_for(
        &db,
        "SELECT count(*) FROM stories",
        (SOURCES * ITEMS) as i64,
        Duration::from_secs(60),
    )
    .await;
    // A little longer: nothing more may arrive (no duplicates from late runs).
    tokio::time::sleep(Duration::from_secs(2)).await;

    let rows = sqlx::query("SELECT canonical_url FROM stories")
        .fetch_all(&db)
        .await
        .expect("stories");
    let urls: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("canonical_url").expect("url"))
        .collect();
    let paths: HashSet<String> = urls
        .iter()
        .map(|u| url::Url::parse(u).expect("stored url").path().to_string())
        .collect();
    let expected: HashSet<String> = farm
        .all_article_urls()
        .iter()
        .map(|u| url::Url::parse(u).expect("farm url").path().to_string())
        .collect();
    assert_eq!(urls.len(), SOURCES * ITEMS, "stored once each");
    assert_eq!(paths, expected, "every article stored, nothing else");

    // The sources A held when it died were finished by B after their lease ran out.
    for name in &held {
        let row = sqlx::query(
            "SELECT last_fetch_at, last_success_at, lease_owner FROM sources WHERE name = $1",
        )
        .bind(name)
        .fetch_one(&db)
        .await
        .expect("source");
        let fetched: chrono::DateTime<chrono::Utc> = row.try_get("last_fetch_at").expect("time");
        assert!(
            fetched > killed_at,
            "{name} (held by the dead daemon) was fetched again after the kill"
        );
        assert!(row
            .try_get::<Option<String>, _>("lease_owner")
            .expect("owner")
            .is_none());
    }
    // No source was fetched by two daemons at once.
    assert_eq!(farm.stats.overlaps.load(Ordering::SeqCst), 0);
    // B is still alive: the kill did not take it down.
    let b = &mut reap.0[1];
    assert!(b.try_wait().expect("try_wait").is_none(), "daemon B exited");
    let b_log = std::fs::read_to_string(dir.path().join("b.log")).unwrap_or_default();
    assert!(
        b_log.contains("run started"),
        "daemon B ran; its log:\n{b_log}"
    );
    eprintln!(
        "failover: A held {} source(s) at SIGKILL with {stored_at_kill} stories stored; \
         B finished; {} feed requests, {} article requests",
        held.len(),
        farm.stats.feed_total(),
        farm.stats.article_hits.load(Ordering::SeqCst)
    );
}

async fn wait_for(db: &sqlx::PgPool, sql: &'static str, at_least: i64, limit: Duration) {
    let start = Instant::now();
    loop {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(db)
            .await
            .expect("poll query");
        if n >= at_least {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "waited {limit:?} for `{sql}` to reach {at_least}, got {n}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
