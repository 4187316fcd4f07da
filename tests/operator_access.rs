//! Operators who are not root: the real binary run as `nobody` (through `runuser`) against a
//! database it may read but not write, `newsdesk status` beside a real daemon, writes going
//! through the daemon's socket shared with a group, secrets kept outside the config, and the
//! config found without `--config`.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::newsdesk_async;
use testkit::site::FixtureSite;

/// A cron expression that does not fire during a test.
const NEVER: &str = "0 0 0 1 1 *";

/// The unprivileged user and its group (Debian's `nobody`/`nogroup`).
const USER: &str = "nobody";
const GROUP: &str = "nogroup";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether the tests can switch to an unprivileged user (they need root and `runuser`).
fn can_switch_user() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let runuser = Command::new("runuser")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let group = nix::unistd::Group::from_name(GROUP)
        .ok()
        .flatten()
        .is_some();
    if !(root && runuser && group) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root with runuser and the {GROUP} group"
        );
        eprintln!("SKIPPED: needs root, runuser and a '{GROUP}' group");
    }
    root && runuser && group
}

/// A folder the unprivileged user can enter, holding a copy of the binary it can execute
/// (the build folder may sit under a home directory it cannot enter).
struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
    bin: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        chmod(&root, 0o755);
        let bin = root.join("newsdesk");
        std::fs::copy(env!("CARGO_BIN_EXE_newsdesk"), &bin).expect("copy binary");
        chmod(&bin, 0o755);
        Workspace {
            _dir: dir,
            root,
            bin,
        }
    }

    /// The binary run as `nobody`, with only the environment given.
    fn as_user(&self, config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", USER, "--"])
            .arg(&self.bin)
            .arg("--config")
            .arg(config)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("RUST_LOG", "warn")
            .current_dir(&self.root);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("runuser")
    }
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Every file of a folder with its size and modification time, to show nothing was written.
fn snapshot(dir: &Path) -> Vec<(String, u64, i64, i64)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("entry");
            let m = e.metadata().expect("metadata");
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
                m.mtime(),
                m.mtime_nsec(),
            )
        })
        .collect();
    out.sort();
    out
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}\n{}\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

/// The fixture config with the database in `db_dir` and `extra` added before the sources.
fn write_config(site: &FixtureSite, root: &Path, db_dir: &Path, extra: &str) -> PathBuf {
    let config = root.join("newsdesk.toml");
    let toml = site
        .config_toml(&db_dir.join("newsdesk.db"))
        .replace("cron = \"0 */15 * * * *\"", &format!("cron = \"{NEVER}\""))
        .replacen("\n[[sources]]", &format!("\n{extra}\n\n[[sources]]"), 1);
    std::fs::write(&config, toml).expect("write config");
    chmod(&config, 0o644);
    config
}

/// The daemon, run as root like the service's own user would own the database.
struct Daemon(Child);

