//! Running it: the real binary as a daemon with a fake systemd `NOTIFY_SOCKET`, its admin
//! endpoint on a Unix socket and on TCP, `newsdesk fetch` going through the daemon, health,
//! metrics, the publishing handoff, `logs --follow`/`--errors` and OPML.

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use newsdesk::store::{self, Store};
use testkit::site;
use testkit::site::FixtureSite;
use testkit::{newsdesk, newsdesk_async};

/// A cron expression that does not fire during a test: only the start-up run and manual runs.
const NEVER: &str = "0 0 0 1 1 *";

/// Where the daemon's admin endpoint listens, as this test reaches it.
#[derive(Debug, Clone)]
enum Admin {
    Unix(PathBuf),
    Tcp(std::net::SocketAddr),
}

/// One request to the admin endpoint on a fresh connection (hyper's HTTP/1.1 client, which
/// reads chunked bodies such as `/fetch`'s NDJSON), with an optional JSON body: the status and
/// the whole answer.
async fn admin_request(
    at: &Admin,
    token: Option<&str>,
    method: hyper::Method,
    path: &str,
    json: Option<serde_json::Value>,
) -> Result<(u16, String), String> {
    use http_body_util::BodyExt as _;
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "newsdesk");
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match json {
        Some(v) => {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
            bytes::Bytes::from(v.to_string())
        }
        None => bytes::Bytes::new(),
    };
    let req = req
        .body(http_body_util::Full::new(body))
        .map_err(|e| e.to_string())?;
    async fn send<S>(
        stream: S,
        req: hyper::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        sender.send_request(req).await.map_err(|e| e.to_string())
    }
    let resp = match at {
        Admin::Unix(p) => {
            let s = tokio::net::UnixStream::connect(p)
                .await
                .map_err(|e| e.to_string())?;
            send(s, req).await?
        }
        Admin::Tcp(a) => {
            let s = tokio::net::TcpStream::connect(a)
                .await
                .map_err(|e| e.to_string())?;
            send(s, req).await?
        }
    };
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A request that must answer 2xx; gives the body.
async fn admin_call(
    at: &Admin,
    method: hyper::Method,
    path: &str,
    json: Option<serde_json::Value>,
) -> String {
    match admin_request(at, None, method.clone(), path, json).await {
        Ok((200..=299, body)) => body,
        other => panic!("{method} {path}: {other:?}"),
    }
}

/// A GET that must answer 2xx; gives the body.
async fn admin_get(at: &Admin, path: &str) -> String {
    admin_call(at, hyper::Method::GET, path, None).await
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fake service manager: a datagram socket collecting sd_notify messages.
struct FakeSystemd {
    path: PathBuf,
    messages: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl FakeSystemd {
    fn bind(path: PathBuf) -> FakeSystemd {
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (messages.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    m.lock()
                        .expect("lock")
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
        });
        FakeSystemd {
            path,
            messages,
            stop,
        }
    }

    fn all(&self) -> Vec<String> {
        self.messages.lock().expect("lock").clone()
    }

    async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(m) = self.all().into_iter().find(|m| pred(m)) {
                return m;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no {what} notification; got {:?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for FakeSystemd {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The daemon as a child process with its stderr collected.
struct Daemon {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Daemon {
    fn spawn(config: &Path, env: &[(&str, String)]) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
        cmd.arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn daemon");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let s = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                s.lock()
                    .expect("lock")
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Daemon { child, stderr }
    }

    fn log(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    async fn stop(&mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "daemon did not stop"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn write_config(site: &FixtureSite, dir: &Path, admin: &str) -> (PathBuf, PathBuf) {
    let db = dir.join("newsdesk.db");
    let config = dir.join("newsdesk.toml");
    let toml = site
        .config_toml(&db)
        .replace("cron = \"0 */15 * * * *\"", &format!("cron = \"{NEVER}\""))
        .replacen(
            "\n[[sources]]",
            &format!("\n[admin]\n{admin}\n\n[[sources]]"),
            1,
        );
    std::fs::write(&config, toml).expect("write config");
    (config, db)
}

/// One sample: metric name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// Parses the Prometheus text format: every sample line is `name{labels} value`.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let kind = rest.split_whitespace().nth(1).unwrap_or("");
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "bad TYPE line {line}"
                );
            }
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value in '{line}'"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in '{line}'"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels in '{line}'"));
                let mut labels = Vec::new();
                for pair in body.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("bad label in '{line}'"));
                    labels.push((k.to_string(), v.trim_end_matches('"').to_string()));
                }
                (n.to_string(), labels)
            }
            None => (series.to_string(), Vec::new()),
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in '{line}'"
        );
        out.push((name, labels, value));
    }
    out
}

fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
}

