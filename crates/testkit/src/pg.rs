//! A throwaway PostgreSQL for the tests.
//!
//! With `NEWSDESK_TEST_PG_URL` set (a role that may `CREATE DATABASE`), tests use that server.
//! Otherwise the first test that asks starts a private cluster from the local PostgreSQL
//! binaries (`NEWSDESK_TEST_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`, else
//! `pg_config --bindir`, else `PATH`): `initdb` into a temp
//! folder (as the `postgres` user when running as root, since initdb refuses root), listening on a
//! Unix socket in that folder only — no TCP port, no network. A watchdog shell stops the server and
//! deletes the folder when the test process exits, however it exits.
//!
//! Each test gets a database of its own. When no binaries are found the PostgreSQL tests are
//! skipped with a message, unless `NEWSDESK_REQUIRE_PG=1` (`.ci/run` sets it) or `CI` is set,
//! where they fail.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// Where the test server is.
#[derive(Debug, Clone)]
pub struct PgServer {
    /// URL of the maintenance database (databases are created through it).
    admin_url: String,
    /// The binaries folder, when the cluster is ours.
    pub bin: Option<PathBuf>,
    /// The cluster folder (data, socket, log), when the cluster is ours.
    pub dir: Option<PathBuf>,
}

static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// `NEWSDESK_REQUIRE_PG=1` (set by `.ci/run`), or `CI` set as for the other tool-dependent tests.
fn required() -> bool {
    std::env::var("NEWSDESK_REQUIRE_PG").is_ok_and(|v| v == "1") || std::env::var_os("CI").is_some()
}

/// The server, or `None` (after printing why) when PostgreSQL is not available here and not
/// required. Panics when it is required but cannot be had, or when starting it failed.
pub fn server() -> Option<&'static PgServer> {
    let got = SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("NEWSDESK_TEST_PG_URL") {
            return Ok(PgServer {
                admin_url: url,
                bin: None,
                dir: None,
            });
        }
        match find_bin() {
            Some(bin) => start_cluster(&bin).map_err(|e| format!("starting PostgreSQL: {e}")),
            None => Err("no PostgreSQL binaries (initdb, postgres) found".to_string()),
        }
    });
    match got {
        Ok(s) => Some(s),
        Err(e) if e.starts_with("no PostgreSQL binaries") && !required() => {
            eprintln!(
                "SKIPPED: {e}; install the postgresql package or set NEWSDESK_TEST_PG_URL \
                 (NEWSDESK_REQUIRE_PG=1 turns this skip into a failure)"
            );
            None
        }
        Err(e) => panic!("PostgreSQL is required for this test: {e}"),
    }
}

/// A new, empty database on the test server; gives its URL. `None` when skipped.
pub async fn fresh_db(tag: &str) -> Option<String> {
    let server = server()?;
    let name = format!(
        "nd_{}_{}_{}",
        tag,
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = PgConnection::connect(&server.admin_url)
        .await
        .expect("connect to the test server");
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create test database");
    let _ = conn.close().await;
    Some(with_database(&server.admin_url, &name))
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let mut u = url::Url::parse(url).expect("test server URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

fn find_bin() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    // An explicit folder wins (and is the only one looked at), e.g. to try another version.
    if let Some(d) = std::env::var_os("NEWSDESK_TEST_PG_BIN") {
        let d = PathBuf::from(d);
        return has(&d).then_some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has(d))
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has(&d) {
            return Some(d);
        }
    }
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has(d)))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `program args` as the `postgres` user when we are root, else as ourselves.
fn as_pg_user(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// `initdb` + a watched `postgres` on a Unix socket in a fresh temp folder.
pub fn start_cluster(bin: &Path) -> Result<PgServer, String> {
    start_cluster_with(bin, &["-c", "fsync=off", "-c", "synchronous_commit=off"])
}

/// Like [`start_cluster`] with extra server arguments (`-c name=value` pairs).
pub fn start_cluster_with(bin: &Path, extra: &[&str]) -> Result<PgServer, String> {
    let root = is_root();
    let dir = std::env::temp_dir().join(format!(
        "newsdesk-pg-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if root {
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !ok.success() {
            return Err("chown of the cluster folder to postgres failed".into());
        }
    }
    let data = dir.join("data");
    let out = as_pg_user(root, &bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // The watchdog: runs the server in the background and stops it (fast shutdown) and removes
    // the folder once the test process is gone.
    let mut server_args = vec![
        "-D".to_string(),
        data.display().to_string(),
        "-k".into(),
        dir.display().to_string(),
        "-c".into(),
        "listen_addresses=".into(),
        "-c".into(),
        "max_connections=300".into(),
    ];
    server_args.extend(extra.iter().map(|s| s.to_string()));
    let quoted: Vec<String> = server_args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let script = format!(
        "'{postgres}' {args} >'{dir}/server.log' 2>&1 &\n\
         pg=$!\n\
         while [ -d /proc/{pid} ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done\n\
         kill -INT $pg 2>/dev/null; wait $pg\n\
         rm -rf '{dir}'\n",
        postgres = bin.join("postgres").display(),
        args = quoted.join(" "),
        dir = dir.display(),
        pid = std::process::id(),
    );
    as_pg_user(root, Path::new("/bin/sh"))
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let start = Instant::now();
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .arg("-h")
            .arg(&dir)
            .arg("-q")
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            return Err(format!("server not ready after 60 s; log:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let socket: String =
        url::form_urlencoded::byte_serialize(dir.display().to_string().as_bytes()).collect();
    Ok(PgServer {
        admin_url: format!("postgres://postgres@localhost/postgres?host={socket}"),
        bin: Some(bin.to_path_buf()),
        dir: Some(dir),
    })
}

/// Finds the binaries (for the bench, which starts its own cluster with other settings).
pub fn binaries() -> Option<PathBuf> {
    find_bin()
}

impl PgServer {
    /// URL of the maintenance database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}
