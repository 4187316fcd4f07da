//! systemd readiness protocol (`Type=notify`): READY=1, STATUS= lines, WATCHDOG=1 pings and
//! STOPPING=1, through the `sd-notify` crate. Every call is a no-op when `NOTIFY_SOCKET` is not
//! set, so the daemon runs the same outside systemd.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sd_notify::NotifyState;

use crate::model::{RunReport, Trigger};
use crate::schedule::RunObserver;

/// Talks to the service manager.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    /// The STATUS= line of the last run that did work, and the last idle line sent after it:
    /// an idle tick adds to the summary instead of replacing it, and repeats are not sent.
    last: Arc<Mutex<(Option<String>, Option<String>)>>,
    /// The last notification failed: a socket that is gone (or a `NOTIFY_SOCKET` set to
    /// nothing) would otherwise put a warning in the log on every watchdog ping.
    failing: Arc<AtomicBool>,
}

impl Notifier {
    /// A notifier for this process.
    pub fn new() -> Notifier {
        Notifier::default()
    }

    fn with_last<R>(&self, f: impl FnOnce(&mut (Option<String>, Option<String>)) -> R) -> R {
        // Plain strings: still usable after a panic elsewhere.
        let mut g = match self.last.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g)
    }

    fn send(&self, states: &[NotifyState]) {
        // The environment is kept (unset_env = false): changing it from a multi-threaded
        // process is unsound, and children are not spawned.
        match sd_notify::notify(false, states) {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("service manager notifications work again");
                }
            }
            Err(e) if self.failing.swap(true, Ordering::Relaxed) => {
                tracing::debug!(error = %e, "could not notify the service manager");
            }
            Err(e) => {
                let socket = std::env::var("NOTIFY_SOCKET").unwrap_or_default();
                tracing::warn!(
                    error = %e,
                    notify_socket = %socket,
                    "could not notify the service manager; further failures are logged at debug level until one succeeds"
                );
            }
        }
    }

    /// READY=1 with a status line.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A STATUS= line.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// RELOADING=1 (with the monotonic time systemd wants beside it): the config is being
    /// re-read. [`Notifier::reloaded`] ends it.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// READY=1 after a reload (applied or refused), with a status line.
    pub fn reloaded(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// STOPPING=1 with a status line.
    pub fn stopping(&self, status: &str) {
        self.send(&[NotifyState::Stopping, NotifyState::Status(status)]);
    }

    /// WATCHDOG=1.
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// The watchdog timeout systemd asked for (`WATCHDOG_USEC`), when it is meant for this
    /// process (`WATCHDOG_PID` unset or ours), as `sd_watchdog_enabled(3)` reads it.
    pub fn watchdog_timeout(&self) -> Option<Duration> {
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
        if usec == 0 {
            return None;
        }
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
                return None;
            }
        }
        Some(Duration::from_micros(usec))
    }

    /// Pings the watchdog at half its timeout until the runtime stops. The pings come from the
    /// async runtime that also drives runs and the admin endpoint, so a wedged runtime stops
    /// them and systemd restarts the service.
    pub fn spawn_watchdog(&self) -> Option<tokio::task::JoinHandle<()>> {
        let timeout = self.watchdog_timeout()?;
        let every = (timeout / 2).max(Duration::from_millis(50));
        let me = self.clone();
        tracing::info!(every = ?every, "pinging the systemd watchdog");
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                me.watchdog();
            }
        }))
    }
}

/// The STATUS= line after a run, e.g.
/// `last run 12 (schedule) 10:15:02 UTC: 7 sources (1 failed), 3 stored, 1 duplicate, 2 off topic, 0 failed`.
pub fn run_status(trigger: Trigger, report: &RunReport) -> String {
    let c = &report.counts;
    format!(
        "last run {} ({}) {}: {} sources ({} failed), {} stored, {} duplicate, {} off topic, {} failed{}",
        report.run_id,
        trigger.as_str(),
        chrono::Utc::now().format("%H:%M:%S UTC"),
        c.sources,
        c.sources_failed,
        c.stored,
        c.duplicates,
        c.off_topic,
        c.failed,
        if report.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    )
}

/// The STATUS= line after a cron tick that found nothing due.
pub fn idle_status(last_run: Option<&str>, next_due: Option<DateTime<Utc>>) -> String {
    let idle = match next_due {
        Some(t) => format!(
            "idle, next source due at {}",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        None => "idle, no source enabled".to_string(),
    };
    match last_run {
        Some(run) => format!("{run}; {idle}"),
        None => idle,
    }
}

impl RunObserver for Notifier {
    fn run_finished(&self, trigger: Trigger, report: &RunReport) {
        let line = run_status(trigger, report);
        self.with_last(|l| *l = (Some(line.clone()), None));
        self.status(&line);
    }

    fn run_idle(&self, next_due: Option<DateTime<Utc>>) {
        let line = self.with_last(|l| {
            let line = idle_status(l.0.as_deref(), next_due);
            if l.1.as_deref() == Some(line.as_str()) {
                return None;
            }
            l.1 = Some(line.clone());
            Some(line)
        });
        if let Some(line) = line {
            self.status(&line);
        }
    }

    fn run_failed(&self, trigger: Trigger, error: &str) {
        self.status(&format!("last {} run failed: {error}", trigger.as_str()));
    }
}
