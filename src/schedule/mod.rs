//! Schedule stage: the daemon loop. Wakes the pipeline on the configured cron expression and on
//! manual triggers, one run at a time, and stops cleanly on shutdown.
//!
//! Takes a [`Pipeline`], a shutdown signal and a channel of [`ManualTrigger`]s; gives nothing
//! until shutdown. Which sources a scheduled run fetches is decided by their due times in the
//! database, so a restart does not refetch everything.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::model::{RunProgress, RunReport, Trigger};
use crate::pipeline::{Pipeline, PipelineError, RunRequest};

pub mod policy;

/// A run asked for from outside the schedule (the admin endpoint); the report is sent back.
#[derive(Debug)]
pub struct ManualTrigger {
    /// Sources to fetch (all when empty).
    pub sources: Vec<String>,
    /// Where the outcome goes.
    pub respond: oneshot::Sender<Result<RunReport, String>>,
    /// Where progress goes while the run lasts, if anyone listens.
    pub progress: Option<mpsc::UnboundedSender<RunProgress>>,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The cron scheduler failed.
    #[error("scheduler: {0}")]
    Scheduler(String),
    /// A run failed as a whole (database down).
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Observes the daemon's runs (for systemd STATUS= lines, metrics, …).
pub trait RunObserver: Send + Sync {
    /// Called after every run that completed (not after a tick that found nothing due).
    fn run_finished(&self, trigger: Trigger, report: &RunReport);
    /// Called when a run could not happen at all (database down).
    fn run_failed(&self, _trigger: Trigger, _error: &str) {}
    /// Called after a cron tick that found nothing due, with the next due time of an enabled
    /// source.
    fn run_idle(&self, _next_due: Option<DateTime<Utc>>) {}
}

/// A new config, checked and wired into a pipeline, for the daemon loop to switch to between
/// runs (SIGHUP). The loop syncs its sources into the store, then answers on `applied`.
pub struct Reload {
    /// The pipeline built from the new config.
    pub pipeline: Arc<Pipeline>,
    /// `Ok` once the loop runs with it; the reason when it kept the running one.
    pub applied: oneshot::Sender<Result<(), String>>,
}

fn cron_job(cron: &str, tick_tx: &mpsc::Sender<()>) -> Result<Job, ScheduleError> {
    let job_tx = tick_tx.clone();
    Job::new_async(cron, move |_, _| {
        let tx = job_tx.clone();
        Box::pin(async move {
            let _ = tx.try_send(());
        })
    })
    .map_err(|e| ScheduleError::Scheduler(e.to_string()))
}

/// The cron loop the daemon ([`crate::daemon::run`], the only entry point) drives: runs until
/// `shutdown` turns true. Does one scheduled run at start (sources whose due time passed while
/// the daemon was down), then one per cron firing.
pub(crate) async fn cron_loop(
    pipeline: Arc<Pipeline>,
    mut shutdown: watch::Receiver<bool>,
    mut manual: mpsc::Receiver<ManualTrigger>,
    mut reloads: mpsc::Receiver<Reload>,
    observer: Option<Arc<dyn RunObserver>>,
) -> Result<(), ScheduleError> {
    let mut pipeline = pipeline;
    let cron = pipeline.config().schedule.cron.clone();
    // Capacity 1: firings that come while a run is going are folded into one pending run.
    let (tick_tx, mut tick_rx) = mpsc::channel::<()>(1);
    let sched = JobScheduler::new()
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    let mut job_id = sched
        .add(cron_job(&cron, &tick_tx)?)
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    sched
        .start()
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    let _ = tick_tx.try_send(());
    tracing::info!(cron = %cron, "daemon started");

    let result = loop {
        if *shutdown.borrow() {
            break Ok(());
        }
        tokio::select! {
            _ = shutdown.changed() => continue,
            Some(()) = tick_rx.recv() => {
                let req = RunRequest { trigger: Trigger::Schedule, sources: Vec::new(), force: false };
                match pipeline.run(&req, shutdown.clone()).await {
                    Ok(report) if report.is_idle() => after_idle_tick(&pipeline, &observer).await,
                    Ok(report) => after_run(&pipeline, &observer, req.trigger, &report).await,
                    // A database outage ends this run, not the daemon: systemd would only
                    // restart us into the same outage.
                    Err(e) => {
                        tracing::error!(error = %e, "scheduled run failed");
                        if let Some(o) = &observer {
                            o.run_failed(req.trigger, &e.to_string());
                        }
                    }
                }
            }
            Some(trigger) = manual.recv() => {
                let req = RunRequest { trigger: Trigger::Manual, sources: trigger.sources, force: true };
                let outcome = pipeline
                    .run_with_progress(&req, shutdown.clone(), trigger.progress.as_ref())
                    .await;
                match &outcome {
                    Ok(report) => after_run(&pipeline, &observer, req.trigger, report).await,
                    Err(e) => {
                        tracing::error!(error = %e, "manual run failed");
                        if let Some(o) = &observer {
                            o.run_failed(req.trigger, &e.to_string());
                        }
                    }
                }
                let _ = trigger.respond.send(outcome.map_err(|e| e.to_string()));
            }
            Some(reload) = reloads.recv() => {
                // Between runs: the next run is the first with the new config.
                if let Err(e) = reload.pipeline.sync_sources().await {
                    let _ = reload.applied.send(Err(format!("syncing the sources: {e}")));
                    continue;
                }
                let new_cron = reload.pipeline.config().schedule.cron.clone();
                if new_cron != pipeline.config().schedule.cron {
                    // The new job first: when it cannot be added, the old one keeps firing.
                    let added = match cron_job(&new_cron, &tick_tx) {
                        Ok(job) => sched.add(job).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match added {
                        Ok(id) => {
                            if let Err(e) = sched.remove(&job_id).await {
                                tracing::warn!(error = %e, "could not remove the old cron job");
                            }
                            job_id = id;
                        }
                        Err(e) => {
                            let _ = reload.applied.send(Err(format!("schedule.cron: {e}")));
                            continue;
                        }
                    }
                }
                pipeline = reload.pipeline;
                let _ = reload.applied.send(Ok(()));
            }
        }
    };
    let mut sched = sched;
    if let Err(e) = sched.shutdown().await {
        tracing::warn!(error = %e, "scheduler did not shut down cleanly");
    }
    tracing::info!("daemon stopped");
    result
}

/// A tick with nothing due: only the observers hear of it, with the next due time.
async fn after_idle_tick(pipeline: &Pipeline, observer: &Option<Arc<dyn RunObserver>>) {
    let Some(o) = observer else {
        return;
    };
    match pipeline.store().sources().await {
        Ok(states) => {
            let next = states
                .iter()
                .filter(|s| pipeline.config().source(&s.name).is_some_and(|c| c.enabled))
                .map(|s| s.next_due_at)
                .min();
            o.run_idle(next);
        }
        Err(e) => tracing::debug!(error = %e, "could not read the next due time"),
    }
}

async fn after_run(
    pipeline: &Pipeline,
    observer: &Option<Arc<dyn RunObserver>>,
    trigger: Trigger,
    report: &RunReport,
) {
    if let Some(o) = observer {
        o.run_finished(trigger, report);
    }
    let retention = pipeline.config().storage.event_retention;
    let cutoff = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age));
    if let Some(cutoff) = cutoff {
        match pipeline.store().prune_events(cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "pruned old run events"),
            Err(e) => tracing::warn!(error = %e, "could not prune run events"),
        }
    }
}

