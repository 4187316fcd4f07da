//! Store stage: sources' fetch state, stories, runs and their events.
//!
//! [`Store`] is the one interface the rest of the crate sees; [`open`] picks the implementation
//! from the scheme of `storage.url` (`sqlite:` → [`sqlite::SqliteStore`], `postgres:` or
//! `postgresql:` → [`postgres::PgStore`]). Every write that ends an
//! item (story + seen item + event) is one transaction, and unique constraints on the canonical
//! URL and the content fingerprint decide races between runs.

use std::time::Duration;

use crate::config::SourceConfig;
use crate::model::{
    DuplicateKey, Event, EventScope, InsertOutcome, ItemRetry, NewStory, Outcome, RecentStory, Run,
    RunCounts, SeenItem, SourceState, SourceUpdate, Story, StoryStatus, Trigger, UnknownValue,
};
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

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

impl From<UnknownValue> for StoreError {
    fn from(e: UnknownValue) -> StoreError {
        StoreError::Corrupt {
            column: e.column,
            value: e.value,
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

/// Compares a story with stored near-duplicate signatures (story id, signature bytes); the
/// near-copy found, with its similarity.
pub type NearDupCheck = dyn Fn(&[(i64, Vec<u8>)]) -> Option<(i64, f64)> + Send + Sync;

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
    /// and a `duplicate` event are stored instead, and `Duplicate { key: DuplicateKey::NearDup }` is
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
    key: DuplicateKey,
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
    Ok(EventScope::parse(s)?)
}
