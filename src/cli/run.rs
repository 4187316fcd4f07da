//! `newsdesk run`: the daemon, with SIGTERM/SIGINT as its shutdown and SIGHUP as reload
//! requests.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

use newsdesk::config::Config;

/// Turns SIGTERM/SIGINT into a `true` on the returned channel.
pub(super) fn shutdown_signal() -> anyhow::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight stories, then exiting"),
            _ = int.recv() => tracing::info!("SIGINT: finishing in-flight stories, then exiting"),
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}

/// Turns each SIGHUP into a reload request. Installed before anything slow so that a SIGHUP
/// during start-up is a request too, not the default action (death).
fn reload_signal() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            // A request already waiting covers this one too.
            let _ = tx.try_send(());
        }
    });
    Ok(rx)
}

/// Opens the store (migrating it) and runs the daemon until a shutdown signal.
pub async fn run(config: Arc<Config>, config_path: PathBuf) -> anyhow::Result<()> {
    let requests = reload_signal()?;
    let shutdown = shutdown_signal()?;
    let store = super::open_store(&config).await?;
    let reloads = newsdesk::daemon::ReloadRequests {
        path: config_path,
        requests,
    };
    let result = newsdesk::daemon::run(config, store.clone(), shutdown, Some(reloads)).await;
    store.close().await;
    Ok(result?)
}
