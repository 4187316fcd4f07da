//! `newsdesk logs`: runs and what happened to every item, newest first; `--follow` keeps
//! printing new events, `--errors` groups the failures by source.

use std::collections::BTreeMap;
use std::io::Write as _;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use newsdesk::config::Config;
use newsdesk::model::{Event, EventScope, Outcome};
use newsdesk::store::{EventFilter, Store};

use super::{output, Format};

// `newsdesk logs`'s arguments.
#[derive(clap::Args, Debug)]
pub struct LogsArgs {
    /// Only this run.
    #[arg(long = "run", value_name = "ID")]
    run: Option<i64>,
    /// Only this source.
    #[arg(long)]
    source: Option<String>,
    /// Only this outcome.
    #[arg(long, value_enum)]
    outcome: Option<super::args::OutcomeArg>,
    /// Only events newer than this (e.g. 30m, 2h, 7d).
    #[arg(long, value_parser = parse_age)]
    since: Option<std::time::Duration>,
    /// At most this many events.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Output format (`json` with `--follow`: one object per line).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Keep printing new events as they are written (Ctrl-C stops).
    #[arg(long, conflicts_with = "errors")]
    follow: bool,
    /// Failures grouped by source: count, last error and when.
    #[arg(long)]
    errors: bool,
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("'{s}' is not a duration like 2h: {e}"))
}

/// Reads the log read-only, after checking that the run and source asked for exist.
pub async fn run(config: &Config, args: LogsArgs) -> anyhow::Result<()> {
    let LogsArgs {
        run,
        source,
        outcome,
        since,
        limit,
        format,
        follow,
        errors,
    } = args;
    let store = super::open_store_read_only(config).await?;
    // A filter naming nothing that exists is a typo, not an empty log.
    if let Some(id) = run {
        if store.runs(1, Some(id)).await?.is_empty() {
            anyhow::bail!("no run {id} in the database");
        }
    }
    if let Some(name) = &source {
        if config.source(name).is_none() && !store.sources().await?.iter().any(|s| &s.name == name)
        {
            anyhow::bail!("no source named '{name}' in the config or the database");
        }
    }
    let since = since
        .map(chrono::Duration::from_std)
        .transpose()
        .context("--since is too long")?
        .map(|d| chrono::Utc::now().checked_sub_signed(d))
        .map(|t| t.context("--since is too long"))
        .transpose()?;
    let filter = EventFilter {
        run_id: run,
        source,
        outcome: outcome.map(Outcome::from),
        since,
        after_id: None,
        limit,
    };
    if follow {
        cmd_follow(store.as_ref(), &filter, format).await
    } else if errors {
        cmd_errors(store.as_ref(), &filter, format).await
    } else {
        cmd_logs(store.as_ref(), &filter, format).await
    }
}

async fn cmd_logs(store: &dyn Store, filter: &EventFilter, format: Format) -> anyhow::Result<()> {
    let runs = store.runs(10, filter.run_id).await?;
    let events = store.events(filter).await?;
    if format == Format::Json {
        let v = serde_json::json!({ "runs": runs, "events": events });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let run_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let c = &r.counts;
            vec![
                r.id.to_string(),
                r.trigger.as_str().into(),
                output::time(Some(r.started_at)),
                match (r.finished_at, r.abandoned_at) {
                    (None, Some(_)) => "abandoned".to_string(),
                    (finished, _) => output::time(finished),
                },
                format!("{}/{}", c.sources - c.sources_failed, c.sources),
                c.stored.to_string(),
                c.duplicates.to_string(),
                c.off_topic.to_string(),
                c.failed.to_string(),
            ]
        })
        .collect();
    println!("RUNS");
    print!(
        "{}",
        output::table(
            &[
                "RUN",
                "TRIGGER",
                "STARTED",
                "FINISHED",
                "SOURCES_OK",
                "STORED",
                "DUP",
                "OFF",
                "FAILED"
            ],
            &run_rows,
            40
        )
    );
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                output::time(Some(e.at)),
                e.run_id.to_string(),
                e.source.clone(),
                e.outcome.as_str().into(),
                e.title.clone().or(e.url.clone()).unwrap_or_default(),
                e.reason.clone(),
            ]
        })
        .collect();
    println!("\nEVENTS");
    print!(
        "{}",
        output::table(
            &["AT", "RUN", "SOURCE", "OUTCOME", "ITEM", "REASON"],
            &rows,
            60
        )
    );
    Ok(())
}

/// One event as a single line (for `logs --follow`).
fn event_line(e: &Event) -> String {
    let item = e.title.clone().or(e.url.clone()).unwrap_or_default();
    format!(
        "{}  run {:<5} {:<20} {:<12} {}  {}",
        output::time(Some(e.at)),
        e.run_id,
        e.source,
        e.outcome.as_str(),
        output::escape_controls(&item.replace(['\n', '\r', '\t'], " ")),
        output::escape_controls(&e.reason.replace(['\n', '\r', '\t'], " "))
    )
}

