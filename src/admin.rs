//! Admin endpoint of the daemon: an axum server on a Unix socket or a loopback TCP port, and the
//! hyper client `newsdesk fetch` uses to reach it.
//!
//! Routes: `POST /fetch[?source=NAME…]` (NDJSON progress, then the run report), `GET /health`,
//! `GET /metrics` (Prometheus text), `GET /stories/new.json` (JSON Feed 1.1),
//! `GET /stories/new.atom`, `POST /stories/publish` and `POST /stories/reject` (`{"ids":[…]}`).
//! The editors' web pages live under `/desk/` (see [`crate::desk`]), behind their own login.
//! When `admin.token` is set every other request needs `Authorization: Bearer TOKEN`; config
//! validation refuses a TCP address without one.

pub mod client;
pub mod server;

use crate::config::ListenAddr;

/// One line of the `POST /fetch` response (newline-delimited JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FetchLine {
    /// The daemon queued the run (it starts when the run in progress, if any, ends).
    Queued,
    /// The run started with this many sources.
    Started {
        /// Run id.
        run_id: i64,
        /// Sources leased.
        sources: usize,
    },
    /// A source is done.
    SourceDone {
        /// Its report.
        report: crate::model::SourceReport,
    },
    /// The run ended; the last line.
    Finished {
        /// The whole report.
        report: crate::model::RunReport,
    },
    /// The run could not happen; the last line.
    Error {
        /// Why.
        error: String,
    },
}

impl From<crate::model::RunProgress> for FetchLine {
    fn from(p: crate::model::RunProgress) -> FetchLine {
        match p {
            crate::model::RunProgress::Started { run_id, sources } => {
                FetchLine::Started { run_id, sources }
            }
            crate::model::RunProgress::SourceDone { report } => FetchLine::SourceDone { report },
        }
    }
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn token_matches(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abd", "abc"));
        assert!(!token_matches("ab", "abc"));
    }
}
