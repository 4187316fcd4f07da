//! Desk render bench: the real daemon's `/desk/` pages over a database of 100,000 stories and
//! 1,000,000 ingestion events, on SQLite and on PostgreSQL.
//!
//! ```text
//! cargo bench --bench desk                                  # both backends, 100k / 1M
//! cargo bench --bench desk -- --backend sqlite --samples 30
//! cargo bench --bench desk -- --stories 10000 --events 100000
//! ```
//!
//! Seeding is bulk SQL (a recursive CTE on SQLite, `generate_series` on PostgreSQL; the
//! migrations' `source_days` trigger runs for every event, as it does in production):
//! 200 sources, runs every ~15 minutes over 30 days, events by outcome 10 % stored (one per
//! story), 20 % duplicate (of a spread-out story), 50 % off topic, 10 % source `fetched`,
//! ~10 % failed and 0.1 % given up; stories 50 % `new`, clustered by three. PostgreSQL gets
//! `ANALYZE` (autovacuum would); SQLite does not (the daemon never runs it).
//!
//! Then `newsdesk run` (the release binary) serves the database on loopback TCP with a token;
//! the bench logs in and asks each page `--samples` times in a row, reading the handler's own
//! time from the `Server-Timing: app;dur=…` header the desk sets (queries + rendering, no
//! network). Reported per page: median, p95 and max server ms, median round trip ms, bytes.
//! The target is every page under 100 ms server time.
//!
//! `cargo test --all-targets` also runs this binary, without `--bench`: it then exits at once.

use testkit::pg;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, Executor};

// The PostgreSQL cluster is the tests' private throwaway one (crates/testkit/src/pg.rs): deleted
// when the bench exits.

const TOKEN: &str = "desk-bench-token-0123456789abcdef";
const SOURCES: i64 = 200;
/// A cron expression that does not fire during the bench.
const NEVER: &str = "0 0 0 1 1 *";
const SPAN_MS: i64 = 30 * 86_400_000;
const BODY: &str = "Microsoft and OpenAI said on Monday that they had signed a new agreement \
    that changes how the two companies share revenue from the models OpenAI trains on \
    Microsoft's Azure cloud. Under the deal, Microsoft keeps its rights to OpenAI's \
    intellectual property until the end of the decade, while OpenAI may buy computing \
    capacity from other providers for research and product work.";
const PASSED: &str = "score 2.5 >= threshold 1.0 ('Microsoft' 3×, 'OpenAI' 2×; 2 joint \
    paragraph(s); partnership 1.0, Azure 0.5)";
const OFF_TOPIC: &str = "'OpenAI' mentioned 0 time(s), 1 needed ('Microsoft' 1×)";

#[derive(Debug, Clone)]
struct Opts {
    stories: i64,
    events: i64,
    samples: usize,
    backends: Vec<String>,
}

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        stories: 100_000,
        events: 1_000_000,
        samples: 20,
        backends: vec!["sqlite".into(), "postgres".into()],
    };
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.parse::<i64>().map_err(|e| format!("{a} {v}: {e}"));
        match a.as_str() {
            "--bench" => {}
            "--stories" => o.stories = num(val()?)?.max(10),
            "--events" => o.events = num(val()?)?.max(100),
            "--samples" => o.samples = usize::try_from(num(val()?)?.max(1)).unwrap_or(1),
            "--backend" => {
                o.backends = match val()?.as_str() {
                    "both" => vec!["sqlite".into(), "postgres".into()],
                    b @ ("sqlite" | "postgres") => vec![b.to_string()],
                    other => return Err(format!("--backend {other}: sqlite, postgres or both")),
                }
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(o)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        eprintln!("desk bench: not run without --bench (use `cargo bench --bench desk`)");
        return;
    }
    let opts = match parse_opts(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("desk bench: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut failed = false;
        for b in &opts.backends {
            failed |= run(&opts, b).await;
        }
        if failed {
            println!("\nSOME PAGES TOOK 100 ms OR MORE (median server time)");
            std::process::exit(1);
        }
    });
}

