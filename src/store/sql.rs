//! The SQL both stores run, written once.
//!
//! The two schemas (migrations/sqlite, migrations/postgres) have the same tables, columns and
//! constraints; they differ in the column types of times (SQLite: INTEGER milliseconds since the
//! epoch, PostgreSQL: TIMESTAMPTZ) and of the authors list (JSON text, `TEXT[]`). So every
//! statement is written once, with `$n` placeholders (sqlx's SQLite driver binds `$n` by number
//! as PostgreSQL does, and a `$n` used twice is one parameter in both), every row is read by one
//! mapping, and the values whose types differ go through a `Codec` per database.
//!
//! What a database does its own way stays in its file behind `Dialect`: writing the config's
//! sources, leasing (row locks and arrays in PostgreSQL, SQLite's single writer), the lock that
//! serializes guarded story inserts, the size query, and opening.
//!
//! Why a macro and not functions generic over `sqlx::Database`: sqlx gives `Option<T>` its
//! `Encode` per database (no blanket impl), and a pool or transaction is an executor only under
//! a higher-ranked bound on `&mut DB::Connection`; generic code needs about fifteen `where`
//! predicates on every impl block, which Rust does not carry from one bound to the next. The
//! macro instead compiles this one text against each concrete database, so the type checker
//! sees plain sqlx calls, and the text is written, read and reviewed once.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Pool};

use super::{StoreError, WriteHealth};
use crate::config::SourceConfig;

/// A store over one database (SQLite or PostgreSQL): [`super::sqlite::SqliteStore`] and
/// [`super::postgres::PgStore`] are this type over each.
pub struct SqlStore<DB: Database> {
    pub(super) pool: Pool<DB>,
    pub(super) write_health: WriteHealth,
}

impl<DB: Database> SqlStore<DB> {
    pub(super) fn new(pool: Pool<DB>) -> Self {
        SqlStore {
            pool,
            write_health: WriteHealth::default(),
        }
    }

