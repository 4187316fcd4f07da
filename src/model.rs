//! The types the stages hand each other: items a source lists, articles the extractor finds,
//! stories and events the store keeps, the reports a run gives.
//!
//! A leaf: it imports nothing from the crate, so every stage can depend on it without depending
//! on another stage. Enums here are the statuses and outcomes as data; their column and JSON
//! spellings (`as_str`, serde) are part of the storage format and the admin protocol and must not
//! change.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use url::Url;

/// A value read back (from a column or a protocol line) that this version does not write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected value in column {column}: {value}")]
pub struct UnknownValue {
    /// Column (or field) name.
    pub column: &'static str,
    /// The value found.
    pub value: String,
}

/// One item a source announces.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceItem {
    /// The feed's own id for the item (GUID / Atom id / JSON Feed id), when it gives one.
    pub guid: Option<String>,
    /// Absolute article URL.
    pub url: Url,
    /// Title as the feed gives it.
    pub title: Option<String>,
    /// Author as the feed gives it.
    pub author: Option<String>,
    /// Publication date as the feed gives it.
    pub published_at: Option<DateTime<Utc>>,
}

/// What the extractor found on a page.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Article {
    /// Headline, without the site-name suffix.
    pub title: Option<String>,
    /// Bylines, one person or organisation each, cleaned of "By", dates and roles.
    pub authors: Vec<String>,
    /// Publication time (UTC), never later than the extraction nor before 1995.
    pub published_at: Option<DateTime<Utc>>,
    /// Last modification time (UTC), when the page states one; same bounds.
    pub updated_at: Option<DateTime<Utc>>,
    /// Name of the publication (`og:site_name`, JSON-LD publisher, …).
    pub site_name: Option<String>,
    /// The page's summary of the story (JSON-LD or `<meta>` description): the standfirst,
    /// which the body leaves out.
    pub summary: Option<String>,
    /// Language of the page as stated (`<html lang>`, `og:locale`, …), e.g. `en`, `fr-FR`.
    pub language: Option<String>,
    /// `<link rel=canonical>` or `og:url`, made absolute.
    pub canonical_url: Option<String>,
    /// Plain text, one paragraph per line, link text only.
    pub text: String,
    /// Sanitized HTML of the body.
    pub html: String,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The daemon's cron schedule.
    Schedule,
    /// `newsdesk fetch` or the admin endpoint.
    Manual,
}

impl Trigger {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }

    /// Parses the column spelling.
    pub fn parse(s: &str) -> Result<Trigger, UnknownValue> {
        match s {
            "schedule" => Ok(Trigger::Schedule),
            "manual" => Ok(Trigger::Manual),
            other => Err(UnknownValue {
                column: "trigger",
                value: other.to_string(),
            }),
        }
    }
}

/// The final outcome of an item, or what happened to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new story was stored.
    Stored,
    /// The item is a story already stored.
    Duplicate,
    /// The item is not about the topic.
    OffTopic,
    /// The item or the source could not be processed.
    Failed,
    /// The source was read (scope `source`).
    Fetched,
    /// The source answered 304 Not Modified (scope `source`).
    NotModified,
    /// An item whose article kept failing was given up (scope `item`); it is not tried again.
    GivenUp,
}

/// Column spellings of [`Outcome`], one table for both directions.
const OUTCOMES: &[(Outcome, &str)] = &[
    (Outcome::Stored, "stored"),
    (Outcome::Duplicate, "duplicate"),
    (Outcome::OffTopic, "off_topic"),
    (Outcome::Failed, "failed"),
    (Outcome::Fetched, "fetched"),
    (Outcome::NotModified, "not_modified"),
    (Outcome::GivenUp, "given_up"),
];

impl Outcome {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        OUTCOMES
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("failed", |(_, s)| s)
    }

    /// Parses the column spelling.
    pub fn parse(s: &str) -> Result<Outcome, UnknownValue> {
        OUTCOMES
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(o, _)| *o)
            .ok_or_else(|| UnknownValue {
                column: "outcome",
                value: s.to_string(),
            })
    }
}

/// Publishing status of a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoryStatus {
    /// Waiting for an editor or the publishing system.
    New,
    /// Handed to publishing.
    Published,
    /// Turned down.
    Rejected,
}

