//! The shipped unit file: `systemd-analyze verify` prints nothing (man pages checked: its
//! `Documentation=man:newsdesk(1)` must resolve to the shipped page), the offline security
//! rating is at most 2.0 ("OK"), and it uses the readiness protocol the daemon speaks.

use std::path::{Path, PathBuf};
use std::process::Command;

fn systemd_analyze_available() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("systemd-analyze is required in CI (.ci/run installs Debian's systemd package)");
    }
    if !found {
        eprintln!("SKIPPED: systemd-analyze not installed (apt-get install systemd)");
    }
    found
}

/// Whether `man` is installed (verify runs it for every `Documentation=man:` link).
fn man_available() -> bool {
    let found = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("man is required in CI (.ci/run installs Debian's man-db package)");
    }
    if !found {
        eprintln!("SKIPPED: man not installed (apt-get install man-db)");
    }
    found
}

/// The shipped unit with ExecStart pointing at the binary under test, so `verify` can check it.
fn unit_under_test(dir: &Path) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/newsdesk.service");
    let text = std::fs::read_to_string(&shipped).expect("systemd/newsdesk.service");
    assert!(text.contains("ExecStart=/usr/bin/newsdesk "));
    let text = text.replace("/usr/bin/newsdesk", env!("CARGO_BIN_EXE_newsdesk"));
    let path = dir.join("newsdesk.service");
    std::fs::write(&path, text).expect("write unit");
    path
}

#[test]
fn unit_verifies_cleanly() {
    if !systemd_analyze_available() || !man_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_under_test(dir.path());
    // The man pages as installed (`man/man1` is what the package and the README install), and
    // verify's default `--man=yes`: a missing page is reported.
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .env("MANPATH", Path::new(env!("CARGO_MANIFEST_DIR")).join("man"))
        .output()
        .expect("run systemd-analyze");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // verify exits 0 on unknown keys and bad values, so any output counts as failure.
    assert!(
        out.status.success() && printed.trim().is_empty(),
        "{printed}"
    );

    // Without the pages the same check fails, as it did on hosts with man before they existed.
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .env("MANPATH", empty.path())
        .output()
        .expect("run systemd-analyze");
    let printed = String::from_utf8_lossy(&out.stderr);
    assert!(printed.contains("man newsdesk(1)"), "{printed}");
}

#[test]
fn unit_security_rating_is_ok() {
    if !systemd_analyze_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_under_test(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let printed = String::from_utf8_lossy(&out.stdout);
    let line = printed
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no rating in:\n{printed}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the rating in '{line}'"));
    assert!(score <= 2.0, "{line}");
}

#[test]
fn unit_is_type_notify_with_a_watchdog() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/newsdesk.service");
    let text = std::fs::read_to_string(&shipped).expect("systemd/newsdesk.service");
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{key}=")))
            .next_back()
            .map(str::trim)
    };
    assert_eq!(value("Type"), Some("notify"));
    assert_eq!(value("NotifyAccess"), Some("main"));
    let watchdog = value("WatchdogSec").expect("WatchdogSec set");
    let secs: u64 = watchdog
        .trim_end_matches('s')
        .parse()
        .unwrap_or_else(|_| panic!("WatchdogSec={watchdog} is not whole seconds"));
    // newsdesk pings at half the timeout; well above a second leaves room for a busy machine.
    assert!((10..=600).contains(&secs), "WatchdogSec={watchdog}");
    // The admin socket's directory and the notify socket's address family are allowed.
    assert_eq!(value("RuntimeDirectory"), Some("newsdesk"));
    assert!(value("RestrictAddressFamilies").is_some_and(|v| v.contains("AF_UNIX")));
}