async fn open_store(db: &Path) -> Box<dyn Store> {
    store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_under_fake_systemd_serves_fetch_health_metrics_and_handoff() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let (config, db) = write_config(
        &site,
        dir.path(),
        &format!("listen = \"unix:{}\"", sock.display()),
    );
    let systemd = FakeSystemd::bind(dir.path().join("notify.sock"));
    let mut daemon = Daemon::spawn(
        &config,
        &[
            ("NOTIFY_SOCKET", systemd.path.display().to_string()),
            // 400 ms: pings every 200 ms. No WATCHDOG_PID: as sd_watchdog_enabled(3), then
            // the variable is for whoever reads it.
            ("WATCHDOG_USEC", "400000".into()),
        ],
    );

    // READY=1 comes once the database is migrated and the admin socket is bound.
    let ready = systemd.wait_for("READY", |m| m.contains("READY=1")).await;
    assert!(ready.contains("STATUS=ready: 7 source(s)"), "{ready}");
    assert!(sock.exists(), "admin socket not bound at READY");
    // The start-up run ends with a STATUS= line summing it up.
    let status = systemd
        .wait_for("start-up run STATUS", |m| {
            m.contains("STATUS=last run") && m.contains("(schedule)")
        })
        .await;
    assert!(
        status.contains("7 sources (3 failed), 5 stored"),
        "{status}"
    );

    // `newsdesk fetch` reaches the daemon through the socket; the run is the daemon's.
    let out = newsdesk_async!(
        &config,
        &["fetch", "--source", "a-rss", "--source", "b-atom"],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("queued in the daemon (unix:"), "{stderr}");
    assert!(stderr.contains("started in the daemon (unix:"), "{stderr}");
    assert!(stderr.contains("[2/2] "), "progress lines: {stderr}");
    let run_id: i64 = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("run "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no run id in {stdout}"));
    assert!(
        stdout.contains("a-rss") && stdout.contains("b-atom"),
        "{stdout}"
    );
    wait_log(&daemon, "manual run queued through the admin endpoint").await;
    let store = open_store(&db).await;
    let run = store.runs(1, Some(run_id)).await.expect("runs");
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].trigger.as_str(), "manual");
    assert_eq!(run[0].counts.sources, 2);
    systemd
        .wait_for("manual run STATUS", |m| {
            m.contains(&format!("STATUS=last run {run_id} (manual)"))
        })
        .await;
    // An unknown source is refused by the daemon with the reason, exit 1.
    let out = newsdesk_async!(&config, &["fetch", "--source", "nope"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no source named 'nope'"));

    // Health and metrics over the same socket.
    let admin = Admin::Unix(sock.clone());
    let health: serde_json::Value =
        serde_json::from_str(&admin_get(&admin, "/health").await).expect("health is JSON");
    // Three of the seven sources fail: degraded, still 200, the failing ones named.
    assert_eq!(health["status"], "degraded", "{health}");
    let mut failing: Vec<&str> = health["failing_sources"]
        .as_array()
        .expect("failing_sources")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    failing.sort_unstable();
    assert_eq!(failing, ["e-broken", "f-error", "g-slow"], "{health}");
    assert_eq!(health["database"], "ok");
    let age = health["last_success_age_seconds"]
        .as_i64()
        .unwrap_or_else(|| panic!("no age in {health}"));
    assert!((0..120).contains(&age), "{health}");

    let metrics = admin_get(&admin, "/metrics").await;
    let samples = parse_prometheus(&metrics);
    let runs = |trigger| {
        sample(
            &samples,
            "newsdesk_runs_total",
            &[("trigger", trigger), ("result", "completed")],
        )
    };
    assert_eq!(runs("schedule"), Some(1.0), "{metrics}");
    assert_eq!(runs("manual"), Some(1.0), "{metrics}");
    assert_eq!(
        sample(&samples, "newsdesk_stories_stored_total", &[]),
        Some(5.0)
    );
    let stored_by_source: f64 = samples
        .iter()
        .filter(|(n, l, _)| {
            n == "newsdesk_items_total" && l.iter().any(|(k, v)| k == "outcome" && v == "stored")
        })
        .map(|(_, _, v)| v)
        .sum();
    assert_eq!(stored_by_source, 5.0);
    assert!(
        sample(
            &samples,
            "newsdesk_items_total",
            &[("source", "d-archive"), ("outcome", "stored")]
        )
        .is_some(),
        "{metrics}"
    );
    for failing in ["e-broken", "f-error", "g-slow"] {
        assert_eq!(
            sample(
                &samples,
                "newsdesk_source_errors_total",
                &[("source", failing)]
            ),
            Some(1.0),
            "{failing}: {metrics}"
        );
        assert_eq!(
            sample(
                &samples,
                "newsdesk_source_consecutive_errors",
                &[("source", failing)]
            ),
            Some(1.0)
        );
    }
    // Fetch latency: a-rss was fetched twice; buckets are cumulative up to +Inf = count.
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == "newsdesk_fetch_duration_seconds_bucket"
                && l.iter().any(|(k, v)| k == "source" && v == "a-rss")
        })
        .map(|(_, _, v)| *v)
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&2.0));
    assert_eq!(
        sample(
            &samples,
            "newsdesk_fetch_duration_seconds_count",
            &[("source", "a-rss")]
        ),
        Some(2.0)
    );
    let now = chrono::Utc::now().timestamp() as f64;
    let last_ok = sample(
        &samples,
        "newsdesk_source_last_success_timestamp_seconds",
        &[("source", "a-rss")],
    )
    .expect("last success of a-rss");
    assert!((now - last_ok).abs() < 120.0);

    // The handoff: new stories as JSON Feed and Atom, then marked published / rejected.
    let feed: serde_json::Value =
        serde_json::from_str(&admin_get(&admin, "/stories/new.json").await)
            .expect("JSON Feed is JSON");
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    let items = feed["items"].as_array().expect("items");
    assert_eq!(items.len(), 5);
    for item in items {
        assert!(item["id"].is_string() && item["url"].is_string(), "{item}");
        assert!(!item["content_html"].as_str().unwrap_or("").is_empty());
        assert_eq!(item["_newsdesk"]["status"], "new");
    }
    let atom = admin_get(&admin, "/stories/new.atom").await;
    let parsed = feed_rs::parser::parse(atom.as_bytes()).expect("feed-rs parses our Atom");
    assert_eq!(parsed.entries.len(), 5);
    let ids: Vec<i64> = items
        .iter()
        .filter_map(|i| i["id"].as_str()?.parse().ok())
        .collect();
    assert_eq!(ids.len(), 5);
    for (entry, id) in parsed.entries.iter().zip(&ids) {
        assert_eq!(entry.id, format!("urn:newsdesk:story:{id}"));
        assert!(entry.content.is_some() && !entry.links.is_empty());
    }

    let changed: serde_json::Value = serde_json::from_str(
        &admin_call(
            &admin,
            hyper::Method::POST,
            "/stories/publish",
            Some(serde_json::json!({ "ids": [ids[0]] })),
        )
        .await,
    )
    .expect("JSON");
    assert_eq!(changed["changed"], 1);
    let out = newsdesk_async!(&config, &["stories", "reject", &ids[1].to_string()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The CLI has its answer before the daemon's log line reaches the reader thread.
    wait_log(&daemon, "status=\"rejected\"").await;
    let out = newsdesk_async!(&config, &["stories", "publish", "999999"]).await;
    assert_eq!(out.status.code(), Some(1), "an unknown id is an error");

    let export = dir.path().join("out.atom");
    let out = newsdesk_async!(
        &config,
        &[
            "export",
            "--format",
            "atom",
            "--mark-published",
            "--output",
            export.to_str().expect("utf-8 path"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let exported = std::fs::read(&export).expect("export written");
    let parsed = feed_rs::parser::parse(exported.as_slice()).expect("parse export");
    assert_eq!(
        parsed.entries.len(),
        3,
        "5 stories less 1 published, 1 rejected"
    );
    let left = admin_get(&admin, "/stories/new.json").await;
    let left: serde_json::Value = serde_json::from_str(&left).expect("JSON");
    assert_eq!(left["items"].as_array().map(Vec::len), Some(0));
    let out = newsdesk_async!(
        &config,
        &["stories", "--status", "published", "--format", "json"],
    )
    .await;
    let published: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stories JSON");
    assert_eq!(published.as_array().map(Vec::len), Some(4));

    // Watchdog pings kept coming; SIGTERM sends STOPPING=1, exits 0, removes the socket.
    let pings = systemd
        .all()
        .iter()
        .filter(|m| m.contains("WATCHDOG=1"))
        .count();
    assert!(pings >= 3, "only {pings} watchdog ping(s)");
    let status = daemon.stop().await;
    assert!(status.success(), "{status:?}\n{}", daemon.log());
    systemd
        .wait_for("STOPPING", |m| m.contains("STOPPING=1"))
        .await;
    assert!(!sock.exists(), "socket left behind");

    // One structured line per item outcome in the daemon's log.
    let log = daemon.log();
    let item_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" item ") && l.contains("outcome="))
        .collect();
    assert!(
        item_lines
            .iter()
            .any(|l| l.contains("outcome=off_topic reason=")),
        "{log}"
    );
    for l in &item_lines {
        assert!(
            l.contains(" source=") && l.contains(" url=http") && l.contains(" reason="),
            "{l}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_admin_requires_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Refused at config validation without a token: exit 2, naming file, key and reason.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "[admin]\nlisten = \"127.0.0.1:8089\"\n").expect("write");
    for cmd in ["run", "check-config", "fetch"] {
        let out = newsdesk!(&bare, &[cmd]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains(&bare.display().to_string()), "{err}");
        assert!(
            err.contains("admin.token") && err.contains("required"),
            "{err}"
        );
    }

    let site = FixtureSite::start().await;
    let port = testkit::loopback::free_port();
    let token = "test-token-0123456789abcdef";
    let (config, db) = write_config(
        &site,
        dir.path(),
        &format!("listen = \"127.0.0.1:{port}\"\ntoken = \"{token}\""),
    );
    let mut daemon = Daemon::spawn(&config, &[]);
    let addr = Admin::Tcp(format!("127.0.0.1:{port}").parse().expect("addr"));
    let start = Instant::now();
    while !matches!(
        admin_request(&addr, Some(token), hyper::Method::GET, "/health", None).await,
        Ok((200..=299, _))
    ) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no admin endpoint: {}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for bad in [None, Some("wrong-token-0123456789abcdef")] {
        for (method, path) in [
            (hyper::Method::GET, "/health"),
            (hyper::Method::GET, "/metrics"),
            (hyper::Method::GET, "/stories/new.json"),
            (hyper::Method::POST, "/fetch"),
        ] {
            let (status, _) = admin_request(&addr, bad, method, path, None)
                .await
                .expect("request");
            assert_eq!(status, 401, "{path} with {bad:?}");
        }
    }
    // `newsdesk fetch` sends the configured token and runs in the daemon.
    let out = newsdesk_async!(
        &config,
        &["fetch", "--source", "c-json", "--format", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("in the daemon (127.0.0.1:{port})")));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report JSON");
    let run_id = report["run_id"].as_i64().expect("run id");
    let store = open_store(&db).await;
    let run = store.runs(1, Some(run_id)).await.expect("runs");
    assert_eq!(run[0].trigger.as_str(), "manual");
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_without_daemon_runs_in_process_with_json_logs_follow_and_errors() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("nobody-listens.sock");
    let (config, db) = write_config(
        &site,
        dir.path(),
        &format!("listen = \"unix:{}\"", sock.display()),
    );
    // Create the database so `logs --follow` (read-only: it never creates one) can open it.
    drop(open_store(&db).await);

    let mut follow = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(&config)
        .args(["logs", "--follow", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn logs --follow");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let lines = lines.clone();
        let stdout = follow.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().expect("lock").push(line);
            }
        });
    }

    let out = tokio::task::spawn_blocking({
        let config = config.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_newsdesk"))
                .arg("--config")
                .arg(&config)
                .args(["--log-format", "json", "fetch"])
                .env("RUST_LOG", "info")
                .output()
                .expect("fetch")
        }
    })
    .await
    .expect("join");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("in this process"), "{stderr}");
    assert!(!stderr.contains("in the daemon"), "{stderr}");
    // JSON logs: one object per line; each item outcome has source, url, outcome, reason.
    let mut outcomes = Vec::new();
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        let f = &v["fields"];
        if f["message"] == "item" {
            for key in ["source", "url", "outcome", "reason"] {
                assert!(f[key].is_string(), "{key} missing in {line}");
            }
            outcomes.push(f["outcome"].as_str().unwrap_or("").to_string());
        }
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "stored").count(),
        5,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| o == "off_topic"));
    assert!(outcomes.iter().any(|o| o == "duplicate"));

    // `logs --follow` printed the run's events as they were written.
    let start = Instant::now();
    loop {
        let stored = lines
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["outcome"] == "stored")
            .count();
        if stored == 5 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "follow saw {stored} stored events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ok = Command::new("kill")
        .args(["-INT", &follow.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = follow.wait().expect("wait");
    assert!(status.success(), "logs --follow on SIGINT: {status:?}");

    // `logs --errors` groups the failures by source with the last error.
    let out = newsdesk_async!(&config, &["logs", "--errors", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let groups: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let groups = groups.as_array().expect("array");
    let names: Vec<&str> = groups.iter().filter_map(|g| g["source"].as_str()).collect();
    for failing in ["e-broken", "f-error", "g-slow"] {
        assert!(names.contains(&failing), "{names:?}");
    }
    let f_error = groups
        .iter()
        .find(|g| g["source"] == "f-error")
        .expect("f-error");
    assert_eq!(f_error["failures"], 1);
    assert!(
        f_error["last_error"].as_str().unwrap_or("").contains("500"),
        "{f_error}"
    );
    // Without a daemon, `stories publish` writes to the database itself.
    let out = newsdesk_async!(&config, &["stories", "--format", "json", "--limit", "1"]).await;
    let newest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stories JSON");
    let id = newest[0]["id"].as_i64().expect("a story id");
    let out = newsdesk_async!(&config, &["stories", "publish", &id.to_string()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 of 1 story(ies) marked published"));

    let out = newsdesk_async!(&config, &["logs", "--errors", "--source", "f-error"]).await;
    let table = text(&out.stdout);
    assert!(
        table.contains("f-error") && !table.contains("g-slow"),
        "{table}"
    );
}

#[test]
fn sources_export_and_import_opml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = dir.path().join("full.toml");
    std::fs::write(
        &full,
        "[[sources]]\nname = \"feed-one\"\nkind = \"feed\"\nurl = \"https://one.example/rss\"\n\
         [[sources]]\nname = \"pages\"\nkind = \"page\"\nurl = \"https://two.example/archive\"\n\
         link_selector = \"h2 > a\"\n",
    )
    .expect("write");
    let out = newsdesk!(&full, &["sources", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let opml_path = dir.path().join("sources.opml");
    std::fs::write(&opml_path, &out.stdout).expect("write opml");

    let small = dir.path().join("small.toml");
    std::fs::write(
        &small,
        "# my config\n[[sources]]\nname = \"feed-one\"\nkind = \"feed\"\nurl = \"https://one.example/rss\"\n",
    )
    .expect("write");
    let opml = opml_path.to_str().expect("utf-8");
    let dry = newsdesk!(&small, &["sources", "import", opml, "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stdout).contains("already configured"));
    assert_eq!(
        std::fs::read_to_string(&small)
            .expect("read")
            .matches("[[sources]]")
            .count(),
        1,
        "dry run changed the file"
    );
    let out = newsdesk!(&small, &["sources", "import", opml]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("reload the service"),
        "{}",
        text(&out.stdout)
    );
    let after = std::fs::read_to_string(&small).expect("read");
    assert!(after.starts_with("# my config\n"), "{after}");
    let check = newsdesk!(&small, &["check-config"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("(2 sources"),
        "{}",
        text(&check.stdout)
    );
    assert!(after.contains("link_selector = \"h2 > a\""), "{after}");
    // A second import adds nothing.
    let again = newsdesk!(&small, &["sources", "import", opml]);
    assert!(text(&again.stdout).contains("nothing to add"));
}

// ---- Issue 14: reload, health, STATUS, manual runs, dead articles, small operator things ----

/// `site`'s config with only the `keep` sources, the cron `cron`, `schedule_extra` lines in
/// `[schedule]` and `tables` (e.g. `[admin]`, `[topic]`) before the sources.
fn custom_config(
    site: &FixtureSite,
    db: &Path,
    cron: &str,
    schedule_extra: &str,
    tables: &str,
    keep: &[&str],
) -> String {
    let full = site.config_toml(db);
    let mut blocks = full.split("\n[[sources]]\n");
    let head = blocks.next().expect("config head").replace(
        "cron = \"0 */15 * * * *\"",
        &format!("cron = \"{cron}\"\n{schedule_extra}"),
    );
    let mut out = format!("{head}\n{tables}\n");
    for block in blocks {
        let name = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .unwrap_or("");
        if keep.contains(&name) {
            out.push_str("\n[[sources]]\n");
            out.push_str(block);
        }
    }
    out
}

fn signal(daemon: &Daemon, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &daemon.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

async fn wait_log(daemon: &Daemon, what: &str) -> String {
    let start = Instant::now();
    loop {
        let log = daemon.log();
        if log.contains(what) {
            return log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no '{what}' in the daemon's log:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one raw HTTP/1.1 request over a Unix socket; gives the status code and the body.
fn raw_unix_request(sock: &Path, request: &str) -> (u16, String) {
    use std::io::Write as _;
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("connect admin socket");
    s.write_all(request.as_bytes()).expect("write request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read response");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

async fn health_of(sock: &Path) -> (u16, serde_json::Value) {
    let (status, body) = admin_request(
        &Admin::Unix(sock.to_path_buf()),
        None,
        hyper::Method::GET,
        "/health",
        None,
    )
    .await
    .expect("health request");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("health is not JSON: {body}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_and_keeps_it_when_the_new_file_is_bad() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let admin = format!("[admin]\nlisten = \"unix:{}\"\n", sock.display());
    std::fs::write(
        &config,
        custom_config(&site, &db, NEVER, "", &admin, &["a-rss"]),
    )
    .expect("write config");
    let systemd = FakeSystemd::bind(dir.path().join("notify.sock"));
    let mut daemon = Daemon::spawn(
        &config,
        &[("NOTIFY_SOCKET", systemd.path.display().to_string())],
    );
    systemd
        .wait_for("start-up run STATUS", |m| m.contains("STATUS=last run"))
        .await;

    // The new file: a-rss disabled, c-json added, the topic made impossible to reach.
    let new = custom_config(
        &site,
        &db,
        NEVER,
        "",
        &format!("{admin}\n[topic]\nthreshold = 1000.0\n"),
        &["a-rss", "c-json"],
    )
    .replace(
        "name = \"a-rss\"\nkind = \"feed\"",
        "name = \"a-rss\"\nenabled = false\nkind = \"feed\"",
    );
    std::fs::write(&config, new).expect("rewrite config");
    signal(&daemon, "-HUP");
    let log = wait_log(&daemon, "config reloaded").await;
    let line = log
        .lines()
        .find(|l| l.contains("config reloaded"))
        .expect("reload line");
    for change in [
        "topic changed",
        "source 'c-json' added",
        "source 'a-rss' disabled",
    ] {
        assert!(line.contains(change), "{change} missing: {line}");
    }
    systemd
        .wait_for("RELOADING", |m| m.contains("RELOADING=1"))
        .await;
    systemd
        .wait_for("READY after reload", |m| {
            m.contains("READY=1") && m.contains("STATUS=config accepted (topic changed;")
        })
        .await;
    systemd
        .wait_for("STATUS once applied", |m| {
            m.contains("STATUS=config reloaded (") && m.contains("1 source(s)")
        })
        .await;
    assert!(
        daemon.child.try_wait().expect("try_wait").is_none(),
        "SIGHUP ended the daemon:\n{}",
        daemon.log()
    );

    // The next run uses the new config: c-json is known to the daemon, its story off topic.
    let out = newsdesk_async!(
        &config,
        &["fetch", "--source", "c-json", "--format", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(report["counts"]["off_topic"], 1, "{report}");
    wait_log(&daemon, "below threshold 1000").await;

    // A bad file is refused with file, key and reason; the running config stays.
    std::fs::write(&config, "[schedule]\nconcurrency = 0\n").expect("write bad config");
    signal(&daemon, "-HUP");
    let log = wait_log(&daemon, "config reload refused").await;
    let line = log
        .lines()
        .find(|l| l.contains("config reload refused"))
        .expect("refusal line");
    assert!(
        line.contains(&config.display().to_string())
            && line.contains("schedule.concurrency")
            && line.contains("must be at least 1"),
        "{line}"
    );
    systemd
        .wait_for("refusal STATUS", |m| {
            m.contains("READY=1") && m.contains("STATUS=config reload refused")
        })
        .await;
    assert!(daemon.child.try_wait().expect("try_wait").is_none());
    let (status, _) = admin_request(
        &Admin::Unix(sock.clone()),
        None,
        hyper::Method::POST,
        "/fetch?source=c-json",
        None,
    )
    .await
    .expect("fetch request");
    assert_eq!(status, 200, "the running config lost c-json");

    // A CMS posting JSON with a form content type (or none) is understood.
    let json = "{\"ids\":[1]}";
    let (code, body) = raw_unix_request(
        &sock,
        &format!(
            "POST /stories/publish HTTP/1.1\r\nHost: newsdesk\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            json.len()
        ),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"changed\":1"), "{body}");

    assert!(daemon.stop().await.success(), "{}", daemon.log());
    assert!(!sock.exists());
    // systemd's `reload` sends the same signal.
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/newsdesk.service"),
    )
    .expect("unit file");
    assert!(
        unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"),
        "{unit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_ticks_are_not_runs_and_keep_the_status_line() {
    let site = FixtureSite::start().await;

    // Some sources failing: degraded (200), the failing one named; ticks with nothing due
    // every second change neither health nor the STATUS= summary, and log no run.
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let admin = format!("[admin]\nlisten = \"unix:{}\"\n", sock.display());
    std::fs::write(
        &config,
        custom_config(&site, &db, "* * * * * *", "", &admin, &["a-rss", "f-error"]),
    )
    .expect("write config");
    let systemd = FakeSystemd::bind(dir.path().join("notify.sock"));
    let mut daemon = Daemon::spawn(
        &config,
        &[("NOTIFY_SOCKET", systemd.path.display().to_string())],
    );
    systemd
        .wait_for("start-up run STATUS", |m| m.contains("STATUS=last run"))
        .await;
    systemd
        .wait_for("idle STATUS", |m| {
            m.contains("STATUS=last run") && m.contains("; idle, next source due at ")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (code, health) = health_of(&sock).await;
    assert_eq!(code, 200, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let failing: Vec<&str> = health["failing_sources"]
        .as_array()
        .expect("failing_sources")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(failing, ["f-error"], "{health}");
    assert!(
        health["reason"].as_str().unwrap_or("").contains("f-error"),
        "{health}"
    );
    for m in systemd.all() {
        assert!(!m.contains(": 0 sources"), "empty tick in STATUS: {m}");
    }
    let log = daemon.log();
    assert_eq!(log.matches("run started").count(), 1, "{log}");
    assert_eq!(log.matches("run finished").count(), 1, "{log}");
    let store = open_store(&db).await;
    assert_eq!(store.runs(100, None).await.expect("runs").len(), 1);
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_notify_socket_is_reported_once_not_on_every_ping() {
    let site = FixtureSite::start().await;

    // NOTIFY_SOCKET names a socket nobody listens on and the watchdog wants a ping every
    // 100 ms: READY, STATUS, dozens of WATCHDOG=1 and STOPPING all fail, one warning says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    std::fs::write(
        &config,
        custom_config(&site, &db, NEVER, "", "", &["a-rss"]),
    )
    .expect("write config");
    let missing = dir.path().join("gone.sock");
    let mut daemon = Daemon::spawn(
        &config,
        &[
            ("NOTIFY_SOCKET", missing.display().to_string()),
            ("WATCHDOG_USEC", "200000".to_string()),
        ],
    );
    wait_log(&daemon, "run finished").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(daemon.stop().await.success());
    let log = daemon.log();
    assert_eq!(
        log.matches("could not notify the service manager").count(),
        1,
        "{log}"
    );
    assert!(log.contains(&missing.display().to_string()), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_failing_when_every_source_fails_or_none_succeeded_lately() {
    let site = FixtureSite::start().await;
    // Every enabled source failing: failing (503), however many empty ticks follow.
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let admin = format!("[admin]\nlisten = \"unix:{}\"\n", sock.display());
    std::fs::write(
        &config,
        custom_config(
            &site,
            &db,
            "* * * * * *",
            "",
            &admin,
            &["e-broken", "f-error"],
        ),
    )
    .expect("write config");
    let mut daemon = Daemon::spawn(&config, &[]);
    wait_log(&daemon, "run finished").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (code, health) = health_of(&sock).await;
    assert_eq!(code, 503, "{health}");
    assert_eq!(health["status"], "failing", "{health}");
    assert!(
        health["reason"]
            .as_str()
            .unwrap_or("")
            .contains("all 2 enabled source(s) are failing"),
        "{health}"
    );
    assert!(daemon.stop().await.success());

    // No success within admin.health_max_age: failing too.
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("admin.sock");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let admin = format!(
        "[admin]\nlisten = \"unix:{}\"\nhealth_max_age = \"3s\"\n",
        sock.display()
    );
    std::fs::write(
        &config,
        custom_config(&site, &db, NEVER, "", &admin, &["a-rss"]),
    )
    .expect("write config");
    let mut daemon = Daemon::spawn(&config, &[]);
    wait_log(&daemon, "run finished").await;
    let (code, health) = health_of(&sock).await;
    assert_eq!((code, &health["status"]), (200, &"ok".into()), "{health}");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (code, health) = health_of(&sock).await;
    assert_eq!(code, 503, "{health}");
    assert!(
        health["reason"]
            .as_str()
            .unwrap_or("")
            .contains("no source fetched successfully in the last 3s"),
        "{health}"
    );
    assert!(daemon.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_fetches_leave_the_polling_interval_alone() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    std::fs::write(
        &config,
        custom_config(
            &site,
            &db,
            NEVER,
            "min_interval = \"1m\"\nmax_interval = \"1h\"",
            "",
            &["a-rss"],
        ),
    )
    .expect("write config");
    let state = |out: std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sources JSON");
        v[0].clone()
    };
    // `sources` is read-only: create the database and its sources as the daemon would.
    let cfg = newsdesk::config::Config::load(&config).expect("config");
    open_store(&db)
        .await
        .sync_sources(&cfg.sources, cfg.schedule.min_interval, chrono::Utc::now())
        .await
        .expect("sync sources");
    let before = state(newsdesk_async!(&config, &["sources", "--format", "json"]).await);
    assert_eq!(before["interval_secs"], 60, "{before}");
    for i in 0..4 {
        let out = newsdesk_async!(&config, &["fetch", "--no-daemon"]).await;
        assert!(out.status.success(), "fetch {i}: {}", text(&out.stderr));
        let now = state(newsdesk_async!(&config, &["sources", "--format", "json"]).await);
        assert_eq!(now["interval_secs"], 60, "after fetch {i}: {now}");
        // The source was just read: it is next due one (unchanged) interval after that.
        assert_eq!(
            time_of(&now["next_due_at"]) - time_of(&now["last_success_at"]),
            chrono::Duration::seconds(60),
            "after fetch {i}: {now}"
        );
    }
    let status = newsdesk_async!(&config, &["status", "--format", "json"]).await;
    assert!(status.status.success(), "{}", text(&status.stderr));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert!(
        time_of(&status["next_due"]["at"]) > chrono::Utc::now(),
        "status calls a source just fetched overdue: {status}"
    );
}

/// A time as `sources`/`status --format json` print it.
fn time_of(v: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .to_utc()
}

/// The bug report: a manual `fetch` through a running daemon left the source due at the time
/// of the daemon's start-up run, so the schedule and `status` disagreed with what just happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_fetch_through_the_daemon_moves_the_due_time_one_interval_on() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let sock = dir.path().join("admin.sock");
    let config = dir.path().join("newsdesk.toml");
    let admin = format!("[admin]\nlisten = \"unix:{}\"\n", sock.display());
    let schedule = "min_interval = \"1m\"\nmax_interval = \"1h\"";
    std::fs::write(
        &config,
        custom_config(&site, &db, NEVER, schedule, &admin, &["a-rss"]),
    )
    .expect("write config");
    let mut daemon = Daemon::spawn(&config, &[]);
    wait_log(&daemon, "run finished").await;
    let source = |out: std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sources JSON");
        v[0].clone()
    };
    let before = source(newsdesk_async!(&config, &["sources", "--format", "json"]).await);
    // Whole seconds apart, so the two due times cannot coincide.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = newsdesk_async!(&config, &["fetch"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("queued in the daemon (unix:"));
    let after = source(newsdesk_async!(&config, &["sources", "--format", "json"]).await);
    assert_eq!(after["interval_secs"], before["interval_secs"], "{after}");
    assert!(
        time_of(&after["last_success_at"]) > time_of(&before["last_success_at"]),
        "{before}\n{after}"
    );
    assert_eq!(
        time_of(&after["next_due_at"]) - time_of(&after["last_success_at"]),
        chrono::Duration::seconds(60),
        "{after}"
    );
    let out = newsdesk_async!(&config, &["status"]).await;
    let status = text(&out.stdout);
    assert!(status.contains("next due:      a-rss at "), "{status}");
    assert!(status.contains("(in "), "{status}");
    assert!(daemon.stop().await.success());
}

/// A small news site of its own: a feed (with an ETag) announcing one good article, one that
/// is gone (404) and one whose server keeps failing (503); a rate-limited feed (429).
struct DeadSite {
    base: String,
    hits: Arc<Mutex<std::collections::HashMap<String, usize>>>,
    conditional: Arc<Mutex<usize>>,
}

async fn dead_site() -> DeadSite {
    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let port = testkit::loopback::bind().await;
    let base = port.base.clone();
    let hits: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    let conditional: Arc<Mutex<usize>> = Arc::default();
    let seed = site::load_seeds().remove(0);
    let article = site::template_a(&base, "good", &seed.title, &seed.paragraphs, 20);
    let feed = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>{base}/</link>\
         <description>d</description>\
         <item><title>{t}</title><link>{base}/good.html</link><guid>good</guid></item>\
         <item><title>Gone</title><link>{base}/gone.html</link><guid>gone</guid></item>\
         <item><title>Flaky</title><link>{base}/flaky.html</link><guid>flaky</guid></item>\
         </channel></rss>",
        t = seed.title.replace('&', "&amp;").replace('<', "&lt;")
    );
    let (h, c) = (hits.clone(), conditional.clone());
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap| {
        let (h, c, feed, article) = (h.clone(), c.clone(), feed.clone(), article.clone());
        async move {
            let path = uri.path().to_string();
            *h.lock().expect("lock").entry(path.clone()).or_default() += 1;
            match path.as_str() {
                "/feed.rss" => {
                    if headers
                        .get(header::IF_NONE_MATCH)
                        .is_some_and(|v| v.as_bytes() == b"\"v1\"")
                    {
                        *c.lock().expect("lock") += 1;
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    (
                        [
                            (header::CONTENT_TYPE, "application/rss+xml"),
                            (header::ETAG, "\"v1\""),
                        ],
                        feed,
                    )
                        .into_response()
                }
                "/good.html" => ([(header::CONTENT_TYPE, "text/html")], article).into_response(),
                "/flaky.html" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                "/limited.rss" => (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "120")],
                    "slow down",
                )
                    .into_response(),
                _ => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    port.serve_detached(app);
    DeadSite {
        base,
        hits,
        conditional,
    }
}

/// `newsdesk fetch --no-daemon` with INFO logs; gives its stderr.
async fn fetch_logging_info(config: &Path) -> String {
    let cfg = config.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .arg("--config")
            .arg(&cfg)
            .args(["fetch", "--no-daemon"])
            .env("RUST_LOG", "info")
            .output()
            .expect("fetch")
    })
    .await
    .expect("join");
    let log = text(&out.stderr);
    assert!(out.status.success(), "{log}");
    log
}

fn dead_site_config(site: &DeadSite, db: &Path, schedule: &str, sources: &str) -> String {
    format!(
        r#"
[storage]
url = "sqlite://{db}"

[schedule]
cron = "{NEVER}"
{schedule}

[http]
allow_private_networks = true
total_timeout = "5s"
per_host_delay = "0s"
respect_robots_txt = false

[[sources]]
name = "dead-feed"
kind = "feed"
url = "{b}/feed.rss"
{sources}
"#,
        db = db.display(),
        b = site.base
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_articles_are_given_up_and_stop_holding_the_feed_back() {
    let site = dead_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let retries = "item_retry_delays = [\"1s\", \"1s\"]\nitem_retry_max_age = \"3s\"";
    std::fs::write(&config, dead_site_config(&site, &db, retries, "")).expect("write config");
    let hits = |path: &str| {
        site.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    };

    // Fetch once a second until the feed answers 304 again.
    let start = Instant::now();
    let mut statuses = Vec::new();
    loop {
        let out = newsdesk_async!(&config, &["fetch", "--format", "json"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
        let status = report["sources"][0]["status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        statuses.push(status.clone());
        if status == "not_modified" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the feed never answered 304 again: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    // The gone article: 1 attempt + 2 retries (one per delay), then given up. The failing one
    // went on until 3 s after its first failure. The good one was fetched once.
    assert_eq!(hits("/gone.html"), 3, "{statuses:?}");
    assert!(hits("/flaky.html") >= 3, "{}", hits("/flaky.html"));
    assert_eq!(hits("/good.html"), 1);
    let store = open_store(&db).await;
    let given_up = store
        .events(&store::EventFilter {
            outcome: Some(newsdesk::model::Outcome::GivenUp),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("events");
    assert_eq!(given_up.len(), 2, "{given_up:?}");
    let reason_of = |suffix: &str| {
        given_up
            .iter()
            .find(|e| e.url.as_deref().is_some_and(|u| u.ends_with(suffix)))
            .map(|e| e.reason.clone())
            .unwrap_or_else(|| panic!("no given_up event for {suffix}: {given_up:?}"))
    };
    let gone = reason_of("/gone.html");
    assert!(
        gone.contains("gave up after 3 attempt(s)")
            && gone.contains("permanent")
            && gone.contains("HTTP 404"),
        "{gone}"
    );
    let flaky = reason_of("/flaky.html");
    assert!(
        flaky.contains("transient") && flaky.contains("HTTP 503"),
        "{flaky}"
    );

    // From now on: 304s, nothing retried, no new failure events.
    let events_before = store
        .events(&store::EventFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("events")
        .iter()
        .filter(|e| e.outcome != newsdesk::model::Outcome::NotModified)
        .count();
    let conditional = *site.conditional.lock().expect("lock");
    for _ in 0..2 {
        let out = newsdesk_async!(&config, &["fetch", "--format", "json"]).await;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
        assert_eq!(report["sources"][0]["status"], "not_modified", "{report}");
    }
    assert_eq!(*site.conditional.lock().expect("lock"), conditional + 2);
    // A 304 is one INFO line too.
    let log = fetch_logging_info(&config).await;
    assert!(
        log.lines().any(|l| l.contains("source fetched")
            && l.contains("status=not_modified")
            && l.contains("duration_ms=")),
        "{log}"
    );
    assert_eq!(hits("/gone.html"), 3);
    let events_after = store
        .events(&store::EventFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("events")
        .iter()
        .filter(|e| e.outcome != newsdesk::model::Outcome::NotModified)
        .count();
    assert_eq!(events_before, events_after);

    // `logs --errors` names each dead article once, as given up.
    let out = newsdesk_async!(&config, &["logs", "--errors", "--format", "json"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let groups: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let g = &groups[0];
    assert_eq!(g["source"], "dead-feed", "{groups}");
    assert_eq!(g["given_up"], 2, "{g}");
    assert_eq!(g["item_failures"], 0, "{g}");
    assert_eq!(g["failures"], 2, "{g}");
    let out = newsdesk_async!(&config, &["logs", "--errors"]).await;
    let table = text(&out.stdout);
    assert_eq!(table.matches("/gone.html").count(), 1, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_details_logs_sources_and_durable_export() {
    let site = dead_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let b = &site.base;
    std::fs::write(
        &config,
        dead_site_config(
            &site,
            &db,
            "",
            &format!(
                "[[sources]]\nname = \"limited\"\nkind = \"feed\"\nurl = \"{b}/limited.rss\"\n\
                 [[sources]]\nname = \"down\"\nkind = \"feed\"\nurl = \"{b}/flaky.html\"\n"
            ),
        ),
    )
    .expect("write config");
    // Independent details: every one is checked, the test fails with the list of those wrong.
    let mut wrong: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            wrong.push(what);
        }
    };

    // One INFO line per source fetch with status, items and duration; failures carry the run
    // id. (The 304 line is checked by the dead-articles test.)
    for _ in 0..2 {
        let log = fetch_logging_info(&config).await;
        let line = log
            .lines()
            .find(|l| l.contains("source fetched") && l.contains("source=dead-feed"));
        check(
            line.is_some_and(|l| {
                l.contains("status=ok")
                    && l.contains("items=3")
                    && l.contains("duration_ms=")
                    && l.contains("run_id=")
            }),
            format!("no 'source fetched' line with status, items, duration:\n{log}"),
        );
        let failed: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("source failed"))
            .collect();
        check(
            failed.len() == 2 && failed.iter().all(|l| l.contains("run_id=")),
            format!("'source failed' lines without run_id: {failed:?}"),
        );
    }

    // Filters naming nothing that exists are errors.
    let out = newsdesk_async!(&config, &["logs", "--run", "99999"]).await;
    check(
        out.status.code() == Some(1) && text(&out.stderr).contains("no run 99999"),
        format!(
            "logs --run 99999: {:?} {}",
            out.status.code(),
            text(&out.stderr)
        ),
    );
    let out = newsdesk_async!(&config, &["logs", "--source", "nope"]).await;
    check(
        out.status.code() == Some(1) && text(&out.stderr).contains("no source named 'nope'"),
        format!(
            "logs --source nope: {:?} {}",
            out.status.code(),
            text(&out.stderr)
        ),
    );
    let out = newsdesk_async!(&config, &["logs", "--source", "limited", "--run", "1"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));

    // `sources` tells when each source is tried next and why.
    let out = newsdesk_async!(&config, &["sources", "--format", "json"]).await;
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let why = |name: &str| {
        rows.as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == name))
            .filter(|r| r["next_try_at"].is_string())
            .and_then(|r| r["next_try_reason"].as_str())
            .unwrap_or("")
            .to_string()
    };
    check(
        why("limited").contains("Retry-After 120s"),
        format!("limited: no Retry-After reason in {rows}"),
    );
    check(
        why("down").contains("backoff after 2 failed fetch(es)"),
        format!("down: no backoff reason in {rows}"),
    );
    check(
        why("dead-feed").contains("interval"),
        format!("dead-feed: no interval reason in {rows}"),
    );
    let out = newsdesk_async!(&config, &["sources"]).await;
    let table = text(&out.stdout);
    check(
        table.contains("NEXT_TRY") && table.contains("WHY"),
        format!("sources table: {table}"),
    );

    // `export --output` syncs the new file before renaming it and the folder after.
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("SKIPPED: the fsync check needs strace");
    } else {
        let trace = dir.path().join("strace.txt");
        let out_file = dir.path().join("stories.json");
        let out = Command::new("strace")
            .args([
                "-f",
                "-e",
                "trace=fsync,fdatasync,rename,renameat,renameat2",
                "-o",
            ])
            .arg(&trace)
            .arg(env!("CARGO_BIN_EXE_newsdesk"))
            .arg("--config")
            .arg(&config)
            .args(["export", "--output"])
            .arg(&out_file)
            .output()
            .expect("strace export");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let trace = std::fs::read_to_string(&trace).expect("trace");
        let calls: Vec<&str> = trace
            .lines()
            .filter_map(|l| {
                ["fsync(", "fdatasync(", "rename"]
                    .into_iter()
                    .find(|c| l.contains(c))
            })
            .collect();
        let rename = calls.iter().position(|c| *c == "rename");
        check(rename.is_some(), format!("no rename: {trace}"));
        let rename = rename.unwrap_or(0);
        check(
            calls[..rename].iter().any(|c| c.contains("sync")),
            format!("no fsync before the rename: {trace}"),
        );
        check(
            calls[rename..].iter().any(|c| c.contains("sync")),
            format!("no fsync after the rename: {trace}"),
        );
        let exported: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out_file).expect("export")).expect("JSON");
        assert_eq!(exported["items"].as_array().map(Vec::len), Some(1));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n---\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_article_does_not_keep_its_source_at_the_minimum_interval() {
    let site = dead_site().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let toml = dead_site_config(
        &site,
        &db,
        // The default retry delays (15 min first) keep the dead articles waiting.
        "min_interval = \"2s\"\nmax_interval = \"1h\"",
        "",
    )
    .replace(&format!("cron = \"{NEVER}\""), "cron = \"* * * * * *\"");
    std::fs::write(&config, toml).expect("write config");
    let mut daemon = Daemon::spawn(&config, &[]);
    // Scheduled runs at 0, 2, 5, 9 s …: the dead articles wait for their next attempt, the
    // good one is known, so the feed has nothing new and its interval grows.
    let store = {
        wait_log(&daemon, "run finished").await;
        open_store(&db).await
    };
    tokio::time::sleep(Duration::from_secs(7)).await;
    let runs = store.runs(100, None).await.expect("runs");
    assert!(runs.len() >= 3, "{runs:?}");
    let state = store
        .sources()
        .await
        .expect("sources")
        .into_iter()
        .find(|s| s.name == "dead-feed")
        .expect("dead-feed");
    assert!(state.interval_secs > 2, "{state:?}\n{}", daemon.log());
    assert!(daemon.stop().await.success());
}
