//! Pipeline: one run over the due sources, each item to exactly one outcome.
//!
//! Takes the config, a [`Store`] and a [`RunRequest`]; gives a [`RunReport`]. Per source:
//! fetch (conditional GET) → list items → skip known items unfetched → fetch the article →
//! extract → duplicate checks (canonical URL, fingerprint, near-duplicate) → topic → store.
//! Every item ends as `stored`, `duplicate`, `off_topic` or `failed`, written with its event in
//! one transaction; a failing source or item never stops the run.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tokio::sync::{watch, Mutex};
use url::Url;

use crate::config::{Config, DedupConfig, SourceConfig, SourceKind};
use crate::dedup::{
    self, ClusterParams, EventClusterer, EventTerms, NearDupIndex, NearDupSignature,
    StoryFingerprint,
};
use crate::extract::{self, Article};
use crate::fetch::{FetchError, FetchOptions, Fetched, Fetcher, Validators};
use crate::source::{self, SourceItem};
use crate::store::{
    Event, EventScope, InsertOutcome, ItemRetry, NewStory, Outcome, RunCounts, SeenItem,
    SourceState, SourceUpdate, Store, StoreError, Trigger,
};
use crate::topic::{TopicError, TopicMatcher, TopicVerdict};

const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                           application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";
/// How a full disk is named in statuses and logs (it is in [`StoreError::DiskFull`]'s text).
const DISK_FULL: &str = "disk full";
const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";

/// Why a run could not happen at all (a failing source is not one of these).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Fetch(#[from] FetchError),
    /// The topic rules are unusable.
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A source named on the command line is not in the config.
    #[error("no source named '{0}' in the config")]
    UnknownSource(String),
    /// A source's extraction rules do not parse.
    #[error("source '{source_name}': {error}")]
    SiteRules {
        /// The source.
        source_name: String,
        /// What is wrong.
        error: extract::SiteRuleError,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Schedule or manual.
    pub trigger: Trigger,
    /// Only these sources (all configured ones when empty).
    pub sources: Vec<String>,
    /// Fetch even sources that are not due yet (manual runs).
    pub force: bool,
}

/// How one source's part of a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// `ok`, `not_modified`, `failed: …` or `busy` (held by another run).
    pub status: String,
    /// Item counts for this source.
    pub counts: RunCounts,
    /// How long the source's own fetch took (not its articles), when it was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_seconds: Option<f64>,
}

/// What a run reports while it goes (for `newsdesk fetch` progress through the admin endpoint).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunProgress {
    /// The run started and leased this many sources.
    Started {
        /// Run id in the store.
        run_id: i64,
        /// Sources leased by this run.
        sources: usize,
    },
    /// One source is done.
    SourceDone {
        /// Its report.
        report: SourceReport,
    },
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    /// Run id in the store; 0 for a scheduled tick that found nothing due (no run recorded).
    pub run_id: i64,
    /// Totals.
    pub counts: RunCounts,
    /// One entry per source considered.
    pub sources: Vec<SourceReport>,
    /// Set when a shutdown stopped the run early.
    pub interrupted: bool,
}

impl RunReport {
    /// A scheduled tick that found nothing due: not a run (nothing recorded, nothing fetched).
    pub fn is_idle(&self) -> bool {
        self.run_id == 0
    }
}

/// What would happen to one item (also used by `newsdesk preview`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItemDecision {
    /// The announced URL.
    pub url: String,
    /// Title (article's, else feed's).
    pub title: Option<String>,
    /// `stored`, `duplicate`, `off_topic`, `failed`, or `known` (skipped unfetched).
    pub outcome: String,
    /// Why.
    pub reason: String,
    /// Topic score or similarity.
    pub score: Option<f64>,
}

/// The stages, wired once and reused by every run.
pub struct Pipeline {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    topic: TopicMatcher,
    near_dup: Mutex<DedupState>,
    /// Extraction rules of the sources that have any, parsed once.
    site_rules: HashMap<String, Arc<extract::SiteRules>>,
    owner: String,
}

/// The in-memory dedup state: near-duplicate index and event clusters, both rebuilt from the
/// store (so a restart loses nothing) and topped up from it before each check (so stories
/// stored by another process count too).
struct DedupState {
    index: NearDupIndex,
    clusters: EventClusterer,
    /// Highest story id whose signature was read into `index`.
    index_max_id: i64,
    /// Highest story id read into `clusters`.
    clusters_max_id: i64,
}

impl DedupState {
    /// Empty index and clusterer with the config's thresholds.
    fn new(config: &DedupConfig, topic: &crate::config::TopicConfig) -> DedupState {
        let window = chrono::Duration::from_std(config.cluster_window)
            .unwrap_or_else(|_| ClusterParams::default().window);
        let mut clusters = EventClusterer::new(ClusterParams {
            threshold: config.cluster_threshold,
            recluster_threshold: config.recluster_threshold,
            window,
            ..ClusterParams::default()
        });
        // Every stored story names the topic's required terms: they tell no event apart.
        clusters.ignore_terms(topic.required.iter().flatten().map(String::as_str));
        DedupState {
            index: NearDupIndex::with_threshold(config.near_duplicate_threshold),
            clusters,
            index_max_id: 0,
            clusters_max_id: 0,
        }
    }
}

/// Where an item's processing ended before the store.
enum Verdict {
    Known,
    Duplicate {
        of: i64,
        reason: String,
        score: Option<f64>,
    },
    OffTopic(TopicVerdict),
    /// `retry`: not marked seen, so a later run tries again (until it is given up);
    /// `permanent`: an HTTP status that will not change (404, 410, 451).
    Failed {
        reason: String,
        retry: bool,
        permanent: bool,
    },
    /// Failed before and not due for another attempt yet.
    Deferred(DateTime<Utc>),
    Store(Box<NewStory>, TopicVerdict),
}

/// How an item left the pipeline.
enum ItemEnd {
    /// Already seen: skipped without fetching, no event.
    Known,
    /// Failed before and waiting for its next attempt: skipped, no event.
    Deferred,
    /// Reached an outcome, recorded with its event; `retried` when it had failed before (so it
    /// is not a new item of the source).
    Done { outcome: Outcome, retried: bool },
}

/// HTTP statuses that mean the article is gone for good: retrying them is bounded tightly.
const PERMANENT_ITEM_STATUSES: &[u16] = &[404, 410, 451];

struct ItemContext {
    title: Option<String>,
    url: String,
    seen: SeenItem,
}