/// The daemon as a child process, killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Seeds, serves and measures one backend; true when a page missed the target.
async fn run(opts: &Opts, backend: &str) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match backend {
        "sqlite" => format!("sqlite://{}", dir.path().join("desk.db").display()),
        _ => match pg::fresh_db("desk_bench").await {
            Some(u) => u,
            None => {
                println!("\n== postgres: SKIPPED (no PostgreSQL here)");
                return false;
            }
        },
    };
    // The store creates the schema (all migrations), as the daemon would.
    drop(newsdesk::store::open(&url).await.expect("open store"));
    let now_ms = chrono::Utc::now().timestamp_millis();
    let started = Instant::now();
    match backend {
        "sqlite" => seed_sqlite(&url, opts, now_ms).await,
        _ => seed_pg(&url, opts, now_ms).await,
    }
    let seeded = started.elapsed();
    println!(
        "\n== {backend}: {} stories, {} events, {SOURCES} sources seeded in {:.1} s",
        opts.stories,
        opts.events,
        seeded.as_secs_f64()
    );

    let port = free_port();
    let config = dir.path().join("newsdesk.toml");
    let mut toml = format!(
        "[storage]\nurl = \"{url}\"\nevent_retention = \"60days\"\n\n[schedule]\ncron = \"{NEVER}\"\n\n[http]\nallow_private_networks = true\n\n\
         [admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\n"
    );
    for j in 0..SOURCES {
        toml.push_str(&format!(
            "\n[[sources]]\nname = \"src-{j}\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/src-{j}.xml\"\n"
        ));
    }
    std::fs::write(&config, toml).expect("write config");
    let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn daemon");
    let daemon_pid = child.id();
    let _daemon = Daemon(child);
    let pg_dir = match backend {
        "postgres" => pg::server().and_then(|s| s.dir.clone()),
        _ => None,
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let t = Instant::now();
    while client
        .get(format!("{base}/desk/login"))
        .send()
        .await
        .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the daemon did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = client
        .post(format!("{base}/desk/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("login");
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();

    // A story with duplicates dropped for it: event 1 is a duplicate of story 1 + 7919 % n.
    let story = 1 + 7919 % opts.stories;
    let mid_story = opts.stories / 2;
    let mid_event = opts.events / 2;
    let mid_run = (opts.events / 350).max(1) / 2;
    let pages: Vec<(String, String)> = vec![
        ("queue".into(), "/desk/".into()),
        (
            "queue, older page".into(),
            format!("/desk/?before={mid_story}"),
        ),
        ("story".into(), format!("/desk/story/{story}")),
        ("log".into(), "/desk/log".into()),
        (
            "log outcome=off_topic".into(),
            "/desk/log?outcome=off_topic".into(),
        ),
        (
            "log outcome=stored".into(),
            "/desk/log?outcome=stored".into(),
        ),
        (
            "log outcome=duplicate".into(),
            "/desk/log?outcome=duplicate".into(),
        ),
        (
            "log outcome=failed".into(),
            "/desk/log?outcome=failed".into(),
        ),
        (
            "log outcome=given_up".into(),
            "/desk/log?outcome=given_up".into(),
        ),
        (
            "log outcome=not_modified (none)".into(),
            "/desk/log?outcome=not_modified".into(),
        ),
        ("log source".into(), "/desk/log?source=src-7".into()),
        (
            "log source+off_topic".into(),
            "/desk/log?source=src-7&outcome=off_topic".into(),
        ),
        (
            "log source+given_up".into(),
            "/desk/log?source=src-9&outcome=given_up".into(),
        ),
        ("log run".into(), format!("/desk/log?run={mid_run}")),
        ("log since=2h".into(), "/desk/log?since=2h".into()),
        (
            "log since=2h+failed".into(),
            "/desk/log?since=2h&outcome=failed".into(),
        ),
        (
            "log older page".into(),
            format!("/desk/log?before={mid_event}"),
        ),
        (
            "log off_topic older".into(),
            format!("/desk/log?outcome=off_topic&before={mid_event}"),
        ),
        ("sources".into(), "/desk/sources".into()),
    ];
    println!(
        "{:<32} | {:>10} | {:>7} | {:>7} | {:>13} | {:>12} | {:>12} | {:>8}",
        "page",
        "median ms",
        "p95 ms",
        "max ms",
        "round trip ms",
        "daemon CPU ms",
        "PG CPU ms",
        "bytes"
    );
    let mut missed = false;
    for (name, path) in &pages {
        let mut server = Vec::with_capacity(opts.samples);
        let mut round = Vec::with_capacity(opts.samples);
        let mut bytes = 0;
        // One unmeasured request warms the caches and the desk's pool.
        let mut cpu_before = (0.0, 0.0);
        for i in 0..=opts.samples {
            if i == 1 {
                cpu_before = (
                    cpu_secs(daemon_pid).unwrap_or(0.0),
                    pg_dir.as_deref().and_then(pg_cpu).unwrap_or(0.0),
                );
            }
            let t = Instant::now();
            let resp = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("get page");
            let status = resp.status();
            let timing = resp
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split("dur=").nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .expect("Server-Timing header");
            let body = resp.text().await.expect("body");
            let elapsed = t.elapsed().as_secs_f64() * 1000.0;
            assert!(status.is_success(), "{path}: HTTP {status}: {body}");
            if i > 0 {
                server.push(timing);
                round.push(elapsed);
                bytes = body.len();
            }
        }
        // CPU per request (10 ms ticks, so averaged over the samples): what the wall-clock
        // figures would be on an idle machine, give or take waiting on the disk.
        let per = |after: f64, before: f64| (after - before) * 1000.0 / opts.samples as f64;
        let daemon_cpu = per(cpu_secs(daemon_pid).unwrap_or(0.0), cpu_before.0);
        let pg_cpu_ms = per(
            pg_dir.as_deref().and_then(pg_cpu).unwrap_or(0.0),
            cpu_before.1,
        );
        server.sort_by(f64::total_cmp);
        round.sort_by(f64::total_cmp);
        let median = percentile(&server, 0.5);
        missed |= median >= 100.0;
        println!(
            "{:<32} | {:>10.2} | {:>7.2} | {:>7.2} | {:>13.2} | {:>12.1} | {:>12.1} | {:>8}",
            name,
            median,
            percentile(&server, 0.95),
            server.last().copied().unwrap_or(0.0),
            percentile(&round, 0.5),
            daemon_cpu,
            pg_cpu_ms,
            bytes
        );
    }
    missed
}

/// CPU time (user + system) a process has used so far, seconds.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (in parentheses, may hold spaces).
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

/// CPU seconds of the PostgreSQL cluster in `dir`: the postmaster and its live children (the
/// desk's backends among them), as `/proc` counts them.
fn pg_cpu(dir: &std::path::Path) -> Option<f64> {
    let pid: u32 = std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()?;
    let mut total = cpu_secs(pid)?;
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(child) = name.parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let ppid = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..))
            .and_then(|r| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            total += cpu_secs(child).unwrap_or(0.0);
        }
    }
    Some(total)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `s` inside a SQL string literal.
