//! SQLite implementation of [`Store`]: the embedded default, one file, WAL mode so the daemon and
//! a manual `newsdesk fetch` can share it.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};

use super::*;
use crate::config::SourceConfig;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    write_health: WriteHealth,
}

/// `<database>-wal`, SQLite's write-ahead log beside the database.
fn wal_file(db_file: &Path) -> std::path::PathBuf {
    let mut path = db_file.as_os_str().to_owned();
    path.push("-wal");
    path.into()
}

/// Takes an exclusive lock on `<database>.lock` (released when the file is dropped).
async fn lock_for_migration(db_file: &Path, url: &str) -> Result<std::fs::File, StoreError> {
    let mut path = db_file.as_os_str().to_owned();
    path.push(".lock");
    let path = std::path::PathBuf::from(path);
    let refused = |e: std::io::Error| StoreError::Url {
        url: url.to_string(),
        reason: format!("cannot lock {} for migrations: {e}", path.display()),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(refused)?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| refused(std::io::Error::other(e.to_string())))?
        .map_err(refused)
}

impl SqliteStore {
    /// Opens (creating file and folders) and migrates the database at `url` (`sqlite://path`).
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        Self::open_with_pragmas(url, &[]).await
    }

    /// [`SqliteStore::open`] with extra `PRAGMA`s run on every connection (for instance
    /// `max_page_count`, to bound the file: tests use it to fill the "disk").
    pub async fn open_with_pragmas(
        url: &str,
        pragmas: &[(&str, &str)],
    ) -> Result<SqliteStore, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url {
                url: url.to_string(),
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            // A manual fetch beside the daemon waits for the other writer instead of failing.
            .busy_timeout(Duration::from_secs(30));
        let file = opts.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() && file != Path::new(":memory:") {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Url {
                    url: url.to_string(),
                    reason: format!("cannot create folder {}: {e}", dir.display()),
                })?;
            }
        }
        // SQLite gives sqlx's migrator no lock, so two processes opening a new database at once
        // (a manual fetch started beside the daemon) would both apply the first migration. A
        // lock file beside the database makes the second wait and then find it applied. It is
        // taken before connecting: the first connection to a new file switches it to WAL, which
        // needs an exclusive lock that SQLite's busy timeout does not wait for.
        let _migration_lock = if file == Path::new(":memory:") {
            None
        } else {
            Some(lock_for_migration(&file, url).await?)
        };
        let mut opts = opts;
        for (key, value) in pragmas {
            opts = opts.pragma(key.to_string(), value.to_string());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        let store = SqliteStore {
            pool,
            write_health: WriteHealth::default(),
        };
        store.backfill_published_urls().await?;
        Ok(store)
    }

    /// Opens an existing, migrated database at `url` for reading only: no file or folder is
    /// created, no migration runs and no lock is taken, so a user who may only read the file
    /// (an operator in the service's group) can list stories and logs beside the daemon.
    pub async fn open_read_only(url: &str) -> Result<SqliteStore, StoreError> {
        let refused = |reason: String| StoreError::Url {
            url: url.to_string(),
            reason,
        };
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| refused(e.to_string()))?
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(10));
        let file = opts.get_filename().to_path_buf();
        if file != Path::new(":memory:") {
            match std::fs::metadata(&file) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(refused(format!(
                        "no database at {} yet (the daemon or `newsdesk fetch` creates it)",
                        file.display()
                    )))
                }
                // Most often a folder of the daemon's that this user's groups cannot enter.
                Err(e) => return Err(refused(format!("cannot reach {}: {e}", file.display()))),
            }
        }
        let (store, applied) = match Self::read_schema_version(opts.clone()).await {
            Ok(found) => found,
            // A WAL database needs its `-shm` file, which SQLite creates on first open. When
            // no process has it open (no `-wal` file: every change is in the main file) and
            // this user may not create files beside it, the file can only be read as
            // immutable, which is exact as long as no writer starts meanwhile.
            Err(_) if !wal_file(&file).exists() => {
                Self::read_schema_version(opts.immutable(true)).await?
            }
            Err(e) => return Err(e),
        };
        super::check_schema_version(url, applied, &MIGRATOR)?;
        Ok(store)
    }

    /// Connects and reads the newest applied migration.
    async fn read_schema_version(
        opts: SqliteConnectOptions,
    ) -> Result<(SqliteStore, Option<i64>), StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        let applied = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await?;
        Ok((
            SqliteStore {
                pool,
                write_health: WriteHealth::default(),
            },
            applied,
        ))
    }

    /// Fills `published_url` of stories stored before the column existed (migration 0005 fills
    /// the rows it can in SQL), in batches, each its own transaction: an interrupted backfill
    /// resumes at the next open.
    async fn backfill_published_urls(&self) -> Result<u64, StoreError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, url FROM stories WHERE published_url IS NULL ORDER BY id LIMIT ?",
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
                sqlx::query("UPDATE stories SET published_url = ? WHERE id = ?")
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

    async fn lease(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: Option<usize>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let now_ms = to_millis(now);
        let until = now_ms.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        // One UPDATE … RETURNING: SQLite takes the write lock for it, so two processes can never
        // lease the same source.
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE sources SET lease_owner = ");
        qb.push_bind(owner)
            .push(", lease_until = ")
            .push_bind(until)
            .push(" WHERE name IN (SELECT name FROM sources")
            .push(" WHERE (lease_until IS NULL OR lease_until <= ")
            .push_bind(now_ms)
            .push(")");
        if !force {
            qb.push(" AND next_due_at <= ").push_bind(now_ms);
        }
        if !names.is_empty() {
            qb.push(" AND name IN (");
            let mut sep = qb.separated(", ");
            for n in names {
                sep.push_bind(n);
            }
            sep.push_unseparated(")");
        }
        qb.push(" ORDER BY next_due_at, name");
        if let Some(limit) = limit {
            qb.push(" LIMIT ")
                .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        qb.push(") RETURNING *");
        let rows = qb.build().fetch_all(&self.pool).await?;
        let mut out = rows
            .iter()
            .map(source_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

fn opt_time(row: &SqliteRow, col: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(from_millis))
}

fn source_from_row(row: &SqliteRow) -> Result<SourceState, StoreError> {
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
        next_due_at: from_millis(row.try_get("next_due_at")?),
        interval_secs: row.try_get("interval_secs")?,
        last_new_story_at: opt_time(row, "last_new_story_at")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: opt_time(row, "lease_until")?,
    })
}