impl ItemContext {
    /// What is known of an item before fetching it; its canonical URL is dedup's level 1 key.
    fn of(cfg: &SourceConfig, item: &SourceItem) -> ItemContext {
        ItemContext {
            title: item.title.as_deref().map(source::clean_line),
            url: item.url.to_string(),
            seen: SeenItem {
                source: cfg.name.clone(),
                guid: item.guid.clone(),
                canonical_url: dedup::canonical_url(&item.url),
            },
        }
    }
}

impl Pipeline {
    /// Wires the stages for `config` over `store`.
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>) -> Result<Pipeline, PipelineError> {
        let fetcher = Fetcher::new(&config.http)?;
        let topic = TopicMatcher::new(&config.topic)?;
        let owner = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        let near_dup = Mutex::new(DedupState::new(&config.dedup, &config.topic));
        let mut site_rules = HashMap::new();
        for src in &config.sources {
            let rules = extract::SiteRules::new(src.body_selector.as_deref(), &src.drop_selectors)
                .map_err(|error| PipelineError::SiteRules {
                    source_name: src.name.clone(),
                    error,
                })?;
            if !rules.is_empty() {
                site_rules.insert(src.name.clone(), Arc::new(rules));
            }
        }
        Ok(Pipeline {
            config,
            store,
            fetcher,
            topic,
            near_dup,
            site_rules,
            owner,
        })
    }

    /// The store this pipeline writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Writes the configured sources into the store.
    pub async fn sync_sources(&self) -> Result<(), PipelineError> {
        self.store
            .sync_sources(
                &self.config.sources,
                self.config.schedule.min_interval,
                Utc::now(),
            )
            .await?;
        Ok(())
    }

    /// One run. A `true` on `shutdown` stops starting new sources and items; those in flight
    /// finish.
    pub async fn run(
        &self,
        req: &RunRequest,
        shutdown: watch::Receiver<bool>,
    ) -> Result<RunReport, PipelineError> {
        self.run_with_progress(req, shutdown, None).await
    }

    /// [`Pipeline::run`], telling `progress` when the run starts and as each source ends.
    pub async fn run_with_progress(
        &self,
        req: &RunRequest,
        shutdown: watch::Receiver<bool>,
        progress: Option<&tokio::sync::mpsc::UnboundedSender<RunProgress>>,
    ) -> Result<RunReport, PipelineError> {
        for name in &req.sources {
            if self.config.source(name).is_none() {
                return Err(PipelineError::UnknownSource(name.clone()));
            }
        }
        let enabled: Vec<String> = self
            .config
            .sources
            .iter()
            .filter(|s| s.enabled && (req.sources.is_empty() || req.sources.contains(&s.name)))
            .map(|s| s.name.clone())
            .collect();
        let now = Utc::now();
        // A scheduled run leases a batch at a time (one `concurrency` worth queued beside the
        // ones in flight) until nothing is due, so several daemons share a big pass. A forced
        // run takes all its sources at once: a source it finds held is reported busy rather than
        // fetched again once the other run releases it. `wanted` shrinks as sources are leased.
        let batch = if req.force {
            usize::MAX
        } else {
            self.config.schedule.concurrency.max(1)
        };
        let mut wanted = enabled.clone();
        let first = self.lease_next(&mut wanted, req.force, batch).await?;
        if first.is_empty() && req.trigger == Trigger::Schedule {
            // A cron tick with nothing due is not a run: nothing is recorded or reported.
            tracing::debug!(trigger = req.trigger.as_str(), "nothing due");
            return Ok(RunReport {
                run_id: 0,
                counts: RunCounts::default(),
                sources: Vec::new(),
                interrupted: *shutdown.borrow(),
            });
        }
        // Leases of a run that cannot start run out by themselves (`schedule.lease`).
        let run_id = match self.store.start_run(req.trigger, now).await {
            Ok(id) => id,
            Err(e) => {
                if e.is_disk_full() {
                    self.store
                        .set_write_error(Some(format!("run not started: {e}")));
                }
                return Err(e.into());
            }
        };
        // Runs of processes that died (kill -9, power loss) would stay "running" forever.
        match self
            .store
            .claim_run_and_mark_abandoned(run_id, &self.owner, now, self.config.schedule.lease)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::warn!(runs = n, "marked runs of dead processes abandoned"),
            Err(e) => tracing::warn!(error = %e, "could not look for abandoned runs"),
        }
        tracing::info!(
            run_id,
            trigger = req.trigger.as_str(),
            first_batch = first.len(),
            "run started"
        );
        if let Some(p) = progress {
            // Exact for a forced run (all leased at once); for a scheduled one, the sources
            // that may still be due bound it from above.
            let _ = p.send(RunProgress::Started {
                run_id,
                sources: first.len() + wanted.len(),
            });
        }
        let queue: VecDeque<SourceState> = first.into();
        // Set by the first write that fails for want of space: every later write would fail
        // too, so nothing new is started and the leased sources are only released.
        let halt = AtomicBool::new(false);
        let halt = &halt;
        let leased = stream::unfold((queue, wanted), |(mut queue, mut wanted)| {
            let stopping = *shutdown.borrow() || halt.load(Ordering::SeqCst);
            async move {
                if queue.is_empty() && !stopping {
                    match self.lease_next(&mut wanted, req.force, batch).await {
                        Ok(next) => queue.extend(next),
                        Err(e) => {
                            tracing::error!(run_id, error = %e, "leasing sources failed");
                            wanted.clear();
                        }
                    }
                }
                let next = queue.pop_front()?;
                Some((next, (queue, wanted)))
            }
        });
        let mut reports: Vec<SourceReport> = leased
            .map(|state| {
                let shutdown = shutdown.clone();
                async move {
                    let report = self
                        .run_source(run_id, req.trigger, state, shutdown, halt)
                        .await;
                    if let Some(p) = progress {
                        let _ = p.send(RunProgress::SourceDone {
                            report: report.clone(),
                        });
                    }
                    report
                }
            })
            .buffer_unordered(self.config.schedule.concurrency)
            .collect()
            .await;
        // Sources wanted but held by another run (a manual fetch beside the daemon).
        if req.force {
            for name in &enabled {
                if !reports.iter().any(|r| &r.name == name) {
                    reports.push(SourceReport {
                        name: name.clone(),
                        status: "busy (being fetched by another run)".into(),
                        counts: RunCounts::default(),
                        fetch_seconds: None,
                    });
                }
            }
        }
        reports.sort_by(|a, b| a.name.cmp(&b.name));
        let mut counts = RunCounts::default();
        for r in &reports {
            counts.add(&r.counts);
        }
        if counts.stored > 0 {
            // Stories are clustered online as they arrive; with the run's stories in, the
            // window is re-clustered at once so arrival order does not decide the groups.
            if let Err(e) = self.recluster_window().await {
                tracing::warn!(run_id, error = %e, "re-clustering the event window failed");
            }
        }
        let storage_error = reports
            .iter()
            .find(|r| r.status.contains(DISK_FULL))
            .map(|r| r.status.clone());
        if let Some(e) = &storage_error {
            tracing::error!(run_id, error = %e, "storage is full: the run stopped early");
        }
        // The standing error is cleared only by a run that wrote items again.
        let wrote = counts.stored + counts.duplicates + counts.off_topic + counts.failed > 0;
        if storage_error.is_some() || wrote {
            self.store.set_write_error(storage_error.clone());
        }
        if let Err(e) = self.store.finish_run(run_id, &counts, Utc::now()).await {
            // With a full disk the run's own row may not be writable either; the report
            // still goes to the caller.
            if !e.is_disk_full() {
                return Err(e.into());
            }
            tracing::error!(run_id, error = %e, "could not record the end of the run");
        }
        let interrupted = *shutdown.borrow() || storage_error.is_some();
        tracing::info!(
            run_id,
            storage_error,
            stored = counts.stored,
            duplicates = counts.duplicates,
            off_topic = counts.off_topic,
            failed = counts.failed,
            sources_failed = counts.sources_failed,
            "run finished"
        );
        Ok(RunReport {
            run_id,
            counts,
            sources: reports,
            interrupted,
        })
    }

    /// Leases up to `limit` of the `wanted` sources and drops them from `wanted` (all of it once
    /// a lease comes back short).
    async fn lease_next(
        &self,
        wanted: &mut Vec<String>,
        force: bool,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let leased = self
            .store
            .lease_batch(
                wanted,
                force,
                &self.owner,
                Utc::now(),
                self.config.schedule.lease,
                limit,
            )
            .await?;
        if leased.len() < limit {
            // Fewer than asked: the rest are not due or held by another run; stop here.
            wanted.clear();
        } else {
            let taken: HashSet<&str> = leased.iter().map(|s| s.name.as_str()).collect();
            wanted.retain(|n| !taken.contains(n.as_str()));
        }
        Ok(leased)
    }

    async fn run_source(
        &self,
        run_id: i64,
        trigger: Trigger,
        state: SourceState,
        shutdown: watch::Receiver<bool>,
        halt: &AtomicBool,
    ) -> SourceReport {
        let mut counts = RunCounts {
            sources: 1,
            ..RunCounts::default()
        };
        let Some(cfg) = self.config.source(&state.name).cloned() else {
            // Leased names always come from the config; nothing to do otherwise.
            return SourceReport {
                name: state.name,
                status: "not configured".into(),
                counts,
                fetch_seconds: None,
            };
        };
        let started = Utc::now();
        if halt.load(Ordering::SeqCst) {
            // Leased before the disk filled up: release it untouched but for a retry time.
            let reason = format!("not fetched: {DISK_FULL} (the run stopped)");
            let update = self.failure_update(&state, started, reason.clone(), None);
            if let Err(e) = self
                .store
                .finish_source(&cfg.name, &self.owner, &update)
                .await
            {
                tracing::error!(source = %cfg.name, error = %e, "could not release the source");
            }
            return SourceReport {
                name: cfg.name,
                status: reason,
                counts,
                fetch_seconds: None,
            };
        }
        // Renewed while the source is worked on; once lost, no new item is started.
        let lost = AtomicBool::new(false);
        let lost = &lost;
        let clock = std::time::Instant::now();
        let outcome = self
            .with_heartbeat(&cfg.name, lost, self.fetch_source(&cfg, &state))
            .await;
        let fetch_seconds = Some(clock.elapsed().as_secs_f64());
        let fetch_ms = clock.elapsed().as_millis();
        let mut retry_after = None;
        let (status, mut update) = match outcome {
            Err(err) => {
                counts.sources_failed = 1;
                let reason = crate::fetch::truncate_chars(&err.to_string(), MAX_REASON_CHARS);
                tracing::warn!(
                    run_id,
                    source = %cfg.name,
                    error = %reason,
                    duration_ms = fetch_ms,
                    "source failed"
                );
                self.log_event(self.source_event(run_id, &cfg, Outcome::Failed, reason.clone()))
                    .await;
                retry_after = match &err {
                    SourceFailure::Fetch(FetchError::Status { retry_after, .. }) => *retry_after,
                    _ => None,
                };
                let update = self.failure_update(&state, started, reason.clone(), retry_after);
                (format!("failed: {reason}"), update)
            }
            Ok(None) => {
                self.log_event(self.source_event(
                    run_id,
                    &cfg,
                    Outcome::NotModified,
                    "304 Not Modified".into(),
                ))
                .await;
                let update = self.success_update(&cfg, &state, started, None, false, false);
                ("not_modified".to_string(), update)
            }
            Ok(Some((fetched, items))) => {
                let listed = items.len();
                let cap = self.config.max_items_per_run(&cfg);
                let (items, known_unfetched, left) = self.take_new_items(&cfg, items, cap).await;
                let mut reason = format!("{listed} item(s) listed");
                if left > 0 {
                    reason.push_str(&format!(
                        ", {left} new one(s) left for a later run (max_items_per_run = {cap})"
                    ));
                    tracing::info!(
                        source = %cfg.name,
                        listed,
                        taken = items.len(),
                        left,
                        max_items_per_run = cap,
                        "items left for a later run"
                    );
                }
                self.log_event(self.source_event(run_id, &cfg, Outcome::Fetched, reason))
                    .await;
                counts.items = i64::try_from(listed).unwrap_or(i64::MAX);
                counts.known = known_unfetched;
                let mut fresh = false;
                let work = stream::iter(items)
                    .map(|item| {
                        let shutdown = shutdown.clone();
                        let cfg = &cfg;
                        async move {
                            if *shutdown.borrow()
                                || halt.load(Ordering::SeqCst)
                                || lost.load(Ordering::SeqCst)
                            {
                                return Ok(None);
                            }
                            let url = crate::fetch::url_for_message(item.url.as_str());
                            let end = self.process_item(run_id, cfg, item).await;
                            if let Err(e) = &end {
                                if e.is_disk_full() {
                                    halt.store(true, Ordering::SeqCst);
                                }
                                // The item's event could not be written: the log has it.
                                tracing::error!(
                                    run_id,
                                    source = %cfg.name,
                                    url = %url,
                                    outcome = "failed",
                                    reason = %format!("database: {e}"),
                                    "item"
                                );
                            }
                            end.map(Some)
                        }
                    })
                    .buffer_unordered(self.config.schedule.item_concurrency)
                    .collect::<Vec<Result<Option<ItemEnd>, StoreError>>>();
                let results = self.with_heartbeat(&cfg.name, lost, work).await;
                // Items left for later must not hide behind a 304 next time.
                let mut complete = left == 0;
                let mut store_error = None;
                for r in results {
                    match r {
                        Ok(Some(ItemEnd::Known)) => counts.known += 1,
                        // Waiting for its next attempt: the feed must be read again for it.
                        Ok(Some(ItemEnd::Deferred)) => complete = false,
                        Ok(Some(ItemEnd::Done { outcome, retried })) => {
                            fresh |= !retried;
                            match outcome {
                                Outcome::Stored => counts.stored += 1,
                                Outcome::Duplicate => counts.duplicates += 1,
                                Outcome::OffTopic => counts.off_topic += 1,
                                // Final: no longer holds the feed's validators back.
                                Outcome::GivenUp => counts.failed += 1,
                                _ => {
                                    counts.failed += 1;
                                    complete = false;
                                }
                            }
                        }
                        // Cut off by shutdown before it started.
                        Ok(None) => complete = false,
                        Err(e) => {
                            complete = false;
                            store_error = Some(e.to_string());
                        }
                    }
                }
                // Only items never seen before count as new: an article being retried does not
                // make its source look busy.
                match store_error {
                    Some(e) => {
                        counts.sources_failed = 1;
                        let update = self.failure_update(&state, started, e.clone(), None);
                        (format!("failed: database: {e}"), update)
                    }
                    None => {
                        // Validators are kept only when every item reached a final outcome: a
                        // 304 next time must not hide an item that failed or was cut off.
                        let update = self.success_update(
                            &cfg,
                            &state,
                            started,
                            complete.then_some(&fetched.validators),
                            fresh,
                            counts.stored > 0,
                        );
                        ("ok".to_string(), update)
                    }
                }
            }
        };
        if trigger == Trigger::Manual {
            // A manual run polls out of turn: the adaptive interval and the due time stay as
            // the schedule set them (a Retry-After the server sent still pushes the due time).
            update.interval_secs = state.interval_secs;
            // Saturating, and clamped like the scheduled path: Retry-After is the server's number.
            let floor = retry_after
                .map(|ra| add_secs(started, secs_i64(ra.min(self.config.schedule.max_interval))));
            update.next_due_at = state.next_due_at.max(floor.unwrap_or(state.next_due_at));
        }
        if update.result.is_ok() {
            tracing::info!(
                run_id,
                source = %cfg.name,
                status = %status,
                items = counts.items,
                known = counts.known,
                stored = counts.stored,
                failed = counts.failed,
                duration_ms = fetch_ms,
                "source fetched"
            );
        }
        let status = if lost.load(Ordering::SeqCst) {
            // The other run owns the source state now; ours is not written.
            format!("lease lost: another run took the source over mid-run ({status} so far)")
        } else {
            if let Err(e) = self
                .store
                .finish_source(&cfg.name, &self.owner, &update)
                .await
            {
                tracing::error!(source = %cfg.name, error = %e, "could not save source state");
            }
            status
        };
        SourceReport {
            name: cfg.name,
            status,
            counts,
            fetch_seconds,
        }
    }

    /// Runs `work` while renewing this run's lease on source `name` every third of
    /// `schedule.lease`, so a run that outlasts the lease keeps its source; sets `lost` (and
    /// stops renewing) once the lease turns out to be another run's.
    async fn with_heartbeat<F: std::future::Future>(
        &self,
        name: &str,
        lost: &AtomicBool,
        work: F,
    ) -> F::Output {
        let lease = self.config.schedule.lease;
        let period = (lease / 3).max(Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tick.tick(), if !lost.load(Ordering::SeqCst) => {
                    let now = Utc::now();
                    let until = chrono::Duration::from_std(lease)
                        .ok()
                        .and_then(|d| now.checked_add_signed(d))
                        .unwrap_or(now);
                    match self.store.renew_lease(name, &self.owner, until).await {
                        Ok(true) => {}
                        Ok(false) => {
                            lost.store(true, Ordering::SeqCst);
                            tracing::warn!(
                                source = %name,
                                "lease lost: another run took the source over; no new items"
                            );
                        }
                        Err(e) => {
                            tracing::warn!(source = %name, error = %e, "could not renew the lease");
                        }
                    }
                }
            }
        }
    }

    /// At most `cap` items not seen before, newest first (undated ones after, in feed order),
    /// with the number of known items passed over and of new ones left for a later run. A feed
    /// within the cap is returned as it is.
    async fn take_new_items(
        &self,
        cfg: &SourceConfig,
        mut items: Vec<SourceItem>,
        cap: usize,
    ) -> (Vec<SourceItem>, i64, usize) {
        if items.len() <= cap {
            return (items, 0, 0);
        }
        items.sort_by_key(|i| std::cmp::Reverse(i.published_at));
        let (mut taken, mut known, mut left) = (Vec::with_capacity(cap), 0i64, 0usize);
        for item in items {
            if taken.len() >= cap {
                left += 1;
                continue;
            }
            let canonical = dedup::canonical_url(&item.url);
            let is_known = self
                .store
                .is_known(&cfg.name, item.guid.as_deref(), &canonical)
                .await;
            // A failing check keeps the item: its own processing reports the error.
            if matches!(is_known, Ok(true)) {
                known += 1;
            } else {
                taken.push(item);
            }
        }
        (taken, known, left)
    }

    /// Fetches and lists a source; `None` when it answered 304.
    async fn fetch_source(
        &self,
        cfg: &SourceConfig,
        state: &SourceState,
    ) -> Result<Option<(Fetched, Vec<SourceItem>)>, SourceFailure> {
        let url = Url::parse(&cfg.url).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
        let opts = FetchOptions {
            validators: Some(Validators {
                etag: state.etag.clone(),
                last_modified: state.last_modified.clone(),
            }),
            max_body_bytes: cfg.max_body_bytes,
            accept: Some(match cfg.kind {
                SourceKind::Feed => FEED_ACCEPT,
                SourceKind::Page => PAGE_ACCEPT,
            }),
        };
        let fetched = self.fetcher.get(&url, &opts).await?;
        if fetched.not_modified {
            return Ok(None);
        }
        let items = list_items(cfg, &fetched).await?;
        Ok(Some((fetched, items)))
    }

    /// Takes one item to its final outcome and records it.
    async fn process_item(
        &self,
        run_id: i64,
        cfg: &SourceConfig,
        item: SourceItem,
    ) -> Result<ItemEnd, StoreError> {
        let ctx = ItemContext::of(cfg, &item);
        let (verdict, title, prior) = self.judge_item(cfg, &item, &ctx).await?;
        let retried = prior.is_some();
        let mut event = Event {
            id: 0,
            run_id,
            at: Utc::now(),
            source: cfg.name.clone(),
            scope: EventScope::Item,
            outcome: Outcome::Failed,
            url: Some(ctx.url.clone()),
            title: title.or(ctx.title.clone()),
            story_id: None,
            duplicate_of: None,
            score: None,
            reason: String::new(),
        };
        let outcome = match verdict {
            Verdict::Known => return Ok(ItemEnd::Known),
            Verdict::Deferred(_) => return Ok(ItemEnd::Deferred),
            Verdict::Duplicate { of, reason, score } => {
                event.outcome = Outcome::Duplicate;
                event.duplicate_of = Some(of);
                event.reason = reason;
                event.score = score;
                self.store
                    .record_item(Some(&ctx.seen), clean_event(&mut event))
                    .await?;
                log_item(&event);
                Outcome::Duplicate
            }
            Verdict::OffTopic(v) => {
                event.outcome = Outcome::OffTopic;
                event.score = Some(v.score);
                event.reason = v.reason;
                self.store
                    .record_item(Some(&ctx.seen), clean_event(&mut event))
                    .await?;
                log_item(&event);
                Outcome::OffTopic
            }
            Verdict::Failed {
                reason,
                retry,
                permanent,
            } => {
                event.outcome = Outcome::Failed;
                event.reason = reason;
                clean_event(&mut event);
                if retry {
                    self.record_failed_attempt(&ctx, event, prior.as_ref(), permanent)
                        .await?
                } else {
                    self.store.record_item(Some(&ctx.seen), &event).await?;
                    log_item(&event);
                    Outcome::Failed
                }
            }
            Verdict::Store(story, topic) => self.store_story(*story, topic, &ctx, event).await?,
        };
        Ok(ItemEnd::Done { outcome, retried })
    }

    /// Records a failed attempt at an item: its retry state and a `failed` event, or, when its
    /// attempts are used up, a final `given_up` event (the item is then marked seen).
    async fn record_failed_attempt(
        &self,
        ctx: &ItemContext,
        mut event: Event,
        prior: Option<&ItemRetry>,
        permanent: bool,
    ) -> Result<Outcome, StoreError> {
        let now = event.at;
        let attempts = prior.map_or(0, |p| p.attempts).saturating_add(1);
        let first_failed_at = prior.map_or(now, |p| p.first_failed_at);
        match self.next_item_attempt(attempts, first_failed_at, now, permanent) {
            Some(next_attempt_at) => {
                let retry = ItemRetry {
                    attempts,
                    first_failed_at,
                    last_failed_at: now,
                    next_attempt_at,
                    last_error: event.reason.clone(),
                };
                self.store
                    .record_item_retry(&ctx.seen, &event, &retry)
                    .await?;
                log_item(&event);
                Ok(Outcome::Failed)
            }
            None => {
                let kind = if permanent { "permanent" } else { "transient" };
                event.outcome = Outcome::GivenUp;
                event.reason = format!(
                    "gave up after {attempts} attempt(s) since {} ({kind} error): {}",
                    first_failed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    event.reason
                );
                self.store.record_item(Some(&ctx.seen), &event).await?;
                log_item(&event);
                Ok(Outcome::GivenUp)
            }
        }
    }

    /// When a failed item is tried next (`None`: give it up). Permanent errors get one attempt
    /// per configured delay; transient ones repeat the last delay until `item_retry_max_age`
    /// has passed since the first failure.
    fn next_item_attempt(
        &self,
        attempts: i64,
        first_failed_at: DateTime<Utc>,
        now: DateTime<Utc>,
        permanent: bool,
    ) -> Option<DateTime<Utc>> {
        let s = &self.config.schedule;
        let retries_done = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        let delay = if permanent {
            *s.item_retry_delays.get(retries_done)?
        } else {
            let max_age = chrono::Duration::from_std(s.item_retry_max_age).ok()?;
            if now - first_failed_at >= max_age {
                return None;
            }
            s.item_retry_delays
                .get(retries_done)
                .or(s.item_retry_delays.last())
                .copied()
                .unwrap_or(s.min_interval)
        };
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        Some(
            now.checked_add_signed(delay)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    /// Near-duplicate check and insert, under one lock so that two near-copies in one run
    /// cannot both pass.
    async fn store_story(
        &self,
        story: NewStory,
        topic: TopicVerdict,
        ctx: &ItemContext,
        mut event: Event,
    ) -> Result<Outcome, StoreError> {
        let mut nd = self.near_dup.lock().await;
        self.refresh_dedup(&mut nd).await?;
        let signature = NearDupSignature::of_text(&story.text);
        if let Some((of, similarity)) = signature.as_ref().and_then(|sig| nd.index.find(sig)) {
            event.outcome = Outcome::Duplicate;
            event.duplicate_of = Some(of);
            event.score = Some(similarity);
            event.reason = format!("near-duplicate of story {of} (similarity {similarity:.2})");
            self.store
                .record_item(Some(&ctx.seen), clean_event(&mut event))
                .await?;
            log_item(&event);
            return Ok(Outcome::Duplicate);
        }
        event.outcome = Outcome::Stored;
        event.score = Some(topic.score);
        event.reason = topic.reason;
        let mut story = story;
        story.near_dup = signature.as_ref().map(NearDupSignature::to_bytes);
        // Level 4: same event, other words — a separate story in the closest cluster.
        let terms = EventTerms::of_story(story.title.as_deref(), &story.text, nd.clusters.params());
        let cluster = nd.clusters.best_cluster(&terms, story.fetched_at);
        story.cluster_id = cluster.map(|c| c.cluster_id);
        // Stories another process stored since the refresh are compared inside the insert's
        // transaction, so two runs at once cannot both store near-copies of one story.
        let threshold = nd.index.threshold();
        let sig_for_check = signature.clone();
        let check = move |stored: &[(i64, Vec<u8>)]| -> Option<(i64, f64)> {
            let sig = sig_for_check.as_ref()?;
            stored
                .iter()
                .filter_map(|(id, bytes)| {
                    let other = NearDupSignature::from_bytes(bytes)?;
                    Some((*id, sig.similarity(&other)))
                })
                .filter(|(_, s)| *s >= threshold)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        };
        let inserted = self
            .store
            .insert_story_guarded(
                &story,
                &ctx.seen,
                clean_event(&mut event),
                nd.index_max_id,
                &check,
            )
            .await?;
        match inserted {
            InsertOutcome::Stored(id) => {
                // Our own id is read again by the next refresh; both inserts ignore repeats.
                event.story_id = Some(id);
                log_item(&event);
                if let Some(sig) = &signature {
                    nd.index.insert(id, sig);
                }
                let cluster_id = story.cluster_id.unwrap_or(id);
                nd.clusters.insert(id, cluster_id, story.fetched_at, terms);
                tracing::debug!(
                    story = id,
                    cluster = cluster_id,
                    similarity = cluster.map(|c| c.similarity),
                    "story clustered"
                );
                Ok(Outcome::Stored)
            }
            InsertOutcome::Duplicate { of, key } => {
                event.outcome = Outcome::Duplicate;
                event.duplicate_of = Some(of);
                event.reason = match key {
                    "near_dup" => format!("near-duplicate of story {of} (stored by another run)"),
                    _ => format!("same {key} as story {of} (stored by another run)"),
                };
                log_item(&event);
                Ok(Outcome::Duplicate)
            }
        }
    }

    /// Fetches one source and says what would happen to each item, writing nothing.
    pub async fn preview(&self, cfg: &SourceConfig) -> Result<Vec<ItemDecision>, PreviewError> {
        let state = SourceState {
            name: cfg.name.clone(),
            kind: cfg.kind.as_str().into(),
            url: cfg.url.clone(),
            etag: None,
            last_modified: None,
            last_fetch_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_errors: 0,
            next_due_at: Utc::now(),
            interval_secs: 0,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        };
        let Some((_, mut items)) = self
            .fetch_source(cfg, &state)
            .await
            .map_err(|e| PreviewError::Source(e.to_string()))?
        else {
            return Ok(Vec::new());
        };
        // Like a run: the newest `max_items_per_run` only, without fetching the rest.
        let cap = self.config.max_items_per_run(cfg);
        if items.len() > cap {
            items.sort_by_key(|i| std::cmp::Reverse(i.published_at));
            tracing::info!(
                source = %cfg.name,
                listed = items.len(),
                max_items_per_run = cap,
                "preview shows the newest items only"
            );
            items.truncate(cap);
        }
        let decisions = stream::iter(items)
            .map(|item| async move {
                let ctx = ItemContext::of(cfg, &item);
                let (verdict, title, _) = self.judge_item(cfg, &item, &ctx).await?;
                let title = title.or(ctx.title.clone());
                let (outcome, reason, score) = match verdict {
                    Verdict::Known => ("known", "already seen; would be skipped".to_string(), None),
                    Verdict::Deferred(at) => (
                        "deferred",
                        format!("failed before; next attempt at {at}"),
                        None,
                    ),
                    Verdict::Duplicate { reason, score, .. } => ("duplicate", reason, score),
                    Verdict::OffTopic(v) => ("off_topic", v.reason, Some(v.score)),
                    Verdict::Failed { reason, .. } => ("failed", reason, None),
                    Verdict::Store(story, v) => {
                        let mut nd = self.near_dup.lock().await;
                        self.refresh_dedup(&mut nd).await?;
                        let found = NearDupSignature::of_text(&story.text)
                            .and_then(|sig| nd.index.find(&sig));
                        match found {
                            Some((of, sim)) => (
                                "duplicate",
                                format!("near-duplicate of story {of} (similarity {sim:.2})"),
                                Some(sim),
                            ),
                            None => ("stored", v.reason, Some(v.score)),
                        }
                    }
                };
                Ok::<_, StoreError>(ItemDecision {
                    url: ctx.url,
                    title,
                    outcome: outcome.to_string(),
                    reason,
                    score,
                })
            })
            .buffered(self.config.schedule.item_concurrency)
            .collect::<Vec<_>>()
            .await;
        decisions
            .into_iter()
            .map(|d| d.map_err(PreviewError::from))
            .collect()
    }

    /// Re-clusters the stories of the clustering window (complete linkage, see
    /// [`EventClusterer::recluster`]) and stores the cluster ids that changed.
    async fn recluster_window(&self) -> Result<(), StoreError> {
        let mut nd = self.near_dup.lock().await;
        self.refresh_dedup(&mut nd).await?;
        let changes = nd.clusters.recluster();
        if !changes.is_empty() {
            self.store.set_cluster_ids(&changes).await?;
        }
        tracing::info!(
            stories = nd.clusters.len(),
            moved = changes.len(),
            "event clusters re-computed"
        );
        Ok(())
    }

    /// Reads the stories stored since the last look (by this process or another) into the
    /// near-duplicate index and the event clusters; the first call rebuilds both.
    async fn refresh_dedup(&self, nd: &mut DedupState) -> Result<(), StoreError> {
        let signatures = self.store.near_dup_signatures(nd.index_max_id).await?;
        if nd.index_max_id == 0 {
            nd.index.reserve(signatures.len());
        }
        for (id, bytes) in signatures {
            // A signature of another format (an older release) is skipped, not fatal: the
            // exact keys still guard that story.
            if let Some(sig) = NearDupSignature::from_bytes(&bytes) {
                nd.index.insert(id, &sig);
            }
            nd.index_max_id = nd.index_max_id.max(id);
        }
        let now = Utc::now();
        let since = now
            .checked_sub_signed(nd.clusters.params().window)
            .unwrap_or(now);
        for s in self.store.recent_stories(nd.clusters_max_id, since).await? {
            nd.clusters_max_id = nd.clusters_max_id.max(s.id);
            if nd.clusters.contains(s.id) {
                continue;
            }
            let terms = EventTerms::of_story(s.title.as_deref(), &s.text, nd.clusters.params());
            nd.clusters
                .insert_known(s.id, s.cluster_id.unwrap_or(s.id), s.fetched_at, terms);
        }
        Ok(())
    }

    /// Everything up to the store: known? fetch, extract, exact duplicates, topic.
    async fn judge_item(
        &self,
        cfg: &SourceConfig,
        item: &SourceItem,
        ctx: &ItemContext,
    ) -> Result<(Verdict, Option<String>, Option<ItemRetry>), StoreError> {
        if self
            .store
            .is_known(&cfg.name, item.guid.as_deref(), &ctx.seen.canonical_url)
            .await?
        {
            return Ok((Verdict::Known, None, None));
        }
        let prior = self
            .store
            .item_retry(&cfg.name, &ctx.seen.canonical_url)
            .await?;
        if let Some(p) = prior.as_ref().filter(|p| p.next_attempt_at > Utc::now()) {
            return Ok((Verdict::Deferred(p.next_attempt_at), None, prior));
        }
        let (verdict, title) = self.judge_new_item(cfg, item, ctx).await?;
        Ok((verdict, title, prior))
    }

    /// [`Pipeline::judge_item`] for an item not seen before or due for another attempt.
    async fn judge_new_item(
        &self,
        cfg: &SourceConfig,
        item: &SourceItem,
        ctx: &ItemContext,
    ) -> Result<(Verdict, Option<String>), StoreError> {
        if self.config.http.respect_robots_txt && !self.fetcher.allowed_by_robots(&item.url).await {
            return Ok((
                Verdict::Failed {
                    reason: "article page disallowed by robots.txt".into(),
                    retry: false,
                    permanent: false,
                },
                None,
            ));
        }
        let opts = FetchOptions {
            validators: None,
            max_body_bytes: cfg.max_body_bytes,
            accept: Some(PAGE_ACCEPT),
        };
        let fetched = match self.fetcher.get(&item.url, &opts).await {
            Ok(f) => f,
            Err(e) => {
                let permanent = matches!(&e, FetchError::Status { status, .. }
                    if PERMANENT_ITEM_STATUSES.contains(status));
                return Ok((
                    Verdict::Failed {
                        reason: format!("article fetch: {e}"),
                        retry: true,
                        permanent,
                    },
                    None,
                ));
            }
        };
        let fetched_at = Utc::now();
        let rules = self.site_rules.get(&cfg.name).cloned();
        let article = match extract_article(
            fetched.body,
            fetched.content_type,
            fetched.url.clone(),
            rules,
            self.config.http.extract_timeout,
        )
        .await
        {
            Ok(a) => a,
            Err(reason) => {
                return Ok((
                    Verdict::Failed {
                        reason,
                        retry: true,
                        permanent: false,
                    },
                    None,
                ))
            }
        };
        let title = article
            .title
            .as_deref()
            .or(item.title.as_deref())
            .map(source::clean_line)
            .filter(|t| !t.is_empty());
        if article.text.trim().is_empty() {
            return Ok((
                Verdict::Failed {
                    reason: "no article body found on the page".into(),
                    retry: false,
                    permanent: false,
                },
                title,
            ));
        }
        let page_canonical = page_canonical_url(&article, &fetched.url);
        if page_canonical != ctx.seen.canonical_url {
            if let Some(of) = self.store.story_by_canonical_url(&page_canonical).await? {
                return Ok((
                    Verdict::Duplicate {
                        of,
                        reason: format!("page's canonical URL {page_canonical} is story {of}"),
                        score: None,
                    },
                    title,
                ));
            }
        }
        let fingerprint = StoryFingerprint::of_text(&article.text);
        if let Some(of) = self.store.story_by_fingerprint(&fingerprint.0).await? {
            return Ok((
                Verdict::Duplicate {
                    of,
                    reason: format!("same body text as story {of}"),
                    score: Some(1.0),
                },
                title,
            ));
        }
        let verdict = self
            .topic
            .evaluate(title.as_deref().unwrap_or(""), &article.text);
        if !verdict.on_topic {
            return Ok((Verdict::OffTopic(verdict), title));
        }
        // Remote text: control and bidi characters never reach the store or a terminal.
        let authors = if article.authors.is_empty() {
            item.author.iter().cloned().collect()
        } else {
            article.authors
        }
        .iter()
        .map(|a| source::clean_line(a))
        .filter(|a| !a.is_empty())
        .collect();
        let story = NewStory {
            source: cfg.name.clone(),
            url: dedup::published_url(article.canonical_url.as_deref(), &fetched.url),
            fetched_url: fetched.url.to_string(),
            dedup_key: page_canonical,
            guid: item.guid.clone(),
            title: title.clone(),
            authors,
            site_name: article.site_name,
            language: article.language,
            published_at: article.published_at.or(item.published_at),
            updated_at: article.updated_at,
            fetched_at,
            text: article.text,
            html: article.html,
            fingerprint: fingerprint.0,
            near_dup: None,
            cluster_id: None,
            topic_score: Some(verdict.score),
        };
        Ok((Verdict::Store(Box::new(story), verdict), title))
    }

    fn source_event(
        &self,
        run_id: i64,
        cfg: &SourceConfig,
        outcome: Outcome,
        reason: String,
    ) -> Event {
        Event {
            id: 0,
            run_id,
            at: Utc::now(),
            source: cfg.name.clone(),
            scope: EventScope::Source,
            outcome,
            url: Some(cfg.url.clone()),
            title: None,
            story_id: None,
            duplicate_of: None,
            score: None,
            reason,
        }
    }

    async fn log_event(&self, mut event: Event) {
        if let Err(e) = self.store.record_event(clean_event(&mut event)).await {
            tracing::error!(source = %event.source, error = %e, "could not write event");
        }
    }

    /// Next poll after a success: the interval shrinks towards the minimum when the source had
    /// new items and grows towards the maximum when it had none.
    fn success_update(
        &self,
        cfg: &SourceConfig,
        state: &SourceState,
        at: DateTime<Utc>,
        validators: Option<&Validators>,
        fresh_items: bool,
        stored: bool,
    ) -> SourceUpdate {
        let min = secs_i64(cfg.interval.unwrap_or(self.config.schedule.min_interval));
        let max = secs_i64(self.config.schedule.max_interval).max(min);
        let current = state.interval_secs.clamp(min, max);
        let interval = if fresh_items {
            (current / 2).max(min)
        } else {
            (current + current / 2).min(max)
        };
        SourceUpdate {
            fetched_at: at,
            result: Ok(()),
            etag: validators.and_then(|v| v.etag.clone()),
            last_modified: validators.and_then(|v| v.last_modified.clone()),
            next_due_at: add_secs(at, interval),
            interval_secs: interval,
            new_story_at: stored.then_some(at),
        }
    }

    /// Next poll after a failure: exponential backoff with jitter, capped at the maximum
    /// interval, never sooner than the server's Retry-After.
    fn failure_update(
        &self,
        state: &SourceState,
        at: DateTime<Utc>,
        error: String,
        retry_after: Option<Duration>,
    ) -> SourceUpdate {
        let base = secs_i64(self.config.schedule.min_interval).max(1);
        let max = secs_i64(self.config.schedule.max_interval).max(base);
        let errors = u32::try_from(state.consecutive_errors.clamp(0, 16)).unwrap_or(16);
        let backoff = base.saturating_mul(1i64 << errors).min(max);
        let jitter = rand::random_range(0..=(backoff / 10).max(1));
        let mut delay = backoff.saturating_add(jitter);
        if let Some(ra) = retry_after {
            // The server's wish is honoured up to the longest interval we ever wait: a
            // Retry-After of centuries is a broken or hostile server, not a plan.
            delay = delay.max(secs_i64(ra).min(max));
        }
        SourceUpdate {
            fetched_at: at,
            result: Err(error),
            etag: None,
            last_modified: None,
            next_due_at: add_secs(at, delay),
            interval_secs: state.interval_secs,
            new_story_at: None,
        }
    }
}

/// Longest event reason kept (a reason quotes remote text: URLs, error chains).
const MAX_REASON_CHARS: usize = 1000;

/// Makes an event's remote-derived text safe to store and show: one line without control or
/// bidi characters, the reason and URL cut to a sane length.
fn clean_event(e: &mut Event) -> &Event {
    e.reason = crate::fetch::truncate_chars(&source::clean_line(&e.reason), MAX_REASON_CHARS);
    e.title = e
        .title
        .as_deref()
        .map(source::clean_line)
        .filter(|t| !t.is_empty());
    e
}

/// Whole seconds of `d` as an `i64`, saturating (config and remote durations can be huge).
fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `at` plus `secs`, saturating at a far but storable date instead of overflowing.
fn add_secs(at: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    // A century: beyond any interval the config allows, and every store can hold the result.
    const FAR: i64 = 100 * 366 * 86_400;
    let secs = secs.clamp(-FAR, FAR);
    chrono::Duration::try_seconds(secs)
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(at)
}

/// One structured log line per item outcome: source, url, outcome, reason (and the story ids).
/// Failures are logged at warn level so `journalctl -p warning` lists them.
fn log_item(e: &Event) {
    let url = crate::fetch::url_for_message(e.url.as_deref().unwrap_or(""));
    let outcome = e.outcome.as_str();
    if matches!(e.outcome, Outcome::Failed | Outcome::GivenUp) {
        tracing::warn!(
            run_id = e.run_id,
            source = %e.source,
            url = %url,
            outcome = %outcome,
            reason = %e.reason,
            "item"
        );
    } else {
        tracing::info!(
            run_id = e.run_id,
            source = %e.source,
            url = %url,
            outcome = %outcome,
            reason = %e.reason,
            story_id = e.story_id,
            duplicate_of = e.duplicate_of,
            score = e.score,
            "item"
        );
    }
}

/// Why a preview could not list the source.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The source could not be fetched or parsed.
    #[error("source failed: {0}")]
    Source(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a whole source failed.
#[derive(Debug, thiserror::Error)]
enum SourceFailure {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] source::SourceError),
    #[error("parser task failed: {0}")]
    Task(String),
}