    /// The connection pool (for tests and tools that inspect the database).
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        SqlStore {
            pool: self.pool.clone(),
            write_health: self.write_health.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// How one database stores the values whose column types differ between the schemas.
pub(crate) trait Codec: Database {
    /// A time as its columns hold it.
    type Time;
    /// Encodes a time.
    fn time(t: DateTime<Utc>) -> Self::Time;
    /// Decodes a time.
    fn read_time(v: Self::Time) -> DateTime<Utc>;
    /// The authors list as the `authors` column holds it.
    type Authors;
    /// Encodes the authors list.
    fn authors(list: &[String]) -> Self::Authors;
    /// Decodes the authors list.
    fn read_authors(v: Self::Authors) -> Result<Vec<String>, StoreError>;
}

/// What a store does its own way on its database; the shared methods call these.
#[async_trait]
pub(crate) trait Dialect {
    /// The database.
    type Db: Database;
    /// All sources by name, in byte order whatever the database's collation.
    const SOURCES_QUERY: &'static str;
    /// A query giving the database's size in bytes.
    const SIZE_QUERY: &'static str;

    /// Creates or updates the config's sources (see [`super::SourceStore::sync_sources`]).
    async fn write_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Leases up to `limit` due (or, with `force`, any) unleased sources among `names` (all
    /// when empty) to `owner` until `until`, the longest overdue first; gives their rows.
    #[allow(clippy::too_many_arguments)]
    async fn lease_rows(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<<Self::Db as Database>::Row>, StoreError>;

    /// Taken first in the transaction of a guarded story insert, so that guarded inserts take
    /// turns and each sees the near-copies committed before it.
    async fn serialize_guarded_insert(
        conn: &mut <Self::Db as Database>::Connection,
    ) -> Result<(), sqlx::Error>;
}

/// Leases and abandonment ages never reach further than this from `now` (a century), whatever
/// duration was asked for: both databases hold such times.
const FURTHEST: chrono::TimeDelta = chrono::TimeDelta::days(36_500);
/// How long closing the store waits for connections still checked out.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `now` moved by `by` (forward when `later`), at most [`FURTHEST`].
pub(super) fn shifted(now: DateTime<Utc>, by: Duration, later: bool) -> DateTime<Utc> {
    let by = chrono::TimeDelta::from_std(by).map_or(FURTHEST, |d| d.min(FURTHEST));
    if later {
        now + by
    } else {
        now - by
    }
}

/// The shared methods, stamped out for one database type `$db` (see the module comment).
/// rustfmt formats this body only while all of it fits its width: when a line cannot (a long
/// line inside an SQL string), it silently leaves the whole macro alone, so keep SQL lines short.
macro_rules! shared_sql {
    ($db:ty) => {
        use std::time::Duration;

        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use sqlx::{Database, QueryBuilder, Row};

        use crate::config::SourceConfig;
        use crate::model::{
            DuplicateKey, Event, InsertOutcome, ItemRetry, NewStory, Outcome, RecentStory, Run,
            RunCounts, SeenItem, SourceState, SourceUpdate, Story, StoryStatus, Trigger,
        };
        use crate::store::sql::{shifted, Codec, Dialect, SqlStore};
        use crate::store::{
            concurrent_duplicate_event, joined_authors, legacy_published_url, parse_scope,
            EventFilter, NearDupCheck, RunLog, SourceStore, StoreError, StoreHealth, StoryFilter,
            StoryStore, BACKFILL_BATCH,
        };

        type DB = $db;
        type DbRow = <DB as Database>::Row;

        fn time(row: &DbRow, col: &str) -> Result<DateTime<Utc>, sqlx::Error> {
            Ok(DB::read_time(row.try_get(col)?))
        }

        fn opt_time(row: &DbRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
            Ok(row
                .try_get::<Option<<DB as Codec>::Time>, _>(col)?
                .map(DB::read_time))
        }

        fn source_from_row(row: &DbRow) -> Result<SourceState, StoreError> {
            Ok(SourceState {
                name: row.try_get("name")?,
                kind: row.try_get("kind")?,
                url: row.try_get("url")?,
                etag: row.try_get("etag")?,
                last_modified: row.try_get("last_modified")?,
                last_fetch_at: opt_time(row, "last_fetch_at")?,
                last_success_at: opt_time(row, "last_success_at")?,
                last_error: row.try_get("last_error")?,
                consecutive_errors: row.try_get("consecutive_errors")?,
                next_due_at: time(row, "next_due_at")?,
                interval_secs: row.try_get("interval_secs")?,
                last_new_story_at: opt_time(row, "last_new_story_at")?,
                lease_owner: row.try_get("lease_owner")?,
                lease_until: opt_time(row, "lease_until")?,
            })
        }

        fn event_from_row(row: &DbRow) -> Result<Event, StoreError> {
            Ok(Event {
                id: row.try_get("id")?,
                run_id: row.try_get("run_id")?,
                at: time(row, "at")?,
                source: row.try_get("source")?,
                scope: parse_scope(row.try_get::<&str, _>("scope")?)?,
                outcome: Outcome::parse(row.try_get::<&str, _>("outcome")?)?,
                url: row.try_get("url")?,
                title: row.try_get("title")?,
                story_id: row.try_get("story_id")?,
                duplicate_of: row.try_get("duplicate_of")?,
                score: row.try_get("score")?,
                reason: row.try_get("reason")?,
            })
        }

        fn story_from_row(row: &DbRow) -> Result<Story, StoreError> {
            let fetched_url: String = row.try_get("url")?;
            let url = match row.try_get::<Option<String>, _>("published_url")? {
                Some(u) => u,
                None => legacy_published_url(&fetched_url),
            };
            let authors = match row.try_get::<Option<<DB as Codec>::Authors>, _>("authors")? {
                Some(list) => DB::read_authors(list)?,
                None => row
                    .try_get::<Option<String>, _>("author")?
                    .into_iter()
                    .collect(),
            };
            Ok(Story {
                id: row.try_get("id")?,
                source: row.try_get("source")?,
                url,
                fetched_url,
                dedup_key: row.try_get("canonical_url")?,
                guid: row.try_get("guid")?,
                title: row.try_get("title")?,
                authors,
                site_name: row.try_get("site_name")?,
                summary: row.try_get("summary")?,
                language: row.try_get("language")?,
                published_at: opt_time(row, "published_at")?,
                updated_at: opt_time(row, "updated_at")?,
                fetched_at: time(row, "fetched_at")?,
                status: StoryStatus::parse(row.try_get::<&str, _>("status")?)?,
                cluster_id: row.try_get("cluster_id")?,
                topic_score: row.try_get("topic_score")?,
                text: row.try_get("text")?,
                html: row.try_get("html")?,
            })
        }

        fn run_from_row(row: &DbRow) -> Result<Run, StoreError> {
            let trigger = match row.try_get::<&str, _>("trigger")? {
                "schedule" => Trigger::Schedule,
                "manual" => Trigger::Manual,
                other => {
                    return Err(StoreError::Corrupt {
                        column: "trigger",
                        value: other.to_string(),
                    })
                }
            };
            Ok(Run {
                id: row.try_get("id")?,
                trigger,
                started_at: time(row, "started_at")?,
                finished_at: opt_time(row, "finished_at")?,
                abandoned_at: opt_time(row, "abandoned_at")?,
                counts: RunCounts {
                    sources: row.try_get("sources")?,
                    sources_failed: row.try_get("sources_failed")?,
                    items: row.try_get("items")?,
                    known: row.try_get("known")?,
                    stored: row.try_get("stored")?,
                    duplicates: row.try_get("duplicates")?,
                    off_topic: row.try_get("off_topic")?,
                    failed: row.try_get("failed")?,
                },
            })
        }

        fn near_dups(rows: &[DbRow]) -> Result<Vec<(i64, Vec<u8>)>, sqlx::Error> {
            rows.iter()
                .map(|r| Ok((r.try_get("id")?, r.try_get("near_dup")?)))
                .collect()
        }

        async fn insert_event<'e, E>(exec: E, e: &Event) -> Result<(), sqlx::Error>
        where
            E: sqlx::Executor<'e, Database = DB>,
        {
            sqlx::query(
                "INSERT INTO run_events (run_id, at, source, scope, outcome, url, title, \
                 story_id, duplicate_of, score, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(e.run_id)
            .bind(DB::time(e.at))
            .bind(&e.source)
            .bind(e.scope.as_str())
            .bind(e.outcome.as_str())
            .bind(&e.url)
            .bind(&e.title)
            .bind(e.story_id)
            .bind(e.duplicate_of)
            .bind(e.score)
            .bind(&e.reason)
            .execute(exec)
            .await?;
            Ok(())
        }

        async fn insert_seen<'e, E>(
            exec: E,
            seen: &SeenItem,
            outcome: Outcome,
            story_id: Option<i64>,
            at: DateTime<Utc>,
        ) -> Result<(), sqlx::Error>
        where
            E: sqlx::Executor<'e, Database = DB>,
        {
            // A GUID seen twice (the same item in a later run after a failure) keeps its
            // first row.
            sqlx::query(
                "INSERT INTO seen_items (source, guid, canonical_url, outcome, story_id, \
                 seen_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&seen.source)
            .bind(&seen.guid)
            .bind(&seen.canonical_url)
            .bind(outcome.as_str())
            .bind(story_id)
            .bind(DB::time(at))
            .execute(exec)
            .await?;
            Ok(())
        }

        /// Events matching `f` (and below `before_id` when given), newest first.
        async fn events_where(
            pool: &sqlx::Pool<DB>,
            f: &EventFilter,
            before_id: Option<i64>,
        ) -> Result<Vec<Event>, StoreError> {
            let mut qb: QueryBuilder<DB> = QueryBuilder::new("SELECT * FROM run_events WHERE TRUE");
            if let Some(r) = f.run_id {
                qb.push(" AND run_id = ").push_bind(r);
            }
            if let Some(s) = &f.source {
                qb.push(" AND source = ").push_bind(s.clone());
            }
            if let Some(o) = f.outcome {
                qb.push(" AND outcome = ").push_bind(o.as_str());
            }
            if let Some(t) = f.since {
                qb.push(" AND at >= ").push_bind(DB::time(t));
            }
            if let Some(a) = f.after_id {
                qb.push(" AND id > ").push_bind(a);
            }
            if let Some(b) = before_id {
                qb.push(" AND id < ").push_bind(b);
            }
            qb.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
            let rows = qb.build().fetch_all(pool).await?;
            rows.iter().map(event_from_row).collect()
        }

        impl SqlStore<DB> {
            /// Fills `published_url` of stories stored before the column existed
            /// (migration 0005 fills the rows it can in SQL), in batches, each its own
            /// transaction: daemons starting together write the same value, and an
            /// interrupted backfill resumes at the next open.
            pub(crate) async fn backfill_published_urls(&self) -> Result<u64, StoreError> {
                let mut filled = 0;
                loop {
                    let rows = sqlx::query(
                        "SELECT id, url FROM stories WHERE published_url IS NULL \
                         ORDER BY id LIMIT $1",
                    )
                    .bind(BACKFILL_BATCH)
                    .fetch_all(&self.pool)
                    .await?;
                    if rows.is_empty() {
                        break;
                    }
                    let mut tx = self.pool.begin().await?;
                    for row in &rows {
                        let id: i64 = row.try_get("id")?;
                        let url: String = row.try_get("url")?;
                        sqlx::query("UPDATE stories SET published_url = $1 WHERE id = $2")
                            .bind(legacy_published_url(&url))
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    filled += rows.len() as u64;
                }
                if filled > 0 {
                    tracing::info!(
                        stories = filled,
                        "published_url filled from the fetched URL for stories stored \
                         before it existed"
                    );
                }
                Ok(filled)
            }

            /// `insert_story`, with the near-copy guard of `insert_story_guarded` when
            /// `guard` is set.
            async fn insert_story_inner(
                &self,
                s: &NewStory,
                seen: &SeenItem,
                event: &Event,
                guard: Option<(i64, &NearDupCheck)>,
            ) -> Result<InsertOutcome, StoreError> {
                let mut tx = self.pool.begin().await?;
                if guard.is_some() {
                    Self::serialize_guarded_insert(&mut *tx).await?;
                }
                // ON CONFLICT without a target covers both unique keys. When another
                // transaction holds an uncommitted row with the same key, this waits
                // for it (PostgreSQL; SQLite has one writer at a time): committed → no
                // row here (duplicate), rolled back → this insert goes ahead.
                let inserted = sqlx::query_scalar(
                    "INSERT INTO stories (source, url, canonical_url, guid, title, \
                     author, published_at, fetched_at, text, html, fingerprint, \
                     near_dup, cluster_id, topic_score, published_url, authors, \
                     site_name, language, updated_at, summary) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                     $13, $14, $15, $16, $17, $18, $19, $20) \
                     ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(&s.source)
                .bind(&s.fetched_url)
                .bind(&s.dedup_key)
                .bind(&s.guid)
                .bind(&s.title)
                .bind(joined_authors(&s.authors))
                .bind(s.published_at.map(DB::time))
                .bind(DB::time(s.fetched_at))
                .bind(&s.text)
                .bind(&s.html)
                .bind(&s.fingerprint)
                .bind(&s.near_dup)
                .bind(s.cluster_id)
                .bind(s.topic_score)
                .bind(&s.url)
                .bind(DB::authors(&s.authors))
                .bind(&s.site_name)
                .bind(&s.language)
                .bind(s.updated_at.map(DB::time))
                .bind(&s.summary)
                .fetch_optional(&mut *tx)
                .await;
                let id: Option<i64> = match inserted {
                    Ok(id) => id,
                    Err(e) => {
                        // Roll back now, on this connection, rather than when the
                        // dropped transaction gets to it: after "disk full" SQLite may
                        // keep the write lock until then.
                        let _ = tx.rollback().await;
                        return Err(e.into());
                    }
                };
                if let Some(id) = id {
                    if let Some((after_id, check)) = guard {
                        let rows = sqlx::query(
                            "SELECT id, near_dup FROM stories \
                             WHERE id > $1 AND id <> $2 AND near_dup IS NOT NULL \
                             ORDER BY id",
                        )
                        .bind(after_id)
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?;
                        if let Some((of, similarity)) = check(&near_dups(&rows)?) {
                            tx.rollback().await?;
                            let ev = concurrent_duplicate_event(
                                event,
                                of,
                                DuplicateKey::NearDup,
                                Some(similarity),
                            );
                            self.record_item(Some(seen), &ev).await?;
                            return Ok(InsertOutcome::Duplicate {
                                of,
                                key: DuplicateKey::NearDup,
                            });
                        }
                    }
                    if s.cluster_id.is_none() {
                        sqlx::query("UPDATE stories SET cluster_id = id WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    insert_seen(&mut *tx, seen, Outcome::Stored, Some(id), event.at).await?;
                    let mut ev = event.clone();
                    ev.story_id = Some(id);
                    insert_event(&mut *tx, &ev).await?;
                    tx.commit().await?;
                    return Ok(InsertOutcome::Stored(id));
                }
                // The conflicting row is committed (stories are never deleted), and
                // each statement below sees it (PostgreSQL's READ COMMITTED; SQLite's
                // write lock, held since the insert).
                let by_url: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM stories WHERE canonical_url = $1")
                        .bind(&s.dedup_key)
                        .fetch_optional(&mut *tx)
                        .await?;
                let by_fingerprint: Option<i64> = match by_url {
                    Some(_) => None,
                    None => {
                        sqlx::query_scalar("SELECT id FROM stories WHERE fingerprint = $1")
                            .bind(&s.fingerprint)
                            .fetch_optional(&mut *tx)
                            .await?
                    }
                };
                let (of, key) = match by_url {
                    Some(id) => (id, DuplicateKey::CanonicalUrl),
                    None => match by_fingerprint {
                        Some(id) => (id, DuplicateKey::Fingerprint),
                        None => {
                            return Err(StoreError::Corrupt {
                                column: "stories",
                                value: format!(
                                    "insert of {} conflicted but no story has its keys",
                                    s.dedup_key
                                ),
                            })
                        }
                    },
                };
                let ev = concurrent_duplicate_event(event, of, key, None);
                insert_seen(&mut *tx, seen, Outcome::Duplicate, Some(of), ev.at).await?;
                insert_event(&mut *tx, &ev).await?;
                tx.commit().await?;
                Ok(InsertOutcome::Duplicate { of, key })
            }
        }

        #[async_trait]
        impl SourceStore for SqlStore<DB> {
            async fn sync_sources(
                &self,
                sources: &[SourceConfig],
                default_interval: Duration,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.write_sources(sources, default_interval, now).await
            }

            async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
                let rows = sqlx::query(Self::SOURCES_QUERY)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(source_from_row).collect()
            }

            async fn lease_batch(
                &self,
                names: &[String],
                force: bool,
                owner: &str,
                now: DateTime<Utc>,
                lease: Duration,
                limit: usize,
            ) -> Result<Vec<SourceState>, StoreError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let until = shifted(now, lease, true);
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let rows = self
                    .lease_rows(names, force, owner, now, until, limit)
                    .await?;
                let mut out = rows
                    .iter()
                    .map(source_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                out.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(out)
            }

            async fn finish_source(
                &self,
                name: &str,
                owner: &str,
                u: &SourceUpdate,
            ) -> Result<(), StoreError> {
                let (err, ok) = match &u.result {
                    Ok(()) => (None, true),
                    Err(e) => (Some(e.as_str()), false),
                };
                sqlx::query(
                    "UPDATE sources SET \
                       etag = COALESCE($1, etag), \
                       last_modified = COALESCE($2, last_modified), \
                       last_fetch_at = $3, \
                       last_success_at = CASE WHEN $4 THEN $3 ELSE last_success_at END, \
                       last_error = $5, \
                       consecutive_errors = \
                         CASE WHEN $4 THEN 0 ELSE consecutive_errors + 1 END, \
                       next_due_at = $6, interval_secs = $7, \
                       last_new_story_at = COALESCE($8, last_new_story_at), \
                       lease_owner = NULL, lease_until = NULL \
                     WHERE name = $9 AND lease_owner = $10",
                )
                .bind(&u.etag)
                .bind(&u.last_modified)
                .bind(DB::time(u.fetched_at))
                .bind(ok)
                .bind(err)
                .bind(DB::time(u.next_due_at))
                .bind(u.interval_secs)
                .bind(u.new_story_at.map(DB::time))
                .bind(name)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn renew_lease(
                &self,
                name: &str,
                owner: &str,
                until: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE sources SET lease_until = $1 \
                     WHERE name = $2 AND lease_owner = $3",
                )
                .bind(DB::time(until))
                .bind(name)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl RunLog for SqlStore<DB> {
            async fn start_run(
                &self,
                trigger: Trigger,
                now: DateTime<Utc>,
            ) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(
                    "INSERT INTO runs (trigger, started_at) VALUES ($1, $2) RETURNING id",
                )
                .bind(trigger.as_str())
                .bind(DB::time(now))
                .fetch_one(&self.pool)
                .await?)
            }

            async fn claim_run_and_mark_abandoned(
                &self,
                run_id: i64,
                owner: &str,
                now: DateTime<Utc>,
                lease: Duration,
            ) -> Result<u64, StoreError> {
                sqlx::query("UPDATE runs SET owner = $1 WHERE id = $2")
                    .bind(owner)
                    .bind(run_id)
                    .execute(&self.pool)
                    .await?;
                let done = sqlx::query(
                    "UPDATE runs SET abandoned_at = $1 \
                     WHERE finished_at IS NULL AND abandoned_at IS NULL AND id <> $2 \
                       AND started_at <= $3 \
                       AND NOT EXISTS (SELECT 1 FROM sources \
                         WHERE lease_owner = runs.owner AND lease_until > $1)",
                )
                .bind(DB::time(now))
                .bind(run_id)
                .bind(DB::time(shifted(now, lease, false)))
                .execute(&self.pool)
                .await?;
                Ok(done.rows_affected())
            }

            async fn finish_run(
                &self,
                run_id: i64,
                c: &RunCounts,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE runs SET finished_at = $1, abandoned_at = NULL, \
                     sources = $2, sources_failed = $3, items = $4, known = $5, \
                     stored = $6, duplicates = $7, off_topic = $8, failed = $9 \
                     WHERE id = $10",
                )
                .bind(DB::time(now))
                .bind(c.sources)
                .bind(c.sources_failed)
                .bind(c.items)
                .bind(c.known)
                .bind(c.stored)
                .bind(c.duplicates)
                .bind(c.off_topic)
                .bind(c.failed)
                .bind(run_id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
                insert_event(&self.pool, event).await?;
                Ok(())
            }

            async fn events(&self, f: &EventFilter) -> Result<Vec<Event>, StoreError> {
                events_where(&self.pool, f, None).await
            }

            async fn events_before(
                &self,
                f: &EventFilter,
                before_id: i64,
            ) -> Result<Vec<Event>, StoreError> {
                events_where(&self.pool, f, Some(before_id)).await
            }

            async fn story_events(
                &self,
                story_id: i64,
                limit: i64,
            ) -> Result<Vec<Event>, StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM run_events WHERE story_id = $1 OR duplicate_of = $1 \
                     ORDER BY id DESC LIMIT $2",
                )
                .bind(story_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(event_from_row).collect()
            }

            async fn runs(&self, limit: i64, run_id: Option<i64>) -> Result<Vec<Run>, StoreError> {
                let rows = match run_id {
                    Some(id) => {
                        sqlx::query("SELECT * FROM runs WHERE id = $1")
                            .bind(id)
                            .fetch_all(&self.pool)
                            .await?
                    }
                    None => {
                        sqlx::query("SELECT * FROM runs ORDER BY id DESC LIMIT $1")
                            .bind(limit)
                            .fetch_all(&self.pool)
                            .await?
                    }
                };
                rows.iter().map(run_from_row).collect()
            }

            async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                sqlx::query("DELETE FROM item_retries WHERE last_failed_at < $1")
                    .bind(DB::time(before))
                    .execute(&self.pool)
                    .await?;
                // The desk's per-day counts go with the events they were counted from; the
                // day `before` falls on is kept whole.
                sqlx::query("DELETE FROM source_days WHERE day < $1")
                    .bind(crate::store::desk_queries::day_of(before))
                    .execute(&self.pool)
                    .await?;
                Ok(sqlx::query("DELETE FROM run_events WHERE at < $1")
                    .bind(DB::time(before))
                    .execute(&self.pool)
                    .await?
                    .rows_affected())
            }
        }

        #[async_trait]
        impl StoryStore for SqlStore<DB> {
            async fn is_known(
                &self,
                source: &str,
                guid: Option<&str>,
                canonical_url: &str,
            ) -> Result<bool, StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT \
                       EXISTS (SELECT 1 FROM seen_items WHERE source = $1 AND guid = $2) \
                       OR EXISTS (SELECT 1 FROM seen_items WHERE canonical_url = $3) \
                       OR EXISTS (SELECT 1 FROM stories WHERE canonical_url = $3)",
                )
                .bind(source)
                .bind(guid)
                .bind(canonical_url)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn story_by_canonical_url(
                &self,
                canonical_url: &str,
            ) -> Result<Option<i64>, StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT id FROM stories WHERE canonical_url = $1")
                        .bind(canonical_url)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn story_by_fingerprint(
                &self,
                fingerprint: &str,
            ) -> Result<Option<i64>, StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT id FROM stories WHERE fingerprint = $1")
                        .bind(fingerprint)
                        .fetch_optional(&self.pool)
                        .await?,
                )
            }

            async fn near_dup_signatures(
                &self,
                after_id: i64,
            ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, near_dup FROM stories \
                     WHERE id > $1 AND near_dup IS NOT NULL ORDER BY id",
                )
                .bind(after_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(near_dups(&rows)?)
            }

            async fn recent_stories(
                &self,
                after_id: i64,
                since: DateTime<Utc>,
            ) -> Result<Vec<RecentStory>, StoreError> {
                let rows = sqlx::query(
                    "SELECT id, cluster_id, title, text, fetched_at FROM stories \
                     WHERE id > $1 AND fetched_at >= $2 ORDER BY id",
                )
                .bind(after_id)
                .bind(DB::time(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(RecentStory {
                            id: r.try_get("id")?,
                            cluster_id: r.try_get("cluster_id")?,
                            title: r.try_get("title")?,
                            text: r.try_get("text")?,
                            fetched_at: time(r, "fetched_at")?,
                        })
                    })
                    .collect()
            }

            async fn set_cluster_ids(&self, changes: &[(i64, i64)]) -> Result<(), StoreError> {
                if changes.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                for &(story, cluster) in changes {
                    sqlx::query("UPDATE stories SET cluster_id = $1 WHERE id = $2")
                        .bind(cluster)
                        .bind(story)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn insert_story(
                &self,
                s: &NewStory,
                seen: &SeenItem,
                event: &Event,
            ) -> Result<InsertOutcome, StoreError> {
                self.insert_story_inner(s, seen, event, None).await
            }

            async fn insert_story_guarded(
                &self,
                s: &NewStory,
                seen: &SeenItem,
                event: &Event,
                after_id: i64,
                near_dup: &NearDupCheck,
            ) -> Result<InsertOutcome, StoreError> {
                self.insert_story_inner(s, seen, event, Some((after_id, near_dup)))
                    .await
            }

            async fn record_item(
                &self,
                seen: Option<&SeenItem>,
                event: &Event,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                if let Some(seen) = seen {
                    insert_seen(&mut *tx, seen, event.outcome, event.duplicate_of, event.at)
                        .await?;
                    sqlx::query(
                        "DELETE FROM item_retries \
                         WHERE source = $1 AND canonical_url = $2",
                    )
                    .bind(&seen.source)
                    .bind(&seen.canonical_url)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_event(&mut *tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn item_retry(
                &self,
                source: &str,
                canonical_url: &str,
            ) -> Result<Option<ItemRetry>, StoreError> {
                let row = sqlx::query(
                    "SELECT * FROM item_retries WHERE source = $1 AND canonical_url = $2",
                )
                .bind(source)
                .bind(canonical_url)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else {
                    return Ok(None);
                };
                Ok(Some(ItemRetry {
                    attempts: r.try_get("attempts")?,
                    first_failed_at: time(&r, "first_failed_at")?,
                    last_failed_at: time(&r, "last_failed_at")?,
                    next_attempt_at: time(&r, "next_attempt_at")?,
                    last_error: r.try_get("last_error")?,
                }))
            }

            async fn record_item_retry(
                &self,
                seen: &SeenItem,
                event: &Event,
                retry: &ItemRetry,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO item_retries (source, canonical_url, attempts, \
                     first_failed_at, last_failed_at, next_attempt_at, last_error) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (source, canonical_url) DO UPDATE SET \
                     attempts = EXCLUDED.attempts, \
                     last_failed_at = EXCLUDED.last_failed_at, \
                     next_attempt_at = EXCLUDED.next_attempt_at, \
                     last_error = EXCLUDED.last_error",
                )
                .bind(&seen.source)
                .bind(&seen.canonical_url)
                .bind(retry.attempts)
                .bind(DB::time(retry.first_failed_at))
                .bind(DB::time(retry.last_failed_at))
                .bind(DB::time(retry.next_attempt_at))
                .bind(&retry.last_error)
                .execute(&mut *tx)
                .await?;
                insert_event(&mut *tx, event).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stories(&self, f: &StoryFilter) -> Result<Vec<Story>, StoreError> {
                let mut qb: QueryBuilder<DB> =
                    QueryBuilder::new("SELECT * FROM stories WHERE TRUE");
                if let Some(s) = f.status {
                    qb.push(" AND status = ").push_bind(s.as_str());
                }
                if let Some(s) = &f.source {
                    qb.push(" AND source = ").push_bind(s.clone());
                }
                if let Some(c) = f.cluster_id {
                    qb.push(" AND cluster_id = ").push_bind(c);
                }
                qb.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(story_from_row).collect()
            }

            async fn story(&self, id: i64) -> Result<Option<Story>, StoreError> {
                let row = sqlx::query("SELECT * FROM stories WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(story_from_row).transpose()
            }

            async fn set_story_status(
                &self,
                ids: &[i64],
                status: StoryStatus,
            ) -> Result<u64, StoreError> {
                // An id named twice is one story; batches keep each statement under
                // both databases' limits on bound parameters; one transaction keeps it
                // all or none.
                let mut ids = ids.to_vec();
                ids.sort_unstable();
                ids.dedup();
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.pool.begin().await?;
                let mut changed = 0;
                for batch in ids.chunks(500) {
                    let mut qb: QueryBuilder<DB> =
                        QueryBuilder::new("UPDATE stories SET status = ");
                    qb.push_bind(status.as_str()).push(" WHERE id IN (");
                    let mut sep = qb.separated(", ");
                    for id in batch {
                        sep.push_bind(*id);
                    }
                    sep.push_unseparated(")");
                    changed += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(changed)
            }

            async fn story_counts(&self) -> Result<Vec<(StoryStatus, i64)>, StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT status, COUNT(*) FROM stories \
                     GROUP BY status ORDER BY status",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(s, n)| Ok((StoryStatus::parse(&s)?, n)))
                    .collect()
            }
        }

        #[async_trait]
        impl StoreHealth for SqlStore<DB> {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn database_size(&self) -> Result<i64, StoreError> {
                Ok(sqlx::query_scalar(Self::SIZE_QUERY)
                    .fetch_one(&self.pool)
                    .await?)
            }

            fn write_error(&self) -> Option<String> {
                self.write_health.get()
            }

            fn set_write_error(&self, error: Option<String>) {
                self.write_health.set(error);
            }

            async fn close(&self) {
                // A connection still checked out (a task that outlived its run) would hold the
                // close forever: a stop must not hang on it.
                let _ = tokio::time::timeout(super::CLOSE_WAIT, self.pool.close()).await;
            }
        }
    };
}

/// The shared methods over SQLite.
pub(super) mod on_sqlite {
    shared_sql!(sqlx::Sqlite);
}

/// The shared methods over PostgreSQL.
pub(super) mod on_postgres {
    shared_sql!(sqlx::Postgres);
}
