//! PostgreSQL implementation of [`Store`]: one database shared by several daemons.
//!
//! Same semantics as [`super::sqlite::SqliteStore`]; what SQLite gets from its single writer,
//! PostgreSQL gets from row locks and constraints:
//! - leasing is `SELECT … FOR UPDATE SKIP LOCKED` inside one `UPDATE … RETURNING`, so two
//!   daemons leasing at the same instant take disjoint sets and never wait on each other;
//! - a story is `INSERT … ON CONFLICT DO NOTHING RETURNING id`: a race on the canonical URL or the
//!   fingerprint is a `duplicate` outcome written in the same transaction, never an error;
//! - the config's sources are written with one `INSERT … SELECT FROM UNNEST(…)`.
//!
//! Lease times come from the callers' clocks (as with SQLite), so daemons on several machines
//! need synchronized clocks (NTP); a skew shortens or lengthens leases by that much.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};

use super::*;

/// Advisory lock key of guarded story inserts ("newsdesk" in ASCII).
const NEAR_DUP_LOCK: i64 = 0x6e65_7773_6465_736b;
use crate::config::SourceConfig;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per daemon. A run has at most `concurrency × item_concurrency` items talking to
/// the database at once, each for a few milliseconds; ten connections keep them from queueing
/// while three daemons stay far below PostgreSQL's default `max_connections` (100).
const MAX_CONNECTIONS: u32 = 10;

/// A statement running longer than this is cancelled by the server (a stuck lock, not a query
/// of ours, which all take milliseconds).
const STATEMENT_TIMEOUT: &str = "60s";

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    write_health: WriteHealth,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or
    /// `postgres:///database?host=/run/postgresql` for a Unix socket), creating the database
    /// when it does not exist and the role may create it, then runs the migrations (under
    /// sqlx's advisory lock, so daemons starting together migrate once).
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let bad_url = |reason: String| StoreError::Url {
            url: redact_url(url),
            reason,
        };
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| bad_url(e.to_string()))?
            .application_name("newsdesk")
            .options([("statement_timeout", STATEMENT_TIMEOUT)]);
        let pool_opts = || {
            PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(30))
                .idle_timeout(Duration::from_secs(300))
                .max_lifetime(Duration::from_secs(1800))
        };
        let pool = match pool_opts().connect_with(opts.clone()).await {
            Ok(pool) => pool,
            Err(e) if is_missing_database(&e) => {
                use sqlx::migrate::MigrateDatabase;
                // Two daemons may both find it missing; the loser's CREATE fails, which is fine.
                if let Err(create) = Postgres::create_database(url).await {
                    tracing::debug!(error = %create, "create database (another daemon may have)");
                }
                pool_opts().connect_with(opts).await?
            }
            Err(e) => return Err(e.into()),
        };
        MIGRATOR.run(&pool).await?;
        let store = PgStore {
            pool,
            write_health: WriteHealth::default(),
        };
        store.backfill_published_urls().await?;
        Ok(store)
    }

    /// Connects to an existing, migrated database for reading only: nothing is created or
    /// migrated, and every transaction of the session is read-only.
    pub async fn open_read_only(url: &str) -> Result<PgStore, StoreError> {
        let bad_url = |reason: String| StoreError::Url {
            url: redact_url(url),
            reason,
        };
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| bad_url(e.to_string()))?
            .application_name("newsdesk (read-only)")
            .options([
                ("statement_timeout", STATEMENT_TIMEOUT),
                ("default_transaction_read_only", "on"),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .map_err(|e| bad_url(format!("cannot read its schema version: {e}")))?;
        super::check_schema_version(&redact_url(url), applied, &MIGRATOR)?;
        Ok(PgStore {
            pool,
            write_health: WriteHealth::default(),
        })
    }

    /// Fills `published_url` of stories stored before the column existed (migration 0005 fills
    /// the rows it can in SQL), in batches, each its own transaction; daemons starting together
    /// write the same value, and an interrupted backfill resumes at the next open.
    async fn backfill_published_urls(&self) -> Result<u64, StoreError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, url FROM stories WHERE published_url IS NULL ORDER BY id LIMIT $1",
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
                "published_url filled from the fetched URL for stories stored before it existed"
            );
        }
        Ok(filled)
    }

    /// The connection pool (for tests and tools that inspect the database).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn lease(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: Option<usize>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let until = chrono::Duration::from_std(lease)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now + chrono::Duration::days(36_500));
        let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        // The inner SELECT locks the rows it picks and skips rows another daemon's lease
        // statement holds at this instant; the lease columns then keep them out of every other
        // daemon's picks until `until` or `finish_source`. Rows committed by another daemon after
        // this statement's snapshot are re-checked against the WHERE clause before being taken.
        let rows = sqlx::query(
            "WITH picked AS ( \
               SELECT name FROM sources \
               WHERE (lease_until IS NULL OR lease_until <= $1) \
                 AND ($2 OR next_due_at <= $1) \
                 AND (cardinality($3::text[]) = 0 OR name = ANY($3::text[])) \
               ORDER BY next_due_at, name \
               LIMIT $4 \
               FOR UPDATE SKIP LOCKED) \
             UPDATE sources s SET lease_owner = $5, lease_until = $6 \
             FROM picked WHERE s.name = picked.name \
             RETURNING s.*",
        )
        .bind(now)
        .bind(force)
        .bind(names)
        .bind(limit)
        .bind(owner)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(source_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// The URL with its password (if any) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparseable (a bad port, say): cut the password out of `scheme://user:password@` by hand.
        Err(_) => {
            let Some(start) = url.find("://").map(|i| i + 3) else {
                return url.to_string();
            };
            let authority_end = url[start..]
                .find(['/', '?', '#'])
                .map_or(url.len(), |i| start + i);
            match url[start..authority_end].rfind('@') {
                Some(at) => {
                    let userinfo = &url[start..start + at];
                    match userinfo.find(':') {
                        Some(colon) => format!(
                            "{}{}:***{}",
                            &url[..start],
                            &userinfo[..colon],
                            &url[start + at..]
                        ),
                        None => url.to_string(),
                    }
                }
                None => url.to_string(),
            }
        }
    }
}