impl StoryStatus {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StoryStatus::New => "new",
            StoryStatus::Published => "published",
            StoryStatus::Rejected => "rejected",
        }
    }

    /// Parses the column spelling.
    pub fn parse(s: &str) -> Result<StoryStatus, UnknownValue> {
        Ok(match s {
            "new" => StoryStatus::New,
            "published" => StoryStatus::Published,
            "rejected" => StoryStatus::Rejected,
            other => {
                return Err(UnknownValue {
                    column: "status",
                    value: other.to_string(),
                })
            }
        })
    }
}

/// A source and its fetch state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceState {
    /// Name from the config.
    pub name: String,
    /// `feed` or `page`.
    pub kind: String,
    /// URL from the config.
    pub url: String,
    /// Last ETag seen.
    pub etag: Option<String>,
    /// Last Last-Modified seen.
    pub last_modified: Option<String>,
    /// Last attempt.
    pub last_fetch_at: Option<DateTime<Utc>>,
    /// Last attempt that succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Error of the last failed attempt, cleared on success.
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    pub consecutive_errors: i64,
    /// When the source is due next.
    pub next_due_at: DateTime<Utc>,
    /// Current polling interval (adapts between the configured bounds).
    pub interval_secs: i64,
    /// When the source last gave a new story.
    pub last_new_story_at: Option<DateTime<Utc>>,
    /// Run holding the source now, if any.
    pub lease_owner: Option<String>,
    /// When that hold expires.
    pub lease_until: Option<DateTime<Utc>>,
}

/// What a finished fetch of a source changes in its state.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceUpdate {
    /// Attempt time.
    pub fetched_at: DateTime<Utc>,
    /// `Ok` or the error text.
    pub result: Result<(), String>,
    /// New validators (kept as they were when `None`).
    pub etag: Option<String>,
    /// New validators (kept as they were when `None`).
    pub last_modified: Option<String>,
    /// When to poll next.
    pub next_due_at: DateTime<Utc>,
    /// The interval that `next_due_at` was computed with.
    pub interval_secs: i64,
    /// Set when the fetch stored at least one story.
    pub new_story_at: Option<DateTime<Utc>>,
}

/// Retry state of an announced item whose article could not be processed yet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemRetry {
    /// Failed attempts so far.
    pub attempts: i64,
    /// When the first attempt failed.
    pub first_failed_at: DateTime<Utc>,
    /// When the last attempt failed.
    pub last_failed_at: DateTime<Utc>,
    /// Not tried again before this.
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's error.
    pub last_error: String,
}

/// A story ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStory {
    /// Source name.
    pub source: String,
    /// The article's own address, handed to publishing (`dedup::published_url`).
    pub url: String,
    /// URL the article was fetched from (after redirects), as fetched.
    pub fetched_url: String,
    /// Dedup key (`dedup::canonical_url`): folded, never a link. Stored in the
    /// `canonical_url` column.
    pub dedup_key: String,
    /// Feed GUID.
    pub guid: Option<String>,
    /// Headline.
    pub title: Option<String>,
    /// Bylines, one person or organisation each.
    pub authors: Vec<String>,
    /// Name of the publication, when the page states it.
    pub site_name: Option<String>,
    /// The page's summary of the story, when it states one.
    pub summary: Option<String>,
    /// Language of the page (BCP 47 tag as stated, e.g. `en`, `fr-FR`).
    pub language: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Last modification time, when the page states one.
    pub updated_at: Option<DateTime<Utc>>,
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
    /// Plain text body.
    pub text: String,
    /// Sanitized HTML body.
    pub html: String,
    /// Exact-content fingerprint (dedup key).
    pub fingerprint: String,
    /// Near-duplicate signature bytes.
    pub near_dup: Option<Vec<u8>>,
    /// Same-event cluster.
    pub cluster_id: Option<i64>,
    /// Topic score.
    pub topic_score: Option<f64>,
}

/// An item that reached a final outcome; it will not be fetched again (unless `failed`).
#[derive(Debug, Clone, PartialEq)]
pub struct SeenItem {
    /// Source name.
    pub source: String,
    /// Feed GUID.
    pub guid: Option<String>,
    /// Canonical URL of the announced link.
    pub canonical_url: String,
}