fn event_from_row(row: &SqliteRow) -> Result<Event, StoreError> {
    Ok(Event {
        id: row.try_get("id")?,
        run_id: row.try_get("run_id")?,
        at: from_millis(row.try_get("at")?),
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

fn story_from_row(row: &SqliteRow) -> Result<Story, StoreError> {
    let fetched_url: String = row.try_get("url")?;
    let url = match row.try_get::<Option<String>, _>("published_url")? {
        Some(u) => u,
        None => legacy_published_url(&fetched_url),
    };
    let authors = match row.try_get::<Option<String>, _>("authors")? {
        Some(json) => serde_json::from_str(&json).map_err(|_| StoreError::Corrupt {
            column: "authors",
            value: json,
        })?,
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
        published_at: opt_time(row, "published_at")?,
        updated_at: opt_time(row, "updated_at")?,
        fetched_at: from_millis(row.try_get("fetched_at")?),
        status: StoryStatus::parse(row.try_get::<&str, _>("status")?)?,
        cluster_id: row.try_get("cluster_id")?,
        topic_score: row.try_get("topic_score")?,
        text: row.try_get("text")?,
        html: row.try_get("html")?,
    })
}

fn run_from_row(row: &SqliteRow) -> Result<Run, StoreError> {
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
        started_at: from_millis(row.try_get("started_at")?),
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

async fn insert_event<'e, E>(exec: E, e: &Event) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    sqlx::query(
        "INSERT INTO run_events (run_id, at, source, scope, outcome, url, title, story_id, \
         duplicate_of, score, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(e.run_id)
    .bind(to_millis(e.at))
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
    E: sqlx::Executor<'e, Database = Sqlite>,
{
    // A GUID seen twice (the same item in a later run after a failure) keeps its first row.
    sqlx::query(
        "INSERT INTO seen_items (source, guid, canonical_url, outcome, story_id, seen_at) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(&seen.source)
    .bind(&seen.guid)
    .bind(&seen.canonical_url)
    .bind(outcome.as_str())
    .bind(story_id)
    .bind(to_millis(at))
    .execute(exec)
    .await?;
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    async fn sync_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for s in sources {
            let interval = s.interval.unwrap_or(default_interval).as_secs() as i64;
            sqlx::query(
                "INSERT INTO sources (name, kind, url, next_due_at, interval_secs) \
                 VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
                   etag = CASE WHEN url = excluded.url THEN etag END, \
                   last_modified = CASE WHEN url = excluded.url THEN last_modified END",
            )
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(&s.url)
            .bind(to_millis(now))
            .bind(interval)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        let rows = sqlx::query("SELECT * FROM sources ORDER BY name")
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
               etag = COALESCE(?, etag), \
               last_modified = COALESCE(?, last_modified), \
               last_fetch_at = ?, \
               last_success_at = CASE WHEN ? THEN ? ELSE last_success_at END, \
               last_error = ?, \
               consecutive_errors = CASE WHEN ? THEN 0 ELSE consecutive_errors + 1 END, \
               next_due_at = ?, interval_secs = ?, \
               last_new_story_at = COALESCE(?, last_new_story_at), \
               lease_owner = NULL, lease_until = NULL \
             WHERE name = ? AND lease_owner = ?",
        )
        .bind(&u.etag)
        .bind(&u.last_modified)
        .bind(to_millis(u.fetched_at))
        .bind(ok)
        .bind(to_millis(u.fetched_at))
        .bind(err)
        .bind(ok)
        .bind(to_millis(u.next_due_at))
        .bind(u.interval_secs)
        .bind(u.new_story_at.map(to_millis))
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
            sqlx::query("UPDATE sources SET lease_until = ? WHERE name = ? AND lease_owner = ?")
                .bind(to_millis(until))
                .bind(name)
                .bind(owner)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn start_run(&self, trigger: Trigger, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let row = sqlx::query("INSERT INTO runs (trigger, started_at) VALUES (?, ?) RETURNING id")
            .bind(trigger.as_str())
            .bind(to_millis(now))
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
        let now_ms = to_millis(now);
        let before = now_ms.saturating_sub(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        sqlx::query("UPDATE runs SET owner = ? WHERE id = ?")
            .bind(owner)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query(
            "UPDATE runs SET abandoned_at = ? \
             WHERE finished_at IS NULL AND abandoned_at IS NULL AND id <> ? AND started_at <= ? \
               AND NOT EXISTS (SELECT 1 FROM sources \
                               WHERE lease_owner = runs.owner AND lease_until > ?)",
        )
        .bind(now_ms)
        .bind(run_id)
        .bind(before)
        .bind(now_ms)
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
            "UPDATE runs SET finished_at = ?, abandoned_at = NULL, sources = ?, sources_failed = ?, items = ?, \
             known = ?, stored = ?, duplicates = ?, off_topic = ?, failed = ? WHERE id = ?",
        )
        .bind(to_millis(now))
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
            "SELECT EXISTS (SELECT 1 FROM seen_items WHERE source = ? AND guid = ?) \
                 OR EXISTS (SELECT 1 FROM seen_items WHERE canonical_url = ?) \
                 OR EXISTS (SELECT 1 FROM stories WHERE canonical_url = ?) AS known",
        )
        .bind(source)
        .bind(guid)
        .bind(canonical_url)
        .bind(canonical_url)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<bool, _>("known")?)
    }

    async fn story_by_canonical_url(&self, canonical_url: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM stories WHERE canonical_url = ?")
                .bind(canonical_url)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn story_by_fingerprint(&self, fingerprint: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM stories WHERE fingerprint = ?")
                .bind(fingerprint)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn near_dup_signatures(&self, after_id: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, near_dup FROM stories WHERE id > ? AND near_dup IS NOT NULL ORDER BY id",
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
            sqlx::query("UPDATE stories SET cluster_id = ? WHERE id = ?")
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
             WHERE id > ? AND fetched_at >= ? ORDER BY id",
        )
        .bind(after_id)
        .bind(to_millis(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecentStory {
                    id: r.try_get("id")?,
                    cluster_id: r.try_get("cluster_id")?,
                    title: r.try_get("title")?,
                    text: r.try_get("text")?,
                    fetched_at: from_millis(r.try_get("fetched_at")?),
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
            sqlx::query("DELETE FROM item_retries WHERE source = ? AND canonical_url = ?")
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
        let row = sqlx::query("SELECT * FROM item_retries WHERE source = ? AND canonical_url = ?")
            .bind(source)
            .bind(canonical_url)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(ItemRetry {
            attempts: r.try_get("attempts")?,
            first_failed_at: from_millis(r.try_get("first_failed_at")?),
            last_failed_at: from_millis(r.try_get("last_failed_at")?),
            next_attempt_at: from_millis(r.try_get("next_attempt_at")?),
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
             last_failed_at, next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (source, canonical_url) DO UPDATE SET attempts = excluded.attempts, \
             last_failed_at = excluded.last_failed_at, \
             next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error",
        )
        .bind(&seen.source)
        .bind(&seen.canonical_url)
        .bind(retry.attempts)
        .bind(to_millis(retry.first_failed_at))
        .bind(to_millis(retry.last_failed_at))
        .bind(to_millis(retry.next_attempt_at))
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
                sqlx::query("SELECT * FROM runs WHERE id = ?")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM runs ORDER BY id DESC LIMIT ?")
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(run_from_row).collect()
    }

    async fn stories(&self, f: &StoryFilter) -> Result<Vec<Story>, StoreError> {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM stories WHERE 1=1");
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
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE stories SET status = ");
        qb.push_bind(status.as_str()).push(" WHERE id IN (");
        let mut sep = qb.separated(", ");
        for id in ids {
            sep.push_bind(*id);
        }
        sep.push_unseparated(")");
        Ok(qb.build().execute(&self.pool).await?.rows_affected())
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM item_retries WHERE last_failed_at < ?")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query("DELETE FROM run_events WHERE at < ?")
            .bind(to_millis(before))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn story(&self, id: i64) -> Result<Option<Story>, StoreError> {
        let row = sqlx::query("SELECT * FROM stories WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(story_from_row).transpose()
    }

    async fn story_events(&self, story_id: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM run_events WHERE story_id = ? OR duplicate_of = ? \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(story_id)
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
        Ok(sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(&self.pool)
        .await?)
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
    pool: &sqlx::Pool<Sqlite>,
    f: &EventFilter,
    before_id: Option<i64>,
) -> Result<Vec<Event>, StoreError> {
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT * FROM run_events WHERE 1=1");
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
        qb.push(" AND at >= ").push_bind(to_millis(t));
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

impl SqliteStore {
    async fn insert_story_inner(
        &self,
        s: &NewStory,
        seen: &SeenItem,
        event: &Event,
        guard: Option<(i64, &NearDupCheck)>,
    ) -> Result<InsertOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO stories (source, url, canonical_url, guid, title, author, published_at, \
             fetched_at, text, html, fingerprint, near_dup, cluster_id, topic_score, \
             published_url, authors, site_name, language, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&s.source)
        .bind(&s.fetched_url)
        .bind(&s.dedup_key)
        .bind(&s.guid)
        .bind(&s.title)
        .bind(joined_authors(&s.authors))
        .bind(s.published_at.map(to_millis))
        .bind(to_millis(s.fetched_at))
        .bind(&s.text)
        .bind(&s.html)
        .bind(&s.fingerprint)
        .bind(&s.near_dup)
        .bind(s.cluster_id)
        .bind(s.topic_score)
        .bind(&s.url)
        .bind(serde_json::to_string(&s.authors).unwrap_or_else(|_| "[]".into()))
        .bind(&s.site_name)
        .bind(&s.language)
        .bind(s.updated_at.map(to_millis))
        .fetch_one(&mut *tx)
        .await;
        match inserted {
            Ok(row) => {
                let id: i64 = row.try_get("id")?;
                if let Some((after_id, check)) = guard {
                    let rows = sqlx::query(
                        "SELECT id, near_dup FROM stories \
                         WHERE id > ? AND id <> ? AND near_dup IS NOT NULL ORDER BY id",
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
                    sqlx::query("UPDATE stories SET cluster_id = id WHERE id = ?")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_seen(&mut *tx, seen, Outcome::Stored, Some(id), event.at).await?;
                let mut ev = event.clone();
                ev.story_id = Some(id);
                insert_event(&mut *tx, &ev).await?;
                tx.commit().await?;
                Ok(InsertOutcome::Stored(id))
            }
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                let (of, key) = match self.story_by_canonical_url(&s.dedup_key).await? {
                    Some(id) => (id, DuplicateKey::CanonicalUrl),
                    None => match self.story_by_fingerprint(&s.fingerprint).await? {
                        Some(id) => (id, DuplicateKey::Fingerprint),
                        None => return Err(StoreError::Database(e)),
                    },
                };
                let ev = concurrent_duplicate_event(event, of, key, None);
                self.record_item(Some(seen), &ev).await?;
                Ok(InsertOutcome::Duplicate { of, key })
            }
            Err(e) => {
                // Roll back now, on this connection, rather than when the dropped transaction
                // gets to it: after "disk full" SQLite may keep the write lock until then.
                let _ = tx.rollback().await;
                Err(e.into())
            }
        }
    }
}
