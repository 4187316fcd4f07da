//! The feed-robustness corpus (`../shared/bench/feeds/`) run through `parse_feed`'s layers.
//!
//! Shared by the fast test (`tests/feed_corpus.rs`, a representative subset) and the bench binary
//! (`benches/feeds.rs`, every file, with figures). Each file is parsed under `catch_unwind`, so a
//! panic anywhere in the normalization layer or feed-rs is counted, never fatal.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use feed_rs::model::{Feed, Link, Text};
use serde::Deserialize;
use url::Url;

use crate::corpora;

/// Bytes, `Content-Type` and base URL to the feed model and the encoding it was read in (the
/// error as text): `newsdesk::source::parse_feed_model`.
pub type ParseFn = fn(&[u8], Option<&str>, &Url) -> Result<(Feed, String), String>;

/// The newsdesk functions the corpus is run through, handed in by the test and the bench (so this
/// crate never builds newsdesk itself): `newsdesk::source::{parse_feed_model, pick_link,
/// plain_text}`, the parse error as text.
#[derive(Clone, Copy)]
pub struct FeedApi {
    /// The parser, see [`ParseFn`].
    pub parse: ParseFn,
    /// The link `parse_feed` keeps among an item's links.
    pub pick_link: fn(&[Link], &Url) -> Option<Url>,
    /// A title as `parse_feed` gives it (HTML as plain text).
    pub plain_text: fn(&Text) -> String,
}

/// The feed corpus folder (`feeds` under `NEWSDESK_BENCH_DATA`).
pub fn bench_dir() -> PathBuf {
    corpora::corpus("feeds")
}

/// One line of `feedparser-tests/expectations.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Expectation {
    pub file: String,
    pub folder: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub served_over_http: bool,
    #[serde(default)]
    pub checks: Vec<Check>,
}

/// `path == literal`, as parsed out of the `Expect:` expression.
#[derive(Debug, Clone, Deserialize)]
pub struct Check {
    pub path: Vec<serde_json::Value>,
    pub equals: serde_json::Value,
}

