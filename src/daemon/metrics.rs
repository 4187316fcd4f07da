//! Metrics of the daemon, exposed through the `prometheus-client` crate: the Prometheus text
//! format (version 0.0.4) by default, OpenMetrics 1.0 when the scraper asks for it.
//!
//! Fed by the daemon's [`RunObserver`]: run counts, items by outcome per source, errors per
//! source, a histogram of source fetch latency. Per-source state that lives in the database
//! (last success, consecutive errors) is read at scrape time so it is right after a restart too.

use chrono::Utc;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::model::{RunReport, SourceState, Trigger};
use crate::schedule::RunObserver;

/// Upper bounds (seconds) of the fetch latency histogram buckets.
pub const FETCH_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// `newsdesk_runs_total`'s labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RunLabels {
    trigger: &'static str,
    result: &'static str,
}

/// `newsdesk_items_total`'s labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ItemLabels {
    source: String,
    outcome: &'static str,
}

/// The label of the per-source series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

fn fetch_histogram() -> Histogram {
    Histogram::new(FETCH_BUCKETS.iter().copied())
}

/// The text formats a scrape can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// The Prometheus text format, version 0.0.4 (what every scraper reads).
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Exposition {
    /// OpenMetrics when the `Accept` header names it (as Prometheus does when it prefers it),
    /// the Prometheus text format otherwise.
    pub fn from_accept(accept: Option<&str>) -> Exposition {
        if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
            Exposition::OpenMetrics
        } else {
            Exposition::Prometheus
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The daemon's metrics since start. The families are shared handles: a scrape registers them,
/// beside the database's view of the sources, in a registry of its own.
#[derive(Debug)]
pub struct Metrics {
    runs: Family<RunLabels, Counter>,
    /// Unix time the last run finished; 0 until one has.
    last_run_finished: Gauge<f64, std::sync::atomic::AtomicU64>,
    items: Family<ItemLabels, Counter>,
    stored: Counter,
    source_errors: Family<SourceLabel, Counter>,
    fetch_latency: Family<SourceLabel, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            runs: Family::default(),
            last_run_finished: Gauge::default(),
            items: Family::default(),
            stored: Counter::default(),
            source_errors: Family::default(),
            fetch_latency: Family::new_with_constructor(fetch_histogram),
        }
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Renders all metrics in `format`; `sources` is the store's current view of the sources,
    /// `up` whether the database answered.
    pub fn render(&self, sources: &[SourceState], up: bool, format: Exposition) -> String {
        let mut r = Registry::default();
        let up_gauge: Gauge = Gauge::default();
        up_gauge.set(i64::from(up));
        r.register(
            "newsdesk_up",
            "1 when the database answered this scrape",
            up_gauge,
        );
        // Counters are registered without `_total`: the crate adds it to the samples.
        r.register(
            "newsdesk_runs",
            "Runs since start by trigger and result",
            self.runs.clone(),
        );
        // Absent until a run finished, as a timestamp of 0 would claim one did in 1970.
        if self.last_run_finished.get() > 0.0 {
            r.register_with_unit(
                "newsdesk_last_run_finished_timestamp",
                "Unix time the last run of this daemon finished",
                Unit::Seconds,
                self.last_run_finished.clone(),
            );
        }
        r.register(
            "newsdesk_items",
            "Items by final outcome per source (known = skipped unfetched)",
            self.items.clone(),
        );
        r.register(
            "newsdesk_stories_stored",
            "Stories stored since start",
            self.stored.clone(),
        );
        r.register(
            "newsdesk_source_errors",
            "Failed source fetches plus failed items, per source",
            self.source_errors.clone(),
        );
        r.register_with_unit(
            "newsdesk_fetch_duration",
            "Latency of a source's own fetch (feed or listing page)",
            Unit::Seconds,
            self.fetch_latency.clone(),
        );
        let last_success = Family::<SourceLabel, Gauge>::default();
        let consecutive = Family::<SourceLabel, Gauge>::default();
        for s in sources {
            let label = SourceLabel {
                source: s.name.clone(),
            };
            if let Some(t) = s.last_success_at {
                last_success.get_or_create(&label).set(t.timestamp());
            }
            consecutive.get_or_create(&label).set(s.consecutive_errors);
        }
        r.register_with_unit(
            "newsdesk_source_last_success_timestamp",
            "Unix time of each source's last successful fetch",
            Unit::Seconds,
            last_success,
        );
        r.register(
            "newsdesk_source_consecutive_errors",
            "Failed fetches in a row, per source",
            consecutive,
        );
        let mut out = String::new();
        let encoded = match format {
            Exposition::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &r)
            }
            Exposition::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &r),
        };
        // Writing into a String cannot fail; the error is the formatter's only way to report.
        if encoded.is_err() {
            tracing::warn!("metrics: the exposition could not be encoded in full");
        }
        out
    }
}