/// One line of the ingestion log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Row id (0 before it is written).
    pub id: i64,
    /// Run it belongs to.
    pub run_id: i64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Source name.
    pub source: String,
    /// `source` or `item`.
    pub scope: EventScope,
    /// What happened.
    pub outcome: Outcome,
    /// Item URL (or source URL for source events).
    pub url: Option<String>,
    /// Item title.
    pub title: Option<String>,
    /// Story stored by this event.
    pub story_id: Option<i64>,
    /// Story this item duplicates.
    pub duplicate_of: Option<i64>,
    /// Topic score or similarity.
    pub score: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

/// Whether an event is about a whole source or one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventScope {
    /// The source's fetch.
    Source,
    /// One announced item.
    Item,
}

impl EventScope {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventScope::Source => "source",
            EventScope::Item => "item",
        }
    }

    /// Parses the column spelling.
    pub fn parse(s: &str) -> Result<EventScope, UnknownValue> {
        match s {
            "source" => Ok(EventScope::Source),
            "item" => Ok(EventScope::Item),
            other => Err(UnknownValue {
                column: "scope",
                value: other.to_string(),
            }),
        }
    }
}

/// Counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunCounts {
    /// Sources attempted.
    pub sources: i64,
    /// Sources whose fetch failed.
    pub sources_failed: i64,
    /// Items announced.
    pub items: i64,
    /// Items skipped because they were already known.
    pub known: i64,
    /// Stories stored.
    pub stored: i64,
    /// Items that were duplicates.
    pub duplicates: i64,
    /// Items off topic.
    pub off_topic: i64,
    /// Items that failed.
    pub failed: i64,
}

impl RunCounts {
    /// Adds another run's (or source's) counts.
    pub fn add(&mut self, o: &RunCounts) {
        self.sources += o.sources;
        self.sources_failed += o.sources_failed;
        self.items += o.items;
        self.known += o.known;
        self.stored += o.stored;
        self.duplicates += o.duplicates;
        self.off_topic += o.off_topic;
        self.failed += o.failed;
    }
}

/// A run as listed by `newsdesk logs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Run id.
    pub id: i64,
    /// What started it.
    pub trigger: Trigger,
    /// Start time.
    pub started_at: DateTime<Utc>,
    /// End time; `None` while running (or if the process died).
    pub finished_at: Option<DateTime<Utc>>,
    /// When the run was found abandoned: unfinished, older than the lease, and its process holds
    /// no live lease any more (killed). Cleared should it finish after all.
    pub abandoned_at: Option<DateTime<Utc>>,
    /// Its counts.
    pub counts: RunCounts,
}

/// A stored story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// Story id.
    pub id: i64,
    /// Source name.
    pub source: String,
    /// The article's own address: what publishing links to.
    pub url: String,
    /// URL fetched (after redirects), as fetched.
    pub fetched_url: String,
    /// Dedup key (folded canonical form of the URL; not a link).
    pub dedup_key: String,
    /// Feed GUID.
    pub guid: Option<String>,
    /// Headline.
    pub title: Option<String>,
    /// Bylines, one person or organisation each.
    pub authors: Vec<String>,
    /// Name of the publication, when stated.
    pub site_name: Option<String>,
    /// The page's summary of the story, when stated.
    pub summary: Option<String>,
    /// Language of the page, when stated.
    pub language: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Last modification time, when stated.
    pub updated_at: Option<DateTime<Utc>>,
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
    /// Publishing status.
    pub status: StoryStatus,
    /// Same-event cluster.
    pub cluster_id: Option<i64>,
    /// Topic score.
    pub topic_score: Option<f64>,
    /// Plain text body.
    pub text: String,
    /// Sanitized HTML body.
    pub html: String,
}

/// A stored story as the event clusterer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentStory {
    /// Story id.
    pub id: i64,
    /// Same-event cluster.
    pub cluster_id: Option<i64>,
    /// Headline.
    pub title: Option<String>,
    /// Plain text body.
    pub text: String,
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
}

