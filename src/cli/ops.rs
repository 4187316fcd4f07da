//! Operator commands: `fetch` through the daemon, `logs --follow` / `--errors`,
//! `stories publish|reject`, `export`, `sources import|export`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};

use newsdesk::admin::client::{AdminClient, ClientError};
use newsdesk::admin::FetchLine;
use newsdesk::config::Config;
use newsdesk::config::ListenAddr;
use newsdesk::model::{
    Event, Outcome, RunProgress, RunReport, SourceReport, Story, StoryStatus, Trigger,
};
use newsdesk::pipeline::{Pipeline, RunRequest};
use newsdesk::publish::{self, StoryFormat};
use newsdesk::store::{EventFilter, Store, StoryFilter};

use super::{output, Format};

/// Prints run progress on stderr: one rewritten line on a terminal, plain lines otherwise.
struct Progress {
    tty: bool,
    total: Option<usize>,
    done: usize,
    stored: i64,
    dirty: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total: None,
            done: 0,
            stored: 0,
            dirty: false,
        }
    }

    fn started(&mut self, run_id: i64, sources: usize, where_: &str) {
        self.total = Some(sources);
        if self.tty {
            self.redraw("");
        } else {
            eprintln!("run {run_id} started {where_}: {sources} source(s)");
        }
    }

    fn source_done(&mut self, r: &SourceReport) {
        self.done += 1;
        self.stored += r.counts.stored;
        if self.tty {
            self.redraw(&format!("{} {}", r.name, r.status.short()));
        } else {
            let total = self.total.map_or("?".into(), |t| t.to_string());
            eprintln!(
                "[{}/{total}] {}: {}, {} item(s), {} stored, {} duplicate, {} off topic, {} failed",
                self.done,
                r.name,
                r.status,
                r.counts.items,
                r.counts.stored,
                r.counts.duplicates,
                r.counts.off_topic,
                r.counts.failed
            );
        }
    }

    fn redraw(&mut self, last: &str) {
        let total = self.total.map_or("?".into(), |t| t.to_string());
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Ksources {}/{total} done, {} stored  {last}",
            self.done, self.stored
        );
        let _ = err.flush();
        self.dirty = true;
    }

    fn finish(&mut self) {
        if self.dirty {
            eprintln!();
            self.dirty = false;
        }
    }

    fn on_progress(&mut self, p: &RunProgress, where_: &str) {
        match p {
            RunProgress::Started { run_id, sources } => self.started(*run_id, *sources, where_),
            RunProgress::SourceDone { report } => self.source_done(report),
        }
    }
}

/// `newsdesk fetch`: through the running daemon's admin endpoint when one answers, in this
/// process otherwise. Either way the run is recorded with trigger `manual`.
pub async fn cmd_fetch(
    config: Arc<Config>,
    sources: Vec<String>,
    format: Format,
    no_daemon: bool,
) -> anyhow::Result<()> {
    if !no_daemon && !config.admin.listen.is_empty() {
        let addr = ListenAddr::parse(&config.admin.listen)
            .map_err(|e| anyhow::anyhow!("admin.listen: {e}"))?;
        let client = AdminClient::new(addr.clone(), config.admin.token.clone());
        let mut progress = Progress::new();
        let where_ = format!("in the daemon ({addr})");
        let result = client
            .fetch(&sources, |line| match line {
                FetchLine::Queued if !progress.tty => {
                    eprintln!("queued {where_}")
                }
                FetchLine::Started { run_id, sources } => {
                    progress.started(*run_id, *sources, &where_)
                }
                FetchLine::SourceDone { report } => progress.source_done(report),
                _ => {}
            })
            .await;
        progress.finish();
        match result {
            Ok(report) => return super::print_report(&report, format),
            Err(ClientError::NotRunning { addr, source }) => {
                tracing::info!(%addr, error = %source, "no daemon answers; running in this process");
            }
            Err(e) => return Err(e).context("fetch through the running daemon"),
        }
    }
    let report = fetch_in_process(config, sources).await?;
    super::print_report(&report, format)
}