/// A count from the run report as a counter step (counts are never negative; a bad one adds 0).
fn step(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl RunObserver for Metrics {
    fn run_finished(&self, trigger: Trigger, report: &RunReport) {
        self.runs
            .get_or_create(&RunLabels {
                trigger: trigger.as_str(),
                result: "completed",
            })
            .inc();
        self.last_run_finished
            .set(Utc::now().timestamp_millis() as f64 / 1000.0);
        for s in &report.sources {
            let c = &s.counts;
            for (outcome, n) in [
                ("stored", c.stored),
                ("duplicate", c.duplicates),
                ("off_topic", c.off_topic),
                ("failed", c.failed),
                ("known", c.known),
            ] {
                self.items
                    .get_or_create(&ItemLabels {
                        source: s.name.clone(),
                        outcome,
                    })
                    .inc_by(step(n));
            }
            self.stored.inc_by(step(c.stored));
            let source = SourceLabel {
                source: s.name.clone(),
            };
            self.source_errors
                .get_or_create(&source)
                .inc_by(step(c.sources_failed.saturating_add(c.failed)));
            if let Some(secs) = s.fetch_seconds {
                self.fetch_latency.get_or_create(&source).observe(secs);
            }
        }
    }

    fn run_failed(&self, trigger: Trigger, _error: &str) {
        self.runs
            .get_or_create(&RunLabels {
                trigger: trigger.as_str(),
                result: "failed",
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RunCounts, SourceReport};

    fn report() -> RunReport {
        RunReport {
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
        }
    }

    #[test]
    fn counts_and_histogram_accumulate() {
        let m = Metrics::new();
        m.run_finished(Trigger::Manual, &report());
        m.run_finished(Trigger::Schedule, &report());
        let text = m.render(&[], true, Exposition::Prometheus);
        assert!(text.contains("newsdesk_runs_total{trigger=\"manual\",result=\"completed\"} 1"));
        assert!(text.contains("newsdesk_items_total{source=\"a\\\"b\",outcome=\"stored\"} 4"));
        assert!(text.contains("newsdesk_stories_stored_total 4"));
        assert!(text.contains("newsdesk_source_errors_total{source=\"a\\\"b\"} 2"));
        assert!(text.contains("le=\"0.25\"} 0"), "{text}");
        assert!(text.contains("le=\"0.5\"} 2"), "{text}");
        assert!(text.contains("newsdesk_fetch_duration_seconds_count{source=\"a\\\"b\"} 2"));
        // The 0.0.4 format names counters with `_total` in their TYPE lines too.
        assert!(
            text.contains("# TYPE newsdesk_runs_total counter"),
            "{text}"
        );
        assert!(text.contains("# TYPE newsdesk_fetch_duration_seconds histogram"));
        assert!(text.contains("newsdesk_up 1\n"), "{text}");
        assert!(text.contains("newsdesk_last_run_finished_timestamp_seconds "));
    }

    #[test]
    fn openmetrics_when_asked_and_database_state_at_scrape_time() {
        assert_eq!(Exposition::from_accept(None), Exposition::Prometheus);
        assert_eq!(
            Exposition::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Exposition::OpenMetrics
        );
        let m = Metrics::new();
        let text = m.render(&[], false, Exposition::OpenMetrics);
        assert!(text.ends_with("# EOF\n"), "{text}");
        // OpenMetrics names the counter family without `_total`, its sample with it.
        assert!(
            text.contains("# TYPE newsdesk_stories_stored counter"),
            "{text}"
        );
        assert!(text.contains("newsdesk_stories_stored_total 0"), "{text}");
        // A family with no series yet is left out, headers and all.
        assert!(!text.contains("newsdesk_runs"), "{text}");
        assert!(text.contains("newsdesk_up 0\n"), "{text}");
        // No run yet: no finish time rather than 1970.
        assert!(!text.contains("newsdesk_last_run_finished"), "{text}");
        let state = SourceState {
            name: "a".into(),
            kind: "feed".into(),
            url: String::new(),
            etag: None,
            last_modified: None,
            last_fetch_at: None,
            last_success_at: chrono::DateTime::from_timestamp(1_800_000_000, 0),
            last_error: None,
            consecutive_errors: 3,
            next_due_at: Utc::now(),
            interval_secs: 60,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        };
        let text = m.render(&[state], true, Exposition::Prometheus);
        assert!(
            text.contains(
                "newsdesk_source_last_success_timestamp_seconds{source=\"a\"} 1800000000"
            ),
            "{text}"
        );
        assert!(text.contains("newsdesk_source_consecutive_errors{source=\"a\"} 3"));
    }
}
