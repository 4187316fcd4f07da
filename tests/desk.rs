//! The desk: the real daemon's `/desk/` pages over its TCP admin listener, fed by the fixture
//! site and a hostile feed on loopback; then the same in a real browser (Chromium over
//! WebDriver) when one is installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::header;
use axum::routing::get;
use axum::Router;
use newsdesk::model::StoryStatus;
use newsdesk::store::{self, Store, StoryFilter};
use testkit::newsdesk_async;
use testkit::pg;
use testkit::site::FixtureSite;

/// A cron expression that does not fire during a test: only manual runs.
const NEVER: &str = "0 0 0 1 1 *";
const TOKEN: &str = "desk-test-token-0123456789abcdef";
/// Marks the hostile story; its title, byline and body all try to run script.
const HOSTILE_TITLE: &str =
    "<script>window.xssRan='title';alert('title')</script>Microsoft and OpenAI <b>sign</b> a new deal";
const HOSTILE_AUTHOR: &str = "<img src=x onerror=\"window.xssRan='author';alert('author')\">Eve";

const HOSTILE_PARAGRAPHS: &[&str] = &[
    "Microsoft and OpenAI said on Monday that they had signed a new agreement that changes how the two companies share revenue from the models OpenAI trains on Microsoft's Azure cloud.",
    "Under the deal, Microsoft keeps its exclusive rights to OpenAI's intellectual property until the end of the decade, while OpenAI may buy computing capacity from other providers for research.",
    "Executives at Microsoft told analysts that the partnership with OpenAI remains the foundation of its Copilot products, and that Azure revenue linked to OpenAI grew faster than expected.",
    "OpenAI's chief executive said the new terms give the company room to raise money for data centers, and that Microsoft's stake in OpenAI is unchanged by the restructuring.",
    "Regulators in Brussels and Washington have been examining the Microsoft and OpenAI relationship for more than a year, and both companies said they had briefed the authorities on the changes.",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A site whose one feed item carries script in its title, author and article body.
async fn hostile_site() -> (SocketAddr, testkit::loopback::Served) {
    let port = testkit::loopback::bind().await;
    let addr = port.addr;
    let base = format!("http://{addr}");
    let feed = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Hostile</title><link>{base}/</link><description>x</description>
<item><title>{t}</title><link>{base}/post/deal.html</link><guid isPermaLink="false">hostile-1</guid>
<dc:creator>{a}</dc:creator><pubDate>Tue, 24 Nov 2026 08:00:00 GMT</pubDate>
<description>{d}</description></item>
</channel></rss>"#,
        t = esc(HOSTILE_TITLE),
        a = esc(HOSTILE_AUTHOR),
        d = esc("<script>window.xssRan='summary'</script>summary"),
    );
    let paragraphs: Vec<String> = HOSTILE_PARAGRAPHS
        .iter()
        .enumerate()
        .map(|(i, p)| match i {
            1 => format!("<p>{p}<script>window.xssRan='body';alert('body')</script></p>"),
            2 => format!(
                "<p onmouseover=\"window.xssRan='attr'\">{p} <img src=\"x\" onerror=\"window.xssRan='img';alert('img')\"></p>"
            ),
            3 => format!(
                "<p>{p} <a href=\"javascript:window.xssRan='link'\">details</a> <iframe src=\"javascript:alert(1)\"></iframe></p>"
            ),
            _ => format!("<p>{p}</p>"),
        })
        .collect();
    let article = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{t}</title>
<meta property="og:title" content="{t}"><meta name="author" content="{a}">
<meta property="article:published_time" content="2026-11-24T08:00:00Z"></head>
<body><article><h1>{t}</h1><div class="byline">By {ab}</div>
<div class="entry-content">{body}</div></article></body></html>"#,
        t = esc(HOSTILE_TITLE),
        a = esc(HOSTILE_AUTHOR),
        ab = esc(HOSTILE_AUTHOR),
        body = paragraphs.join("\n"),
    );
    let app = Router::new()
        .route(
            "/hostile.rss",
            get(move || {
                let f = feed.clone();
                async move { ([(header::CONTENT_TYPE, "application/rss+xml")], f) }
            }),
        )
        .route(
            "/post/deal.html",
            get(move || {
                let a = article.clone();
                async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], a) }
            }),
        );
    (addr, port.serve(app))
}

/// The daemon as a child process, killed on drop.
struct Daemon(Child);

impl Daemon {
    /// `newsdesk run` on `config`, outside systemd, quiet.
    fn spawn(config: &Path) -> Daemon {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_newsdesk"))
                .arg("--config")
                .arg(config)
                .arg("run")
                .env_remove("NOTIFY_SOCKET")
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn daemon"),
        )
    }
}

/// Waits until the desk answers at `base` (the daemon is listening).
async fn wait_for_desk(base: &str) {
    let client = http();
    let started = Instant::now();
    while client
        .get(format!("{base}/desk/login"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the desk at {base} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running daemon with the fixture site's and the hostile feed's stories stored.
struct Env {
    site: FixtureSite,
    hostile: SocketAddr,
    _hostile: testkit::loopback::Served,
    _dir: tempfile::TempDir,
    _daemon: Daemon,
    base: String,
    db: PathBuf,
}

async fn start() -> Env {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let site = FixtureSite::start().await;
    let (hostile, hostile_stop) = hostile_site().await;
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let port = testkit::loopback::free_port();
    let toml = site
        .config_toml(&db)
        .replace("cron = \"0 */15 * * * *\"", &format!("cron = \"{NEVER}\""))
        .replacen(
            "\n[[sources]]",
            &format!("\n[admin]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\n\n[[sources]]"),
            1,
        )
        + &format!(
            "\n[[sources]]\nname = \"h-hostile\"\nkind = \"feed\"\nurl = \"http://{hostile}/hostile.rss\"\n"
        );
    std::fs::write(&config, toml).expect("write config");
    let daemon = Daemon::spawn(&config);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_desk(&base).await;
    // The editor's stories come from a real run, started through the daemon.
    let out = newsdesk_async!(&config, &["fetch"]).await;
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "fetch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Env {
        site,
        hostile,
        _hostile: hostile_stop,
        _dir: dir,
        _daemon: daemon,
        base,
        db,
    }
}

/// An `application/x-www-form-urlencoded` body, as a browser posts a form.
fn form_body<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k.as_ref(), v.as_ref());
    }
    f.finish()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

async fn open_store(db: &Path) -> Box<dyn Store> {
    store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("open store")
}

async fn new_stories(db: &Path) -> Vec<newsdesk::model::Story> {
    open_store(db)
        .await
        .stories(&StoryFilter {
            status: Some(StoryStatus::New),
            source: None,
            cluster_id: None,
            limit: 1000,
        })
        .await
        .expect("stories")
}

