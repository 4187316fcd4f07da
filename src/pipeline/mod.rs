//! Pipeline: one run over the due sources, each item to exactly one outcome.
//!
//! Takes the config, a [`Store`] and a [`RunRequest`]; gives a [`RunReport`]. Per source
//! ([`source`]): fetch (conditional GET) → list items → skip known items unfetched; per item
//! ([`item`]): fetch the article → extract → duplicate checks (canonical URL, fingerprint,
//! near-duplicate) → topic → store. Every item ends as `stored`, `duplicate`, `off_topic` or
//! `failed`, written with its event in one transaction; a failing source or item never stops
//! the run. The pipeline only orders the stages: what each decides lives in its module, the
//! polling policy in [`crate::schedule::policy`], the dedup state in [`crate::dedup::Deduper`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tokio::sync::{watch, Mutex};

use crate::config::Config;
use crate::dedup::{DedupStore, Deduper};
use crate::extract;
use crate::fetch::{FetchError, Fetcher};
use crate::model::{
    Event, RecentStory, RunCounts, RunProgress, RunReport, SourceReport, SourceState, SourceStatus,
    Trigger,
};
use crate::store::{Store, StoreError, StoryStore};
use crate::topic::{TopicError, TopicMatcher};

mod item;
mod offload;
mod preview;
mod source;

pub use preview::{preview_article, ArticlePreview, PreviewError};

/// The log target of every line the pipeline writes, its submodules' too: operators filter on
/// it and the README shows it (`INFO newsdesk::pipeline: item …`).
const LOG_TARGET: &str = "newsdesk::pipeline";

/// How a full disk is named in statuses and logs (it is in [`StoreError::DiskFull`]'s text).
const DISK_FULL: &str = "disk full";

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

/// The stages, wired once and reused by every run.
pub struct Pipeline {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    topic: TopicMatcher,
    /// Near-copies and event clusters of the stored stories (one lock: see `store_story`).
    dedup: Mutex<Deduper>,
    /// Extraction rules of the sources that have any, parsed once.
    site_rules: HashMap<String, Arc<extract::SiteRules>>,
    owner: String,
}

impl Pipeline {
    /// Wires the stages for `config` over `store`.
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>) -> Result<Pipeline, PipelineError> {
        let fetcher = Fetcher::new(&config.http)?;
        let topic = TopicMatcher::new(&config.topic)?;
        let owner = format!("{}-{:08x}", std::process::id(), rand::random::<u32>());
        // Every stored story names the topic's required terms: they tell no event apart.
        let required = config.topic.required.iter().flatten().map(String::as_str);
        let dedup = Mutex::new(Deduper::new(&config.dedup, required));
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
            dedup,
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
                        status: SourceStatus::Busy,
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
            .find(|r| storage_full(&r.status))
            .map(|r| r.status.to_string());
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

    /// Re-clusters the stories of the clustering window (complete linkage, see
    /// [`crate::dedup::EventClusterer::recluster`]) and stores the cluster ids that changed.
    async fn recluster_window(&self) -> Result<(), StoreError> {
        let mut dedup = self.dedup.lock().await;
        let (stories, moved) = dedup.recluster(&*self.store).await?;
        tracing::info!(stories, moved, "event clusters re-computed");
        Ok(())
    }

    async fn log_event(&self, mut event: Event) {
        if let Err(e) = self.store.record_event(clean_event(&mut event)).await {
            tracing::error!(source = %event.source, error = %e, "could not write event");
        }
    }
}

/// The dedup state reads the store through its own narrow trait; the pipeline, which holds
/// both, says how.
#[async_trait]
impl<'a> DedupStore for dyn Store + 'a {
    type Error = StoreError;

    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        StoryStore::near_dup_signatures(self, after_id).await
    }

    async fn recent_stories(
        &self,
        after_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentStory>, StoreError> {
        StoryStore::recent_stories(self, after_id, since).await
    }

    async fn set_cluster_ids(&self, changes: &[(i64, i64)]) -> Result<(), StoreError> {
        StoryStore::set_cluster_ids(self, changes).await
    }
}

/// Whether a source stopped because the storage is full (the run then stops too).
fn storage_full(status: &SourceStatus) -> bool {
    match status {
        SourceStatus::Failed { reason } | SourceStatus::NotFetched { reason } => {
            reason.contains(DISK_FULL)
        }
        SourceStatus::LeaseLost { so_far } => storage_full(so_far),
        _ => false,
    }
}

/// Longest event reason kept (a reason quotes remote text: URLs, error chains).
const MAX_REASON_CHARS: usize = 1000;

/// Makes an event's remote-derived text safe to store and show: one line without control or
/// bidi characters, the reason and URL cut to a sane length.
fn clean_event(e: &mut Event) -> &Event {
    e.reason =
        crate::fetch::truncate_chars(&crate::source::clean_line(&e.reason), MAX_REASON_CHARS);
    e.title = e
        .title
        .as_deref()
        .map(crate::source::clean_line)
        .filter(|t| !t.is_empty());
    e
}
