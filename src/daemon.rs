//! The daemon as a whole: the schedule loop, the admin endpoint, metrics and the systemd
//! readiness protocol, wired together.
//!
//! Takes a config, an open store (migrations done) and a shutdown signal; gives nothing until
//! shutdown. READY=1 is sent once the sources are synced and the admin endpoint is bound, before
//! the start-up run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::admin::server::{self, AdminError, AdminState};
use crate::admin::ListenAddr;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::pipeline::{Pipeline, PipelineError, RunReport};
use crate::schedule::{self, RunObserver, ScheduleError};
use crate::store::{Store, Trigger};

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The pipeline could not be built or the sources not synced.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The admin endpoint could not start.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// The schedule loop failed.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// The config names a bad admin address (config validation normally catches this).
    #[error("admin.listen: {0}")]
    Listen(String),
}

/// Hands each run to several observers.
struct Observers(Vec<Arc<dyn RunObserver>>);

impl RunObserver for Observers {
    fn run_finished(&self, trigger: Trigger, report: &RunReport) {
        for o in &self.0 {
            o.run_finished(trigger, report);
        }
    }

    fn run_failed(&self, trigger: Trigger, error: &str) {
        for o in &self.0 {
            o.run_failed(trigger, error);
        }
    }
}

/// Runs the daemon until `shutdown` turns true.
pub async fn run(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), DaemonError> {
    let pipeline = Arc::new(Pipeline::new(config.clone(), store.clone())?);
    pipeline.sync_sources().await?;
    let metrics = Arc::new(Metrics::new());
    let notifier = Notifier::new();
    let (manual_tx, manual_rx) = mpsc::channel(4);

    let mut admin_task = None;
    let mut admin_at = String::from("off");
    if !config.admin.listen.is_empty() {
        let addr = ListenAddr::parse(&config.admin.listen).map_err(DaemonError::Listen)?;
        let state = AdminState {
            config: config.clone(),
            store: store.clone(),
            manual: manual_tx.clone(),
            metrics: metrics.clone(),
        };
        let srv = server::bind(&addr, state).await?;
        admin_at = srv.local_addr();
        tracing::info!(listen = %admin_at, "admin endpoint listening");
        admin_task = Some(tokio::spawn(srv.serve(shutdown.clone())));
    }
    drop(manual_tx);

    let enabled = config.sources.iter().filter(|s| s.enabled).count();
    notifier.ready(&format!(
        "ready: {enabled} source(s), schedule '{}', admin {admin_at}",
        config.schedule.cron
    ));
    let watchdog = notifier.spawn_watchdog();
    let stopping = {
        let mut rx = shutdown.clone();
        let n = notifier.clone();
        tokio::spawn(async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
            n.stopping("stopping: finishing in-flight stories");
        })
    };

    let observer: Arc<dyn RunObserver> =
        Arc::new(Observers(vec![metrics.clone(), Arc::new(notifier.clone())]));
    let result = schedule::run_daemon(pipeline, shutdown, manual_rx, Some(observer)).await;

    if let Some(task) = admin_task {
        // Open /fetch streams end when their run does; give slow clients a moment.
        if tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .is_err()
        {
            tracing::warn!("admin endpoint did not close within 5s");
        }
    }
    if let Some(w) = watchdog {
        w.abort();
    }
    if !stopping.is_finished() {
        stopping.abort();
        notifier.stopping("stopping");
    }
    result.map_err(DaemonError::from)
}
