//! Load simulator: 10,000 feed sources on loopback, 1–3 `newsdesk run` daemons (the release
//! binary, as separate processes) sharing one PostgreSQL.
//!
//! ```text
//! cargo bench --bench load                          # 10,000 sources, 1, 2 and 3 daemons
//! cargo bench --bench load -- --sources 2000 --daemons 2 --concurrency 16 --items 3
//! ```
//!
//! For each daemon count: a fresh database on a private PostgreSQL cluster (default durability
//! settings, `track_commit_timestamp` on), a fresh farm (see `crates/testkit/src/newsfarm.rs`), then
//! - pass 1, new items: the daemons start and fetch every source and every article;
//! - pass 2, not modified: every source is made due again and the farm answers 304.
//!
//! Reported per pass: cycle time (first daemon spawned or sources made due → last source
//! released), sources/min, stories/s, fetch→store latency p50/p99 (article response received
//! [`stories.fetched_at`] → story row committed [`pg_xact_commit_timestamp`]), double fetches
//! (sources whose feed was requested more than once in the pass) and overlapping fetches (a
//! feed requested while another request for it was in flight); peak RSS of each daemon
//! (`VmHWM`), CPU seconds used in the pass by the daemons (user + system, all together) and by the
//! PostgreSQL cluster,
//! database size, and the stored-exactly-once check.
//!
//! `cargo test --all-targets` also runs this binary, without `--bench`: it then exits at once.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use testkit::{newsfarm, pg};

use newsfarm::{Farm, FarmSpec};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, PgPool, Row};