/// When the daemon will next try a source, and why then.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NextTry {
    /// The first cron firing at or after the source's due time (`None`: not polled, or being
    /// fetched now).
    pub at: Option<DateTime<Utc>>,
    /// `interval …`, `backoff after N failed fetch(es)`, `Retry-After …`, `disabled`, …, with
    /// the due time when the cron fires later than it.
    pub reason: String,
}

/// The cron's next firing at or after `t` (the daemon wakes only then), by the scheduler's
/// own rules (six fields, seconds first, UTC).
pub fn next_cron_firing(cron: &str, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Parsing costs ~100× finding the next firing, and the desk's sources page asks for every
    // source at once: the last expression parsed is kept.
    static LAST: std::sync::Mutex<Option<(String, croner::Cron)>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.as_ref().map(|(c, _)| c.as_str()) != Some(cron) {
        let parsed = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(cron)
            .ok()?;
        *last = Some((cron.to_string(), parsed));
    }
    last.as_ref()?.1.find_next_occurrence(&t, true).ok()
}

/// The `Retry-After` seconds named in a fetch error (`HTTP 429 (Retry-After: 120s)`).
fn retry_after_in(error: &str) -> Option<i64> {
    let rest = error.split("Retry-After: ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// When and why the daemon will next try `state`'s source under `config`.
pub fn next_try(
    config: &crate::config::Config,
    state: &crate::model::SourceState,
    now: DateTime<Utc>,
) -> NextTry {
    let not_polled = |reason: &str| NextTry {
        at: None,
        reason: reason.to_string(),
    };
    let Some(cfg) = config.source(&state.name) else {
        return not_polled("not in the config");
    };
    if !cfg.enabled {
        return not_polled("disabled (enabled = false)");
    }
    if let Some(until) = state.lease_until.filter(|u| *u > now) {
        return not_polled(&format!(
            "being fetched now (lease until {})",
            until.format("%H:%M:%S UTC")
        ));
    }
    let due = state.next_due_at;
    let waited = state
        .last_fetch_at
        .map(|f| (due - f).num_seconds())
        .unwrap_or(0);
    let why = if state.consecutive_errors > 0 {
        match state.last_error.as_deref().and_then(retry_after_in) {
            // The backoff is at least the Retry-After; equal means the server's wish decided.
            Some(ra) if (waited - ra).abs() <= 1 => format!("Retry-After {ra}s from the server"),
            _ => format!(
                "backoff after {} failed fetch(es)",
                state.consecutive_errors
            ),
        }
    } else if state.last_fetch_at.is_none() {
        "never fetched".to_string()
    } else {
        format!(
            "interval {}",
            humantime::format_duration(std::time::Duration::from_secs(
                state.interval_secs.max(0).unsigned_abs()
            ))
        )
    };
    // The daemon only wakes on cron firings: the try is the first one at or after the due time.
    let at = next_cron_firing(&config.schedule.cron, due.max(now));
    let reason = if due <= now {
        format!("{why}; due now")
    } else if at.is_some_and(|a| a > due) {
        format!("{why}; due {}", due.format("%H:%M:%S"))
    } else {
        why
    };
    NextTry { at, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::SourceState;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, s)
            .single()
            .expect("valid time")
    }

    fn config() -> Config {
        Config::parse(
            "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.com/a\"\n\
             [[sources]]\nname = \"off\"\nkind = \"feed\"\nurl = \"https://example.com/b\"\n\
             enabled = false\n",
            std::path::Path::new("t.toml"),
        )
        .expect("config")
    }

    fn state(
        errors: i64,
        error: Option<&str>,
        fetched: DateTime<Utc>,
        due: DateTime<Utc>,
    ) -> SourceState {
        SourceState {
            name: "a".into(),
            kind: "feed".into(),
            url: "https://example.com/a".into(),
            etag: None,
            last_modified: None,
            last_fetch_at: Some(fetched),
            last_success_at: None,
            last_error: error.map(str::to_string),
            consecutive_errors: errors,
            next_due_at: due,
            interval_secs: 900,
            last_new_story_at: None,
            lease_owner: None,
            lease_until: None,
        }
    }

    #[test]
    fn the_next_try_is_the_first_cron_firing_at_or_after_the_due_time() {
        // Default cron: every 15 minutes on the quarter hour.
        let c = config();
        let t = next_try(
            &c,
            &state(0, None, at(10, 6, 0), at(10, 21, 0)),
            at(10, 7, 0),
        );
        assert_eq!(t.at, Some(at(10, 30, 0)));
        assert_eq!(t.reason, "interval 15m; due 10:21:00");
        let t = next_try(
            &c,
            &state(0, None, at(10, 0, 0), at(10, 15, 0)),
            at(10, 7, 0),
        );
        assert_eq!(
            (t.at, t.reason.as_str()),
            (Some(at(10, 15, 0)), "interval 15m")
        );
        let t = next_try(&c, &state(0, None, at(9, 0, 0), at(9, 15, 0)), at(10, 7, 0));
        assert_eq!(t.at, Some(at(10, 15, 0)));
        assert!(t.reason.ends_with("due now"), "{}", t.reason);
    }

    #[test]
    fn the_next_try_says_backoff_or_retry_after() {
        let c = config();
        let backoff = next_try(
            &c,
            &state(3, Some("HTTP 500"), at(10, 0, 0), at(12, 0, 0)),
            at(10, 1, 0),
        );
        assert!(backoff
            .reason
            .starts_with("backoff after 3 failed fetch(es)"));
        // The delay equals the server's Retry-After: it decided.
        let ra = next_try(
            &c,
            &state(
                1,
                Some("HTTP 429 (Retry-After: 3600s)"),
                at(10, 0, 0),
                at(11, 0, 0),
            ),
            at(10, 1, 0),
        );
        assert!(ra.reason.starts_with("Retry-After 3600s"), "{}", ra.reason);
        // A Retry-After shorter than the backoff did not decide.
        let short = next_try(
            &c,
            &state(
                4,
                Some("HTTP 503 (Retry-After: 5s)"),
                at(10, 0, 0),
                at(12, 0, 0),
            ),
            at(10, 1, 0),
        );
        assert!(
            short.reason.starts_with("backoff after 4"),
            "{}",
            short.reason
        );
    }

    #[test]
    fn disabled_and_unknown_sources_are_not_tried() {
        let c = config();
        let mut s = state(0, None, at(10, 0, 0), at(10, 15, 0));
        s.name = "off".into();
        assert_eq!(next_try(&c, &s, at(10, 1, 0)).at, None);
        s.name = "gone".into();
        assert_eq!(next_try(&c, &s, at(10, 1, 0)).reason, "not in the config");
    }
}
