//! `newsdesk run` as a process: a run at start, clean exit on SIGTERM, and due times kept in the
//! database so a restart does not refetch everything.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use newsdesk::store::{self, Store};
use testkit::site::FixtureSite;

fn spawn_daemon(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn daemon")
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

async fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "daemon did not exit within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `n` runs have finished.
async fn wait_runs(store: &dyn Store, n: usize, limit: Duration) -> Vec<newsdesk::model::Run> {
    let start = Instant::now();
    loop {
        let runs = store.runs(100, None).await.expect("runs");
        let done: Vec<_> = runs
            .into_iter()
            .filter(|r| r.finished_at.is_some())
            .collect();
        if done.len() >= n {
            return done;
        }
        assert!(
            start.elapsed() < limit,
            "only {} run(s) finished",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_runs_at_start_stops_on_sigterm_and_remembers_due_times() {
    let site = FixtureSite::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("daemon.db");
    let config = dir.path().join("newsdesk.toml");
    // Wake every second: after the start-up run nothing is due for 15 minutes.
    let toml = site
        .config_toml(&db)
        .replace("cron = \"0 */15 * * * *\"", "cron = \"* * * * * *\"");
    std::fs::write(&config, toml).expect("write config");

    let mut daemon = spawn_daemon(&config);
    let store: Box<dyn Store> = {
        let start = Instant::now();
        loop {
            if db.exists() {
                if let Ok(s) = store::open(&format!("sqlite://{}", db.display())).await {
                    break s;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no database");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let runs = wait_runs(store.as_ref(), 1, Duration::from_secs(60)).await;
    let first = runs.iter().min_by_key(|r| r.id).expect("first run");
    assert_eq!(first.trigger.as_str(), "schedule");
    assert_eq!(first.counts.stored, 5, "{first:?}");
    // Later firings find nothing due: they are not runs, nothing is recorded or fetched.
    let hits = site.article_hits.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(store.runs(100, None).await.expect("runs").len(), 1);
    assert_eq!(
        site.article_hits.load(std::sync::atomic::Ordering::SeqCst),
        hits
    );

    sigterm(&daemon);
    let status = wait_exit(&mut daemon, Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status:?}");

    // A restart finds nothing due: no source or article is fetched again, no run recorded.
    let before = store.runs(10, None).await.expect("runs").len();
    let mut again = spawn_daemon(&config);
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert!(
        again.try_wait().expect("try_wait").is_none(),
        "daemon exited"
    );
    assert_eq!(store.runs(10, None).await.expect("runs").len(), before);
    assert_eq!(
        site.article_hits.load(std::sync::atomic::Ordering::SeqCst),
        hits
    );
    sigterm(&again);
    assert!(wait_exit(&mut again, Duration::from_secs(30))
        .await
        .success());
}