#[derive(Debug, Clone)]
struct Opts {
    sources: usize,
    items: usize,
    daemons: Vec<usize>,
    concurrency: usize,
    item_concurrency: usize,
    latency_ms: (u64, u64),
    hosts: usize,
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        sources: 10_000,
        items: 3,
        daemons: vec![1, 2, 3],
        concurrency: 16,
        item_concurrency: 4,
        latency_ms: (20, 120),
        hosts: 16,
    };
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.parse::<usize>().map_err(|e| format!("{a} {v}: {e}"));
        match a.as_str() {
            "--bench" => {}
            "--sources" => o.sources = num(val()?)?,
            "--items" => o.items = num(val()?)?,
            "--concurrency" => o.concurrency = num(val()?)?,
            "--item-concurrency" => o.item_concurrency = num(val()?)?,
            "--hosts" => o.hosts = num(val()?)?,
            "--daemons" => {
                o.daemons = val()?
                    .split(',')
                    .map(|d| {
                        d.trim()
                            .parse::<usize>()
                            .map_err(|e| format!("--daemons: {e}"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "--latency-ms" => {
                let v = val()?;
                let (lo, hi) = v.split_once('-').ok_or("--latency-ms LO-HI")?;
                o.latency_ms = (
                    lo.parse().map_err(|e| format!("--latency-ms: {e}"))?,
                    hi.parse().map_err(|e| format!("--latency-ms: {e}"))?,
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("load bench: not run without --bench (use `cargo bench --bench load`)");
        return;
    }
    let opts = match parse_opts(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(opts));
}

/// Peak resident set of a process, kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU time (user + system) a process has used so far, seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// CPU seconds of a PostgreSQL cluster: the postmaster with its reaped children, plus the live
/// backends and helpers.
fn pg_cpu(pg_dir: &std::path::Path) -> Option<f64> {
    let pid: u32 = std::fs::read_to_string(pg_dir.join("data/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let fields = |p: &str| -> Option<Vec<f64>> {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 2..];
        Some(
            rest.split_whitespace()
                .map(|x| x.parse::<f64>().unwrap_or(0.0))
                .collect(),
        )
    };
    let own = fields(&pid.to_string())?;
    // utime, stime, cutime, cstime; ppid is the second field after the name.
    let mut ticks = own.get(11)? + own.get(12)? + own.get(13)? + own.get(14)?;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(f) = fields(&name) {
            if f.get(1).copied() == Some(f64::from(pid)) {
                ticks += f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0);
            }
        }
    }
    Some(ticks / 100.0)
}

fn total_cpu(children: &Daemons) -> f64 {
    children.0.iter().filter_map(|c| cpu_secs(c.id())).sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn run(opts: Opts) {
    let bin = pg::binaries().expect("PostgreSQL binaries (install the postgresql package)");
    // Durable defaults (fsync, synchronous_commit on); commit timestamps for the latency figure.
    let server = pg::start_cluster_with(
        &bin,
        &[
            "-c",
            "track_commit_timestamp=on",
            "-c",
            "shared_buffers=128MB",
        ],
    )
    .expect("start PostgreSQL");
    let daemon_bin = env!("CARGO_BIN_EXE_newsdesk");
    println!(
        "load bench: {} sources × {} articles, latency {}–{} ms over {} loopback hosts, \
         concurrency {} (items {}), daemons {:?}, binary {daemon_bin}",
        opts.sources,
        opts.items,
        opts.latency_ms.0,
        opts.latency_ms.1,
        opts.hosts,
        opts.concurrency,
        opts.item_concurrency,
        opts.daemons
    );
    let mut summary = Vec::new();
    for &n in &opts.daemons {
        let pg_dir = server.dir.clone().expect("own cluster");
        summary.push(scenario(&opts, server.admin_url(), &pg_dir, daemon_bin, n).await);
    }
    println!("\n== summary");
    println!(
        "daemons | pass | cycle s | sources/min | stories/s | fetch→store p50 ms | p99 ms | double fetches | overlaps | 304s | daemon CPU s | PostgreSQL CPU s"
    );
    for lines in summary {
        for l in lines {
            println!("{l}");
        }
    }
}

async fn scenario(
    opts: &Opts,
    admin_url: &str,
    pg_dir: &std::path::Path,
    daemon_bin: &str,
    daemons: usize,
) -> Vec<String> {
    println!("\n== {daemons} daemon(s)");
    let db_name = format!("load_{daemons}_{}", std::process::id());
    let mut admin = PgConnection::connect(admin_url).await.expect("admin");
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE \"{db_name}\"")))
        .await
        .expect("create database");
    let _ = admin.close().await;
    let url = pg::with_database(admin_url, &db_name);
    newsdesk::store::open(&url).await.expect("migrate");
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect");

    let farm = Farm::start(FarmSpec {
        sources: opts.sources,
        items: opts.items,
        latency_ms: opts.latency_ms,
        hosts: opts.hosts,
        paragraphs: 4,
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsdesk.toml");
    std::fs::write(
        &config,
        farm.config_toml(
            &url,
            &format!(
                "cron = \"* * * * * *\"\nconcurrency = {}\nitem_concurrency = {}\nlease = \"5m\"",
                opts.concurrency, opts.item_concurrency
            ),
            "per_host_concurrency = 8\nper_host_delay = \"0s\"\ntotal_timeout = \"30s\"",
        ),
    )
    .expect("config");

    // Pass 1: new items.
    let pg0 = pg_cpu(pg_dir).unwrap_or(f64::NAN);
    let t0 = Instant::now();
    let pass1_start: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&db)
        .await
        .expect("now");
    let mut children = Daemons(Vec::new());
    for d in 0..daemons {
        let log = std::fs::File::create(dir.path().join(format!("daemon-{d}.log"))).expect("log");
        children.0.push(
            Command::new(daemon_bin)
                .arg("--config")
                .arg(&config)
                .arg("run")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn daemon"),
        );
    }
    let cycle1 = wait_pass(&db, pass1_start, opts.sources, t0, &children).await;
    let cpu1 = total_cpu(&children);
    let pgcpu1 = pg_cpu(pg_dir).unwrap_or(f64::NAN) - pg0;
    let expected_stories = (opts.sources * opts.items) as i64;
    // Stories of the last sources are committed before those sources are released.
    let stories: i64 = sqlx::query_scalar("SELECT count(*) FROM stories")
        .fetch_one(&db)
        .await
        .expect("count");
    let hits1 = farm.stats.feed_snapshot();
    let double1 = hits1.iter().filter(|h| **h > 1).count();
    let overlaps1 = farm.stats.overlaps.load(Ordering::SeqCst);
    let lat1 = latencies(&db, pass1_start).await;
    let rss1: Vec<Option<u64>> = children.0.iter().map(|c| peak_rss_kb(c.id())).collect();
    let mut lines = vec![line(
        daemons,
        "new items",
        cycle1,
        opts.sources,
        stories,
        &lat1,
        double1,
        overlaps1,
        0,
        (cpu1, pgcpu1),
    )];
    println!("{}", lines[0]);

    // Stored exactly once: as many rows as articles, and every article among them.
    let urls: Vec<String> = sqlx::query("SELECT canonical_url FROM stories")
        .fetch_all(&db)
        .await
        .expect("stories")
        .iter()
        .map(|r| r.try_get::<String, _>("canonical_url").expect("url"))
        .collect();
    let paths: HashSet<String> = urls
        .iter()
        .filter_map(|u| url::Url::parse(u).ok().map(|u| u.path().to_string()))
        .collect();
    let expected: HashSet<String> = farm
        .all_article_urls()
        .iter()
        .filter_map(|u| url::Url::parse(u).ok().map(|u| u.path().to_string()))
        .collect();
    let once = urls.len() as i64 == expected_stories && paths == expected;
    let outcomes: Vec<(String, i64)> = sqlx::query(
        "SELECT outcome, count(*) AS n FROM run_events WHERE scope = 'item' GROUP BY outcome \
         ORDER BY outcome",
    )
    .fetch_all(&db)
    .await
    .expect("outcomes")
    .iter()
    .map(|r| (r.get("outcome"), r.get("n")))
    .collect();
    println!(
        "stored exactly once: {} ({} rows, {} distinct articles, {} expected); item outcomes {:?}",
        if once { "yes" } else { "NO" },
        urls.len(),
        paths.len(),
        expected_stories,
        outcomes
    );

    // Pass 2: everything due again; the farm answers 304.
    let nm_before = farm.stats.not_modified.load(Ordering::SeqCst);
    let cpu_before2 = total_cpu(&children);
    let pg_before2 = pg_cpu(pg_dir).unwrap_or(f64::NAN);
    let t1 = Instant::now();
    let pass2_start: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("UPDATE sources SET next_due_at = now() RETURNING now()")
            .fetch_one(&db)
            .await
            .expect("make due");
    let cycle2 = wait_pass(&db, pass2_start, opts.sources, t1, &children).await;
    let cpu2 = total_cpu(&children) - cpu_before2;
    let pgcpu2 = pg_cpu(pg_dir).unwrap_or(f64::NAN) - pg_before2;
    let hits2: Vec<u32> = farm
        .stats
        .feed_snapshot()
        .iter()
        .zip(&hits1)
        .map(|(a, b)| a - b)
        .collect();
    let double2 = hits2.iter().filter(|h| **h > 1).count();
    let overlaps2 = farm.stats.overlaps.load(Ordering::SeqCst) - overlaps1;
    let nm = farm.stats.not_modified.load(Ordering::SeqCst) - nm_before;
    let stories2: i64 = sqlx::query_scalar("SELECT count(*) FROM stories")
        .fetch_one(&db)
        .await
        .expect("count");
    lines.push(line(
        daemons,
        "304",
        cycle2,
        opts.sources,
        stories2 - stories,
        &[],
        double2,
        overlaps2,
        nm,
        (cpu2, pgcpu2),
    ));
    println!("{}", lines[1]);
    let rss2: Vec<Option<u64>> = children.0.iter().map(|c| peak_rss_kb(c.id())).collect();
    let size: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&db)
        .await
        .expect("size");
    let fmt_rss = |v: &[Option<u64>]| {
        v.iter()
            .map(|r| r.map_or("?".into(), |k| format!("{:.1} MB", k as f64 / 1024.0)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "peak RSS per daemon: after pass 1 [{}], after pass 2 [{}]; database size {:.1} MB; \
         article requests {}",
        fmt_rss(&rss1),
        fmt_rss(&rss2),
        size as f64 / 1_048_576.0,
        farm.stats.article_hits.load(Ordering::SeqCst)
    );
    // Stop the daemons (SIGTERM: clean exit) before the next scenario.
    for c in &children.0 {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in &mut children.0 {
        let _ = c.wait();
    }
    lines
}

/// Waits until every source was fetched since `since` and none is leased; gives the cycle time.
async fn wait_pass(
    db: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
    sources: usize,
    t0: Instant,
    children: &Daemons,
) -> Duration {
    let mut last_print = Instant::now();
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sources WHERE last_fetch_at >= $1 AND lease_owner IS NULL",
        )
        .bind(since)
        .fetch_one(db)
        .await
        .expect("poll");
        if done as usize >= sources {
            return t0.elapsed();
        }
        if last_print.elapsed() > Duration::from_secs(15) {
            println!(
                "  … {done}/{sources} sources after {:.0} s",
                t0.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        for c in &children.0 {
            assert!(
                peak_rss_kb(c.id()).is_some(),
                "daemon {} is gone (see its log)",
                c.id()
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3600),
            "pass did not finish within an hour ({done}/{sources})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Article response received → story committed, ms, sorted.
async fn latencies(db: &PgPool, since: chrono::DateTime<chrono::Utc>) -> Vec<f64> {
    let mut v: Vec<f64> = sqlx::query_scalar(
        "SELECT (EXTRACT(EPOCH FROM (pg_xact_commit_timestamp(xmin) - fetched_at)) * 1000)::float8 \
         FROM stories WHERE fetched_at >= $1",
    )
    .bind(since)
    .fetch_all(db)
    .await
    .expect("latencies");
    v.sort_by(f64::total_cmp);
    v
}

#[allow(clippy::too_many_arguments)]
fn line(
    daemons: usize,
    pass: &str,
    cycle: Duration,
    sources: usize,
    stories: i64,
    lat: &[f64],
    double: usize,
    overlaps: u64,
    not_modified: u64,
    (cpu, pg_cpu): (f64, f64),
) -> String {
    let s = cycle.as_secs_f64();
    let (p50, p99) = if lat.is_empty() {
        ("-".to_string(), "-".to_string())
    } else {
        (
            format!("{:.0}", percentile(lat, 50.0)),
            format!("{:.0}", percentile(lat, 99.0)),
        )
    };
    format!(
        "{daemons} | {pass} | {s:.1} | {:.0} | {:.1} | {p50} | {p99} | {double} | {overlaps} | {not_modified} | {cpu:.1} | {pg_cpu:.1}",
        sources as f64 / (s / 60.0),
        stories as f64 / s,
    )
}
