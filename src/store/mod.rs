//! Store stage: sources' fetch state, stories, runs and their events.
//!
//! [`Store`] is the one interface the rest of the crate sees; [`open`] picks the implementation
//! from the scheme of `storage.url` (`sqlite:` → [`sqlite::SqliteStore`], `postgres:` or
//! `postgresql:` → [`postgres::PgStore`]). Every write that ends an
//! item (story + seen item + event) is one transaction, and unique constraints on the canonical
//! URL and the content fingerprint decide races between runs.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::config::SourceConfig;

pub mod desk_queries;
pub mod postgres;
pub mod sqlite;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// The disk (or the database's size limit) is full: no write succeeds until space is freed.
    #[error("disk full: {0}")]
    DiskFull(sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The storage URL is not usable.
    #[error("storage url '{url}': {reason}")]
    Url {
        /// The URL from the config.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value read back is not one this version writes.
    #[error("unexpected value in column {column}: {value}")]
    Corrupt {
        /// Column name.
        column: &'static str,
        /// The value found.
        value: String,
    },
}

impl From<sqlx::Error> for StoreError {
    /// Sorts out a full disk (SQLite `SQLITE_FULL`, PostgreSQL `53100`, `ENOSPC`), which the
    /// pipeline treats differently from every other database error: it stops the run.
    fn from(e: sqlx::Error) -> StoreError {
        let full = match &e {
            sqlx::Error::Database(db) => {
                matches!(db.code().as_deref(), Some("13" | "53100"))
                    || db.message().contains("database or disk is full")
            }
            sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        };
        if full {
            StoreError::DiskFull(e)
        } else {
            StoreError::Database(e)
        }
    }
}

impl StoreError {
    /// Whether this is a full disk: every further write will fail too.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::DiskFull(_))
    }
}

/// The last write failure for want of space, kept in memory (the database cannot hold it)
/// for `/health`; shared by the store implementations.
#[derive(Debug, Clone, Default)]
pub struct WriteHealth(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl WriteHealth {
    /// The failure, if one is standing.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a failure, or clears it with `None`.
    pub fn set(&self, error: Option<String>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
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
}

/// The final outcome of an item, or what happened to a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
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

impl Outcome {
    /// Column spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::OffTopic => "off_topic",
            Outcome::Failed => "failed",
            Outcome::Fetched => "fetched",
            Outcome::NotModified => "not_modified",
            Outcome::GivenUp => "given_up",
        }
    }

    /// Parses the column spelling.
    pub fn parse(s: &str) -> Result<Outcome, StoreError> {
        Ok(match s {
            "stored" => Outcome::Stored,
            "duplicate" => Outcome::Duplicate,
            "off_topic" => Outcome::OffTopic,
            "failed" => Outcome::Failed,
            "fetched" => Outcome::Fetched,
            "not_modified" => Outcome::NotModified,
            "given_up" => Outcome::GivenUp,
            other => {
                return Err(StoreError::Corrupt {
                    column: "outcome",
                    value: other.to_string(),
                })
            }
        })
    }
}

