//! Metrics of the daemon in the Prometheus text format (version 0.0.4).
//!
//! A small registry fed by the daemon's [`RunObserver`]: run counts, items by outcome per
//! source, errors per source, a histogram of source fetch latency. Per-source state that lives
//! in the database (last success, consecutive errors) is read at scrape time so it is right
//! after a restart too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use chrono::Utc;

use crate::model::{RunReport, SourceState, Trigger};
use crate::schedule::RunObserver;

/// Upper bounds (seconds) of the fetch latency histogram buckets.
pub const FETCH_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Cumulative counts per bucket of [`FETCH_BUCKETS`].
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; FETCH_BUCKETS.len()];
        }
        for (i, le) in FETCH_BUCKETS.iter().enumerate() {
            if v <= *le {
                self.buckets[i] += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    runs: BTreeMap<(&'static str, &'static str), u64>,
    items: BTreeMap<(String, &'static str), u64>,
    source_errors: BTreeMap<String, u64>,
    fetch_latency: BTreeMap<String, Histogram>,
    last_run_finished: Option<f64>,
}

/// The daemon's metrics since start.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A panic while holding the lock leaves plain counters behind: still usable.
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Renders all metrics; `sources` is the store's current view of the sources.
    pub fn render(&self, sources: &[SourceState], up: bool) -> String {
        let mut out = String::new();
        self.with(|m| {
            let o = &mut out;
            header(
                o,
                "newsdesk_up",
                "gauge",
                "1 when the database answered this scrape",
            );
            let _ = writeln!(o, "newsdesk_up {}", u8::from(up));

            header(
                o,
                "newsdesk_runs_total",
                "counter",
                "Runs since start by trigger and result",
            );
            for ((trigger, result), n) in &m.runs {
                let _ = writeln!(
                    o,
                    "newsdesk_runs_total{{trigger=\"{trigger}\",result=\"{result}\"}} {n}"
                );
            }
            header(
                o,
                "newsdesk_last_run_finished_timestamp_seconds",
                "gauge",
                "Unix time the last run of this daemon finished",
            );
            if let Some(t) = m.last_run_finished {
                let _ = writeln!(o, "newsdesk_last_run_finished_timestamp_seconds {t}");
            }

            header(
                o,
                "newsdesk_items_total",
                "counter",
                "Items by final outcome per source (known = skipped unfetched)",
            );
            for ((source, outcome), n) in &m.items {
                let _ = writeln!(
                    o,
                    "newsdesk_items_total{{source=\"{}\",outcome=\"{outcome}\"}} {n}",
                    escape(source)
                );
            }
            header(
                o,
                "newsdesk_stories_stored_total",
                "counter",
                "Stories stored since start",
            );
            let stored: u64 = m
                .items
                .iter()
                .filter(|((_, outcome), _)| *outcome == "stored")
                .map(|(_, n)| *n)
                .sum();
            let _ = writeln!(o, "newsdesk_stories_stored_total {stored}");

            header(
                o,
                "newsdesk_source_errors_total",
                "counter",
                "Failed source fetches plus failed items, per source",
            );
            for (source, n) in &m.source_errors {
                let _ = writeln!(
                    o,
                    "newsdesk_source_errors_total{{source=\"{}\"}} {n}",
                    escape(source)
                );
            }

            header(
                o,
                "newsdesk_fetch_duration_seconds",
                "histogram",
                "Latency of a source's own fetch (feed or listing page)",
            );
            for (source, h) in &m.fetch_latency {
                let s = escape(source);
                for (le, n) in FETCH_BUCKETS.iter().zip(&h.buckets) {
                    let _ = writeln!(
                        o,
                        "newsdesk_fetch_duration_seconds_bucket{{source=\"{s}\",le=\"{le}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    o,
                    "newsdesk_fetch_duration_seconds_bucket{{source=\"{s}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    o,
                    "newsdesk_fetch_duration_seconds_sum{{source=\"{s}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    o,
                    "newsdesk_fetch_duration_seconds_count{{source=\"{s}\"}} {}",
                    h.count
                );
            }
        });

        let o = &mut out;
        header(
            o,
            "newsdesk_source_last_success_timestamp_seconds",
            "gauge",
            "Unix time of each source's last successful fetch",
        );
        for s in sources {
            if let Some(t) = s.last_success_at {
                let _ = writeln!(
                    o,
                    "newsdesk_source_last_success_timestamp_seconds{{source=\"{}\"}} {}",
                    escape(&s.name),
                    t.timestamp()
                );
            }
        }
        header(
            o,
            "newsdesk_source_consecutive_errors",
            "gauge",
            "Failed fetches in a row, per source",
        );
        for s in sources {
            let _ = writeln!(
                o,
                "newsdesk_source_consecutive_errors{{source=\"{}\"}} {}",
                escape(&s.name),
                s.consecutive_errors
            );
        }
        out
    }
}

impl RunObserver for Metrics {
    fn run_finished(&self, trigger: Trigger, report: &RunReport) {
        self.with(|m| {
            *m.runs.entry((trigger.as_str(), "completed")).or_default() += 1;
            m.last_run_finished = Some(Utc::now().timestamp_millis() as f64 / 1000.0);
            for s in &report.sources {
                let c = &s.counts;
                for (outcome, n) in [
                    ("stored", c.stored),
                    ("duplicate", c.duplicates),
                    ("off_topic", c.off_topic),
                    ("failed", c.failed),
                    ("known", c.known),
                ] {
                    let entry = m.items.entry((s.name.clone(), outcome)).or_default();
                    *entry += n.max(0) as u64;
                }
                let errors = (c.sources_failed + c.failed).max(0) as u64;
                *m.source_errors.entry(s.name.clone()).or_default() += errors;
                if let Some(secs) = s.fetch_seconds {
                    m.fetch_latency
                        .entry(s.name.clone())
                        .or_default()
                        .observe(secs);
                }
            }
        });
    }

    fn run_failed(&self, trigger: Trigger, _error: &str) {
        self.with(|m| *m.runs.entry((trigger.as_str(), "failed")).or_default() += 1);
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Escapes a label value (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RunCounts, SourceReport};

    #[test]
    fn counts_and_histogram_accumulate() {
        let m = Metrics::new();
        let report = RunReport {
            run_id: 1,
            counts: RunCounts::default(),
            sources: vec![SourceReport {
                name: "a\"b".into(),
                status: crate::model::SourceStatus::Ok,
                counts: RunCounts {
                    sources: 1,
                    stored: 2,
                    failed: 1,
                    ..RunCounts::default()
                },
                fetch_seconds: Some(0.3),
            }],
            interrupted: false,
        };
        m.run_finished(Trigger::Manual, &report);
        m.run_finished(Trigger::Schedule, &report);
        let text = m.render(&[], true);
        assert!(text.contains("newsdesk_runs_total{trigger=\"manual\",result=\"completed\"} 1"));
        assert!(text.contains("newsdesk_items_total{source=\"a\\\"b\",outcome=\"stored\"} 4"));
        assert!(text.contains("newsdesk_stories_stored_total 4"));
        assert!(text.contains("newsdesk_source_errors_total{source=\"a\\\"b\"} 2"));
        assert!(text.contains("le=\"0.25\"} 0"), "{text}");
        assert!(text.contains("le=\"0.5\"} 2"), "{text}");
        assert!(text.contains("newsdesk_fetch_duration_seconds_count{source=\"a\\\"b\"} 2"));
    }
}