/// Asserts that a page can run no script but the desk's own file: one `<script>` element (ours),
/// no event-handler attribute on any tag, no `javascript:` link, no frames.
fn assert_no_executable_script(page: &str) {
    let lower = page.to_ascii_lowercase();
    let ours = "<script src=\"/desk/assets/desk.js\" defer></script>";
    assert_eq!(lower.matches("<script").count(), 1, "{page}");
    assert_eq!(lower.matches(ours).count(), 1, "{page}");
    let handler = regex::Regex::new(r#"(?i)<[a-z][^>]*\son[a-z]+\s*="#).expect("regex");
    assert!(!handler.is_match(page), "event handler attribute in {page}");
    let js_url = regex::Regex::new(r#"(?i)(href|src)\s*=\s*"?\s*javascript:"#).expect("regex");
    assert!(!js_url.is_match(page), "javascript: URL in {page}");
    assert!(
        !lower.contains("<iframe") && !lower.contains("<object"),
        "{page}"
    );
}

fn csrf_of(page: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{64})""#).expect("regex");
    re.captures(page)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| panic!("no CSRF token in {page}"))
}

async fn login(base: &str) -> String {
    let resp = http()
        .post(format!("{base}/desk/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("token", TOKEN)]))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 303);
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP (loopback, no proxy): a Secure cookie would never come back.
    assert!(!cookie.contains("Secure"), "{cookie}");
    cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .trim()
        .to_string()
}

async fn get_page(base: &str, cookie: &str, path: &str) -> (u16, String) {
    let resp = http()
        .get(format!("{base}{path}"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let csp = resp
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("style-src 'self'")
            && csp.contains("default-src 'none'")
            && !csp.contains("unsafe-inline"),
        "{path}: CSP '{csp}'"
    );
    (status, resp.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_pages_need_login_and_csrf_and_escape_hostile_content() {
    let env = start().await;
    let base = &env.base;
    let client = http();

    // Not logged in: pages send to the login form, posts are refused, a wrong token too.
    let resp = client
        .get(format!("{base}/desk/"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/desk/login");
    let resp = client
        .post(format!("{base}/desk/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("token", "wrong")]))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get(header::SET_COOKIE).is_none());
    let forged = client
        .get(format!("{base}/desk/"))
        .header(header::COOKIE, "newsdesk_desk=00")
        .send()
        .await
        .expect("get");
    assert_eq!(forged.status(), 303);
    let cookie = login(base).await;
    // Behind a TLS-terminating proxy the session cookie is only sent back over HTTPS.
    let proxied = client
        .post(format!("{base}/desk/login"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(form_body(&[("token", TOKEN)]))
        .send()
        .await
        .expect("login through a proxy");
    let secure = proxied.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(secure.contains("; Secure"), "{secure}");

    // The queue lists every new story, the hostile one with its markup as text.
    let stories = new_stories(&env.db).await;
    assert!(stories.len() >= 4, "{stories:?}");
    let (status, queue) = get_page(base, &cookie, "/desk/").await;
    assert_eq!(status, 200, "{queue}");
    assert_no_executable_script(&queue);
    for s in &stories {
        assert!(
            queue.contains(&format!("href=\"/desk/story/{}\"", s.id)),
            "story {} missing from {queue}",
            s.id
        );
    }
    let hostile = stories
        .iter()
        .find(|s| s.source == "h-hostile")
        .unwrap_or_else(|| panic!("the hostile story was not stored: {stories:?}"));
    assert!(
        hostile
            .title
            .as_deref()
            .is_some_and(|t| t.contains("<script>")),
        "the stored title keeps the markup as text: {:?}",
        hostile.title
    );
    assert!(queue.contains("&lt;script&gt;window.xssRan="), "{queue}");
    // Each story says why it passed: the stored event's reason (score, threshold, terms).
    assert!(
        queue.matches("Passed: score ").count() >= stories.len(),
        "a reason per story: {queue}"
    );
    assert!(queue.contains("&gt;= threshold"), "{queue}");

    // The story page: the stored body, escaped title and byline, nothing executable.
    let (status, page) = get_page(base, &cookie, &format!("/desk/story/{}", hostile.id)).await;
    assert_eq!(status, 200);
    assert_no_executable_script(&page);
    assert!(
        page.contains(&esc(HOSTILE_PARAGRAPHS[0]).replace("&quot;", "\"")),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;"), "{page}");
    assert!(
        page.contains("Passed: score "),
        "the reason it passed: {page}"
    );
    // A story with a copy dropped for it lists the copy with its reason.
    let dup = open_store(&env.db)
        .await
        .events(&store::EventFilter {
            outcome: Some(newsdesk::model::Outcome::Duplicate),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("events")
        .into_iter()
        .find(|e| e.duplicate_of.is_some())
        .expect("the fixture's syndicated copy is a duplicate");
    let (status, page) = get_page(
        base,
        &cookie,
        &format!("/desk/story/{}", dup.duplicate_of.unwrap_or_default()),
    )
    .await;
    assert_eq!(status, 200);
    let dropped = page
        .split("Duplicates dropped for it")
        .nth(1)
        .unwrap_or_else(|| panic!("no duplicates section: {page}"));
    assert!(
        dropped.contains(&format!("{}: ", dup.source)) && dropped.contains(&dup.reason),
        "{dropped}"
    );
    let (status, _) = get_page(base, &cookie, "/desk/story/999999").await;
    assert_eq!(status, 404);

    // Publishing needs the session's CSRF token.
    let csrf = csrf_of(&queue);
    let post = |form: Vec<(&'static str, String)>, cookie: String| {
        let client = client.clone();
        let url = format!("{base}/desk/status");
        async move {
            client
                .post(url)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_body(&form))
                .send()
                .await
                .expect("post")
        }
    };
    let target = stories[0].id;
    for bad in [None, Some("0".repeat(64))] {
        let mut form = vec![
            ("action", "publish".to_string()),
            ("id", target.to_string()),
        ];
        if let Some(b) = bad {
            form.push(("csrf", b));
        }
        assert_eq!(post(form, cookie.clone()).await.status(), 403);
    }
    assert!(new_stories(&env.db).await.iter().any(|s| s.id == target));
    let resp = post(
        vec![
            ("action", "publish".into()),
            ("id", target.to_string()),
            ("csrf", csrf.clone()),
            ("back", "https://evil.example/".into()),
        ],
        cookie.clone(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[header::LOCATION], "/desk/");
    let left = new_stories(&env.db).await;
    assert!(!left.iter().any(|s| s.id == target));
    // A whole cluster at once (the cluster form posts every id).
    let pair: Vec<i64> = left.iter().take(2).map(|s| s.id).collect();
    let resp = post(
        vec![
            ("action", "reject".into()),
            ("id", pair[0].to_string()),
            ("id", pair[1].to_string()),
            ("csrf", csrf.clone()),
        ],
        cookie.clone(),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let store = open_store(&env.db).await;
    for id in &pair {
        let s = store.story(*id).await.expect("story").expect("exists");
        assert_eq!(s.status, StoryStatus::Rejected);
    }
    let (_, queue) = get_page(base, &cookie, "/desk/").await;
    assert!(!queue.contains(&format!("href=\"/desk/story/{target}\"")));

    // The log: filtered to off_topic, only off-topic events; the cursor pages by id.
    let (status, log) = get_page(base, &cookie, "/desk/log?outcome=off_topic").await;
    assert_eq!(status, 200);
    assert_no_executable_script(&log);
    let outcomes: Vec<&str> = log
        .match_indices("data-outcome=\"")
        .filter_map(|(i, m)| log.get(i + m.len()..))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(!outcomes.is_empty(), "no off-topic events in {log}");
    assert!(outcomes.iter().all(|o| *o == "off_topic"), "{outcomes:?}");
    let (_, all) = get_page(base, &cookie, "/desk/log").await;
    let ids: Vec<i64> = regex::Regex::new(r#"<tr data-outcome="[a-z_]+"[^>]*><td>(\d+)</td>"#)
        .expect("regex")
        .captures_iter(&all)
        .filter_map(|c| c.get(1)?.as_str().parse().ok())
        .collect();
    assert!(ids.len() > 3, "{all}");
    let cut = ids[2];
    let (_, older) = get_page(base, &cookie, &format!("/desk/log?before={cut}")).await;
    let older_ids: Vec<i64> =
        regex::Regex::new(r#"<tr data-outcome="[a-z_]+"[^>]*><td>(\d+)</td>"#)
            .expect("regex")
            .captures_iter(&older)
            .filter_map(|c| c.get(1)?.as_str().parse().ok())
            .collect();
    assert_eq!(older_ids, ids[3..].to_vec());
    assert!(
        older.contains("href=\"/desk/log\""),
        "a link back to the newest"
    );
    let (status, _) = get_page(base, &cookie, "/desk/log?outcome=nope").await;
    assert_eq!(status, 400);
    let (status, _) = get_page(base, &cookie, "/desk/log?since=soon").await;
    assert_eq!(status, 400);
    // Every event is minutes old: an hour keeps them all; an absurd span means no bound.
    for since in ["1h", "500years", "99999999999years"] {
        let (status, recent) = get_page(base, &cookie, &format!("/desk/log?since={since}")).await;
        assert_eq!(status, 200, "{since}");
        assert_eq!(
            recent.matches("<tr data-outcome=").count(),
            ids.len().min(50),
            "{since}"
        );
    }
    let (status, by_source) = get_page(base, &cookie, "/desk/log?source=h-hostile").await;
    assert_eq!(status, 200);
    assert_no_executable_script(&by_source);
    assert!(by_source.contains("&lt;script&gt;"), "{by_source}");

    // Sources: health and next try per source; "fetch now" queues a run in the daemon.
    let (status, page) = get_page(base, &cookie, "/desk/sources").await;
    assert_eq!(status, 200);
    assert_no_executable_script(&page);
    for name in ["a-rss", "c-json", "f-error", "h-hostile"] {
        assert!(
            page.contains(&format!("<tr data-source=\"{name}\"")),
            "{name}: {page}"
        );
    }
    assert!(page.contains("HTTP 500"), "f-error's last error: {page}");
    // 14-day charts drawn on the server: items and errors per source, today's counts in.
    assert_eq!(
        page.matches("<svg class=\"chart items\"").count(),
        page.matches("<tr data-source=").count(),
        "{page}"
    );
    let a_rss = page
        .split("<tr data-source=\"a-rss\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("a-rss row");
    let total = regex::Regex::new(r"items per day over 14 days: (\d+) in all")
        .expect("regex")
        .captures(a_rss)
        .and_then(|c| c.get(1)?.as_str().parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no items chart: {a_rss}"));
    assert!(total > 0, "{a_rss}");
    // Today's bar (the only day with items) is drawn and named.
    assert_eq!(a_rss.matches("<path d=\"M131 27v-").count(), 1, "{a_rss}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(a_rss.contains(&format!("({today} {total})")), "{a_rss}");
    let f_error = page
        .split("<tr data-source=\"f-error\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("f-error row");
    // It never succeeded: every failed fetch is in a row, and each is on today's bar.
    let number = |re: &str| {
        regex::Regex::new(re)
            .expect("regex")
            .captures(f_error)
            .and_then(|c| c.get(1)?.as_str().parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{re} in {f_error}"))
    };
    let in_a_row = number(r#"<td class="error">(\d+)</td>"#);
    assert!(in_a_row >= 1);
    assert_eq!(
        number(r"errors per day over 14 days: (\d+) in all"),
        in_a_row,
        "{f_error}"
    );
    assert!(page.contains("degraded"), "{page}");
    let fetch = |form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{base}/desk/fetch");
        let cookie = cookie.clone();
        async move {
            client
                .post(url)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_body(&form))
                .send()
                .await
                .expect("post")
        }
    };
    let runs_before = store.runs(100, None).await.expect("runs").len();
    assert_eq!(fetch(vec![("source", "c-json".into())]).await.status(), 403);
    assert_eq!(
        fetch(vec![("source", "nope".into()), ("csrf", csrf.clone())])
            .await
            .status(),
        400
    );
    let resp = fetch(vec![("source", "c-json".into()), ("csrf", csrf.clone())]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()[header::LOCATION],
        "/desk/sources?queued=c-json"
    );
    let started = Instant::now();
    loop {
        let runs = store.runs(100, None).await.expect("runs");
        if runs.len() > runs_before && runs[0].finished_at.is_some() {
            assert_eq!(runs[0].trigger.as_str(), "manual");
            assert_eq!(runs[0].counts.sources, 1, "{:?}", runs[0]);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The same run streamed for the page's script: the CSRF token in a header.
    let stream = |token: Option<String>| {
        let client = client.clone();
        let url = format!("{base}/desk/fetch/stream?source=c-json");
        let cookie = cookie.clone();
        async move {
            let mut req = client.post(url).header(header::COOKIE, cookie);
            if let Some(t) = token {
                req = req.header("x-csrf-token", t);
            }
            req.send().await.expect("post")
        }
    };
    assert_eq!(stream(None).await.status(), 403);
    let resp = stream(Some(csrf.clone())).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/x-ndjson");
    let lines: Vec<serde_json::Value> = resp
        .text()
        .await
        .expect("body")
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events, ["queued", "started", "source_done", "finished"]);

    // Preview: a POST with the CSRF token; a feed's items as a run would judge them (the
    // fixture's are all stored by now: known), an article's extraction (escaped, no script).
    let preview = |form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{base}/desk/preview");
        let cookie = cookie.clone();
        async move {
            let resp = client
                .post(url)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_body(&form))
                .send()
                .await
                .expect("post");
            (resp.status().as_u16(), resp.text().await.expect("body"))
        }
    };
    let (status, page) = get_page(base, &cookie, "/desk/preview").await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"url\""), "{page}");
    let feed_url = format!("{}/feed.rss", env.site.base);
    let (status, _) = preview(vec![("url", feed_url.clone()), ("kind", "feed".into())]).await;
    assert_eq!(status, 403, "no CSRF token");
    let (status, page) = preview(vec![
        ("url", feed_url),
        ("kind", "feed".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"preview-items\""), "{page}");
    assert!(page.contains("data-outcome=\"known\""), "{page}");
    let (status, page) = preview(vec![
        ("url", format!("http://{}/post/deal.html", env.hostile)),
        ("kind", "article".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(status, 200, "{page}");
    assert_no_executable_script(&page);
    assert!(page.contains("id=\"preview-article\""), "{page}");
    assert!(page.contains("On topic: score"), "{page}");
    assert!(page.contains("&lt;script&gt;window.xssRan="), "{page}");
    let (status, page) = preview(vec![
        ("url", "ftp://example.com/feed".into()),
        ("csrf", csrf.clone()),
    ])
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"preview-error\""), "{page}");

    // Past 200 stories the queue pages by id: every new story shows exactly once.
    {
        use sqlx::{Connection, Executor};
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.db.display()))
            .await
            .expect("connect");
        c.execute(
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 250) \
             INSERT INTO stories (source, url, canonical_url, title, fetched_at, text, html, \
             fingerprint, topic_score) SELECT 'bulk', 'https://bulk.example/' || k, \
             'https://bulk.example/' || k, 'Bulk ' || k, 1800000000000 + k, 't', '<p>t</p>', \
             'bulk-' || k, 2.0 FROM n",
        )
        .await
        .expect("bulk stories");
        let _ = c.close().await;
    }
    let expected: Vec<i64> = open_store(&env.db)
        .await
        .stories(&StoryFilter {
            status: Some(StoryStatus::New),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .expect("stories")
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(expected.len() > 250);
    let story_ids = |page: &str| -> Vec<i64> {
        regex::Regex::new(r#"data-story="(\d+)""#)
            .expect("regex")
            .captures_iter(page)
            .filter_map(|c| c.get(1)?.as_str().parse().ok())
            .collect()
    };
    let (_, first) = get_page(base, &cookie, "/desk/").await;
    assert!(
        first.contains(&format!("Queue: {} new stories", expected.len())),
        "{first}"
    );
    let next = regex::Regex::new(r#"rel="next" href="(/desk/\?before=\d+)""#)
        .expect("regex")
        .captures(&first)
        .and_then(|c| Some(c.get(1)?.as_str().to_string()))
        .unwrap_or_else(|| panic!("no older page link: {first}"));
    let (status, second) = get_page(base, &cookie, &next).await;
    assert_eq!(status, 200);
    assert!(!second.contains("rel=\"next\""), "two pages hold them all");
    assert!(
        second.contains("value=\"/desk/?before="),
        "forms come back here"
    );
    let mut shown = story_ids(&first);
    assert_eq!(shown.len(), 200);
    shown.extend(story_ids(&second));
    shown.sort_unstable();
    let mut want = expected.clone();
    want.sort_unstable();
    assert_eq!(shown, want);
    let (status, _) = get_page(base, &cookie, "/desk/?before=x").await;
    assert_eq!(status, 400);

    // Logging out ends the session.
    let resp = client
        .post(format!("{base}/desk/logout"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), 303);
    let resp = client
        .get(format!("{base}/desk/"))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 303);
}

/// Finds a program on `PATH`, or where the environment variable `var` says.
fn program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver as a child process, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("desk-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn shot(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write png");
}

/// Waits until `check` holds (the page navigated after a form post).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn press(client: &fantoccini::Client, keys: &str) {
    client
        .find(fantoccini::Locator::Css("body"))
        .await
        .expect("body")
        .send_keys(keys)
        .await
        .expect("keys");
}

async fn data_story_ids(client: &fantoccini::Client) -> Vec<i64> {
    let mut ids = Vec::new();
    for e in client
        .find_all(fantoccini::Locator::Css("[data-story]"))
        .await
        .expect("stories")
    {
        if let Some(id) = e.attr("data-story").await.expect("attr") {
            ids.push(id.parse().expect("story id"));
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_in_a_real_browser() {
    use fantoccini::Locator;
    let (Some(driver_bin), Some(chromium)) = (
        program("NEWSDESK_CHROMEDRIVER", &["chromedriver"]),
        program("NEWSDESK_CHROMIUM", &["chromium", "chromium-browser"]),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but chromium/chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        println!("SKIPPED: desk_in_a_real_browser needs chromium and chromedriver on PATH");
        return;
    };
    let env = start().await;
    let base = env.base.clone();
    let profile = tempfile::tempdir().expect("profile dir");
    let port = testkit::loopback::free_port();
    let _driver = Driver(
        Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let caps: fantoccini::wd::Capabilities = serde_json::from_value(serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    }))
    .expect("capabilities");
    let webdriver = format!("http://127.0.0.1:{port}");
    let start_at = Instant::now();
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match fantoccini::ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => break c,
            Err(e) => {
                assert!(
                    start_at.elapsed() < Duration::from_secs(30),
                    "no WebDriver session: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };

    // Log in with the token; the queue shows every new story.
    client.goto(&format!("{base}/desk/")).await.expect("goto");
    assert!(client.current_url().await.expect("url").path() == "/desk/login");
    client
        .find(Locator::Css("input[name=token]"))
        .await
        .expect("token field")
        .send_keys(TOKEN)
        .await
        .expect("type token");
    client
        .find(Locator::Css("form.login button"))
        .await
        .expect("login button")
        .click()
        .await
        .expect("log in");
    until("the queue", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/desk/")
    })
    .await;
    let stored = new_stories(&env.db).await;
    let hostile = stored
        .iter()
        .find(|s| s.source == "h-hostile")
        .expect("the hostile story")
        .clone();
    let shown = data_story_ids(&client).await;
    assert_eq!(shown.len(), stored.len(), "{shown:?}");
    shot(&client, "queue").await;

    // j selects the first story, p publishes it (the form posts, the queue reloads without it).
    let first = shown[0];
    press(&client, "j").await;
    let current = client
        .find(Locator::Css("[data-story].current"))
        .await
        .expect("a selected story");
    assert_eq!(
        current.attr("data-story").await.expect("attr"),
        Some(first.to_string())
    );
    press(&client, "p").await;
    until("the published story to leave the queue", || async {
        !data_story_ids(&client).await.contains(&first)
    })
    .await;
    let store = open_store(&env.db).await;
    assert_eq!(
        store
            .story(first)
            .await
            .expect("story")
            .expect("exists")
            .status,
        StoryStatus::Published
    );

    // Open a story with Enter: its page shows the body; r rejects it.
    let other = data_story_ids(&client)
        .await
        .last()
        .copied()
        .expect("a story left");
    let order = data_story_ids(&client).await;
    let at = order
        .iter()
        .position(|id| *id == other)
        .expect("on the page");
    press(&client, &"j".repeat(at + 1)).await;
    press(&client, "\u{E007}").await;
    until("the story page", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == format!("/desk/story/{other}"))
    })
    .await;
    let body = client
        .find(Locator::Css("article.full .body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    assert!(body.len() > 200, "{body}");
    shot(&client, "story").await;
    press(&client, "r").await;
    until("the queue after rejecting", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.path() == "/desk/")
    })
    .await;
    assert_eq!(
        store
            .story(other)
            .await
            .expect("story")
            .expect("exists")
            .status,
        StoryStatus::Rejected
    );

    // o opens the selected story's original article in a new tab (the fixture site).
    let main_window = client.window().await.expect("window");
    press(&client, "j").await;
    press(&client, "o").await;
    until("a tab with the original", || async {
        client.windows().await.is_ok_and(|w| w.len() == 2)
    })
    .await;
    for w in client.windows().await.expect("windows") {
        if w != main_window {
            client.switch_to_window(w).await.expect("switch");
            until("the original to load", || async {
                client
                    .current_url()
                    .await
                    .is_ok_and(|u| u.host_str() == Some("127.0.0.1") && u.path() != "/desk/")
            })
            .await;
            client.close_window().await.expect("close tab");
        }
    }
    client
        .switch_to_window(main_window)
        .await
        .expect("back to the desk");

    // A whole cluster with P: the first cluster on the page with more than one story.
    let cluster_ids: Vec<i64> = {
        let mut ids = Vec::new();
        for section in client
            .find_all(Locator::Css("section[data-cluster]"))
            .await
            .expect("clusters")
        {
            let members = section
                .find_all(Locator::Css("[data-story]"))
                .await
                .expect("members");
            if members.len() > 1 {
                for m in members {
                    ids.push(
                        m.attr("data-story")
                            .await
                            .expect("attr")
                            .unwrap_or_default()
                            .parse::<i64>()
                            .expect("id"),
                    );
                }
                break;
            }
        }
        ids
    };
    println!("cluster published with P: {cluster_ids:?}");
    if cluster_ids.is_empty() {
        println!(
            "no multi-story cluster in this run; publishing a cluster by keyboard not exercised"
        );
    } else {
        let order = data_story_ids(&client).await;
        let at = order
            .iter()
            .position(|id| *id == cluster_ids[0])
            .expect("on the page");
        press(&client, &"j".repeat(at + 1)).await;
        press(&client, "P").await;
        until("the cluster to leave the queue", || async {
            let left = data_story_ids(&client).await;
            !cluster_ids.iter().any(|id| left.contains(id))
        })
        .await;
        for id in &cluster_ids {
            assert_eq!(
                store
                    .story(*id)
                    .await
                    .expect("story")
                    .expect("exists")
                    .status,
                StoryStatus::Published
            );
        }
    }

    // The newest log page is live: a run started elsewhere shows up without a reload.
    client
        .goto(&format!("{base}/desk/log"))
        .await
        .expect("goto log");
    let top_event = || async {
        client
            .find(Locator::Css("tr[data-outcome] td"))
            .await
            .expect("an event row")
            .text()
            .await
            .expect("text")
            .parse::<i64>()
            .expect("event id")
    };
    let before = top_event().await;
    client
        .execute("window.deskMarker = 'same page';", vec![])
        .await
        .expect("mark the page");
    let cookie = login(&base).await;
    let (_, page) = get_page(&base, &cookie, "/desk/log").await;
    let resp = http()
        .post(format!("{base}/desk/fetch"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("source", "b-atom"),
            ("csrf", csrf_of(&page).as_str()),
        ]))
        .send()
        .await
        .expect("fetch");
    assert_eq!(resp.status(), 303);
    until("new events on the live log", || async {
        top_event().await > before
    })
    .await;
    assert_eq!(
        client
            .execute("return window.deskMarker || null;", vec![])
            .await
            .expect("marker"),
        serde_json::json!("same page"),
        "the log reloaded instead of refreshing in place"
    );
    assert_eq!(
        client
            .execute(
                "return document.documentElement.dataset.liveMode || null;",
                vec![]
            )
            .await
            .expect("live mode"),
        serde_json::json!("events"),
        "the log followed server-sent events, not polling"
    );

    // The log, filtered to off_topic with the form.
    client
        .goto(&format!("{base}/desk/log"))
        .await
        .expect("goto log");
    client
        .find(Locator::Css("select[name=outcome] option[value=off_topic]"))
        .await
        .expect("off_topic option")
        .click()
        .await
        .expect("pick off_topic");
    client
        .find(Locator::Css("form.filters button[type=submit]"))
        .await
        .expect("filter button")
        .click()
        .await
        .expect("filter");
    until("the filtered log", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.query().is_some_and(|q| q.contains("outcome=off_topic")))
    })
    .await;
    let rows = client
        .find_all(Locator::Css("tr[data-outcome]"))
        .await
        .expect("rows");
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(
            r.attr("data-outcome").await.expect("attr").as_deref(),
            Some("off_topic")
        );
    }
    shot(&client, "log").await;

    // Sources: fetch one now with its button; the run's progress streams into the page.
    client
        .goto(&format!("{base}/desk/sources"))
        .await
        .expect("goto sources");
    client
        .find(Locator::Css("tr[data-source=c-json] form.fetch button"))
        .await
        .expect("fetch button")
        .click()
        .await
        .expect("fetch now");
    until("the run's progress to finish", || async {
        client
            .find_all(Locator::Css("ol#progress li.finished"))
            .await
            .is_ok_and(|f| !f.is_empty())
    })
    .await;
    let lines = client
        .find(Locator::Css("ol#progress"))
        .await
        .expect("progress")
        .text()
        .await
        .expect("text");
    assert!(
        lines.contains("queued") && lines.contains("started") && lines.contains("c-json: ok"),
        "{lines}"
    );
    assert_eq!(
        client.current_url().await.expect("url").path(),
        "/desk/sources",
        "streamed in place"
    );
    let charts = client
        .find_all(Locator::Css("svg.chart.items"))
        .await
        .expect("charts");
    assert!(!charts.is_empty(), "the sources page has its charts");
    shot(&client, "sources").await;

    // Preview: a feed's items as a run would judge them, then an article's extraction.
    client
        .goto(&format!("{base}/desk/preview"))
        .await
        .expect("goto preview");
    let preview = |url: String, kind: &'static str| {
        let client = client.clone();
        async move {
            let field = client
                .find(Locator::Css("#preview-url"))
                .await
                .expect("url field");
            field.clear().await.expect("clear");
            field.send_keys(&url).await.expect("type url");
            client
                .find(Locator::Css(&format!("input[name=kind][value={kind}]")))
                .await
                .expect("kind")
                .click()
                .await
                .expect("choose kind");
            client
                .find(Locator::Css("form.preview button[type=submit]"))
                .await
                .expect("preview button")
                .click()
                .await
                .expect("submit");
        }
    };
    preview(format!("{}/feed.rss", env.site.base), "feed").await;
    until("the feed preview", || async {
        client
            .find_all(Locator::Css("#preview-items tbody tr"))
            .await
            .is_ok_and(|rows| !rows.is_empty())
    })
    .await;
    shot(&client, "preview").await;
    preview(format!("http://{}/post/deal.html", env.hostile), "article").await;
    until("the article preview", || async {
        client
            .find_all(Locator::Css("#preview-article .body p"))
            .await
            .is_ok_and(|p| !p.is_empty())
    })
    .await;
    assert!(client.get_alert_text().await.is_err(), "an alert is open");
    let ran = client
        .execute(
            "return typeof window.xssRan === 'undefined' ? null : String(window.xssRan);",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(
        ran,
        serde_json::Value::Null,
        "hostile script ran in the preview"
    );

    // The hostile story: its markup shows as text and nothing it carries runs.
    client
        .goto(&format!("{base}/desk/story/{}", hostile.id))
        .await
        .expect("goto hostile");
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .expect("h1")
        .text()
        .await
        .expect("text");
    assert!(heading.contains("<script>window.xssRan="), "{heading}");
    assert!(client.get_alert_text().await.is_err(), "an alert is open");
    let ran = client
        .execute(
            "return typeof window.xssRan === 'undefined' ? null : String(window.xssRan);",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(ran, serde_json::Value::Null, "hostile script ran");
    // Hovering the paragraph that had an onmouseover in the source does nothing either.
    for p in client
        .find_all(Locator::Css(".body p"))
        .await
        .expect("paragraphs")
    {
        let _ = p.click().await;
    }
    assert!(client.get_alert_text().await.is_err(), "an alert is open");
    let ran = client
        .execute(
            "return typeof window.xssRan === 'undefined' ? null : String(window.xssRan);",
            vec![],
        )
        .await
        .expect("execute");
    assert_eq!(ran, serde_json::Value::Null, "hostile script ran");
    shot(&client, "xss").await;
    client.close().await.expect("close");
}

/// Sends one raw HTTP/1.1 request over a Unix socket; gives the status code, the head and the
/// body.
fn unix_request(sock: &Path, request: &str) -> (u16, String, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::os::unix::net::UnixStream::connect(sock).expect("connect admin socket");
    s.write_all(request.as_bytes()).expect("write request");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read response");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (status, head.to_string(), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_on_the_unix_socket_needs_no_login_but_still_csrf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = FixtureSite::start().await;
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let sock = dir.path().join("admin.sock");
    let toml = site
        .config_toml(&db)
        .replace("cron = \"0 */15 * * * *\"", &format!("cron = \"{NEVER}\""))
        .replacen(
            "\n[[sources]]",
            &format!(
                "\n[admin]\nlisten = \"unix:{}\"\n\n[[sources]]",
                sock.display()
            ),
            1,
        );
    std::fs::write(&config, toml).expect("write config");
    let _daemon = Daemon::spawn(&config);
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "no socket");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = newsdesk_async!(&config, &["fetch"]).await;
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let get = |path: &str| {
        unix_request(
            &sock,
            &format!("GET {path} HTTP/1.1\r\nHost: newsdesk\r\nConnection: close\r\n\r\n"),
        )
    };
    let (status, head, queue) = get("/desk/");
    assert_eq!(status, 200, "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-security-policy: default-src 'none'"));
    assert_no_executable_script(&queue);
    let story = new_stories(&db).await.first().expect("a stored story").id;
    assert!(queue.contains(&format!("href=\"/desk/story/{story}\"")));
    // No login form without a token.
    let (status, head, _) = get("/desk/login");
    assert_eq!(status, 303, "{head}");
    let post = |body: String| {
        unix_request(
            &sock,
            &format!(
                "POST /desk/status HTTP/1.1\r\nHost: newsdesk\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let (status, _, _) = post(format!("action=reject&id={story}"));
    assert_eq!(status, 403);
    let (status, _, _) = post(format!("action=reject&id={story}&csrf={}", csrf_of(&queue)));
    assert_eq!(status, 303);
    let s = open_store(&db).await.story(story).await.expect("story");
    assert_eq!(s.expect("exists").status, StoryStatus::Rejected);
}

/// `web.listen`: the desk alone on a TCP listener of its own (the admin API stays on its Unix
/// socket), behind the token login. And the preview there fetches with the daemon's own HTTP
/// rules: with private networks refused (the default), a loopback URL is turned away before
/// any request leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_on_web_listen_needs_login_and_its_preview_keeps_the_ssrf_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = FixtureSite::start().await;
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let sock = dir.path().join("admin.sock");
    let port = testkit::loopback::free_port();
    let toml = site
        .config_toml(&db)
        .replace("cron = \"0 */15 * * * *\"", &format!("cron = \"{NEVER}\""))
        .replace(
            "allow_private_networks = true",
            "allow_private_networks = false",
        )
        .replacen(
            "\n[[sources]]",
            &format!(
                "\n[admin]\nlisten = \"unix:{}\"\ntoken = \"{TOKEN}\"\n\n\
                 [web]\nlisten = \"127.0.0.1:{port}\"\n\n[[sources]]",
                sock.display()
            ),
            1,
        );
    assert!(toml.contains("allow_private_networks = false"));
    std::fs::write(&config, toml).expect("write config");
    let _daemon = Daemon::spawn(&config);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_desk(&base).await;
    let client = http();
    // Only the desk is there, behind its login.
    let resp = client
        .get(format!("{base}/desk/"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 303);
    let resp = client
        .get(format!("{base}/health"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 404, "the admin API is not on web.listen");
    let cookie = login(&base).await;
    let (status, form) = get_page(&base, &cookie, "/desk/preview").await;
    assert_eq!(status, 200, "{form}");
    let csrf = csrf_of(&form);
    for (kind, path) in [("article", "/2026/11/a"), ("feed", "/feed.rss")] {
        let url = format!("{}{path}", site.base);
        let resp = client
            .post(format!("{base}/desk/preview"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("kind", kind),
                ("url", url.as_str()),
                ("csrf", csrf.as_str()),
            ]))
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 200);
        let page = resp.text().await.expect("body");
        let error = page
            .split("id=\"preview-error\">")
            .nth(1)
            .and_then(|r| r.split("</p>").next())
            .unwrap_or_else(|| panic!("{kind}: no refusal in {page}"));
        assert!(
            error.contains("127.0.0.1") || error.to_ascii_lowercase().contains("private"),
            "{kind}: {error}"
        );
    }
    assert_eq!(
        site.article_hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing was fetched"
    );
}

/// The desk's own queries (src/store/desk_queries.rs) on SQLite and on a real PostgreSQL:
/// queue pages by id with each story's reason, the queue's length, and the per-day counts the
/// `source_days` trigger keeps as events are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_queries_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    desk_queries_on(&format!("sqlite://{}", dir.path().join("q.db").display())).await;
    match pg::fresh_db("desk_queries").await {
        Some(url) => desk_queries_on(&url).await,
        None => eprintln!("SKIPPED: desk_queries_on_sqlite_and_postgres on PostgreSQL"),
    }
}

async fn desk_queries_on(url: &str) {
    use newsdesk::model::{Event, EventScope, NewStory, Outcome, SeenItem, Trigger};
    use newsdesk::store::desk_queries::{day_of, DeskDb};
    let store = store::open(url).await.expect("open store");
    let now = chrono::Utc::now();
    let run = store
        .start_run(Trigger::Manual, now)
        .await
        .expect("start run");
    let event = |outcome, scope, reason: &str| Event {
        id: 0,
        run_id: run,
        at: now,
        source: "s1".into(),
        scope,
        outcome,
        url: Some("https://example.com/x".into()),
        title: None,
        story_id: None,
        duplicate_of: None,
        score: Some(7.0),
        reason: reason.into(),
    };
    let mut ids = Vec::new();
    for n in 0..3 {
        let u = format!("https://example.com/{n}");
        let story = NewStory {
            source: "s1".into(),
            url: u.clone(),
            fetched_url: u.clone(),
            dedup_key: u.clone(),
            guid: None,
            title: Some(format!("Story {n}")),
            authors: vec!["A. Writer".into()],
            site_name: None,
            summary: None,
            language: None,
            published_at: None,
            updated_at: None,
            fetched_at: now,
            text: "t".into(),
            html: "<p>t</p>".into(),
            fingerprint: format!("fp-{n}"),
            near_dup: None,
            cluster_id: None,
            topic_score: Some(7.0),
        };
        let seen = SeenItem {
            source: "s1".into(),
            guid: None,
            canonical_url: u,
        };
        let stored = store
            .insert_story(
                &story,
                &seen,
                &event(
                    Outcome::Stored,
                    EventScope::Item,
                    &format!("score {n} passed"),
                ),
            )
            .await
            .expect("insert");
        match stored {
            newsdesk::model::InsertOutcome::Stored(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    store
        .record_event(&event(Outcome::Failed, EventScope::Source, "HTTP 503"))
        .await
        .expect("event");
    store
        .record_event(&event(Outcome::OffTopic, EventScope::Item, "off"))
        .await
        .expect("event");
    let db = DeskDb::open(url).await.expect("desk db");
    assert_eq!(db.queue_len(100).await.expect("len"), 3);
    assert_eq!(
        db.queue_len(2).await.expect("len"),
        2,
        "counted up to the cap"
    );
    let first = db.queue_page(None, 2).await.expect("page");
    let got: Vec<i64> = first.iter().map(|s| s.id).collect();
    assert_eq!(got, vec![ids[2], ids[1]]);
    assert_eq!(first[0].reason.as_deref(), Some("score 2 passed"));
    assert_eq!(first[0].author.as_deref(), Some("A. Writer"));
    // Times come back through each database's own column type (ms INTEGER, TIMESTAMPTZ).
    assert_eq!(
        first[0].fetched_at.timestamp_millis(),
        now.timestamp_millis(),
        "fetched_at round-trips"
    );
    assert_eq!(first[0].published_at, None);
    let rest = db.queue_page(Some(ids[1]), 2).await.expect("page");
    assert_eq!(rest.iter().map(|s| s.id).collect::<Vec<_>>(), vec![ids[0]]);
    assert_eq!(rest[0].reason.as_deref(), Some("score 0 passed"));
    let days = db.source_days(day_of(now) - 13).await.expect("days");
    assert_eq!(days.len(), 1, "{days:?}");
    let d = &days[0];
    assert_eq!(
        (d.source.as_str(), d.day, d.items, d.stored, d.errors),
        ("s1", day_of(now), 4, 3, 1)
    );
    // Publishing takes a story off the queue.
    store
        .set_story_status(&[ids[2]], StoryStatus::Published)
        .await
        .expect("publish");
    assert_eq!(db.queue_len(100).await.expect("len"), 2);
    // Pruning old events prunes their per-day counts too, never the cut-off day itself.
    store.prune_events(now).await.expect("prune");
    assert_eq!(
        db.source_days(day_of(now) - 13).await.expect("days").len(),
        1
    );
    store
        .prune_events(now + chrono::Duration::days(1))
        .await
        .expect("prune");
    let days = db.source_days(day_of(now) - 13).await.expect("days");
    assert!(days.is_empty(), "{days:?}");
}

/// Reads a server-sent-events response into `buf` until `done(buf)` holds; panics after
/// `limit` (the stream's keep-alives and ticks keep it from blocking for long).
async fn read_events(
    resp: &mut reqwest::Response,
    buf: &mut String,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done(buf) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "stream timed out; so far:\n{buf}");
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            Ok(Ok(None)) => panic!("stream ended; so far:\n{buf}"),
            Ok(Err(e)) => panic!("stream failed: {e}; so far:\n{buf}"),
            Err(_) => {}
        }
    }
}

/// Reads what `resp` sends for `dur`, whatever it is.
async fn drain(resp: &mut reqwest::Response, buf: &mut String, dur: Duration) {
    let deadline = Instant::now() + dur;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(bytes))) => buf.push_str(&String::from_utf8_lossy(&bytes)),
            _ => return,
        }
    }
}

/// Whether the newest `runs` event of `buf` shows run `run` finished.
fn run_finished(buf: &str, run: &str) -> bool {
    sse_events(buf)
        .iter()
        .rev()
        .find(|(e, _, _)| e == "runs")
        .is_some_and(|(_, _, d)| d.contains(&format!("?run={run}\"")) && !d.contains("running"))
}

/// The `(event, id, data)` of each complete server-sent event in `text`.
fn sse_events(text: &str) -> Vec<(String, String, String)> {
    // Only complete events: the last block may still be arriving.
    let complete = &text[..text.rfind("\n\n").map_or(0, |i| i + 2)];
    complete
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut ev = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    ev.0 = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("id:") {
                    ev.1 = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    if !ev.2.is_empty() {
                        ev.2.push('\n');
                    }
                    ev.2.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            ev
        })
        .collect()
}

/// The log's live stream: a real daemon, a feed that gains an item, a manual run from the
/// desk, and the stored item's row arriving on `/desk/log/events` (escaped, with the page's
/// filters applied, resumable with `Last-Event-ID`), behind the same login as the pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desk_log_streams_new_events_as_server_sent_events() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = testkit::loopback::bind().await;
    let base_site = port.base.clone();
    let items = std::sync::Arc::new(std::sync::Mutex::new(vec![1u32]));
    let feed = {
        let items = items.clone();
        let base = base_site.clone();
        move || {
            let list = items.lock().map(|l| l.clone()).unwrap_or_default();
            let entries: String = list
                .iter()
                .map(|n| {
                    format!(
                        "<item><title>{t}</title><link>{base}/post/{n}.html</link><guid isPermaLink=\"false\">live-{n}</guid>\
                         <pubDate>Tue, 24 Nov 2026 08:00:00 GMT</pubDate></item>",
                        t = esc(&format!("Microsoft and OpenAI <b>live</b> item {n}")),
                    )
                })
                .collect();
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Live</title>\
                 <link>{base}/</link><description>x</description>{entries}</channel></rss>"
            );
            async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body) }
        }
    };
    let article = |axum::extract::Path(page): axum::extract::Path<String>| async move {
        let n = page.trim_end_matches(".html").to_string();
        // Different paragraphs per item: the second is no near-duplicate of the first.
        let range = if n == "1" { 0..2 } else { 2..5 };
        let body: String = HOSTILE_PARAGRAPHS[range]
            .iter()
            .map(|p| format!("<p>{p}</p>"))
            .collect();
        let t = esc(&format!("Microsoft and OpenAI <b>live</b> item {n}"));
        let html = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body><article><h1>{t}</h1><div class=\"entry-content\">{body}</div></article></body></html>"
        );
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
    };
    let _site = port.serve(
        Router::new()
            .route("/live.rss", get(feed))
            .route("/post/{page}", get(article)),
    );
    let db = dir.path().join("newsdesk.db");
    let config = dir.path().join("newsdesk.toml");
    let admin_port = testkit::loopback::free_port();
    std::fs::write(
        &config,
        format!(
            r#"[storage]
url = "sqlite://{db}"

[schedule]
cron = "{NEVER}"

[http]
allow_private_networks = true
respect_robots_txt = false
per_host_delay = "0s"

[admin]
listen = "127.0.0.1:{admin_port}"
token = "{TOKEN}"

[[sources]]
name = "live"
kind = "feed"
url = "{base_site}/live.rss"
"#,
            db = db.display()
        ),
    )
    .expect("write config");
    // Item 1 is in the log before the page opens.
    let out = newsdesk_async!(&config, &["fetch"]).await;
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "fetch: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _daemon = Daemon::spawn(&config);
    let base = format!("http://127.0.0.1:{admin_port}");
    wait_for_desk(&base).await;
    let client = http();

    // Without a session the stream is refused (403, so EventSource gives up and polls).
    let resp = client
        .get(format!("{base}/desk/log/events?source=live"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 403);

    let cookie = login(&base).await;
    let (status, page) = get_page(&base, &cookie, "/desk/log?source=live").await;
    assert_eq!(status, 200);
    assert_no_executable_script(&page);
    let url = regex::Regex::new(r#"data-events="([^"]+)""#)
        .expect("regex")
        .captures(&page)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no data-events in {page}"));
    let after: i64 = url
        .rsplit_once("after=")
        .and_then(|(_, a)| a.parse().ok())
        .unwrap_or_else(|| panic!("{url}"));
    assert!(url.starts_with("/desk/log/events?source=live&"), "{url}");
    assert!(after > 0, "item 1's events are on the page: {url}");
    let csrf = csrf_of(&page);
    let open = |path: String, last: Option<String>| {
        let client = client.clone();
        let cookie = cookie.clone();
        let url = format!("{base}{path}");
        async move {
            let mut req = client.get(url).header(header::COOKIE, cookie);
            if let Some(l) = last {
                req = req.header("last-event-id", l);
            }
            let resp = req.send().await.expect("stream");
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
            resp
        }
    };
    let mut live = open(url.clone(), None).await;
    // Same source, but only failures: the stored item must not show up there.
    let mut failed = open(format!("{url}&outcome=failed"), None).await;
    let (mut live_buf, mut failed_buf) = (String::new(), String::new());
    // The stream is open (its first event, `retry`, arrived) before the run starts.
    read_events(&mut live, &mut live_buf, Duration::from_secs(10), |b| {
        b.contains("retry:")
    })
    .await;

    items.lock().expect("items").push(2);
    let resp = client
        .post(format!("{base}/desk/fetch"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(&[("source", "live"), ("csrf", csrf.as_str())]))
        .send()
        .await
        .expect("fetch");
    assert_eq!(resp.status(), 303);

    let title = "Microsoft and OpenAI &lt;b&gt;live&lt;/b&gt; item 2";
    let has_row = |b: &str| {
        sse_events(b)
            .iter()
            .any(|(e, _, d)| e == "row" && d.contains(title))
    };
    read_events(&mut live, &mut live_buf, Duration::from_secs(30), has_row).await;
    let events = sse_events(&live_buf);
    let (_, id, row) = events
        .iter()
        .find(|(e, _, d)| e == "row" && d.contains(title))
        .expect("the row");
    let id: i64 = id.parse().unwrap_or_else(|_| panic!("event id '{id}'"));
    assert!(id > after, "{id} after {after}");
    assert!(
        row.starts_with("<tr data-outcome=\"stored\"")
            && row.contains(&format!("data-id=\"{id}\"")),
        "{row}"
    );
    assert!(
        row.contains("/post/2.html") && !row.contains("<b>live"),
        "{row}"
    );
    assert!(
        !events
            .iter()
            .any(|(e, _, d)| e == "row" && d.contains("item 1")),
        "item 1 was on the page already: {live_buf}"
    );
    // The runs table follows too: the run that stored it, finished.
    let run = regex::Regex::new(r"\?run=(\d+)")
        .expect("regex")
        .captures(row)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| panic!("no run in {row}"));
    read_events(&mut live, &mut live_buf, Duration::from_secs(10), |b| {
        run_finished(b, &run)
    })
    .await;

    // The filtered stream saw the same run finish (plus two ticks) but no row.
    read_events(&mut failed, &mut failed_buf, Duration::from_secs(10), |b| {
        run_finished(b, &run)
    })
    .await;
    drain(&mut failed, &mut failed_buf, Duration::from_millis(2500)).await;
    assert!(
        !sse_events(&failed_buf).iter().any(|(e, _, _)| e == "row"),
        "{failed_buf}"
    );

    // A reconnect resumes after Last-Event-ID, whatever `after` the URL still carries.
    let mut again = open(
        "/desk/log/events?source=live&after=0".into(),
        Some((id - 1).to_string()),
    )
    .await;
    let mut again_buf = String::new();
    read_events(&mut again, &mut again_buf, Duration::from_secs(10), |b| {
        sse_events(b).iter().any(|(e, _, _)| e == "row")
    })
    .await;
    let rows: Vec<String> = sse_events(&again_buf)
        .into_iter()
        .filter(|(e, _, _)| e == "row")
        .map(|(_, i, _)| i)
        .collect();
    assert_eq!(rows.first(), Some(&id.to_string()), "{again_buf}");

    // A bad cursor is refused.
    let (status, _) = get_page(&base, &cookie, "/desk/log/events?after=x").await;
    assert_eq!(status, 400);
}