async fn fetch_in_process(config: Arc<Config>, sources: Vec<String>) -> anyhow::Result<RunReport> {
    let store = super::open_store(&config).await?;
    let pipeline = Pipeline::new(config.clone(), store)?;
    pipeline.sync_sources().await?;
    let shutdown = super::shutdown_signal()?;
    let req = RunRequest {
        trigger: Trigger::Manual,
        sources,
        force: true,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        let mut progress = Progress::new();
        while let Some(p) = rx.recv().await {
            progress.on_progress(&p, "in this process");
        }
        progress.finish();
    });
    let result = pipeline.run_with_progress(&req, shutdown, Some(&tx)).await;
    drop(tx);
    let _ = printer.await;
    Ok(result?)
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
pub async fn cmd_follow(
    store: &dyn Store,
    filter: &EventFilter,
    format: Format,
) -> anyhow::Result<()> {
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
pub async fn cmd_errors(
    store: &dyn Store,
    filter: &EventFilter,
    format: Format,
) -> anyhow::Result<()> {
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
            (newsdesk::model::EventScope::Source, _) => g.source_failures += 1,
            (newsdesk::model::EventScope::Item, Outcome::GivenUp) => {
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
            (newsdesk::model::EventScope::Item, _) => {
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

/// The admin client when the config has an endpoint.
fn admin_client(config: &Config) -> anyhow::Result<Option<AdminClient>> {
    if config.admin.listen.is_empty() {
        return Ok(None);
    }
    let addr = ListenAddr::parse(&config.admin.listen)
        .map_err(|e| anyhow::anyhow!("admin.listen: {e}"))?;
    Ok(Some(AdminClient::new(addr, config.admin.token.clone())))
}

/// Sets story status through the running daemon (so the daemon's user does every database
/// write), else directly in the store. Gives how many stories changed.
async fn set_status(config: &Config, ids: &[i64], status: StoryStatus) -> anyhow::Result<u64> {
    if let Some(client) = admin_client(config)? {
        let path = match status {
            StoryStatus::Published => "/stories/publish",
            StoryStatus::Rejected => "/stories/reject",
            StoryStatus::New => anyhow::bail!("stories cannot be set back to new"),
        };
        let body = serde_json::json!({ "ids": ids });
        match client.call(hyper::Method::POST, path, Some(body)).await {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).context("reading the daemon's answer")?;
                return v["changed"]
                    .as_u64()
                    .ok_or_else(|| anyhow::anyhow!("the daemon answered {text}"));
            }
            Err(ClientError::NotRunning { .. }) => {}
            Err(e) => return Err(e).context("setting the status through the running daemon"),
        }
    }
    let store = super::open_store(config).await?;
    Ok(store.set_story_status(ids, status).await?)
}

/// `newsdesk stories publish|reject ID…`.
pub async fn cmd_set_status(
    config: &Config,
    ids: &[i64],
    status: StoryStatus,
) -> anyhow::Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let changed = set_status(config, &ids, status).await?;
    println!(
        "{changed} of {} story(ies) marked {}",
        ids.len(),
        status.as_str()
    );
    if changed < ids.len() as u64 {
        anyhow::bail!("{} id(s) name no stored story", ids.len() as u64 - changed);
    }
    Ok(())
}

/// `newsdesk export`: writes stories for a publishing system, then optionally marks them
/// published (only after the output was written in full).
pub async fn cmd_export(
    config: &Config,
    store: &dyn Store,
    filter: &StoryFilter,
    format: StoryFormat,
    output_file: Option<&Path>,
    mark_published: bool,
) -> anyhow::Result<()> {
    let stories = store.stories(filter).await?;
    let title = format!("newsdesk: {}", config.topic.name);
    let related = publish::relations(store, &stories).await?;
    let text = publish::render_related(&stories, &related, format, &title);
    match output_file {
        Some(path) => write_atomically(path, &text)?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    if mark_published && !stories.is_empty() {
        let ids: Vec<i64> = stories.iter().map(|s| s.id).collect();
        let n = set_status(config, &ids, StoryStatus::Published).await?;
        eprintln!("{n} story(ies) marked published");
    }
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the mode of the file being replaced (a config may hold a token).
            f.set_permissions(meta.permissions())?;
        }
        // On disk before the rename: a crash never leaves an empty or partial file under the
        // real name.
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    // The rename itself is durable only once the folder is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing folder {}", dir.display()))?;
    Ok(())
}

/// `newsdesk sources export`: OPML 2.0 on stdout or into a file.
pub fn cmd_sources_export(config: &Config, output_file: Option<&Path>) -> anyhow::Result<()> {
    let text = publish::opml_export(&config.sources);
    match output_file {
        Some(p) => write_atomically(p, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// `newsdesk sources import FILE.opml`: appends the file's feeds (and newsdesk pages) that are
/// not configured yet to the config file, after checking the result like any config.
pub fn cmd_sources_import(
    config_path: &Path,
    config: &Config,
    opml_path: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let opml = std::fs::read_to_string(opml_path)
        .with_context(|| format!("reading {}", opml_path.display()))?;
    let found =
        publish::opml_import(&opml).with_context(|| format!("reading {}", opml_path.display()))?;
    let plan = publish::plan_import(&config.sources, &found);
    for (s, why) in &plan.skipped {
        println!("skip  {:<24} {}  ({why})", s.title, s.url);
    }
    for s in &plan.added {
        println!("add   {:<24} {}  ({})", s.name, s.url, s.kind.as_str());
    }
    if plan.added.is_empty() {
        println!("nothing to add");
        return Ok(());
    }
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let new_text = publish::append_sources_toml(&text, &plan.added, opml_path);
    Config::parse(&new_text, config_path)
        .map_err(|e| anyhow::anyhow!("the imported sources would make the config invalid: {e}"))?;
    if dry_run {
        println!(
            "dry run: {} source(s) would be added to {}",
            plan.added.len(),
            config_path.display()
        );
        return Ok(());
    }
    write_atomically(config_path, &new_text)?;
    println!(
        "{} source(s) added to {}; reload the service to poll them \
         (systemctl reload newsdesk, or kill -HUP the daemon)",
        plan.added.len(),
        config_path.display()
    );
    Ok(())
}

/// Stories as pretty JSON, each with its relations (`also_reported_by`, `same_event`,
/// `duplicates`) beside the stored fields.
pub fn stories_json(stories: &[Story], related: &publish::Relations) -> anyhow::Result<String> {
    let lines = publish::render_related(stories, related, StoryFormat::Ndjson, "");
    let values: Vec<serde_json::Value> = lines
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    Ok(serde_json::to_string_pretty(&values)?)
}

/// The duplicates dropped for a story, for a table cell: `SOURCE (when)`, oldest first.
pub fn dropped_copies(r: Option<&publish::StoryRelations>) -> String {
    r.map(|r| {
        r.duplicates
            .iter()
            .map(|d| format!("{} ({})", d.source, output::time(Some(d.at))))
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

/// `newsdesk stories --group`: one entry per event cluster of the listed stories, newest
/// cluster first: its lead story (the cluster's first report), the other sources that
/// reported the event, and the duplicates dropped for each of its stories.
pub async fn cmd_stories_grouped(
    store: &dyn Store,
    filter: &StoryFilter,
    format: Format,
) -> anyhow::Result<()> {
    let stories = store.stories(filter).await?;
    let related = publish::relations(store, &stories).await?;
    // Clusters in the order their newest listed story appears (stories come newest first).
    let mut order: Vec<i64> = Vec::new();
    let mut members: std::collections::HashMap<i64, Vec<&Story>> = Default::default();
    for s in &stories {
        let c = s.cluster_id.unwrap_or(s.id);
        if !members.contains_key(&c) {
            order.push(c);
        }
        members.entry(c).or_default().push(s);
    }
    let mut groups = Vec::new();
    for c in order {
        let mut listed = members.remove(&c).unwrap_or_default();
        // The lead (first report) first, then the later ones.
        listed.sort_by_key(|s| s.id);
        let Some(lead) = listed.iter().min_by_key(|s| s.id).copied() else {
            continue;
        };
        let rel = related.get(&lead.id).cloned().unwrap_or_default();
        // The cluster's earliest report leads, even when the listing cut it off.
        let lead_id = rel
            .same_event
            .first()
            .map_or(lead.id, |m| m.id.min(lead.id));
        let lead_source = rel
            .same_event
            .iter()
            .find(|m| m.id == lead_id)
            .map_or(lead.source.clone(), |m| m.source.clone());
        let mut sources = vec![lead_source.clone()];
        for src in std::iter::once(&lead.source)
            .chain(rel.same_event.iter().map(|m| &m.source))
            .chain(listed.iter().flat_map(|s| {
                related
                    .get(&s.id)
                    .into_iter()
                    .flat_map(|r| r.duplicates.iter().map(|d| &d.source))
            }))
        {
            if !sources.contains(src) {
                sources.push(src.clone());
            }
        }
        let also: Vec<String> = sources.into_iter().skip(1).collect();
        let lead_story = if lead_id == lead.id { Some(lead) } else { None };
        groups.push((c, lead_id, lead_source, lead_story, listed, also));
    }
    if format == Format::Json {
        let out: Vec<serde_json::Value> = groups
            .iter()
            .map(|(c, lead_id, lead_source, _, listed, also)| {
                serde_json::json!({
                    "cluster_id": c,
                    "lead_story": lead_id,
                    "lead_source": lead_source,
                    "also_reported_by": also,
                    "stories": listed.iter().map(|s| serde_json::json!({
                        "id": s.id,
                        "source": s.source,
                        "title": s.title,
                        "url": s.url,
                        "duplicates": related.get(&s.id).map(|r| r.duplicates.clone()).unwrap_or_default(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let mut text = String::new();
    for (c, lead_id, lead_source, lead_story, listed, also) in &groups {
        let title = lead_story
            .or_else(|| listed.first().copied())
            .and_then(|s| s.title.clone())
            .unwrap_or_default();
        text.push_str(&format!(
            "cluster {c} · lead story {lead_id} ({lead_source}) · {title}\n"
        ));
        if also.is_empty() {
            text.push_str("  also reported by: (no other source)\n");
        } else {
            text.push_str(&format!("  also reported by: {}\n", also.join(", ")));
        }
        for s in listed {
            text.push_str(&format!(
                "  {:>6}  {:<16} {}  {}\n",
                s.id,
                s.source,
                output::time(s.published_at.or(Some(s.fetched_at))),
                s.title.as_deref().unwrap_or("")
            ));
            let dropped = dropped_copies(related.get(&s.id));
            if !dropped.is_empty() {
                text.push_str(&format!("          duplicates dropped: {dropped}\n"));
            }
        }
    }
    if groups.is_empty() {
        text.push_str("no stories\n");
    }
    print!("{text}");
    Ok(())
}