fn is_missing_database(e: &sqlx::Error) -> bool {
    // 3D000 invalid_catalog_name: "database … does not exist".
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
}

fn source_from_row(row: &PgRow) -> Result<SourceState, StoreError> {
    Ok(SourceState {
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        url: row.try_get("url")?,
        etag: row.try_get("etag")?,
        last_modified: row.try_get("last_modified")?,
        last_fetch_at: row.try_get("last_fetch_at")?,
        last_success_at: row.try_get("last_success_at")?,
        last_error: row.try_get("last_error")?,
        consecutive_errors: row.try_get("consecutive_errors")?,
        next_due_at: row.try_get("next_due_at")?,
        interval_secs: row.try_get("interval_secs")?,
        last_new_story_at: row.try_get("last_new_story_at")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
    })
}

fn event_from_row(row: &PgRow) -> Result<Event, StoreError> {
    Ok(Event {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        at: row.try_get("at")?,
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

fn story_from_row(row: &PgRow) -> Result<Story, StoreError> {
    let fetched_url: String = row.try_get("url")?;
    let url = match row.try_get::<Option<String>, _>("published_url")? {
        Some(u) => u,
        None => legacy_published_url(&fetched_url),
    };
    let authors = match row.try_get::<Option<Vec<String>>, _>("authors")? {
        Some(list) => list,
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
        language: row.try_get("language")?,
        published_at: row.try_get("published_at")?,
        updated_at: row.try_get("updated_at")?,
        fetched_at: row.try_get("fetched_at")?,
        status: StoryStatus::parse(row.try_get::<&str, _>("status")?)?,
        cluster_id: row.try_get("cluster_id")?,
        topic_score: row.try_get("topic_score")?,
        text: row.try_get("text")?,
        html: row.try_get("html")?,
    })
}

fn run_from_row(row: &PgRow) -> Result<Run, StoreError> {
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
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        abandoned_at: row.try_get("abandoned_at")?,
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

async fn insert_event<'e, E>(exec: E, e: &Event) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO run_events (run_id, at, source, scope, outcome, url, title, story_id, \
         duplicate_of, score, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(e.run_id)
    .bind(e.at)
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
    E: sqlx::Executor<'e, Database = Postgres>,
{
    // A GUID seen twice (the same item in a later run after a failure) keeps its first row.
    sqlx::query(
        "INSERT INTO seen_items (source, guid, canonical_url, outcome, story_id, seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&seen.source)
    .bind(&seen.guid)
    .bind(&seen.canonical_url)
    .bind(outcome.as_str())
    .bind(story_id)
    .bind(at)
    .execute(exec)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    async fn sync_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut names = Vec::with_capacity(sources.len());
        let mut kinds = Vec::with_capacity(sources.len());
        let mut urls = Vec::with_capacity(sources.len());
        let mut intervals = Vec::with_capacity(sources.len());
        for s in sources {
            names.push(s.name.clone());
            kinds.push(s.kind.as_str().to_string());
            urls.push(s.url.clone());
            intervals.push(s.interval.unwrap_or(default_interval).as_secs() as i64);
        }
        // One statement for the whole config. Rows that did not change are not rewritten, so
        // daemons starting together do not queue on each other's row locks for nothing.
        sqlx::query(
            "INSERT INTO sources (name, kind, url, next_due_at, interval_secs) \
             SELECT n, k, u, $4, i FROM UNNEST($1::text[], $2::text[], $3::text[], $5::int8[]) \
               AS t(n, k, u, i) \
             ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url, \
               etag = CASE WHEN sources.url = EXCLUDED.url THEN sources.etag END, \
               last_modified = CASE WHEN sources.url = EXCLUDED.url \
                 THEN sources.last_modified END \
             WHERE sources.kind IS DISTINCT FROM EXCLUDED.kind \
                OR sources.url IS DISTINCT FROM EXCLUDED.url",
        )
        .bind(&names)
        .bind(&kinds)
        .bind(&urls)
        .bind(now)
        .bind(&intervals)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        // Byte order, as SQLite sorts, whatever the database's collation.
        let rows = sqlx::query("SELECT * FROM sources ORDER BY name COLLATE \"C\"")
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
        self.lease(names, force, owner, now, lease, Some(limit))
            .await
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
               consecutive_errors = CASE WHEN $4 THEN 0 ELSE consecutive_errors + 1 END, \
               next_due_at = $6, interval_secs = $7, \
               last_new_story_at = COALESCE($8, last_new_story_at), \
               lease_owner = NULL, lease_until = NULL \
             WHERE name = $9 AND lease_owner = $10",
        )
        .bind(&u.etag)
        .bind(&u.last_modified)
        .bind(u.fetched_at)
        .bind(ok)
        .bind(err)
        .bind(u.next_due_at)
        .bind(u.interval_secs)
        .bind(u.new_story_at)
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
        let done =
            sqlx::query("UPDATE sources SET lease_until = $1 WHERE name = $2 AND lease_owner = $3")
                .bind(until)
                .bind(name)
                .bind(owner)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn start_run(&self, trigger: Trigger, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let row =
            sqlx::query("INSERT INTO runs (trigger, started_at) VALUES ($1, $2) RETURNING id")
                .bind(trigger.as_str())
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
        Ok(row.try_get("id")?)
    }

    async fn claim_run_and_mark_abandoned(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        let before = chrono::Duration::from_std(lease)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .unwrap_or(now);
        sqlx::query("UPDATE runs SET owner = $1 WHERE id = $2")
            .bind(owner)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query(
            "UPDATE runs SET abandoned_at = $1 \
             WHERE finished_at IS NULL AND abandoned_at IS NULL AND id <> $2 AND started_at <= $3 \
               AND NOT EXISTS (SELECT 1 FROM sources \
                               WHERE lease_owner = runs.owner AND lease_until > $1)",
        )
        .bind(now)
        .bind(run_id)
        .bind(before)
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
            "UPDATE runs SET finished_at = $1, abandoned_at = NULL, sources = $2, sources_failed = $3, items = $4, \
             known = $5, stored = $6, duplicates = $7, off_topic = $8, failed = $9 \
             WHERE id = $10",
        )
        .bind(now)
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

    async fn is_known(
        &self,
        source: &str,
        guid: Option<&str>,
        canonical_url: &str,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM seen_items WHERE source = $1 AND guid = $2) \
                 OR EXISTS (SELECT 1 FROM seen_items WHERE canonical_url = $3) \
                 OR EXISTS (SELECT 1 FROM stories WHERE canonical_url = $3) AS known",
        )
        .bind(source)
        .bind(guid)
        .bind(canonical_url)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<bool, _>("known")?)
    }

    async fn story_by_canonical_url(&self, canonical_url: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM stories WHERE canonical_url = $1")
                .bind(canonical_url)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn story_by_fingerprint(&self, fingerprint: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM stories WHERE fingerprint = $1")
                .bind(fingerprint)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, near_dup FROM stories WHERE id > $1 AND near_dup IS NOT NULL ORDER BY id",
        )
        .bind(after_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("near_dup")?)))
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
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecentStory {
                    id: r.try_get("id")?,
                    cluster_id: r.try_get("cluster_id")?,
                    title: r.try_get("title")?,
                    text: r.try_get("text")?,
                    fetched_at: r.try_get("fetched_at")?,
                })
            })
            .collect()
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

    async fn record_item(&self, seen: Option<&SeenItem>, event: &Event) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(seen) = seen {
            insert_seen(&mut *tx, seen, event.outcome, event.duplicate_of, event.at).await?;
            sqlx::query("DELETE FROM item_retries WHERE source = $1 AND canonical_url = $2")
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
        let row =
            sqlx::query("SELECT * FROM item_retries WHERE source = $1 AND canonical_url = $2")
                .bind(source)
                .bind(canonical_url)
                .fetch_optional(&self.pool)
                .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(ItemRetry {
            attempts: r.try_get("attempts")?,
            first_failed_at: r.try_get("first_failed_at")?,
            last_failed_at: r.try_get("last_failed_at")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
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
            "INSERT INTO item_retries (source, canonical_url, attempts, first_failed_at, \
             last_failed_at, next_attempt_at, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (source, canonical_url) DO UPDATE SET attempts = EXCLUDED.attempts, \
             last_failed_at = EXCLUDED.last_failed_at, \
             next_attempt_at = EXCLUDED.next_attempt_at, last_error = EXCLUDED.last_error",
        )
        .bind(&seen.source)
        .bind(&seen.canonical_url)
        .bind(retry.attempts)
        .bind(retry.first_failed_at)
        .bind(retry.last_failed_at)
        .bind(retry.next_attempt_at)
        .bind(&retry.last_error)
        .execute(&mut *tx)
        .await?;
        insert_event(&mut *tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_event(&self, event: &Event) -> Result<(), StoreError> {
        insert_event(&self.pool, event).await?;
        Ok(())
    }

    async fn events(&self, f: &EventFilter) -> Result<Vec<Event>, StoreError> {
        events_where(&self.pool, f, None).await
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

    async fn stories(&self, f: &StoryFilter) -> Result<Vec<Story>, StoreError> {
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM stories WHERE TRUE");
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

    async fn set_story_status(&self, ids: &[i64], status: StoryStatus) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        Ok(
            sqlx::query("UPDATE stories SET status = $1 WHERE id = ANY($2::int8[])")
                .bind(status.as_str())
                .bind(ids)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM item_retries WHERE last_failed_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query("DELETE FROM run_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn story(&self, id: i64) -> Result<Option<Story>, StoreError> {
        let row = sqlx::query("SELECT * FROM stories WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(story_from_row).transpose()
    }

    async fn story_events(&self, story_id: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
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

    async fn events_before(
        &self,
        f: &EventFilter,
        before_id: i64,
    ) -> Result<Vec<Event>, StoreError> {
        events_where(&self.pool, f, Some(before_id)).await
    }

    async fn story_counts(&self) -> Result<Vec<(StoryStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM stories GROUP BY status ORDER BY status")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(s, n)| Ok((StoryStatus::parse(&s)?, n)))
            .collect()
    }

    async fn database_size(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    fn write_error(&self) -> Option<String> {
        self.write_health.get()
    }

    fn set_write_error(&self, error: Option<String>) {
        self.write_health.set(error);
    }
}

/// Events matching `f` (and below `before_id` when given), newest first.
async fn events_where(
    pool: &sqlx::Pool<Postgres>,
    f: &EventFilter,
    before_id: Option<i64>,
) -> Result<Vec<Event>, StoreError> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("SELECT * FROM run_events WHERE TRUE");
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
        qb.push(" AND at >= ").push_bind(t);
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

impl PgStore {
    /// `insert_story`, with the near-copy guard of `insert_story_guarded` when `guard` is set.
    async fn insert_story_inner(
        &self,
        s: &NewStory,
        seen: &SeenItem,
        event: &Event,
        guard: Option<(i64, &NearDupCheck)>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        if guard.is_some() {
            // PostgreSQL does not serialize writers the way SQLite does: a transaction-scoped
            // advisory lock makes guarded inserts (every daemon's) take turns, so each sees the
            // near-copies committed before it, and story ids are handed out in commit order.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(NEAR_DUP_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        // ON CONFLICT without a target covers both unique keys. When another transaction holds
        // an uncommitted row with the same key, this waits for it: committed → no row here
        // (duplicate), rolled back → this insert goes ahead.
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO stories (source, url, canonical_url, guid, title, author, published_at, \
             fetched_at, text, html, fingerprint, near_dup, cluster_id, topic_score, \
             published_url, authors, site_name, language, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&s.source)
        .bind(&s.fetched_url)
        .bind(&s.dedup_key)
        .bind(&s.guid)
        .bind(&s.title)
        .bind(joined_authors(&s.authors))
        .bind(s.published_at)
        .bind(s.fetched_at)
        .bind(&s.text)
        .bind(&s.html)
        .bind(&s.fingerprint)
        .bind(&s.near_dup)
        .bind(s.cluster_id)
        .bind(s.topic_score)
        .bind(&s.url)
        .bind(&s.authors)
        .bind(&s.site_name)
        .bind(&s.language)
        .bind(s.updated_at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            if let Some((after_id, check)) = guard {
                let rows = sqlx::query(
                    "SELECT id, near_dup FROM stories \
                     WHERE id > $1 AND id <> $2 AND near_dup IS NOT NULL ORDER BY id",
                )
                .bind(after_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let stored: Vec<(i64, Vec<u8>)> = rows
                    .iter()
                    .map(|r| Ok((r.try_get("id")?, r.try_get("near_dup")?)))
                    .collect::<Result<_, sqlx::Error>>()?;
                if let Some((of, similarity)) = check(&stored) {
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
        // The conflicting row is committed (stories are never deleted), and each statement
        // below sees it under READ COMMITTED.
        let by_url: Option<i64> =
            sqlx::query_scalar("SELECT id FROM stories WHERE canonical_url = $1")
                .bind(&s.dedup_key)
                .fetch_optional(&mut *tx)
                .await?;
        let (of, key) = match by_url {
            Some(id) => (id, DuplicateKey::CanonicalUrl),
            None => {
                let by_fp: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM stories WHERE fingerprint = $1")
                        .bind(&s.fingerprint)
                        .fetch_optional(&mut *tx)
                        .await?;
                match by_fp {
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
                }
            }
        };
        let ev = concurrent_duplicate_event(event, of, key, None);
        insert_seen(&mut *tx, seen, Outcome::Duplicate, Some(of), ev.at).await?;
        insert_event(&mut *tx, &ev).await?;
        tx.commit().await?;
        Ok(InsertOutcome::Duplicate { of, key })
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_and_other_urls_kept() {
        assert_eq!(
            redact_url("postgres://news:s3cret@db.example:5432/newsdesk"),
            "postgres://news:***@db.example:5432/newsdesk"
        );
        assert_eq!(
            redact_url("postgres:///newsdesk?host=/run/postgresql"),
            "postgres:///newsdesk?host=/run/postgresql"
        );
        assert_eq!(
            redact_url("postgres://news:s3cret@db:notaport/x"),
            "postgres://news:***@db:notaport/x"
        );
        assert_eq!(
            redact_url("sqlite://data/newsdesk.db"),
            "sqlite://data/newsdesk.db"
        );
    }
}
