//! What the admin endpoint and its clients agree on: where it listens ([`ListenAddr`]), the lines
//! `POST /fetch` streams ([`FetchLine`]), and how a bearer token is compared.
//!
//! The server is [`super::admin`]; the client `newsdesk fetch`/`status` use lives in the binary.

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
