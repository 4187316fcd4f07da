//! What the Debian package and the manual install ship: the man pages are the ones the binary
//! generates from its clap definitions and render without warnings, the service's config is the
//! shipped one with absolute paths, and every asset named in `[package.metadata.deb]` exists.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pages(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read page"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn committed_man_pages_match_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run newsdesk man");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = pages(dir.path());
    let committed = pages(&repo().join("man/man1"));
    let names = |p: &[(String, String)]| p.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&generated),
        "regenerate with `cargo run -- man --dir man/man1`"
    );
    for ((name, want), (_, have)) in generated.iter().zip(&committed) {
        assert!(
            have == want,
            "man/man1/{name} is stale: regenerate with `cargo run -- man --dir man/man1`"
        );
    }
    for name in [
        "newsdesk.1",
        "newsdesk-status.1",
        "newsdesk-fetch.1",
        "newsdesk-stories-publish.1",
    ] {
        assert!(generated.iter().any(|(n, _)| n == name), "{name} missing");
    }
    let main = &committed
        .iter()
        .find(|(n, _)| n == "newsdesk.1")
        .expect("newsdesk.1")
        .1;
    for section in [
        ".SH ENVIRONMENT",
        ".SH FILES",
        "NEWSDESK_CONFIG",
        "/etc/newsdesk/newsdesk.toml",
    ] {
        assert!(main.contains(section), "{section} missing from newsdesk.1");
    }
}

#[test]
fn man_pages_render_without_warnings() {
    let found = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "man is required in CI");
        eprintln!("SKIPPED: man not installed");
        return;
    }
    for (name, _) in pages(&repo().join("man/man1")) {
        let out = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(repo().join("man/man1").join(&name))
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("run man");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.trim().is_empty(),
            "{name}: {err}"
        );
        assert!(!out.stdout.is_empty(), "{name} rendered empty");
    }
}

#[test]
fn service_config_is_the_shipped_one_with_absolute_paths() {
    let shipped = std::fs::read_to_string(repo().join("config/newsdesk.toml")).expect("config");
    let service = std::fs::read_to_string(repo().join("packaging/newsdesk.toml")).expect("config");
    assert!(service.contains("url = \"sqlite:///var/lib/newsdesk/newsdesk.db\""));
    assert!(service.contains("listen = \"unix:/run/newsdesk/admin.sock\""));
    assert!(service.contains("socket_group = \"newsdesk\""));
    // Sources, topic and every other setting are the shipped ones: only comments, the storage
    // URL and the admin socket differ.
    let settings = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.split(" #").next().unwrap_or(l).trim_end().to_string())
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter(|l| !l.starts_with("url = \"sqlite:") && !l.starts_with("listen = "))
            .filter(|l| !l.starts_with("socket_group = "))
            .collect()
    };
    assert_eq!(settings(&service), settings(&shipped));
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("--config")
        .arg(repo().join("packaging/newsdesk.toml"))
        .arg("check-config")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn package_assets_exist() {
    let manifest: toml::Table = std::fs::read_to_string(repo().join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("toml");
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().expect("assets");
    let mut destinations = Vec::new();
    for a in assets {
        let a = a.as_array().expect("asset triple");
        let (src, dest) = (a[0].as_str().expect("src"), a[1].as_str().expect("dest"));
        destinations.push(dest.to_string());
        if src.starts_with("target/") {
            continue; // built by `cargo deb`
        }
        if let Some(dir) = src.strip_suffix("/*.1") {
            assert!(!pages(&repo().join(dir)).is_empty(), "{src}");
        } else {
            assert!(repo().join(src).is_file(), "{src} missing");
        }
    }
    for want in [
        "usr/bin/",
        "usr/lib/systemd/system/",
        "usr/share/man/man1/",
        "etc/newsdesk/",
        "etc/default/newsdesk",
        "usr/lib/sysusers.d/newsdesk.conf",
    ] {
        assert!(
            destinations.iter().any(|d| d == want),
            "{want} not packaged"
        );
    }
    let scripts = repo().join(deb["maintainer-scripts"].as_str().expect("scripts"));
    let postinst = std::fs::read_to_string(scripts.join("postinst")).expect("postinst");
    assert!(postinst.contains("daemon-reload") && postinst.contains("enable"));
    assert!(
        !postinst
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains("start")),
        "the package must not start the service"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let out = Command::new("sh")
            .arg("-n")
            .arg(scripts.join(script))
            .output()
            .expect("sh -n");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