/// All expectations, in file order.
pub fn load_expectations() -> Vec<Expectation> {
    let p = bench_dir().join("feedparser-tests/expectations.jsonl");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse {
    Ok,
    Error(String),
    Panic,
}

/// One file's result.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub file: String,
    /// Top-level folder (`wellformed`, `entities`, …).
    pub folder: String,
    pub parse: Parse,
    pub entries: usize,
    /// Plain-text checks (expected value without `<` or `&`) on fields our model carries
    /// (title, link, id, encoding) and how many held.
    pub checks: usize,
    pub checks_passed: usize,
    /// Checks whose expected value is markup (feedparser's sanitizer re-serializes HTML titles):
    /// counted apart, not a target.
    pub markup_checks: usize,
    pub markup_passed: usize,
    /// Why each failed check failed.
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl FileResult {
    /// Parsed, and every check we can map held.
    pub fn right(&self) -> bool {
        self.parse == Parse::Ok && self.checks == self.checks_passed
    }
}

/// The `Content-Type` a file is served with: its `Header:` line, `text/xml` for files the
/// harness serves over HTTP, none for files read from disk.
pub fn content_type_of(e: &Expectation) -> Option<String> {
    e.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .or_else(|| e.served_over_http.then(|| "text/xml".to_string()))
}

/// The base URL the harness gives a file.
fn base_of(e: &Expectation) -> Url {
    Url::parse(&format!("http://127.0.0.1:8097/tests/{}", e.file)).expect("base URL")
}

/// feedparser's encoding names against ours (WHATWG labels, lower case).
fn same_encoding(expected: &str, got: &str) -> bool {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let (e, g) = (norm(expected), norm(got));
    if e == g {
        return true;
    }
    // Aliases: one decoder, two names.
    let alias = |s: &str| -> String {
        match s {
            "gb2312" | "gbk" => "gb18030".into(),
            "cp1252" => "windows-1252".into(),
            "latin-1" | "latin1" => "iso-8859-1".into(),
            "ascii" => "us-ascii".into(),
            other => encoding_rs::Encoding::for_label(other.as_bytes())
                .map(|enc| enc.name().to_ascii_lowercase())
                .unwrap_or_else(|| other.to_string()),
        }
    };
    alias(&e) == alias(&g)
}

/// The text our model gives for a checked path, or `None` when the path is not one we map.
/// `Some(None)` means "mapped, but the feed has no such value".
fn lookup(
    api: &FeedApi,
    feed: &feed_rs::model::Feed,
    encoding: &str,
    base: &Url,
    path: &[serde_json::Value],
) -> Option<Option<String>> {
    let key = |i: usize| path.get(i).and_then(|v| v.as_str());
    // Titles as `parse_feed` gives them (HTML titles as plain text).
    let text = |t: &Option<feed_rs::model::Text>| t.as_ref().map(api.plain_text);
    match (key(0), path.len()) {
        (Some("encoding"), 1) => Some(Some(encoding.to_string())),
        (Some("feed"), _) => match (key(1), key(2)) {
            (Some("title"), None) | (Some("title_detail"), Some("value")) => {
                Some(text(&feed.title))
            }
            (Some("link"), None) => Some((api.pick_link)(&feed.links, base).map(|u| u.to_string())),
            _ => None,
        },
        (Some("entries"), _) => {
            let i = path.get(1)?.as_u64()? as usize;
            let entry = feed.entries.get(i);
            match (key(2), key(3)) {
                (Some("title"), None) | (Some("title_detail"), Some("value")) => {
                    Some(entry.and_then(|e| text(&e.title)))
                }
                // As `parse_feed` picks an item's URL: its link, else a permalink-shaped id.
                (Some("link"), None) => Some(entry.and_then(|e| {
                    (api.pick_link)(&e.links, base)
                        .map(|u| u.to_string())
                        .or_else(|| {
                            Some(e.id.trim().to_string())
                                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                        })
                })),
                (Some("id"), None) => Some(entry.map(|e| e.id.clone()).filter(|s| !s.is_empty())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Compares what we got with what feedparser expects. Titles compare trimmed; links compare as
/// parsed URLs (so `http://x` and `http://x/` agree).
fn matches(path: &[serde_json::Value], expected: &str, got: &str) -> bool {
    let last = path.last().and_then(|v| v.as_str()).unwrap_or("");
    match last {
        "encoding" => same_encoding(expected, got),
        "link" => match (Url::parse(expected), Url::parse(got)) {
            (Ok(a), Ok(b)) => a == b,
            _ => expected.trim() == got.trim(),
        },
        _ => expected.trim() == got.trim(),
    }
}

/// Parses one corpus file and runs its checks.
pub fn run_file(api: &FeedApi, e: &Expectation) -> FileResult {
    let path = bench_dir().join("feedparser-tests").join(&e.file);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let ct = content_type_of(e);
    let base = base_of(e);
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(|| (api.parse)(&bytes, ct.as_deref(), &base));
    let elapsed = started.elapsed();
    let folder = e.folder.split('/').next().unwrap_or("").to_string();
    let mut r = FileResult {
        file: e.file.clone(),
        folder,
        parse: Parse::Ok,
        entries: 0,
        checks: 0,
        checks_passed: 0,
        markup_checks: 0,
        markup_passed: 0,
        failures: Vec::new(),
        elapsed,
    };
    let (feed, encoding) = match outcome {
        Err(_) => {
            r.parse = Parse::Panic;
            return r;
        }
        Ok(Err(err)) => {
            r.parse = Parse::Error(err);
            return r;
        }
        Ok(Ok(v)) => v,
    };
    r.entries = feed.entries.len();
    for c in &e.checks {
        let Some(expected) = c.equals.as_str() else {
            continue;
        };
        let Some(got) = lookup(api, &feed, &encoding, &base, &c.path) else {
            continue;
        };
        let ok = got
            .as_deref()
            .is_some_and(|g| matches(&c.path, expected, g));
        if expected.contains(['<', '&']) {
            r.markup_checks += 1;
            r.markup_passed += usize::from(ok);
            continue;
        }
        r.checks += 1;
        match got {
            Some(_) if ok => r.checks_passed += 1,
            other => r.failures.push(format!(
                "{}: expected {expected:?}, got {other:?}",
                serde_json::to_string(&c.path).unwrap_or_default()
            )),
        }
    }
    r
}

/// Per-folder figures.
#[derive(Debug, Default, Clone)]
pub struct FolderFigures {
    pub files: usize,
    pub parsed: usize,
    pub errors: usize,
    pub panics: usize,
    pub checks: usize,
    pub checks_passed: usize,
    pub markup_checks: usize,
    pub markup_passed: usize,
    /// Parsed with every plain-text check met.
    pub right: usize,
    pub slowest: Duration,
}

pub fn figures(results: &[FileResult]) -> BTreeMap<String, FolderFigures> {
    let mut out: BTreeMap<String, FolderFigures> = BTreeMap::new();
    for r in results {
        let f = out.entry(r.folder.clone()).or_default();
        f.files += 1;
        match r.parse {
            Parse::Ok => f.parsed += 1,
            Parse::Error(_) => f.errors += 1,
            Parse::Panic => f.panics += 1,
        }
        f.checks += r.checks;
        f.checks_passed += r.checks_passed;
        f.markup_checks += r.markup_checks;
        f.markup_passed += r.markup_passed;
        f.right += usize::from(r.right());
        f.slowest = f.slowest.max(r.elapsed);
    }
    out
}

pub fn figures_table(figs: &BTreeMap<String, FolderFigures>) -> String {
    let mut s = format!(
        "{:<11} {:>6} {:>7} {:>6} {:>6} {:>13} {:>15} {:>13} {:>9}\n",
        "folder",
        "files",
        "parsed",
        "error",
        "panic",
        "plain checks",
        "right",
        "markup checks",
        "slowest"
    );
    for (name, f) in figs {
        s.push_str(&format!(
            "{:<11} {:>6} {:>7} {:>6} {:>6} {:>6}/{:<6} {:>6} {:>6.1}% {:>6}/{:<6} {:>7.1}ms\n",
            name,
            f.files,
            f.parsed,
            f.errors,
            f.panics,
            f.checks_passed,
            f.checks,
            f.right,
            100.0 * f.right as f64 / f.files.max(1) as f64,
            f.markup_passed,
            f.markup_checks,
            f.slowest.as_secs_f64() * 1000.0
        ));
    }
    s.push_str(
        "right = parsed with every plain-text title/link/id/encoding check met; markup checks \
         compare with feedparser's sanitizer output and are not a target\n",
    );
    s
}

/// One encoding probe's verdict.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    pub file: String,
    /// `correct`, `mojibake`, `no title`, `error: …`, `panic`.
    pub verdict: String,
}

/// `probes/encoding/`: the channel title must come out as `expected_title`. `with_header`
/// serves each file with `Content-Type: application/rss+xml; charset=<its encoding>` (how a real
/// server names the charset of the `nodecl` legacy files); without it only the bytes speak.
pub fn run_encoding_probes(api: &FeedApi, with_header: bool) -> Vec<ProbeResult> {
    let dir = bench_dir().join("probes/encoding");
    let expected: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("probes/encoding/expected.json"),
    )
    .expect("expected.json");
    let base = Url::parse("http://probe.example/feed").expect("base");
    expected
        .iter()
        .map(|(file, v)| {
            let want = v["expected_title"].as_str().unwrap_or_default();
            let bytes = std::fs::read(dir.join(file)).expect("probe file");
            let charset = file.split("__").next().unwrap_or("");
            let ct = with_header.then(|| format!("application/rss+xml; charset={charset}"));
            let out = std::panic::catch_unwind(|| (api.parse)(&bytes, ct.as_deref(), &base));
            let verdict = match out {
                Err(_) => "panic".to_string(),
                Ok(Err(e)) => format!("error: {e}"),
                Ok(Ok((feed, _))) => match feed.title.map(|t| t.content) {
                    Some(t) if t.trim() == want => "correct".into(),
                    Some(t) if t.trim().is_empty() => "no title".into(),
                    Some(t) => format!("mojibake: {t:?}"),
                    None => "no title".into(),
                },
            };
            ProbeResult {
                file: file.clone(),
                verdict,
            }
        })
        .collect()
}

/// One malformed probe against feedparser's lenient reference.
#[derive(Debug, Clone)]
pub struct MalformedResult {
    pub file: String,
    pub tests: String,
    /// `ok`, `error: …`, `refused: …`, `panic`.
    pub outcome: String,
    pub entries: usize,
    pub item_title: Option<String>,
    pub reference_entries: usize,
    pub reference_title: Option<String>,
}

impl MalformedResult {
    /// Same number of entries and first title as feedparser recovers.
    pub fn like_reference(&self) -> bool {
        self.entries == self.reference_entries && self.item_title == self.reference_title
    }
}

/// `probes/malformed/`: every file through `parse_feed_model`, beside feedparser's result.
pub fn run_malformed_probes(api: &FeedApi) -> Vec<MalformedResult> {
    let dir = bench_dir().join("probes/malformed");
    let expected: BTreeMap<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json"))
            .expect("probes/malformed/expected.json"),
    )
    .expect("expected.json");
    let base = Url::parse("http://probe.example/feed").expect("base");
    expected
        .iter()
        .map(|(file, v)| {
            let bytes = std::fs::read(dir.join(file)).expect("probe file");
            let reference = &v["feedparser 6.0.14"];
            let out = std::panic::catch_unwind(|| (api.parse)(&bytes, None, &base));
            let (outcome, entries, item_title) = match out {
                Err(_) => ("panic".to_string(), 0, None),
                Ok(Err(e)) => (e, 0, None),
                Ok(Ok((feed, _))) => (
                    "ok".to_string(),
                    feed.entries.len(),
                    feed.entries
                        .first()
                        .and_then(|e| e.title.as_ref())
                        .map(|t| t.content.trim().to_string()),
                ),
            };
            MalformedResult {
                file: file.clone(),
                tests: v["tests"].as_str().unwrap_or_default().to_string(),
                outcome,
                entries,
                item_title,
                reference_entries: reference["entries"].as_u64().unwrap_or(0) as usize,
                reference_title: reference["item_title"].as_str().map(str::to_string),
            }
        })
        .collect()
}