fn lit(s: &str) -> String {
    s.replace('\'', "''")
}

/// The outcome of event `i` (see the module doc), as SQL over the column `i`.
const OUTCOME_SQL: &str = "CASE i % 10 WHEN 0 THEN 'stored' WHEN 1 THEN 'duplicate' \
     WHEN 2 THEN 'duplicate' WHEN 8 THEN 'fetched' \
     WHEN 9 THEN (CASE WHEN i % 1000 = 9 THEN 'given_up' ELSE 'failed' END) ELSE 'off_topic' END";

async fn seed_sqlite(url: &str, o: &Opts, now_ms: i64) {
    let mut c = sqlx::SqliteConnection::connect(url)
        .await
        .expect("connect sqlite");
    let t0 = now_ms - SPAN_MS;
    let step = SPAN_MS / o.events;
    let runs = (o.events / 350).max(1);
    let (n, e) = (o.stories, o.events);
    let run_ms = SPAN_MS / runs;
    let (body, passed, off_topic) = (lit(BODY), lit(PASSED), lit(OFF_TOPIC));
    let sql = [
        "PRAGMA journal_mode = WAL".to_string(),
        "BEGIN".to_string(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {runs}) \
             INSERT INTO runs (id, trigger, started_at, finished_at, sources, sources_failed, \
             items, known, stored, duplicates, off_topic, failed) \
             SELECT i, 'schedule', {t0} + (i - 1) * {run_ms}, {t0} + (i - 1) * {run_ms} + 30000, \
             {SOURCES}, 20, 315, 0, 35, 70, 175, 35 FROM n"
        ),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {e}) \
             INSERT INTO run_events (id, run_id, at, source, scope, outcome, url, title, \
             story_id, duplicate_of, score, reason) \
             SELECT i, 1 + (i - 1) * {runs} / {e}, {t0} + i * {step}, 'src-' || (i % {SOURCES}), \
             CASE WHEN i % 10 = 8 THEN 'source' ELSE 'item' END, \
             CASE WHEN i % 10 = 0 AND i / 10 > {n} THEN 'off_topic' ELSE {OUTCOME_SQL} END, \
             'https://src-' || (i % {SOURCES}) || '.example/item/' || i, \
             'Item ' || i || ': Microsoft, OpenAI and the cloud', \
             CASE WHEN i % 10 = 0 AND i / 10 <= {n} THEN i / 10 END, \
             CASE WHEN i % 10 IN (1, 2) THEN 1 + (i * 7919) % {n} END, \
             CASE WHEN i % 10 = 0 THEN 2.5 WHEN i % 10 IN (3, 4, 5, 6, 7) THEN 0.4 END, \
             CASE WHEN i % 10 = 0 THEN '{passed}' WHEN i % 10 IN (1, 2) \
             THEN 'same canonical_url as story ' || (1 + (i * 7919) % {n}) \
             WHEN i % 10 = 8 THEN 'HTTP 200, 35 items' WHEN i % 10 = 9 THEN 'HTTP 503' \
             ELSE '{off_topic}' END FROM n"
        ),
        format!(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {n}) \
             INSERT INTO stories (id, source, url, canonical_url, title, author, published_at, \
             fetched_at, text, html, fingerprint, cluster_id, topic_score, status, \
             published_url, authors) \
             SELECT k, 'src-' || ((k * 10) % {SOURCES}), \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             'Story ' || k || ': Microsoft and OpenAI sign a new deal', 'Reporter ' || (k % 50), \
             {t0} + k * 10 * {step} - 3600000, {t0} + k * 10 * {step}, '{body}', \
             '<p>{body}</p><p>{body}</p>', 'fp-' || k, k - (k - 1) % 3, 2.5, \
             CASE k % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'new' WHEN 2 THEN 'published' \
             ELSE 'rejected' END, \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             json_array('Reporter ' || (k % 50)) FROM n"
        ),
        format!(
            "WITH RECURSIVE n(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM n WHERE j < {SOURCES} - 1) \
             INSERT INTO sources (name, kind, url, last_fetch_at, last_success_at, last_error, \
             consecutive_errors, next_due_at, interval_secs) \
             SELECT 'src-' || j, 'feed', 'http://127.0.0.1:9/src-' || j || '.xml', \
             {now_ms} - 600000, CASE WHEN j % 10 = 9 THEN {now_ms} - 7200000 ELSE {now_ms} - 600000 END, \
             CASE WHEN j % 10 = 9 THEN 'HTTP 503 Service Unavailable (Retry-After 1800)' END, \
             CASE WHEN j % 10 = 9 THEN 3 ELSE 0 END, {now_ms} + 86400000, 900 FROM n \
             WHERE true ON CONFLICT (name) DO UPDATE SET last_fetch_at = excluded.last_fetch_at, \
             last_success_at = excluded.last_success_at, last_error = excluded.last_error, \
             consecutive_errors = excluded.consecutive_errors, next_due_at = excluded.next_due_at"
        ),
        "COMMIT".to_string(),
    ];
    for s in sql {
        c.execute(AssertSqlSafe(s)).await.expect("seed sqlite");
    }
    let _ = c.close().await;
}

