//! `newsdesk status`: the one screen an operator reads first. Read-only: the database is opened
//! without migrating or locking, the daemon is asked through its admin endpoint.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::admin_client::{AdminClient, ClientError};
use newsdesk::config::Config;
use newsdesk::config::ListenAddr;
use newsdesk::model::{EventScope, Outcome, Run, SourceState};
use newsdesk::store::{self, EventFilter, Store};

use super::{output, Format};

/// Failed source events looked at to find when a failing streak began.
const STREAK_EVENTS: i64 = 5_000;

/// Everything `status` shows.
#[derive(Debug, Serialize)]
struct Status {
    config: String,
    daemon: Daemon,
    database: Database,
    /// The newest run that did work (an empty cron tick is not one).
    last_run: Option<Run>,
    /// A run started and not finished (in progress, or its process died).
    running: Option<Run>,
    sources: SourceCounts,
    failing_sources: Vec<FailingSource>,
    next_due: Option<NextDue>,
    stories: StoryCounts,
}

#[derive(Debug, Serialize)]
struct Daemon {
    /// `up`, `down`, `unreachable` or `off` (no `admin.listen`).
    state: &'static str,
    address: Option<String>,
    /// The daemon's `/health` answer when it gave one.
    health: Option<Value>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Database {
    url: String,
    size_bytes: Option<i64>,
    error: Option<String>,
}

#[derive(Debug, Default, Serialize)]
struct SourceCounts {
    configured: usize,
    enabled: usize,
    failing: usize,
}

#[derive(Debug, Serialize)]
struct FailingSource {
    name: String,
    consecutive_errors: i64,
    /// First failure of the current streak (`None` when its events were pruned).
    failing_since: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    next_try_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct NextDue {
    source: String,
    at: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize)]
struct StoryCounts {
    new: i64,
    published: i64,
    rejected: i64,
}

/// `newsdesk status [--format json]`.
pub async fn cmd_status(
    config: &Config,
    config_path: &std::path::Path,
    format: Format,
) -> anyhow::Result<()> {
    let daemon = ask_daemon(config).await;
    let store = store::open_read_only(&config.storage.url).await;
    let mut status = Status {
        config: config_path.display().to_string(),
        daemon,
        database: Database {
            url: store::postgres::redact_url(&config.storage.url),
            size_bytes: None,
            error: None,
        },
        last_run: None,
        running: None,
        sources: SourceCounts {
            configured: config.sources.len(),
            enabled: config.sources.iter().filter(|s| s.enabled).count(),
            failing: 0,
        },
        failing_sources: Vec::new(),
        next_due: None,
        stories: StoryCounts::default(),
    };
    match store {
        Ok(store) => {
            if let Err(e) = read_store(config, store.as_ref(), &mut status).await {
                status.database.error = Some(format!("{e:#}"));
            }
        }
        Err(e) => status.database.error = Some(e.to_string()),
    }
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render(&status, Utc::now()));
    }
    Ok(())
}

async fn ask_daemon(config: &Config) -> Daemon {
    if config.admin.listen.is_empty() {
        return Daemon {
            state: "off",
            address: None,
            health: None,
            error: Some("admin.listen is not set: the daemon cannot be asked".into()),
        };
    }
    let addr = match ListenAddr::parse(&config.admin.listen) {
        Ok(a) => a,
        Err(e) => {
            return Daemon {
                state: "unreachable",
                address: Some(config.admin.listen.clone()),
                health: None,
                error: Some(e),
            }
        }
    };
    let client = AdminClient::new(addr.clone(), config.admin.token.clone());
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        client.call(hyper::Method::GET, "/health", None),
    )
    .await;
    let (state, health, error) = match answer {
        Ok(Ok(body)) => ("up", serde_json::from_str(&body).ok(), None),
        // A 503 health answer is still a daemon answering.
        Ok(Err(ClientError::Status { status: 503, body })) => {
            ("up", serde_json::from_str(&body).ok(), None)
        }
        Ok(Err(ClientError::NotRunning { source, .. })) => (
            "down",
            None,
            Some(format!("nothing listens there ({source})")),
        ),
        Ok(Err(ClientError::Status { status: 401, .. })) => (
            "unreachable",
            None,
            Some(format!(
                "the daemon wants a bearer token: set {} (or admin.token_file)",
                newsdesk::config::ADMIN_TOKEN_ENV
            )),
        ),
        Ok(Err(e)) => ("unreachable", None, Some(e.to_string())),
        Err(_) => (
            "unreachable",
            None,
            Some("no answer within 10s".to_string()),
        ),
    };
    Daemon {
        state,
        address: Some(addr.to_string()),
        health,
        error,
    }
}

