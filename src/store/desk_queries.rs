//! The desk's read queries (issue 12), kept apart from the [`super::Store`] trait: one page of
//! the queue with the reason each story passed, and the per-day counts behind the sources
//! page's charts.
//!
//! [`DeskDb`] has a small pool of its own on the same database (read-only transactions on
//! PostgreSQL), so an editor paging through the desk never takes a connection the pipeline is
//! waiting for. Every query here is served by an index (migration 0006 adds the ones it
//! needs); `benches/desk.rs` checks the pages stay under 100 ms with 100,000 stories and
//! 1,000,000 events.

use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, Postgres, Row, Sqlite, SqlitePool};

use super::sql::Codec;
use super::StoreError;

/// Milliseconds in a day: `source_days.day` is days since the Unix epoch (UTC).
const DAY_MS: i64 = 86_400_000;

/// A story on the queue: what the list shows, without the body.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueStory {
    /// Story id.
    pub id: i64,
    /// Source name.
    pub source: String,
    /// The article's own address (what publishing links to).
    pub url: String,
    /// Headline.
    pub title: Option<String>,
    /// Bylines, joined with ", ".
    pub author: Option<String>,
    /// Publication time.
    pub published_at: Option<DateTime<Utc>>,
    /// Fetch time.
    pub fetched_at: DateTime<Utc>,
    /// Same-event cluster.
    pub cluster_id: Option<i64>,
    /// Topic score.
    pub topic_score: Option<f64>,
    /// Why it passed: the reason of the `stored` event that wrote it (the topic score, the
    /// threshold and the matched terms), when that event has not been pruned yet.
    pub reason: Option<String>,
}

/// One source's counts on one UTC day (the `source_days` table, kept by a trigger on
/// `run_events`, so the chart never aggregates the log itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDay {
    /// Source name.
    pub source: String,
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    /// Items that reached an outcome (item events).
    pub items: i64,
    /// Stories stored.
    pub stored: i64,
    /// Failed fetches of the source or of its items.
    pub errors: i64,
}

/// The day number (days since the epoch, UTC) of `t`, as `source_days.day` counts.
pub fn day_of(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis().div_euclid(DAY_MS)
}

/// The desk's connection to the database.
#[derive(Debug, Clone)]
pub enum DeskDb {
    /// A SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL database.
    Postgres(PgPool),
}

/// Columns of a queue row; `reason` is the newest `stored` event about the story, found
/// through the partial index on `run_events(story_id)`.
const QUEUE_COLUMNS: &str = "s.id, s.source, COALESCE(s.published_url, s.url) AS url, s.title, \
     s.author, s.published_at, s.fetched_at, s.cluster_id, s.topic_score, \
     (SELECT e.reason FROM run_events e WHERE e.story_id = s.id AND e.outcome = 'stored' \
      ORDER BY e.id DESC LIMIT 1) AS reason";