/// Parses a fetched source body off the async threads (feeds can be megabytes).
async fn list_items(
    cfg: &SourceConfig,
    fetched: &Fetched,
) -> Result<Vec<SourceItem>, SourceFailure> {
    let body = fetched.body.clone();
    let content_type = fetched.content_type.clone();
    let base = fetched.url.clone();
    let kind = cfg.kind;
    let selector = cfg.link_selector.clone().unwrap_or_default();
    tokio::task::spawn_blocking(move || match kind {
        SourceKind::Feed => source::parse_feed(&body, content_type.as_deref(), &base),
        SourceKind::Page => {
            let html = crate::encoding::decode_html(&body, content_type.as_deref());
            source::parse_listing(&html, &base, &selector)
        }
    })
    .await
    .map_err(|e| SourceFailure::Task(e.to_string()))?
    .map_err(SourceFailure::from)
}

/// Decodes and extracts an article page off the async threads (`scraper::Html` is not `Send`),
/// with the source's own site rules when it has any.
async fn extract_article(
    body: Vec<u8>,
    content_type: Option<String>,
    url: Url,
    rules: Option<Arc<extract::SiteRules>>,
    budget: Duration,
) -> Result<Article, String> {
    let task = tokio::task::spawn_blocking(move || {
        let html = crate::encoding::decode_html(&body, content_type.as_deref());
        let rules = rules.unwrap_or_default();
        extract::extract_within(&html, Some(&url), &rules, Some(budget))
    });
    // The budget is checked inside extraction (so the thread comes back); this outer deadline
    // is the backstop should one stage run long between two checks.
    let backstop = budget.saturating_add(budget / 2);
    match tokio::time::timeout(backstop, task).await {
        Ok(Ok(Ok(article))) => Ok(article),
        Ok(Ok(Err(e))) => Err(e.to_string()),
        Ok(Err(e)) => Err(format!("extractor failed on this page: {e}")),
        Err(_) => Err(format!("extraction took longer than {backstop:?}")),
    }
}

/// The page's own canonical URL when it names a plausible one, else the fetched URL; both
/// canonicalized. A `rel=canonical` pointing at a site's front page (a common template bug) is
/// ignored, or every article of that site would look like one story.
fn page_canonical_url(article: &Article, fetched: &Url) -> String {
    let declared = article
        .canonical_url
        .as_deref()
        .and_then(|c| fetched.join(c).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .filter(|u| u.path().trim_matches('/').len() > 1);
    dedup::canonical_url(declared.as_ref().unwrap_or(fetched))
}