async fn read_store(config: &Config, store: &dyn Store, status: &mut Status) -> anyhow::Result<()> {
    status.database.size_bytes = Some(store.database_size().await?);
    for (s, n) in store.story_counts().await? {
        match s {
            newsdesk::model::StoryStatus::New => status.stories.new = n,
            newsdesk::model::StoryStatus::Published => status.stories.published = n,
            newsdesk::model::StoryStatus::Rejected => status.stories.rejected = n,
        }
    }
    let runs = store.runs(100, None).await?;
    status.running = runs.iter().find(|r| r.finished_at.is_none()).cloned();
    status.last_run = runs
        .iter()
        .find(|r| r.finished_at.is_some() && r.counts.sources > 0)
        .cloned();
    // Only sources the config still names and polls.
    let states: Vec<SourceState> = store
        .sources()
        .await?
        .into_iter()
        .filter(|s| config.source(&s.name).is_some_and(|c| c.enabled))
        .collect();
    status.next_due = states
        .iter()
        .min_by_key(|s| s.next_due_at)
        .map(|s| NextDue {
            source: s.name.clone(),
            at: s.next_due_at,
        });
    for s in states.iter().filter(|s| s.consecutive_errors > 0) {
        status.failing_sources.push(FailingSource {
            name: s.name.clone(),
            consecutive_errors: s.consecutive_errors,
            failing_since: failing_since(store, s).await?,
            last_success_at: s.last_success_at,
            last_error: s.last_error.clone(),
            next_try_at: s.next_due_at,
        });
    }
    status.failing_sources.sort_by(|a, b| {
        a.failing_since
            .cmp(&b.failing_since)
            .then(a.name.cmp(&b.name))
    });
    status.sources.failing = status.failing_sources.len();
    Ok(())
}

/// When the source's current failing streak began: its oldest failed fetch after its last
/// success, from the run events (`None` when those were pruned).
async fn failing_since(
    store: &dyn Store,
    s: &SourceState,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let events = store
        .events(&EventFilter {
            source: Some(s.name.clone()),
            outcome: Some(Outcome::Failed),
            since: s.last_success_at,
            limit: STREAK_EVENTS,
            ..EventFilter::default()
        })
        .await?;
    Ok(events
        .iter()
        .filter(|e| e.scope == EventScope::Source)
        .map(|e| e.at)
        .min())
}

/// `5m ago` / `in 5m`, to the second.
fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let d = humantime::format_duration(Duration::from_secs(secs.unsigned_abs())).to_string();
    if secs >= 0 {
        format!("{d} ago")
    } else {
        format!("in {d}")
    }
}

fn when(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ({})", output::time(Some(t)), relative(t, now))
}

fn run_line(r: &Run, now: DateTime<Utc>) -> String {
    let c = &r.counts;
    let at = r.finished_at.unwrap_or(r.started_at);
    format!(
        "run {} ({}) finished {}: {} source(s) ({} failed), {} item(s), {} stored, {} duplicate, \
         {} off topic, {} failed",
        r.id,
        r.trigger.as_str(),
        when(at, now),
        c.sources,
        c.sources_failed,
        c.items,
        c.stored,
        c.duplicates,
        c.off_topic,
        c.failed
    )
}

fn render(s: &Status, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let d = &s.daemon;
    let daemon = match (d.state, &d.address) {
        ("up", Some(a)) => {
            let health = d
                .health
                .as_ref()
                .and_then(|h| h["status"].as_str())
                .unwrap_or("?");
            format!("up ({a}), health {health}")
        }
        (state, Some(a)) => format!(
            "{state} ({a}): {}",
            d.error.as_deref().unwrap_or("no answer")
        ),
        (state, None) => format!("{state}: {}", d.error.as_deref().unwrap_or("")),
    };
    let _ = writeln!(out, "daemon:        {daemon}");
    let _ = writeln!(out, "config:        {}", s.config);
    let db = match (&s.database.size_bytes, &s.database.error) {
        (_, Some(e)) => format!("{} — unreadable: {e}", s.database.url),
        (Some(n), None) => format!("{} ({})", s.database.url, bytes(*n)),
        (None, None) => s.database.url.clone(),
    };
    let _ = writeln!(out, "database:      {db}");
    let last = match &s.last_run {
        Some(r) => run_line(r, now),
        None => "none yet".into(),
    };
    let _ = writeln!(out, "last run:      {last}");
    if let Some(r) = &s.running {
        let _ = writeln!(
            out,
            "running:       run {} ({}) started {}",
            r.id,
            r.trigger.as_str(),
            when(r.started_at, now)
        );
    }
    let _ = writeln!(
        out,
        "stories:       {} waiting (new), {} published, {} rejected",
        s.stories.new, s.stories.published, s.stories.rejected
    );
    let next = match &s.next_due {
        Some(n) => format!("{} at {}", n.source, when(n.at, now)),
        None => "-".into(),
    };
    let _ = writeln!(out, "next due:      {next}");
    let _ = writeln!(
        out,
        "sources:       {} configured, {} enabled, {} failing",
        s.sources.configured, s.sources.enabled, s.sources.failing
    );
    if !s.failing_sources.is_empty() {
        let rows: Vec<Vec<String>> = s
            .failing_sources
            .iter()
            .map(|f| {
                vec![
                    f.name.clone(),
                    f.failing_since
                        .map(|t| when(t, now))
                        .unwrap_or_else(|| "before the kept events".into()),
                    f.consecutive_errors.to_string(),
                    output::time(f.next_try_at.into()),
                    output::opt(f.last_error.clone()),
                ]
            })
            .collect();
        let _ = writeln!(out, "\nFAILING SOURCES");
        out.push_str(&output::table(
            &[
                "SOURCE",
                "FAILING_SINCE",
                "ERRORS",
                "NEXT_TRY",
                "LAST_ERROR",
            ],
            &rows,
            70,
        ));
    }
    out
}

/// `1.4 MiB`.
fn bytes(n: i64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n.max(0) as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ages_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        let now = Utc::now();
        assert_eq!(
            relative(now - chrono::Duration::seconds(300), now),
            "5m ago"
        );
        assert_eq!(
            relative(now + chrono::Duration::seconds(90), now),
            "in 1m 30s"
        );
    }
}
