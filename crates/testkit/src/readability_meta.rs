//! Metadata accuracy on Mozilla Readability's test pages (`readability` under `NEWSDESK_BENCH_DATA`, or
//! `READABILITY_DIR`): title, byline and publication date that `newsdesk::extract` finds
//! (handed in as a [`MetaExtractor`], so this crate does not build newsdesk) against each page's
//! `expected-metadata.json`. Used by `cargo bench --bench aeb` (printed
//! beside AEB) and by `tests/readability_meta.rs` (floors).
//!
//! How a field counts as right (the expected values are Readability's output, not a human's):
//! - title: equal after whitespace normalization, or equal once a site name separated by
//!   `|`, `-`, `–`, `—`, `:`, `·`, `»`, `/`, `_` or `[` is cut from either end of either side;
//! - byline: compared as name words (letters only, lowercased; URLs, "By", "Par", "and",
//!   "Edited", month names and "Updated" dropped): every word of ours is in the expected byline
//!   and ours has its first word (the expected byline often goes on with a role, an editor or
//!   the desk: "By Brenda Goodman, MA WebMD Health News"). Pages whose expected byline has no
//!   name word left (a date or a button label) are not counted;
//! - date: the UTC calendar day of ours equals the expected instant's UTC day or its day as
//!   written (trafilatura and htmldate give days only); only pages that state a date count.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

pub use crate::readability::data_dir;

/// The metadata the extractor found on one page.
#[derive(Debug, Default, Clone)]
pub struct PageMeta {
    /// The title.
    pub title: Option<String>,
    /// The authors, in order.
    pub authors: Vec<String>,
    /// The publication time.
    pub published_at: Option<DateTime<Utc>>,
}

/// Extracts a page's metadata from its HTML (the callers pass `newsdesk::extract::extract`).
pub type MetaExtractor<'a> = &'a dyn Fn(&str) -> PageMeta;

/// Right answers out of the pages that state the field.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Pages where ours is right.
    pub right: usize,
    /// Pages that state the field.
    pub total: usize,
}

impl Tally {
    /// Share right (0 when nothing was counted).
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.right as f64 / self.total as f64
        }
    }

    fn add(&mut self, right: bool) {
        self.total += 1;
        self.right += usize::from(right);
    }
}

/// One disagreement, for the report.
#[derive(Debug, Clone)]
pub struct Miss {
    /// Page folder.
    pub page: String,
    /// `title`, `byline` or `date`.
    pub field: &'static str,
    /// Readability's value.
    pub expected: String,
    /// Ours.
    pub got: String,
}

/// The whole set's figures.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages read.
    pub pages: usize,
    /// Title accuracy.
    pub title: Tally,
    /// Byline accuracy.
    pub byline: Tally,
    /// Date accuracy.
    pub date: Tally,
    /// Every disagreement.
    pub misses: Vec<Miss>,
}