/// Publishing status of a story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
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
    pub fn parse(s: &str) -> Result<StoryStatus, StoreError> {
        Ok(match s {
            "new" => StoryStatus::New,
            "published" => StoryStatus::Published,
            "rejected" => StoryStatus::Rejected,
            other => {
                return Err(StoreError::Corrupt {
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
    /// The article's own address, handed to publishing ([`crate::dedup::published_url`]).
    pub url: String,
    /// URL the article was fetched from (after redirects), as fetched.
    pub fetched_url: String,
    /// Dedup key ([`crate::dedup::canonical_url`]): folded, never a link. Stored in the
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

    fn parse(s: &str) -> Result<EventScope, StoreError> {
        match s {
            "source" => Ok(EventScope::Source),
            "item" => Ok(EventScope::Item),
            other => Err(StoreError::Corrupt {
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

/// Compares a story with stored near-duplicate signatures (story id, signature bytes); the
/// near-copy found, with its similarity.
pub type NearDupCheck = dyn Fn(&[(i64, Vec<u8>)]) -> Option<(i64, f64)> + Send + Sync;

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

/// Filter of `events`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this run.
    pub run_id: Option<i64>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only events at or after.
    pub since: Option<DateTime<Utc>>,
    /// Only events with a larger id (for following).
    pub after_id: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Filter of `stories`.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    /// Only this status.
    pub status: Option<StoryStatus>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this cluster.
    pub cluster_id: Option<i64>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// Result of [`Store::insert_story`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored under this id.
    Stored(i64),
    /// A story with the same canonical URL or fingerprint exists (this id); nothing was written
    /// but the seen item and a `duplicate` event.
    Duplicate {
        /// The existing story.
        of: i64,
        /// Which key matched: `canonical_url` or `fingerprint`.
        key: &'static str,
    },
}

/// The storage interface; one implementation per database.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates or updates sources from the config (new ones are due at once, polled every
    /// `default_interval` unless they set their own); removed ones simply stop being polled.
    async fn sync_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// All sources with their state, by name.
    async fn sources(&self) -> Result<Vec<SourceState>, StoreError>;

    /// Takes a lease on the named sources (all when `names` is empty) that are due — or all of
    /// them when `force` — and that no other live run holds. Returns the leased ones.
    async fn lease_sources(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Vec<SourceState>, StoreError> {
        self.lease_batch(names, force, owner, now, lease, usize::MAX)
            .await
    }

    /// Like [`Store::lease_sources`], but takes at most `limit` sources, the longest overdue
    /// first (by due time, then name). A daemon leases a batch, fetches it, and leases the next,
    /// so several daemons share a big pass instead of the first one holding every source.
    async fn lease_batch(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError>;

    /// Writes a fetch's result and releases the lease held by `owner`.
    async fn finish_source(
        &self,
        name: &str,
        owner: &str,
        update: &SourceUpdate,
    ) -> Result<(), StoreError>;

    /// Extends `owner`'s lease on `name` to `until` (a heartbeat while the run still works on
    /// it); `false` when the lease is no longer `owner`'s (another run took the source over).
    async fn renew_lease(
        &self,
        name: &str,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records the start of a run; gives its id.
    async fn start_run(&self, trigger: Trigger, now: DateTime<Utc>) -> Result<i64, StoreError>;

    /// Names `owner` (the pipeline's lease owner) as the process of run `run_id`, and marks
    /// abandoned every other unfinished run started more than `lease` before `now` whose process
    /// holds no live lease; gives how many were marked.
    async fn claim_run_and_mark_abandoned(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<u64, StoreError>;

    /// Records the end of a run.
    async fn finish_run(
        &self,
        run_id: i64,
        counts: &RunCounts,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Whether an announced item reached a final outcome before (by GUID within the source, or
    /// by canonical URL in any source or story).
    async fn is_known(
        &self,
        source: &str,
        guid: Option<&str>,
        canonical_url: &str,
    ) -> Result<bool, StoreError>;

    /// The story with this canonical URL.
    async fn story_by_canonical_url(&self, canonical_url: &str) -> Result<Option<i64>, StoreError>;

    /// The story with this fingerprint.
    async fn story_by_fingerprint(&self, fingerprint: &str) -> Result<Option<i64>, StoreError>;

    /// Near-duplicate signatures of stories with an id above `after_id`, ascending.
    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;

    /// Stories with an id above `after_id` fetched at or after `since`, ascending by id: what
    /// the event clusterer (re)builds its window from.
    async fn recent_stories(
        &self,
        after_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<RecentStory>, StoreError>;

    /// Moves stories to other event clusters, (story id, cluster id) each, in one transaction:
    /// the result of re-clustering the window ([`crate::dedup::EventClusterer::recluster`]).
    async fn set_cluster_ids(&self, changes: &[(i64, i64)]) -> Result<(), StoreError>;

    /// Stores a story, its seen item and its event in one transaction. When the canonical URL or
    /// the fingerprint is taken (a race with another run), stores the seen item and a
    /// `duplicate` event instead. A story with no `cluster_id` starts its own cluster: its
    /// cluster id is set to its own id in the same transaction.
    async fn insert_story(
        &self,
        story: &NewStory,
        seen: &SeenItem,
        event: &Event,
    ) -> Result<InsertOutcome, StoreError>;

    /// [`Store::insert_story`] guarded against near-copies stored concurrently: in the same
    /// transaction, after the story's row is written (which serializes this with every other
    /// writer), `near_dup` is called with the near-duplicate signatures of the other stories
    /// with an id above `after_id` (those the caller has not compared the story with yet).
    /// When it names one (story id, similarity), the transaction is rolled back, the seen item
    /// and a `duplicate` event are stored instead, and `Duplicate { key: "near_dup" }` is
    /// returned.
    async fn insert_story_guarded(
        &self,
        story: &NewStory,
        seen: &SeenItem,
        event: &Event,
        after_id: i64,
        near_dup: &NearDupCheck,
    ) -> Result<InsertOutcome, StoreError>;

    /// Records an item's final non-stored outcome: its seen item (unless `failed`, which is
    /// retried next run) and its event, in one transaction. With a seen item, the item's retry
    /// state (if any) is removed in the same transaction.
    async fn record_item(&self, seen: Option<&SeenItem>, event: &Event) -> Result<(), StoreError>;

    /// The retry state of an item (by source and canonical URL of the announced link).
    async fn item_retry(
        &self,
        source: &str,
        canonical_url: &str,
    ) -> Result<Option<ItemRetry>, StoreError>;

    /// Records a failed attempt at an item that will be tried again: its `failed` event and
    /// its new retry state, in one transaction.
    async fn record_item_retry(
        &self,
        seen: &SeenItem,
        event: &Event,
        retry: &ItemRetry,
    ) -> Result<(), StoreError>;

    /// Records an event alone (source-level outcomes).
    async fn record_event(&self, event: &Event) -> Result<(), StoreError>;

    /// Events, newest first.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;

    /// Runs, newest first.
    async fn runs(&self, limit: i64, run_id: Option<i64>) -> Result<Vec<Run>, StoreError>;

    /// Stories, newest first.
    async fn stories(&self, filter: &StoryFilter) -> Result<Vec<Story>, StoreError>;

    /// Sets the status of stories; gives how many changed.
    async fn set_story_status(&self, ids: &[i64], status: StoryStatus) -> Result<u64, StoreError>;

    /// Deletes events older than `before` (and retry states of items last failing before it,
    /// left by items that later succeeded); gives how many events.
    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// One story by id (the desk's story page).
    async fn story(&self, id: i64) -> Result<Option<Story>, StoreError>;

    /// Events about one story, newest first: the one that stored it and the items dropped as
    /// its duplicates.
    async fn story_events(&self, story_id: i64, limit: i64) -> Result<Vec<Event>, StoreError>;

    /// Events matching `filter` with an id below `before_id`, newest first: the next page of
    /// a paginated log.
    async fn events_before(
        &self,
        filter: &EventFilter,
        before_id: i64,
    ) -> Result<Vec<Event>, StoreError>;
    /// How many stories each status has (statuses with none are left out).
    async fn story_counts(&self) -> Result<Vec<(StoryStatus, i64)>, StoreError>;

    /// Size of the database in bytes, as the database reports it.
    async fn database_size(&self) -> Result<i64, StoreError>;
    /// The standing write failure (a full disk) a run reported, for health checks.
    fn write_error(&self) -> Option<String>;

    /// Records (or, with `None`, clears) the standing write failure.
    fn set_write_error(&self, error: Option<String>);
}

/// Opens the store named by `storage.url`, creating the database and running migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Box::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::Url {
            url: url.to_string(),
            reason: "expected a sqlite:, postgres: or postgresql: URL".into(),
        })
    }
}

/// Opens an existing database for reading only: no creation, no migration, no migration lock.
/// What `stories`, `logs`, `sources`, `export` and `status` use, so an operator who may read
/// the database but not write it can run them beside the daemon.
pub async fn open_read_only(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::open_read_only(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Box::new(postgres::PgStore::open_read_only(url).await?))
    } else {
        Err(StoreError::Url {
            url: url.to_string(),
            reason: "expected a sqlite:, postgres: or postgresql: URL".into(),
        })
    }
}

/// Refuses a database whose applied migrations are not the ones this build ships (a read-only
/// reader must not run them, and must not misread an older or newer schema).
pub(crate) fn check_schema_version(
    url: &str,
    applied: Option<i64>,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let expected = migrator.iter().map(|m| m.version).max();
    if applied == expected {
        return Ok(());
    }
    let name = |v: Option<i64>| v.map_or("none".to_string(), |v| v.to_string());
    Err(StoreError::Url {
        url: url.to_string(),
        reason: format!(
            "the database's schema is at migration {}, this newsdesk expects {}: let the daemon \
             (or a write command run as its user) migrate it first",
            name(applied),
            name(expected)
        ),
    })
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The `duplicate` event an insert records when another run stored the story first: by one of
/// the unique keys (`key`), or as a near-copy with its similarity (`key` = `near_dup`).
pub(crate) fn concurrent_duplicate_event(
    event: &Event,
    of: i64,
    key: &str,
    similarity: Option<f64>,
) -> Event {
    let mut ev = event.clone();
    ev.outcome = Outcome::Duplicate;
    ev.duplicate_of = Some(of);
    ev.reason = match similarity {
        Some(sim) => {
            ev.score = Some(sim);
            format!(
                "near-duplicate of story {of} (similarity {sim:.2}, stored by a concurrent run)"
            )
        }
        None => format!("same {key} as story {of} (stored by a concurrent run)"),
    };
    ev
}

/// The published address of a story stored before `published_url` existed: its fetched URL
/// without tracking parameters (the page's declared canonical address was never stored).
pub(crate) fn legacy_published_url(fetched: &str) -> String {
    url::Url::parse(fetched)
        .map(|u| crate::dedup::strip_tracking(&u))
        .unwrap_or_else(|_| fetched.to_string())
}

/// Rows filled per transaction by the stores' `published_url` backfill.
pub(crate) const BACKFILL_BATCH: i64 = 500;

/// `authors` as the `author` column keeps them for readers of the old schema.
pub(crate) fn joined_authors(authors: &[String]) -> Option<String> {
    (!authors.is_empty()).then(|| authors.join(", "))
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub(crate) fn parse_scope(s: &str) -> Result<EventScope, StoreError> {
    EventScope::parse(s)
}