impl Daemon {
    fn spawn(bin: &Path, config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("NEWSDESK_ADMIN_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Daemon(cmd.spawn().expect("spawn daemon"))
    }

    async fn stop(&mut self) {
        // SIGTERM through kill(1), as an operator or systemd would send it.
        let ok = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let start = Instant::now();
        while self.0.try_wait().expect("try_wait").is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "daemon did not stop"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Waits until `status --format json` (as root) shows a finished run that did work.
async fn wait_for_first_run(config: &Path) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let out = newsdesk_async!(config, &["status", "--format", "json"]).await;
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            if v["daemon"]["state"] == "up" && v["last_run"].is_object() {
                return v;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no finished run: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_work_for_a_user_who_cannot_write_the_database() {
    if !can_switch_user() {
        return;
    }
    let site = FixtureSite::start().await;
    let ws = Workspace::new();
    let db_dir = ws.root.join("db");
    let config = write_config(&site, &ws.root, &db_dir, "");
    // Root (standing in for the service's user) creates and fills the database.
    let out = newsdesk_async!(&config, &["fetch"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The fetch closed its connections before exiting: everything is in the one file.
    for leftover in ["newsdesk.db-wal", "newsdesk.db-shm"] {
        assert!(!db_dir.join(leftover).exists(), "{leftover} left behind");
    }
    // Readable by everyone, writable by nobody but root: the folder and every file in it.
    chmod(&db_dir, 0o755);
    for e in std::fs::read_dir(&db_dir).expect("read_dir") {
        chmod(&e.expect("entry").path(), 0o644);
    }
    let before = snapshot(&db_dir);

    let stories = json(&ws.as_user(&config, &["stories", "--format", "json"], &[]));
    assert_eq!(stories.as_array().map(Vec::len), Some(5), "{stories}");
    let logs = json(&ws.as_user(&config, &["logs", "--format", "json"], &[]));
    assert!(
        logs["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{logs}"
    );
    let errors = json(&ws.as_user(&config, &["logs", "--errors", "--format", "json"], &[]));
    assert!(errors.to_string().contains("f-error"), "{errors}");
    let sources = json(&ws.as_user(&config, &["sources", "--format", "json"], &[]));
    assert_eq!(sources.as_array().map(Vec::len), Some(7), "{sources}");
    let export = ws.as_user(&config, &["export", "--format", "ndjson"], &[]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    assert_eq!(text(&export.stdout).lines().count(), 5);
    let status = json(&ws.as_user(&config, &["status", "--format", "json"], &[]));
    assert_eq!(status["stories"]["new"], 5, "{status}");
    assert_eq!(status["daemon"]["state"], "off", "{status}");
    assert!(
        status["database"]["size_bytes"].as_i64() > Some(0),
        "{status}"
    );
    assert_eq!(status["database"]["error"], serde_json::Value::Null);

    // A write without a daemon fails plainly instead of half-working.
    let publish = ws.as_user(&config, &["stories", "publish", "1"], &[]);
    assert_eq!(publish.status.code(), Some(1));
    assert!(
        text(&publish.stderr).contains("ermission denied")
            || text(&publish.stderr).contains("readonly"),
        "{}",
        text(&publish.stderr)
    );
    // Nothing was created or touched: no lock file, no migration, no -shm left behind.
    assert_eq!(snapshot(&db_dir), before);

    // A writer that exited between deleting its `-shm` and its `-wal` (SQLite's close order)
    // leaves a `-wal` alone: still readable (this was a flaky failure under load in CI).
    let wal = db_dir.join("newsdesk.db-wal");
    std::fs::write(&wal, b"").expect("write -wal");
    chmod(&wal, 0o644);
    let stories = json(&ws.as_user(&config, &["stories", "--format", "json"], &[]));
    assert_eq!(stories.as_array().map(Vec::len), Some(5), "{stories}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_writes_through_a_group_socket_beside_a_real_daemon() {
    if !can_switch_user() {
        return;
    }
    let site = FixtureSite::start().await;
    let ws = Workspace::new();
    let db_dir = ws.root.join("db");
    let sock = ws.root.join("run/admin.sock");
    let config = write_config(
        &site,
        &ws.root,
        &db_dir,
        &format!(
            "[admin]\nlisten = \"unix:{}\"\nsocket_group = \"{GROUP}\"",
            sock.display()
        ),
    );
    // Without a daemon: status says so, and still reads nothing it cannot (no database yet).
    let status = json(&ws.as_user(&config, &["status", "--format", "json"], &[]));
    assert_eq!(status["daemon"]["state"], "down", "{status}");
    assert!(
        status["database"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no database")),
        "{status}"
    );

    let mut daemon = Daemon::spawn(&ws.bin, &config, &[]);
    let first = wait_for_first_run(&config).await;
    assert_eq!(first["last_run"]["trigger"], "schedule", "{first}");

    // The socket belongs to the group and is rw for it, nothing for others.
    let meta = std::fs::metadata(&sock).expect("socket");
    let gid = nix::unistd::Group::from_name(GROUP)
        .expect("group")
        .expect("group exists")
        .gid
        .as_raw();
    assert_eq!(meta.gid(), gid);
    assert_eq!(meta.mode() & 0o777, 0o660);

    // `nobody` (in the group) sees the whole picture while the daemon runs.
    let status = json(&ws.as_user(&config, &["status", "--format", "json"], &[]));
    assert_eq!(status["daemon"]["state"], "up", "{status}");
    assert!(status["daemon"]["health"]["status"].is_string(), "{status}");
    assert_eq!(status["stories"]["new"], 5, "{status}");
    assert_eq!(status["last_run"]["counts"]["stored"], 5, "{status}");
    assert_eq!(
        status["last_run"]["counts"]["sources_failed"], 3,
        "{status}"
    );
    let failing: Vec<&str> = status["failing_sources"]
        .as_array()
        .expect("failing sources")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(failing.len(), 3, "{status}");
    for name in ["e-broken", "f-error", "g-slow"] {
        assert!(failing.contains(&name), "{name} not in {failing:?}");
    }
    for f in status["failing_sources"].as_array().expect("array") {
        assert!(f["failing_since"].is_string(), "{f}");
        assert!(f["last_error"].is_string(), "{f}");
    }
    let f_error = status["failing_sources"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["name"] == "f-error"))
        .expect("f-error");
    assert!(
        f_error["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{f_error}"
    );
    assert!(status["next_due"]["source"].is_string(), "{status}");
    assert!(
        status["database"]["size_bytes"].as_i64() > Some(0),
        "{status}"
    );

    // The same on one screen.
    let screen = ws.as_user(&config, &["status"], &[]);
    let screen_text = text(&screen.stdout);
    assert!(screen.status.success(), "{}", text(&screen.stderr));
    for want in [
        "daemon:        up (unix:",
        "5 waiting (new)",
        "FAILING SOURCES",
        "f-error",
        "HTTP 500",
        "next due:",
    ] {
        assert!(
            screen_text.contains(want),
            "{want:?} missing in:\n{screen_text}"
        );
    }

    // Reading beside the running daemon (its -wal/-shm files exist, the user cannot write them).
    let stories = json(&ws.as_user(&config, &["stories", "--format", "json"], &[]));
    let id = stories[0]["id"].as_i64().expect("story id");
    // A write goes through the daemon: the user cannot write the database itself.
    let publish = ws.as_user(&config, &["stories", "publish", &id.to_string()], &[]);
    assert!(
        publish.status.success(),
        "{}\n{}",
        text(&publish.stdout),
        text(&publish.stderr)
    );
    let published = json(&ws.as_user(
        &config,
        &["stories", "--status", "published", "--format", "json"],
        &[],
    ));
    assert_eq!(published[0]["id"].as_i64(), Some(id), "{published}");

    daemon.stop().await;
    let status = json(&ws.as_user(&config, &["status", "--format", "json"], &[]));
    assert_eq!(status["daemon"]["state"], "down", "{status}");
    assert_eq!(status["stories"]["new"], 4, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_from_a_credentials_file() {
    let site = FixtureSite::start().await;
    let ws = Workspace::new();
    let db_dir = ws.root.join("db");
    let sock = ws.root.join("run/admin.sock");
    let creds = ws.root.join("credentials");
    std::fs::create_dir(&creds).expect("mkdir");
    let config = write_config(
        &site,
        &ws.root,
        &db_dir,
        &format!(
            "[admin]\nlisten = \"unix:{}\"\ntoken_file = \"${{CREDENTIALS_DIRECTORY}}/admin-token\"",
            sock.display()
        ),
    );
    let creds_env = creds.display().to_string();
    let bin_env = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(&ws.bin);
        cmd.arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("NEWSDESK_ADMIN_TOKEN")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env("RUST_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    };

    // Outside the service the credential does not exist: check-config passes and says so.
    let out = bin_env(&["check-config"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("secrets not read here"),
        "{}",
        text(&out.stdout)
    );
    // The daemon refuses to start without its token, naming the key.
    let out = bin_env(&["run"], &[("CREDENTIALS_DIRECTORY", &creds_env)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("admin.token_file"),
        "{}",
        text(&out.stderr)
    );

    let token = "0123456789abcdef-from-a-credential";
    std::fs::write(creds.join("admin-token"), format!("{token}\n")).expect("write token");
    let mut daemon = Daemon::spawn(&ws.bin, &config, &[("CREDENTIALS_DIRECTORY", &creds_env)]);
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "no socket");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Without the token the daemon turns the CLI away; with it (from the environment) it works.
    let out = bin_env(&["status", "--format", "json"], &[]);
    let v = json(&out);
    assert_eq!(v["daemon"]["state"], "unreachable", "{v}");
    assert!(
        v["daemon"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("NEWSDESK_ADMIN_TOKEN")),
        "{v}"
    );
    let v = json(&bin_env(
        &["status", "--format", "json"],
        &[("NEWSDESK_ADMIN_TOKEN", token)],
    ));
    assert_eq!(v["daemon"]["state"], "up", "{v}");
    daemon.stop().await;
}

#[test]
fn config_is_found_without_the_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("elsewhere.toml");
    std::fs::write(
        &config,
        "[storage]\nurl = \"sqlite:///var/lib/newsdesk/newsdesk.db\"\n",
    )
    .expect("write");
    let run = |env: &[(&str, &Path)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
        cmd.arg("check-config")
            .current_dir(dir.path())
            .env_remove("NEWSDESK_CONFIG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run")
    };
    let out = run(&[("NEWSDESK_CONFIG", &config)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&config.display().to_string()));

    // With neither, the installed file when there is one, else the checkout's (missing here).
    let out = run(&[]);
    if Path::new("/etc/newsdesk/newsdesk.toml").is_file() {
        assert!(text(&out.stdout).starts_with("/etc/newsdesk/newsdesk.toml"));
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("config/newsdesk.toml"),
            "{}",
            text(&out.stderr)
        );
    }
    std::fs::create_dir(dir.path().join("config")).expect("mkdir");
    std::fs::copy(&config, dir.path().join("config/newsdesk.toml")).expect("copy");
    let out = run(&[]);
    if !Path::new("/etc/newsdesk/newsdesk.toml").is_file() {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("config/newsdesk.toml"));
    }
}
