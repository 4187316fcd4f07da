//! Schedule stage: the daemon loop. Wakes the pipeline on the configured cron expression and on
//! manual triggers, one run at a time, and stops cleanly on shutdown.
//!
//! Takes a [`Pipeline`], a shutdown signal and a channel of [`ManualTrigger`]s; gives nothing
//! until shutdown. Which sources a scheduled run fetches is decided by their due times in the
//! database, so a restart does not refetch everything.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::pipeline::{Pipeline, PipelineError, RunProgress, RunReport, RunRequest};
use crate::store::Trigger;

/// Checks a cron expression with the scheduler's own parser; gives the parser's reason on failure.
/// A five-field expression gets a hint (this scheduler wants seconds first), and one that
/// parses but never fires (`0 0 0 30 2 *`) is refused rather than leaving the daemon idle.
pub fn validate_cron(expr: &str) -> Result<(), String> {
    if expr.split_whitespace().count() == 5 {
        return Err(format!(
            "invalid cron expression '{expr}': six fields are needed, seconds first \
             (for example '0 {expr}')"
        ));
    }
    Job::new_async(expr, |_, _| Box::pin(async {}))
        .map_err(|e| format!("invalid cron expression '{expr}': {e}"))?;
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr);
    // Only what the scheduler's own parser accepted is asked; anything else it accepts is kept.
    if let Ok(cron) = parsed {
        if cron.find_next_occurrence(&Utc::now(), false).is_err() {
            return Err(format!(
                "cron expression '{expr}' never fires (no matching date)"
            ));
        }
    }
    Ok(())
}

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
    /// Called after every run that completed.
    fn run_finished(&self, trigger: Trigger, report: &RunReport);
    /// Called when a run could not happen at all (database down).
    fn run_failed(&self, _trigger: Trigger, _error: &str) {}
}

/// Runs the daemon until `shutdown` turns true. Does one scheduled run at start (sources whose
/// due time passed while the daemon was down), then one per cron firing.
pub async fn run_daemon(
    pipeline: Arc<Pipeline>,
    mut shutdown: watch::Receiver<bool>,
    mut manual: mpsc::Receiver<ManualTrigger>,
    observer: Option<Arc<dyn RunObserver>>,
) -> Result<(), ScheduleError> {
    let cron = pipeline.config().schedule.cron.clone();
    // Capacity 1: firings that come while a run is going are folded into one pending run.
    let (tick_tx, mut tick_rx) = mpsc::channel::<()>(1);
    let sched = JobScheduler::new()
        .await
        .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    let job_tx = tick_tx.clone();
    let job = Job::new_async(cron.as_str(), move |_, _| {
        let tx = job_tx.clone();
        Box::pin(async move {
            let _ = tx.try_send(());
        })
    })
    .map_err(|e| ScheduleError::Scheduler(e.to_string()))?;
    sched
        .add(job)
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
        }
    };
    let mut sched = sched;
    if let Err(e) = sched.shutdown().await {
        tracing::warn!(error = %e, "scheduler did not shut down cleanly");
    }
    tracing::info!("daemon stopped");
    result
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
