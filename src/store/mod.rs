//! Store stage: sources' fetch state, stories, runs and their events.
//!
//! Narrow traits, one per kind of caller ([`SourceStore`]: sources and leases, [`RunLog`]: runs
//! and events, [`StoryStore`]: dedup lookups, story writes and publishing, [`StoreHealth`]), and
//! [`Store`], all of them: what the rest of the crate sees. [`open`] picks the implementation
//! from the scheme of `storage.url` (`sqlite:` → [`sqlite::SqliteStore`], `postgres:` or
//! `postgresql:` → [`postgres::PgStore`]); both are one [`sql::SqlStore`] running the same SQL
//! (see [`sql`]). Every write that ends an
//! item (story + seen item + event) is one transaction, and unique constraints on the canonical
//! URL and the content fingerprint decide races between runs.

use chrono::{DateTime, Utc};

use crate::model::{DuplicateKey, Event, EventScope, Outcome, StoryStatus, UnknownValue};

pub mod desk_queries;
pub mod postgres;
pub mod sql;
pub mod sqlite;
mod traits;

pub use traits::{RunLog, SourceStore, Store, StoreHealth, StoryStore};

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

pub(crate) fn parse_scope(s: &str) -> Result<EventScope, StoreError> {
    Ok(EventScope::parse(s)?)
}