/// Extracts every page of `dir/pages/*` with `extract` and scores title, byline and date.
pub fn score(dir: &Path, extract: MetaExtractor<'_>) -> Report {
    let pages_dir = dir.join("pages");
    let mut ids: Vec<String> = std::fs::read_dir(&pages_dir)
        .unwrap_or_else(|e| panic!("{}: {e}", pages_dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("source.html").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    let mut report = Report::default();
    for id in ids {
        let page = pages_dir.join(&id);
        let html = std::fs::read(page.join("source.html"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let expected: Value = std::fs::read_to_string(page.join("expected-metadata.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Value::Null);
        let got = extract(&html);
        report.pages += 1;
        let mut miss = |field, expected: &str, got: String| {
            report.misses.push(Miss {
                page: id.clone(),
                field,
                expected: expected.to_string(),
                got,
            })
        };
        if let Some(want) = expected["title"].as_str().filter(|t| !t.trim().is_empty()) {
            let ours = got.title.clone().unwrap_or_default();
            let right = title_matches(&ours, want);
            report.title.add(right);
            if !right {
                miss("title", want, ours);
            }
        }
        if let Some(want) = expected["byline"].as_str() {
            let want_words = name_words(want);
            if !want_words.is_empty() {
                let ours = got.authors.join(" | ");
                let right = byline_matches(&got.authors, &want_words);
                report.byline.add(right);
                if !right {
                    miss("byline", want, ours);
                }
            }
        }
        if let Some(want) = expected["publishedTime"].as_str() {
            let right = got.published_at.is_some_and(|d| date_matches(d, want));
            report.date.add(right);
            if !right {
                miss(
                    "date",
                    want,
                    got.published_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
                );
            }
        }
    }
    report
}

/// Prints the figures (and, with `READABILITY_MISSES=1`, every disagreement).
pub fn print(report: &Report, dir: &Path) {
    println!(
        "\nReadability set metadata: {} pages from {}",
        report.pages,
        dir.display()
    );
    for (name, t) in [
        ("title", report.title),
        ("byline", report.byline),
        ("date", report.date),
    ] {
        println!(
            "  {name:<7} {:>3}/{:<3} {:>6.1} %",
            t.right,
            t.total,
            t.rate() * 100.0
        );
    }
    if std::env::var_os("READABILITY_MISSES").is_some() {
        for m in &report.misses {
            println!(
                "  miss {:<34} {:<6} expected {:?} got {:?}",
                m.page, m.field, m.expected, m.got
            );
        }
    }
}

/// Runs the scoring and prints it; for the bench's `main`.
pub fn run(extract: MetaExtractor<'_>) {
    let dir = data_dir();
    if !dir.join("pages").is_dir() {
        println!(
            "\nReadability set: {} not found (set READABILITY_DIR)",
            dir.display()
        );
        return;
    }
    print(&score(&dir, extract), &dir);
}

const SEPARATORS: &[char] = &['|', '-', '–', '—', ':', '·', '»', '/', '_', '['];

fn ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `long` is `short` plus a site name cut off by a separator at one end.
fn extends_with_site(long: &str, short: &str) -> bool {
    if short.is_empty() || long.len() <= short.len() {
        return false;
    }
    let cut = |rest: &str, at_end: bool| {
        let rest = rest.trim();
        if at_end {
            rest.starts_with(SEPARATORS)
        } else {
            rest.ends_with(SEPARATORS)
        }
    };
    long.strip_prefix(short).is_some_and(|r| cut(r, true))
        || long.strip_suffix(short).is_some_and(|r| cut(r, false))
}

/// Title rule of the module doc.
pub fn title_matches(ours: &str, want: &str) -> bool {
    let (o, w) = (ws(ours), ws(want));
    o == w || extends_with_site(&w, &o) || extends_with_site(&o, &w)
}

/// Words of a byline that can be part of a name, in order.
pub fn name_words(s: &str) -> Vec<String> {
    const NOISE: &[&str] = &[
        "by",
        "par",
        "von",
        "door",
        "por",
        "written",
        "and",
        "et",
        "und",
        "y",
        "avec",
        "with",
        "updated",
        "last",
        "published",
        "at",
        "am",
        "pm",
        "jan",
        "january",
        "feb",
        "february",
        "mar",
        "march",
        "apr",
        "april",
        "may",
        "jun",
        "june",
        "jul",
        "july",
        "aug",
        "august",
        "sep",
        "sept",
        "september",
        "oct",
        "october",
        "nov",
        "november",
        "dec",
        "december",
        "follow",
        "author",
        "http",
        "https",
        "www",
        "edited",
        "reviewed",
    ];
    let no_urls: String = s
        .split_whitespace()
        .filter(|w| !w.contains("://") && !w.trim_start_matches('(').starts_with("www."))
        .collect::<Vec<_>>()
        .join(" ");
    no_urls
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !NOISE.contains(&w.as_str()))
        .collect()
}

/// Byline rule of the module doc.
pub fn byline_matches(ours: &[String], want: &[String]) -> bool {
    let want_set: BTreeSet<&String> = want.iter().collect();
    let got: BTreeSet<String> = ours.iter().flat_map(|a| name_words(a)).collect();
    !got.is_empty()
        && got.iter().all(|w| want_set.contains(w))
        && want.first().is_some_and(|f| got.contains(f))
}

/// Date rule of the module doc.
pub fn date_matches(ours: DateTime<Utc>, want: &str) -> bool {
    let want = want.trim();
    let written = want
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let instant = DateTime::parse_from_rfc3339(want)
        .or_else(|_| DateTime::parse_from_str(want, "%Y-%m-%dT%H:%M:%S%z"))
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(want, f).ok())
            .map(|d| d.and_utc())
        });
    let day = ours.date_naive();
    Some(day) == written || Some(day) == instant.map(|i| i.date_naive())
}