/// Which key found an item to be a story stored already by another run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateKey {
    /// The canonical URL (dedup key).
    CanonicalUrl,
    /// The exact-content fingerprint.
    Fingerprint,
    /// A near-duplicate signature, compared inside the insert's transaction.
    NearDup,
}

impl DuplicateKey {
    /// Its name in event reasons (the column's name for the unique keys).
    pub fn as_str(self) -> &'static str {
        match self {
            DuplicateKey::CanonicalUrl => "canonical_url",
            DuplicateKey::Fingerprint => "fingerprint",
            DuplicateKey::NearDup => "near_dup",
        }
    }
}

impl fmt::Display for DuplicateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of inserting a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored under this id.
    Stored(i64),
    /// A story with the same key exists (this id); nothing was written but the seen item and a
    /// `duplicate` event.
    Duplicate {
        /// The existing story.
        of: i64,
        /// Which key matched.
        key: DuplicateKey,
    },
}

/// How one source's part of a run ended. Serialized (JSON reports, NDJSON progress) as the
/// one-line text of [`fmt::Display`], e.g. `ok` or `failed: HTTP 500`.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceStatus {
    /// Fetched and listed; every item reached an outcome or was left for later.
    Ok,
    /// The source answered 304 Not Modified.
    NotModified,
    /// The source (or the database while working on it) failed.
    Failed {
        /// Why, one line.
        reason: String,
    },
    /// Held by another run (a forced run that found it leased).
    Busy,
    /// Leased but no longer in the config.
    NotConfigured,
    /// Leased, then released unfetched because the run stopped (`reason` says why).
    NotFetched {
        /// Why.
        reason: String,
    },
    /// Another run took the source over mid-run; its state was not written by this one.
    LeaseLost {
        /// How far this run had got.
        so_far: Box<SourceStatus>,
    },
}

const BUSY: &str = "busy (being fetched by another run)";
const NOT_CONFIGURED: &str = "not configured";
const LEASE_LOST_PREFIX: &str = "lease lost: another run took the source over mid-run (";
const LEASE_LOST_SUFFIX: &str = " so far)";

impl SourceStatus {
    /// The status's kind in one word (`ok`, `failed`, `lease lost`, …), for a progress line.
    pub fn short(&self) -> &'static str {
        match self {
            SourceStatus::Ok => "ok",
            SourceStatus::NotModified => "not_modified",
            SourceStatus::Failed { .. } => "failed",
            SourceStatus::Busy => "busy (being fetched by another run)",
            SourceStatus::NotConfigured => "not configured",
            SourceStatus::NotFetched { .. } => "not fetched",
            SourceStatus::LeaseLost { .. } => "lease lost",
        }
    }

    /// Whether the source failed (a failure seen before its lease was lost counts too).
    pub fn is_failed(&self) -> bool {
        match self {
            SourceStatus::Failed { .. } => true,
            SourceStatus::LeaseLost { so_far } => so_far.is_failed(),
            _ => false,
        }
    }

    /// Parses the text [`fmt::Display`] writes (a report read back from the admin endpoint).
    pub fn parse(s: &str) -> SourceStatus {
        if let Some(inner) = s
            .strip_prefix(LEASE_LOST_PREFIX)
            .and_then(|r| r.strip_suffix(LEASE_LOST_SUFFIX))
        {
            return SourceStatus::LeaseLost {
                so_far: Box::new(SourceStatus::parse(inner)),
            };
        }
        if let Some(reason) = s.strip_prefix("failed: ") {
            return SourceStatus::Failed {
                reason: reason.to_string(),
            };
        }
        if let Some(reason) = s.strip_prefix("not fetched: ") {
            return SourceStatus::NotFetched {
                reason: reason.to_string(),
            };
        }
        match s {
            "ok" => SourceStatus::Ok,
            "not_modified" => SourceStatus::NotModified,
            BUSY => SourceStatus::Busy,
            NOT_CONFIGURED => SourceStatus::NotConfigured,
            // A status a newer version writes: kept as a failure with its text, never dropped.
            other => SourceStatus::Failed {
                reason: other.to_string(),
            },
        }
    }
}