/// `newsdesk logs --follow`: prints the last `limit` events, then new ones as they are
/// written, until Ctrl-C.
async fn cmd_follow(store: &dyn Store, filter: &EventFilter, format: Format) -> anyhow::Result<()> {
    let print = |e: &Event| -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        match format {
            Format::Json => writeln!(out, "{}", serde_json::to_string(e)?)?,
            Format::Table => writeln!(out, "{}", event_line(e))?,
        }
        out.flush()?;
        Ok(())
    };
    let mut last_id = 0;
    let mut first = store.events(filter).await?;
    first.reverse();
    for e in &first {
        print(e)?;
        last_id = last_id.max(e.id);
    }
    if first.is_empty() {
        // Start after the newest event, whatever the filter, so old ones are not replayed.
        let newest = store
            .events(&EventFilter {
                limit: 1,
                ..EventFilter::default()
            })
            .await?;
        last_id = newest.first().map_or(0, |e| e.id);
    }
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = &mut ctrl_c => return Ok(()),
            _ = tick.tick() => {}
        }
        let mut f = filter.clone();
        f.after_id = Some(last_id);
        f.since = None;
        f.limit = 1000;
        let mut batch = store.events(&f).await?;
        batch.reverse();
        for e in &batch {
            print(e)?;
            last_id = last_id.max(e.id);
        }
    }
}

/// An item given up, for `logs --errors`.
#[derive(Debug, serde::Serialize)]
struct GivenUpItem {
    url: Option<String>,
    title: Option<String>,
    at: DateTime<Utc>,
    reason: String,
}

/// Failures of one source, for `logs --errors`.
#[derive(Debug, serde::Serialize)]
struct SourceErrors {
    source: String,
    /// Failed fetches of the source, plus the items below.
    failures: usize,
    source_failures: usize,
    /// Items that failed and are still being retried (each counted once, however often).
    item_failures: usize,
    /// Items given up (each once).
    given_up: usize,
    last_at: DateTime<Utc>,
    last_error: String,
    last_url: Option<String>,
    given_up_items: Vec<GivenUpItem>,
}

/// `newsdesk logs --errors`: failures grouped by source, most first. An item counts once
/// however many attempts failed, and an item given up shows once, as given up.
async fn cmd_errors(store: &dyn Store, filter: &EventFilter, format: Format) -> anyhow::Result<()> {
    if filter
        .outcome
        .is_some_and(|o| !matches!(o, Outcome::Failed | Outcome::GivenUp))
    {
        anyhow::bail!("--errors lists failures; it cannot be combined with another --outcome");
    }
    let mut events = Vec::new();
    for outcome in [Outcome::Failed, Outcome::GivenUp] {
        let mut f = filter.clone();
        f.outcome = Some(outcome);
        f.limit = f.limit.max(100_000);
        events.extend(store.events(&f).await?);
    }
    // Newest first: the first event seen per source is its last error.
    events.sort_by_key(|e| std::cmp::Reverse(e.id));
    let given_up_urls: std::collections::HashSet<(&str, Option<&str>)> = events
        .iter()
        .filter(|e| e.outcome == Outcome::GivenUp)
        .map(|e| (e.source.as_str(), e.url.as_deref()))
        .collect();
    let mut groups: BTreeMap<String, SourceErrors> = BTreeMap::new();
    let mut items_seen = std::collections::HashSet::new();
    for e in &events {
        let g = groups
            .entry(e.source.clone())
            .or_insert_with(|| SourceErrors {
                source: e.source.clone(),
                failures: 0,
                source_failures: 0,
                item_failures: 0,
                given_up: 0,
                last_at: e.at,
                last_error: e.reason.clone(),
                last_url: e.url.clone(),
                given_up_items: Vec::new(),
            });
        match (e.scope, e.outcome) {
            (EventScope::Source, _) => g.source_failures += 1,
            (EventScope::Item, Outcome::GivenUp) => {
                if items_seen.insert((e.source.as_str(), e.url.as_deref(), true)) {
                    g.given_up += 1;
                    g.given_up_items.push(GivenUpItem {
                        url: e.url.clone(),
                        title: e.title.clone(),
                        at: e.at,
                        reason: e.reason.clone(),
                    });
                }
            }
            (EventScope::Item, _) => {
                let key = (e.source.as_str(), e.url.as_deref());
                if !given_up_urls.contains(&key) && items_seen.insert((key.0, key.1, false)) {
                    g.item_failures += 1;
                }
            }
        }
        g.failures = g.source_failures + g.item_failures + g.given_up;
    }
    let mut list: Vec<SourceErrors> = groups.into_values().collect();
    list.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.source.cmp(&b.source)));
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no failures recorded");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|g| {
            vec![
                g.source.clone(),
                g.failures.to_string(),
                g.source_failures.to_string(),
                g.item_failures.to_string(),
                g.given_up.to_string(),
                output::time(Some(g.last_at)),
                g.last_error.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &[
                "SOURCE",
                "FAILURES",
                "FETCH",
                "ITEMS",
                "GIVEN_UP",
                "LAST",
                "LAST_ERROR"
            ],
            &rows,
            80
        )
    );
    let given_up: Vec<Vec<String>> = list
        .iter()
        .flat_map(|g| {
            g.given_up_items.iter().map(|i| {
                vec![
                    output::time(Some(i.at)),
                    g.source.clone(),
                    i.url.clone().unwrap_or_default(),
                    i.reason.clone(),
                ]
            })
        })
        .collect();
    if !given_up.is_empty() {
        println!("\nGIVEN UP (not tried again)");
        print!(
            "{}",
            output::table(&["AT", "SOURCE", "ITEM", "REASON"], &given_up, 80)
        );
    }
    Ok(())
}