async fn seed_pg(url: &str, o: &Opts, now_ms: i64) {
    let mut c = sqlx::PgConnection::connect(url)
        .await
        .expect("connect postgres");
    let t0 = now_ms - SPAN_MS;
    let step = SPAN_MS / o.events;
    let runs = (o.events / 350).max(1);
    let (n, e) = (o.stories, o.events);
    let run_ms = SPAN_MS / runs;
    let (body, passed, off_topic) = (lit(BODY), lit(PASSED), lit(OFF_TOPIC));
    let ts = |ms: &str| format!("to_timestamp(({ms})::double precision / 1000)");
    let sql = [
        "BEGIN".to_string(),
        format!(
            "INSERT INTO runs (id, trigger, started_at, finished_at, sources, sources_failed, \
             items, known, stored, duplicates, off_topic, failed) OVERRIDING SYSTEM VALUE \
             SELECT i, 'schedule', {}, {}, {SOURCES}, 20, 315, 0, 35, 70, 175, 35 \
             FROM generate_series(1::bigint, {runs}::bigint) AS i",
            ts(&format!("{t0} + (i - 1) * {run_ms}")),
            ts(&format!("{t0} + (i - 1) * {run_ms} + 30000"))
        ),
        format!(
            "INSERT INTO run_events (id, run_id, at, source, scope, outcome, url, title, \
             story_id, duplicate_of, score, reason) OVERRIDING SYSTEM VALUE \
             SELECT i, 1 + (i - 1) * {runs} / {e}, {}, 'src-' || (i % {SOURCES}), \
             CASE WHEN i % 10 = 8 THEN 'source' ELSE 'item' END, \
             CASE WHEN i % 10 = 0 AND i / 10 > {n} THEN 'off_topic' ELSE {OUTCOME_SQL} END, \
             'https://src-' || (i % {SOURCES}) || '.example/item/' || i, \
             'Item ' || i || ': Microsoft, OpenAI and the cloud', \
             CASE WHEN i % 10 = 0 AND i / 10 <= {n} THEN i / 10 END, \
             CASE WHEN i % 10 IN (1, 2) THEN 1 + (i * 7919) % {n} END, \
             CASE WHEN i % 10 = 0 THEN 2.5 WHEN i % 10 IN (3, 4, 5, 6, 7) THEN 0.4 END, \
             CASE WHEN i % 10 = 0 THEN '{passed}' WHEN i % 10 IN (1, 2) \
             THEN 'same canonical_url as story ' || (1 + (i * 7919) % {n}) \
             WHEN i % 10 = 8 THEN 'HTTP 200, 35 items' WHEN i % 10 = 9 THEN 'HTTP 503' \
             ELSE '{off_topic}' END FROM generate_series(1::bigint, {e}::bigint) AS i",
            ts(&format!("{t0} + i * {step}"))
        ),
        format!(
            "INSERT INTO stories (id, source, url, canonical_url, title, author, published_at, \
             fetched_at, text, html, fingerprint, cluster_id, topic_score, status, \
             published_url, authors) OVERRIDING SYSTEM VALUE \
             SELECT k, 'src-' || ((k * 10) % {SOURCES}), \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             'Story ' || k || ': Microsoft and OpenAI sign a new deal', 'Reporter ' || (k % 50), \
             {}, {}, '{body}', '<p>{body}</p><p>{body}</p>', 'fp-' || k, k - (k - 1) % 3, 2.5, \
             CASE k % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'new' WHEN 2 THEN 'published' \
             ELSE 'rejected' END, \
             'https://src-' || ((k * 10) % {SOURCES}) || '.example/item/' || (k * 10), \
             ARRAY['Reporter ' || (k % 50)] FROM generate_series(1::bigint, {n}::bigint) AS k",
            ts(&format!("{t0} + k * 10 * {step} - 3600000")),
            ts(&format!("{t0} + k * 10 * {step}"))
        ),
        format!(
            "INSERT INTO sources (name, kind, url, last_fetch_at, last_success_at, last_error, \
             consecutive_errors, next_due_at, interval_secs) \
             SELECT 'src-' || j, 'feed', 'http://127.0.0.1:9/src-' || j || '.xml', {}, \
             CASE WHEN j % 10 = 9 THEN {} ELSE {} END, \
             CASE WHEN j % 10 = 9 THEN 'HTTP 503 Service Unavailable (Retry-After 1800)' END, \
             CASE WHEN j % 10 = 9 THEN 3 ELSE 0 END, {}, 900 \
             FROM generate_series(0, {SOURCES} - 1) AS j \
             ON CONFLICT (name) DO UPDATE SET last_fetch_at = excluded.last_fetch_at, \
             last_success_at = excluded.last_success_at, last_error = excluded.last_error, \
             consecutive_errors = excluded.consecutive_errors, next_due_at = excluded.next_due_at",
            ts(&format!("{now_ms} - 600000")),
            ts(&format!("{now_ms} - 7200000")),
            ts(&format!("{now_ms} - 600000")),
            ts(&format!("{now_ms} + 86400000"))
        ),
        "SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT max(id) FROM runs))"
            .to_string(),
        "SELECT setval(pg_get_serial_sequence('run_events', 'id'), (SELECT max(id) FROM run_events))"
            .to_string(),
        "SELECT setval(pg_get_serial_sequence('stories', 'id'), (SELECT max(id) FROM stories))"
            .to_string(),
        "COMMIT".to_string(),
        "ANALYZE".to_string(),
    ];
    for s in sql {
        c.execute(AssertSqlSafe(s)).await.expect("seed postgres");
    }
    let _ = c.close().await;
}
