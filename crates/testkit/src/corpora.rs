//! Where the public benchmark corpora live, for the corpus tests and the benches.
//!
//! The corpora (AEB, Readability, feedparser's suite, ECB+) are too large for the repository, so
//! they are found through `NEWSDESK_BENCH_DATA` (default `../shared/bench` beside the checkout).
//! A lone clone has no such folder: its corpus tests print `SKIPPED: …` and pass, except under
//! `CI=true`, where a missing corpus is a failure (CI always has it).
use std::path::{Path, PathBuf};

/// The folder holding every corpus: `NEWSDESK_BENCH_DATA`, else `../shared/bench`.
pub fn root() -> PathBuf {
    std::env::var_os("NEWSDESK_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("../shared/bench"))
}

/// One corpus folder under [`root`] (e.g. `"aeb"`, `"feeds"`, `"dedup/ecbplus"`).
pub fn corpus(name: &str) -> PathBuf {
    root().join(name)
}

/// Whether `dir` is there; without it, says `SKIPPED` and returns false, or panics under `CI=true`.
pub fn available(dir: &Path) -> bool {
    if dir.is_dir() {
        return true;
    }
    let msg = format!(
        "corpus not found at {} (set NEWSDESK_BENCH_DATA to the folder holding the corpora)",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}; CI=true requires it");
    }
    println!("SKIPPED: {msg}");
    false
}
