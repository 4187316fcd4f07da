//! One source of a run: lease heartbeat, conditional fetch, listing, the items in parallel,
//! and the source's new state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tokio::sync::watch;
use url::Url;

use super::item::ItemEnd;
use super::offload::list_items;
use super::{Pipeline, DISK_FULL, LOG_TARGET, MAX_REASON_CHARS};
use crate::config::{SourceConfig, SourceKind};
use crate::dedup;
use crate::fetch::{FetchError, FetchOptions, Fetched, Validators};
use crate::model::{
    Event, EventScope, Outcome, RunCounts, SourceItem, SourceReport, SourceState, SourceStatus,
    SourceUpdate, Trigger,
};
use crate::schedule::policy;
use crate::source;
use crate::store::StoreError;

const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                           application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5";
/// What an article or listing page is asked for with.
pub(super) const PAGE_ACCEPT: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5";

impl Pipeline {
    pub(super) async fn run_source(
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
                status: SourceStatus::NotConfigured,
                counts,
                fetch_seconds: None,
            };
        };
        let started = Utc::now();
        if halt.load(Ordering::SeqCst) {
            // Leased before the disk filled up: release it untouched but for a retry time.
            let status = SourceStatus::NotFetched {
                reason: format!("{DISK_FULL} (the run stopped)"),
            };
            let update = self.failure_update(&state, started, status.to_string(), None);
            if let Err(e) = self
                .store
                .finish_source(&cfg.name, &self.owner, &update)
                .await
            {
                tracing::error!(
                    target: LOG_TARGET,
                    source = %cfg.name,
                    error = %e,
                    "could not release the source"
                );
            }
            return SourceReport {
                name: cfg.name,
                status,
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
                    target: LOG_TARGET,
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
                (SourceStatus::Failed { reason }, update)
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
                (SourceStatus::NotModified, update)
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
                        target: LOG_TARGET,
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
                                    target: LOG_TARGET,
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
                        let reason = format!("database: {e}");
                        (SourceStatus::Failed { reason }, update)
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
                        (SourceStatus::Ok, update)
                    }
                }
            }
        };
        if trigger == Trigger::Manual {
            // A manual run polls out of turn: the interval stays; a success moves the due time
            // one interval on, a failure leaves it (see `keep_schedule`).
            let schedule = &self.config.schedule;
            policy::keep_schedule(schedule, &mut update, &state, started, retry_after);
        }
        if update.result.is_ok() {
            tracing::info!(
                target: LOG_TARGET,
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
            SourceStatus::LeaseLost {
                so_far: Box::new(status),
            }
        } else {
            if let Err(e) = self
                .store
                .finish_source(&cfg.name, &self.owner, &update)
                .await
            {
                tracing::error!(
                    target: LOG_TARGET,
                    source = %cfg.name,
                    error = %e,
                    "could not save source state"
                );
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
    pub(super) async fn with_heartbeat<F: std::future::Future>(
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
                                target: LOG_TARGET,
                                source = %name,
                                "lease lost: another run took the source over; no new items"
                            );
                        }
                        Err(e) => {
                            tracing::warn!(
                                target: LOG_TARGET,
                                source = %name,
                                error = %e,
                                "could not renew the lease"
                            );
                        }
                    }
                }
            }
        }
    }

    /// At most `cap` items not seen before, newest first (undated ones after, in feed order),
    /// with the number of known items passed over and of new ones left for a later run. A feed
    /// within the cap is returned as it is.
    pub(super) async fn take_new_items(
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
    pub(super) async fn fetch_source(
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

    pub(super) fn source_event(
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

    /// [`policy::success_update`] with the fetch's validators (kept when `None`).
    fn success_update(
        &self,
        cfg: &SourceConfig,
        state: &SourceState,
        at: DateTime<Utc>,
        validators: Option<&Validators>,
        fresh_items: bool,
        stored: bool,
    ) -> SourceUpdate {
        let mut update = policy::success_update(
            &self.config.schedule,
            cfg.interval,
            state,
            at,
            fresh_items,
            stored,
        );
        update.etag = validators.and_then(|v| v.etag.clone());
        update.last_modified = validators.and_then(|v| v.last_modified.clone());
        update
    }

    /// [`policy::failure_update`] under this config's schedule.
    fn failure_update(
        &self,
        state: &SourceState,
        at: DateTime<Utc>,
        error: String,
        retry_after: Option<Duration>,
    ) -> SourceUpdate {
        policy::failure_update(&self.config.schedule, state, at, error, retry_after)
    }
}

/// Why a whole source failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum SourceFailure {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Parse(#[from] source::SourceError),
    #[error("parser task failed: {0}")]
    Task(String),
}
