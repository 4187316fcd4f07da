//! The daemon as a whole, and its only entry point ([`run`]): the schedule's cron loop, the
//! admin endpoint ([`admin`]), metrics ([`metrics`]) and the systemd readiness protocol
//! ([`systemd`]), wired together.
//!
//! Takes a config, an open store (migrations done) and a shutdown signal; gives nothing until
//! shutdown. READY=1 is sent once the sources are synced and the admin endpoint is bound, before
//! the start-up run. A reload request (SIGHUP) re-reads the config file, checks it, and switches
//! the daemon to it between runs; a refused file leaves the running config in force.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub mod admin;
pub mod metrics;
pub mod protocol;
pub mod systemd;

use crate::config::ListenAddr;
use crate::config::{Config, ConfigError};
use crate::model::{RunReport, Trigger};
use crate::pipeline::{Pipeline, PipelineError};
use crate::schedule::{self, Reload, RunObserver, ScheduleError};
use crate::store::Store;
use admin::{AdminError, AdminState};
use metrics::Metrics;
use systemd::Notifier;

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
    /// The desk's own listener (`web.listen`) could not be bound.
    #[error("{0}")]
    Web(String),
}

/// Where the daemon re-reads its config from when asked to (SIGHUP, `systemctl reload`).
pub struct ReloadRequests {
    /// The config file the daemon started with.
    pub path: PathBuf,
    /// One message per request.
    pub requests: mpsc::Receiver<()>,
}

/// Why a reload was refused (the running config stays in force).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The file does not pass the config check.
    #[error("config refused: {0}")]
    Config(#[from] ConfigError),
    /// The config passes the check but the pipeline cannot be built from it.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The daemon loop could not switch to it.
    #[error("{0}")]
    Apply(String),
}

/// What differs between two configs, as log-ready phrases: what a reload applies, and what
/// takes a restart (storage and the admin endpoint's address and token).
pub fn config_changes(old: &Config, new: &Config) -> (Vec<String>, Vec<String>) {
    let mut applied = Vec::new();
    let mut restart = Vec::new();
    let sections: [(&str, bool); 5] = [
        ("schedule", old.schedule != new.schedule),
        ("http", old.http != new.http),
        ("topic", old.topic != new.topic),
        ("dedup", old.dedup != new.dedup),
        (
            "admin.health_max_age",
            old.admin.health_max_age != new.admin.health_max_age,
        ),
    ];
    applied.extend(
        sections
            .iter()
            .filter(|(_, changed)| *changed)
            .map(|(name, _)| format!("{name} changed")),
    );
    for (name, changed) in [
        ("storage", old.storage != new.storage),
        ("admin.listen", old.admin.listen != new.admin.listen),
        ("admin.token", old.admin.token != new.admin.token),
    ] {
        if changed {
            restart.push(name.to_string());
        }
    }
    for src in &new.sources {
        match old.source(&src.name) {
            None => applied.push(format!(
                "source '{}' added{}",
                src.name,
                if src.enabled { "" } else { " (disabled)" }
            )),
            Some(before) if before.enabled && !src.enabled => {
                applied.push(format!("source '{}' disabled", src.name))
            }
            Some(before) if !before.enabled && src.enabled => {
                applied.push(format!("source '{}' enabled", src.name))
            }
            Some(before) if before != src => applied.push(format!("source '{}' changed", src.name)),
            Some(_) => {}
        }
    }
    for src in &old.sources {
        if new.source(&src.name).is_none() {
            applied.push(format!("source '{}' removed", src.name));
        }
    }
    (applied, restart)
}

/// Where a reload got to.
enum ReloadStep {
    /// The file was refused or the pipeline could not be built: nothing changed.
    Refused(ReloadError),
    /// The config passed, but the daemon loop could not switch to it.
    NotApplied(ReloadError),
}