impl fmt::Display for SourceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceStatus::Ok => f.write_str("ok"),
            SourceStatus::NotModified => f.write_str("not_modified"),
            SourceStatus::Failed { reason } => write!(f, "failed: {reason}"),
            SourceStatus::Busy => f.write_str(BUSY),
            SourceStatus::NotConfigured => f.write_str(NOT_CONFIGURED),
            SourceStatus::NotFetched { reason } => write!(f, "not fetched: {reason}"),
            SourceStatus::LeaseLost { so_far } => {
                write!(f, "{LEASE_LOST_PREFIX}{so_far}{LEASE_LOST_SUFFIX}")
            }
        }
    }
}

impl Serialize for SourceStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SourceStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SourceStatus, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(SourceStatus::parse(&s))
    }
}

/// How one source's part of a run ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceReport {
    /// Source name.
    pub name: String,
    /// How it ended.
    pub status: SourceStatus,
    /// Item counts for this source.
    pub counts: RunCounts,
    /// How long the source's own fetch took (not its articles), when it was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_seconds: Option<f64>,
}

/// What a run reports while it goes (for `newsdesk fetch` progress through the admin endpoint).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunProgress {
    /// The run started and leased this many sources.
    Started {
        /// Run id in the store.
        run_id: i64,
        /// Sources leased by this run.
        sources: usize,
    },
    /// One source is done.
    SourceDone {
        /// Its report.
        report: SourceReport,
    },
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunReport {
    /// Run id in the store; 0 for a scheduled tick that found nothing due (no run recorded).
    pub run_id: i64,
    /// Totals.
    pub counts: RunCounts,
    /// One entry per source considered.
    pub sources: Vec<SourceReport>,
    /// Set when a shutdown stopped the run early.
    pub interrupted: bool,
}

impl RunReport {
    /// A scheduled tick that found nothing due: not a run (nothing recorded, nothing fetched).
    pub fn is_idle(&self) -> bool {
        self.run_id == 0
    }
}

/// What would happen to one item, as `newsdesk preview` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Already seen: skipped without fetching.
    Known,
    /// Failed before and not due for another attempt yet.
    Deferred,
    /// A story already stored.
    Duplicate,
    /// Not about the topic.
    OffTopic,
    /// Could not be processed.
    Failed,
    /// Would be stored.
    Stored,
}

impl Decision {
    /// Its spelling in output (the same as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Known => "known",
            Decision::Deferred => "deferred",
            Decision::Duplicate => "duplicate",
            Decision::OffTopic => "off_topic",
            Decision::Failed => "failed",
            Decision::Stored => "stored",
        }
    }
}

/// What would happen to one item (`newsdesk preview`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItemDecision {
    /// The announced URL.
    pub url: String,
    /// Title (article's, else feed's).
    pub title: Option<String>,
    /// What would happen.
    pub outcome: Decision,
    /// Why.
    pub reason: String,
    /// Topic score or similarity.
    pub score: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_statuses_read_back_as_written() {
        let statuses = [
            SourceStatus::Ok,
            SourceStatus::NotModified,
            SourceStatus::Failed {
                reason: "HTTP 500: server error".into(),
            },
            SourceStatus::Busy,
            SourceStatus::NotConfigured,
            SourceStatus::NotFetched {
                reason: "disk full (the run stopped)".into(),
            },
            SourceStatus::LeaseLost {
                so_far: Box::new(SourceStatus::Failed {
                    reason: "database: x".into(),
                }),
            },
        ];
        for s in statuses {
            let json = serde_json::to_string(&s).expect("serializes");
            assert_eq!(json, format!("\"{s}\""));
            let back: SourceStatus = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, s);
        }
        assert_eq!(
            SourceStatus::LeaseLost {
                so_far: Box::new(SourceStatus::Ok)
            }
            .to_string(),
            "lease lost: another run took the source over mid-run (ok so far)"
        );
    }

    #[test]
    fn outcomes_have_one_spelling_each_way() {
        for (o, s) in OUTCOMES {
            assert_eq!(o.as_str(), *s);
            assert_eq!(Outcome::parse(s), Ok(*o));
        }
        assert!(Outcome::parse("nope").is_err());
    }
}
