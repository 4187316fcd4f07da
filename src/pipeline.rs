//! Pipeline: one run over the due sources, each item to exactly one outcome.
//!
//! Takes the config, a [`Store`] and a [`RunRequest`]; gives a [`RunReport`]. Per source:
//! fetch (conditional GET) → list items → skip known items unfetched → fetch the article →
//! extract → duplicate checks (canonical URL, fingerprint, near-duplicate) → topic → store.
//! Every item ends as `stored`, `duplicate`, `off_topic` or `failed`, written with its event in
//! one transaction; a failing source or item never stops the run.

use std::collections::{HashMap, HashSet, VecDeque};
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
use crate::fetch::{charset, FetchError, FetchOptions, Fetched, Fetcher, Validators};
use crate::source::{self, SourceItem};
use crate::store::{
    Event, EventScope, InsertOutcome, NewStory, Outcome, RunCounts, SeenItem, SourceState,
    SourceUpdate, Store, StoreError, Trigger,
};
use crate::topic::{TopicError, TopicMatcher, TopicVerdict};

const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                           application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";
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
    /// Run id in the store.
    pub run_id: i64,
    /// Totals.
    pub counts: RunCounts,
    /// One entry per source considered.
    pub sources: Vec<SourceReport>,
    /// Set when a shutdown stopped the run early.
    pub interrupted: bool,
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
    fn new(config: &DedupConfig) -> DedupState {
        let window = chrono::Duration::from_std(config.cluster_window)
            .unwrap_or_else(|_| ClusterParams::default().window);
        DedupState {
            index: NearDupIndex::with_threshold(config.near_duplicate_threshold),
            clusters: EventClusterer::new(ClusterParams {
                threshold: config.cluster_threshold,
                recluster_threshold: config.recluster_threshold,
                window,
                ..ClusterParams::default()
            }),
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
    /// `retry`: not marked seen, so the next run tries again.
    Failed {
        reason: String,
        retry: bool,
    },
    Store(Box<NewStory>, TopicVerdict),
}

/// How an item left the pipeline.
enum ItemEnd {
    /// Already seen: skipped without fetching, no event.
    Known,
    /// Reached a final outcome, recorded with its event.
    Done(Outcome),
}

struct ItemContext {
    title: Option<String>,
    url: String,
    seen: SeenItem,
}

impl ItemContext {
    /// What is known of an item before fetching it; its canonical URL is dedup's level 1 key.
    fn of(cfg: &SourceConfig, item: &SourceItem) -> ItemContext {
        ItemContext {
            title: item.title.clone(),
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
        let near_dup = Mutex::new(DedupState::new(&config.dedup));
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
        let run_id = self.store.start_run(req.trigger, now).await?;
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
        let leased = stream::unfold((queue, wanted), |(mut queue, mut wanted)| {
            let stopping = *shutdown.borrow();
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
                    let report = self.run_source(run_id, state, shutdown).await;
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
        self.store.finish_run(run_id, &counts, Utc::now()).await?;
        let interrupted = *shutdown.borrow();
        tracing::info!(
            run_id,
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
        state: SourceState,
        shutdown: watch::Receiver<bool>,
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
        let clock = std::time::Instant::now();
        let outcome = self.fetch_source(&cfg, &state).await;
        let fetch_seconds = Some(clock.elapsed().as_secs_f64());
        let (status, update) = match outcome {
            Err(err) => {
                counts.sources_failed = 1;
                let reason = err.to_string();
                tracing::warn!(source = %cfg.name, error = %reason, "source failed");
                self.log_event(self.source_event(run_id, &cfg, Outcome::Failed, reason.clone()))
                    .await;
                let retry_after = match &err {
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
                self.log_event(self.source_event(
                    run_id,
                    &cfg,
                    Outcome::Fetched,
                    format!("{} item(s) listed", items.len()),
                ))
                .await;
                counts.items = items.len() as i64;
                let results: Vec<Result<Option<ItemEnd>, StoreError>> = stream::iter(items)
                    .map(|item| {
                        let shutdown = shutdown.clone();
                        let cfg = &cfg;
                        async move {
                            if *shutdown.borrow() {
                                return Ok(None);
                            }
                            self.process_item(run_id, cfg, item).await.map(Some)
                        }
                    })
                    .buffer_unordered(self.config.schedule.item_concurrency)
                    .collect()
                    .await;
                let mut complete = true;
                let mut store_error = None;
                for r in results {
                    match r {
                        Ok(Some(ItemEnd::Known)) => counts.known += 1,
                        Ok(Some(ItemEnd::Done(Outcome::Stored))) => counts.stored += 1,
                        Ok(Some(ItemEnd::Done(Outcome::Duplicate))) => counts.duplicates += 1,
                        Ok(Some(ItemEnd::Done(Outcome::OffTopic))) => counts.off_topic += 1,
                        Ok(Some(ItemEnd::Done(_))) => {
                            counts.failed += 1;
                            complete = false;
                        }
                        // Cut off by shutdown before it started.
                        Ok(None) => complete = false,
                        Err(e) => {
                            complete = false;
                            store_error = Some(e.to_string());
                        }
                    }
                }
                let fresh = counts.items > counts.known;
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
        if let Err(e) = self
            .store
            .finish_source(&cfg.name, &self.owner, &update)
            .await
        {
            tracing::error!(source = %cfg.name, error = %e, "could not save source state");
        }
        SourceReport {
            name: cfg.name,
            status,
            counts,
            fetch_seconds,
        }
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
        let (verdict, title) = self.judge_item(cfg, &item, &ctx).await?;
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
            Verdict::Duplicate { of, reason, score } => {
                event.outcome = Outcome::Duplicate;
                event.duplicate_of = Some(of);
                event.reason = reason;
                event.score = score;
                self.store.record_item(Some(&ctx.seen), &event).await?;
                log_item(&event);
                Outcome::Duplicate
            }
            Verdict::OffTopic(v) => {
                event.outcome = Outcome::OffTopic;
                event.score = Some(v.score);
                event.reason = v.reason;
                self.store.record_item(Some(&ctx.seen), &event).await?;
                log_item(&event);
                Outcome::OffTopic
            }
            Verdict::Failed { reason, retry } => {
                event.outcome = Outcome::Failed;
                event.reason = reason;
                let seen = (!retry).then_some(&ctx.seen);
                self.store.record_item(seen, &event).await?;
                log_item(&event);
                Outcome::Failed
            }
            Verdict::Store(story, topic) => self.store_story(*story, topic, &ctx, event).await?,
        };
        Ok(ItemEnd::Done(outcome))
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
            self.store.record_item(Some(&ctx.seen), &event).await?;
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
            .insert_story_guarded(&story, &ctx.seen, &event, nd.index_max_id, &check)
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
        let Some((_, items)) = self
            .fetch_source(cfg, &state)
            .await
            .map_err(|e| PreviewError::Source(e.to_string()))?
        else {
            return Ok(Vec::new());
        };
        let decisions = stream::iter(items)
            .map(|item| async move {
                let ctx = ItemContext::of(cfg, &item);
                let (verdict, title) = self.judge_item(cfg, &item, &ctx).await?;
                let title = title.or(ctx.title.clone());
                let (outcome, reason, score) = match verdict {
                    Verdict::Known => ("known", "already seen; would be skipped".to_string(), None),
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
        let Some(changes) = nd.clusters.recluster() else {
            tracing::warn!(
                stories = nd.clusters.len(),
                max = crate::dedup::RECLUSTER_MAX_STORIES,
                "event window too large to re-cluster: online clusters kept"
            );
            return Ok(());
        };
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
        let since = Utc::now() - nd.clusters.params().window;
        for s in self.store.recent_stories(nd.clusters_max_id, since).await? {
            nd.clusters_max_id = nd.clusters_max_id.max(s.id);
            if nd.clusters.contains(s.id) {
                continue;
            }
            let terms = EventTerms::of_story(s.title.as_deref(), &s.text, nd.clusters.params());
            nd.clusters
                .insert(s.id, s.cluster_id.unwrap_or(s.id), s.fetched_at, terms);
        }
        Ok(())
    }

    /// Everything up to the store: known? fetch, extract, exact duplicates, topic.
    async fn judge_item(
        &self,
        cfg: &SourceConfig,
        item: &SourceItem,
        ctx: &ItemContext,
    ) -> Result<(Verdict, Option<String>), StoreError> {
        if self
            .store
            .is_known(&cfg.name, item.guid.as_deref(), &ctx.seen.canonical_url)
            .await?
        {
            return Ok((Verdict::Known, None));
        }
        if self.config.http.respect_robots_txt && !self.fetcher.allowed_by_robots(&item.url).await {
            return Ok((
                Verdict::Failed {
                    reason: "article page disallowed by robots.txt".into(),
                    retry: false,
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
                return Ok((
                    Verdict::Failed {
                        reason: format!("article fetch: {e}"),
                        retry: true,
                    },
                    None,
                ))
            }
        };
        let fetched_at = Utc::now();
        let rules = self.site_rules.get(&cfg.name).cloned();
        let article = match extract_article(
            fetched.body,
            fetched.content_type,
            fetched.url.clone(),
            rules,
        )
        .await
        {
            Ok(a) => a,
            Err(reason) => {
                return Ok((
                    Verdict::Failed {
                        reason,
                        retry: true,
                    },
                    None,
                ))
            }
        };
        let title = article.title.clone().or_else(|| item.title.clone());
        if article.text.trim().is_empty() {
            return Ok((
                Verdict::Failed {
                    reason: "no article body found on the page".into(),
                    retry: false,
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
        let authors = if article.authors.is_empty() {
            item.author.iter().cloned().collect()
        } else {
            article.authors
        };
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

    async fn log_event(&self, event: Event) {
        if let Err(e) = self.store.record_event(&event).await {
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
        let min = cfg
            .interval
            .unwrap_or(self.config.schedule.min_interval)
            .as_secs() as i64;
        let max = (self.config.schedule.max_interval.as_secs() as i64).max(min);
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
            next_due_at: at + chrono::Duration::seconds(interval),
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
        let base = self.config.schedule.min_interval.as_secs().max(1) as i64;
        let max = self.config.schedule.max_interval.as_secs() as i64;
        let errors = state.consecutive_errors.clamp(0, 16) as u32;
        let backoff = base
            .saturating_mul(1i64 << errors.min(20))
            .min(max.max(base));
        let jitter = rand::random_range(0..=(backoff / 10).max(1));
        let mut delay = backoff + jitter;
        if let Some(ra) = retry_after {
            delay = delay.max(ra.as_secs() as i64);
        }
        SourceUpdate {
            fetched_at: at,
            result: Err(error),
            etag: None,
            last_modified: None,
            next_due_at: at + chrono::Duration::seconds(delay),
            interval_secs: state.interval_secs,
            new_story_at: None,
        }
    }
}

/// One structured log line per item outcome: source, url, outcome, reason (and the story ids).
/// Failures are logged at warn level so `journalctl -p warning` lists them.
fn log_item(e: &Event) {
    let url = e.url.as_deref().unwrap_or("");
    let outcome = e.outcome.as_str();
    if e.outcome == Outcome::Failed {
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
            let html = charset::decode_html(&body, content_type.as_deref());
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
) -> Result<Article, String> {
    tokio::task::spawn_blocking(move || {
        let html = charset::decode_html(&body, content_type.as_deref());
        match rules {
            Some(rules) => extract::extract_with(&html, Some(&url), &rules),
            None => extract::extract(&html, Some(&url)),
        }
    })
    .await
    .map_err(|e| format!("extractor failed on this page: {e}"))
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