/// Checks the file and builds a pipeline from it, tells systemd the reload is done (a run in
/// progress may take minutes; systemd must not wait for it), then has the daemon loop switch
/// to it when no run is going.
async fn reload_once(
    path: &std::path::Path,
    current: &Config,
    store: &Arc<dyn Store>,
    to_loop: &mpsc::Sender<Reload>,
    notifier: &Notifier,
) -> Result<(Arc<Config>, String), ReloadStep> {
    let new = Arc::new(Config::load(path).map_err(|e| ReloadStep::Refused(e.into()))?);
    let (applied, restart) = config_changes(current, &new);
    let pipeline = Arc::new(
        Pipeline::new(new.clone(), store.clone()).map_err(|e| ReloadStep::Refused(e.into()))?,
    );
    let summary = if applied.is_empty() {
        "no changes".to_string()
    } else {
        applied.join("; ")
    };
    if !restart.is_empty() {
        tracing::warn!(
            keys = %restart.join(", "),
            "config reload: these settings take effect only after a restart"
        );
    }
    notifier.reloaded(&format!(
        "config accepted ({summary}); applies from the next run"
    ));
    let stopped =
        || ReloadStep::NotApplied(ReloadError::Apply("the daemon loop has stopped".into()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    to_loop
        .send(Reload {
            pipeline,
            applied: tx,
        })
        .await
        .map_err(|_| stopped())?;
    rx.await
        .map_err(|_| stopped())?
        .map_err(|e| ReloadStep::NotApplied(ReloadError::Apply(e)))?;
    Ok((new, summary))
}

/// Serves reload requests until they end: each re-reads the file and, when it passes, switches
/// the daemon loop and the admin endpoint to it; otherwise logs why and keeps the running one.
async fn serve_reloads(
    mut reloads: ReloadRequests,
    mut current: Arc<Config>,
    store: Arc<dyn Store>,
    to_loop: mpsc::Sender<Reload>,
    config_tx: watch::Sender<Arc<Config>>,
    notifier: Notifier,
) {
    while reloads.requests.recv().await.is_some() {
        notifier.reloading();
        let file = reloads.path.display().to_string();
        tracing::info!(file = %file, "reload requested: re-reading the config");
        match reload_once(&reloads.path, &current, &store, &to_loop, &notifier).await {
            Ok((new, summary)) => {
                let enabled = new.sources.iter().filter(|s| s.enabled).count();
                tracing::info!(
                    file = %file,
                    changes = %summary,
                    sources = enabled,
                    "config reloaded; applies from the next run"
                );
                current = new.clone();
                config_tx.send_replace(new);
                notifier.status(&format!("config reloaded ({summary}); {enabled} source(s)"));
            }
            Err(ReloadStep::Refused(ReloadError::Config(e))) => {
                tracing::error!(
                    file = %e.file.display(),
                    key = %e.key,
                    reason = %e.reason,
                    "config reload refused; the running config stays in force"
                );
                notifier.reloaded(&format!("config reload refused: {e}; running config kept"));
            }
            Err(ReloadStep::Refused(e)) => {
                tracing::error!(
                    file = %file,
                    error = %e,
                    "config reload refused; the running config stays in force"
                );
                notifier.reloaded(&format!("config reload refused: {e}; running config kept"));
            }
            Err(ReloadStep::NotApplied(e)) => {
                tracing::error!(
                    file = %file,
                    error = %e,
                    "config reload failed; the running config stays in force"
                );
                notifier.status(&format!("config reload failed: {e}; running config kept"));
            }
        }
    }
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

    fn run_idle(&self, next_due: Option<chrono::DateTime<chrono::Utc>>) {
        for o in &self.0 {
            o.run_idle(next_due);
        }
    }
}

/// Runs the daemon until `shutdown` turns true; with `reloads`, re-reads the config on each
/// request.
pub async fn run(
    config: Arc<Config>,
    store: Arc<dyn Store>,
    shutdown: watch::Receiver<bool>,
    reloads: Option<ReloadRequests>,
) -> Result<(), DaemonError> {
    let pipeline = Arc::new(Pipeline::new(config.clone(), store.clone())?);
    pipeline.sync_sources().await?;
    let metrics = Arc::new(Metrics::new());
    let notifier = Notifier::new();
    let (manual_tx, manual_rx) = mpsc::channel(4);
    let (config_tx, config_rx) = watch::channel(config.clone());
    let started_at = chrono::Utc::now();

    let mut admin_task = None;
    let mut admin_at = String::from("off");
    if !config.admin.listen.is_empty() {
        let addr = ListenAddr::parse(&config.admin.listen).map_err(DaemonError::Listen)?;
        let state = AdminState {
            config: config.clone(),
            current: config_rx.clone(),
            started_at,
            store: store.clone(),
            manual: manual_tx.clone(),
            metrics: metrics.clone(),
        };
        let srv = admin::bind(&addr, state).await?;
        admin_at = srv.local_addr();
        tracing::info!(listen = %admin_at, "admin endpoint listening");
        admin_task = Some(tokio::spawn(srv.serve(shutdown.clone())));
    }
    if let Some(listen) = &config.web.listen {
        let state = AdminState {
            config: config.clone(),
            current: config_rx.clone(),
            started_at,
            store: store.clone(),
            manual: manual_tx.clone(),
            metrics: metrics.clone(),
        };
        let web = crate::desk::web::bind(listen, state)
            .await
            .map_err(DaemonError::Web)?;
        tracing::info!(listen = %web.local_addr(), "desk listening (web.listen)");
        tokio::spawn(web.serve(shutdown.clone()));
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

    let (reload_tx, reload_rx) = mpsc::channel(1);
    let reload_task = reloads.map(|r| {
        tokio::spawn(serve_reloads(
            r,
            config.clone(),
            store.clone(),
            reload_tx,
            config_tx,
            notifier.clone(),
        ))
    });

    let observer: Arc<dyn RunObserver> =
        Arc::new(Observers(vec![metrics.clone(), Arc::new(notifier.clone())]));
    let result =
        schedule::cron_loop(pipeline, shutdown, manual_rx, reload_rx, Some(observer)).await;
    if let Some(task) = reload_task {
        task.abort();
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("t.toml")).expect("config")
    }

    const TWO: &str = "[[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.com/a\"\n\
                       [[sources]]\nname = \"b\"\nkind = \"feed\"\nurl = \"https://example.com/b\"\n";

    #[test]
    fn changes_name_sections_and_sources() {
        let old = parse(TWO);
        assert_eq!(config_changes(&old, &old), (vec![], vec![]));
        let new = parse(
            "[topic]\nthreshold = 9.0\n[storage]\nurl = \"sqlite://other.db\"\n\
             [[sources]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.com/a\"\n\
             enabled = false\n\
             [[sources]]\nname = \"c\"\nkind = \"feed\"\nurl = \"https://example.com/c\"\n",
        );
        let (applied, restart) = config_changes(&old, &new);
        assert_eq!(
            applied,
            [
                "topic changed",
                "source 'a' disabled",
                "source 'c' added",
                "source 'b' removed"
            ]
        );
        assert_eq!(restart, ["storage"]);
        let moved = parse(&TWO.replace("example.com/b", "example.org/b"));
        assert_eq!(config_changes(&old, &moved).0, ["source 'b' changed"]);
    }
}