impl DeskDb {
    /// Connects to the (already migrated) database at `url`: the daemon's store created it.
    pub async fn open(url: &str) -> Result<DeskDb, StoreError> {
        let bad = |reason: String| StoreError::Url {
            url: url.split('@').next_back().unwrap_or("").to_string(),
            reason,
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(5));
            let pool = SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(opts)
                .await?;
            Ok(DeskDb::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .application_name("newsdesk desk")
                .options([
                    ("statement_timeout", "10s"),
                    ("default_transaction_read_only", "on"),
                ]);
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(10))
                .idle_timeout(Duration::from_secs(300))
                .connect_with(opts)
                .await?;
            Ok(DeskDb::Postgres(pool))
        } else {
            Err(bad(
                "expected a sqlite:, postgres: or postgresql: URL".into()
            ))
        }
    }

    /// Stories with status `new` and an id below `before` (all when `None`), newest first, at
    /// most `limit`: one page of the queue (keyset pagination on `stories(status, id)`).
    pub async fn queue_page(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<QueueStory>, StoreError> {
        let before = before.unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {QUEUE_COLUMNS} FROM stories s WHERE s.status = 'new' AND s.id < $1 \
             ORDER BY s.id DESC LIMIT $2"
        );
        let page: Result<Vec<QueueStory>, sqlx::Error> = match self {
            DeskDb::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(queue_story::<Sqlite>)
                .collect(),
            DeskDb::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(before)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(queue_story::<Postgres>)
                .collect(),
        };
        page.map_err(StoreError::from)
    }

    /// How many stories wait on the queue (status `new`), counted up to `cap`: past it the
    /// page says "more than", and the count never walks a backlog of 100,000 stories.
    pub async fn queue_len(&self, cap: i64) -> Result<i64, StoreError> {
        const SQL: &str =
            "SELECT COUNT(*) FROM (SELECT 1 FROM stories WHERE status = 'new' LIMIT $1) AS q";
        Ok(match self {
            DeskDb::Sqlite(pool) => sqlx::query_scalar(SQL).bind(cap).fetch_one(pool).await?,
            DeskDb::Postgres(pool) => sqlx::query_scalar(SQL).bind(cap).fetch_one(pool).await?,
        })
    }

    /// Every source's counts on the days from `first_day` on (see [`day_of`]), by source and
    /// day.
    pub async fn source_days(&self, first_day: i64) -> Result<Vec<SourceDay>, StoreError> {
        const SQL: &str = "SELECT source, day, items, stored, errors FROM source_days \
                           WHERE day >= $1 ORDER BY source, day";
        let rows = match self {
            DeskDb::Sqlite(pool) => sqlx::query(SQL)
                .bind(first_day)
                .fetch_all(pool)
                .await?
                .iter()
                .map(source_day)
                .collect::<Result<Vec<_>, _>>(),
            DeskDb::Postgres(pool) => sqlx::query(SQL)
                .bind(first_day)
                .fetch_all(pool)
                .await?
                .iter()
                .map(source_day)
                .collect::<Result<Vec<_>, _>>(),
        };
        rows.map_err(StoreError::from)
    }
}

/// One queue row, its times read through the store's [`Codec`] (INTEGER milliseconds on
/// SQLite, TIMESTAMPTZ on PostgreSQL), as every other story read is.
fn queue_story<DB: Codec>(r: &DB::Row) -> Result<QueueStory, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<DB::Row>,
    for<'a> String: sqlx::Decode<'a, DB> + sqlx::Type<DB>,
    for<'a> i64: sqlx::Decode<'a, DB> + sqlx::Type<DB>,
    for<'a> f64: sqlx::Decode<'a, DB> + sqlx::Type<DB>,
    for<'a> DB::Time: sqlx::Decode<'a, DB> + sqlx::Type<DB>,
{
    Ok(QueueStory {
        id: r.try_get("id")?,
        source: r.try_get("source")?,
        url: r.try_get("url")?,
        title: r.try_get("title")?,
        author: r.try_get("author")?,
        published_at: r
            .try_get::<Option<DB::Time>, _>("published_at")?
            .map(DB::read_time),
        fetched_at: DB::read_time(r.try_get("fetched_at")?),
        cluster_id: r.try_get("cluster_id")?,
        topic_score: r.try_get("topic_score")?,
        reason: r.try_get("reason")?,
    })
}

fn source_day<R: Row>(r: &R) -> Result<SourceDay, sqlx::Error>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(SourceDay {
        source: r.try_get("source")?,
        day: r.try_get("day")?,
        items: r.try_get("items")?,
        stored: r.try_get("stored")?,
        errors: r.try_get("errors")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_count_from_the_epoch_in_utc() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc));
        assert_eq!(t("1970-01-01T23:59:59Z").map(day_of), Ok(0));
        assert_eq!(t("1970-01-02T00:00:00Z").map(day_of), Ok(1));
        assert_eq!(t("1969-12-31T23:59:59Z").map(day_of), Ok(-1));
    }
}
