//! SQLite: the embedded default, one file, WAL mode so the daemon and a manual `newsdesk fetch`
//! can share it. What differs from PostgreSQL: opening (the file, its folder, a lock file for
//! migrations, read-only access), times stored as INTEGER milliseconds and the authors list as
//! JSON text, and leasing and writing sources under SQLite's single writer. Everything else is
//! the shared SQL of [`super::sql`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::sql::{Codec, Dialect, SqlStore};
use super::StoreError;
use crate::config::SourceConfig;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A SQLite database file.
pub type SqliteStore = SqlStore<Sqlite>;

/// `<database>-wal`, SQLite's write-ahead log beside the database.
fn wal_file(db_file: &Path) -> std::path::PathBuf {
    beside(db_file, "-wal")
}

/// The database's shared-memory index (`<database>-shm`), present while a connection has it open.
fn shm_file(db_file: &Path) -> std::path::PathBuf {
    beside(db_file, "-shm")
}

/// `db_file` with `suffix` appended to its name.
fn beside(db_file: &Path, suffix: &str) -> std::path::PathBuf {
    let mut path = db_file.as_os_str().to_owned();
    path.push(suffix);
    path.into()
}

/// Takes an exclusive lock on `<database>.lock` (released when the file is dropped).
async fn lock_for_migration(db_file: &Path, url: &str) -> Result<std::fs::File, StoreError> {
    let path = beside(db_file, ".lock");
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

impl SqlStore<Sqlite> {
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
        let store = SqliteStore::new(pool);
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
            // no process has it open and this user may not create files beside it, the file
            // can only be read as immutable, which is exact as long as no writer starts
            // meanwhile. No process has it open when there is no `-wal` file (every change is
            // in the main file), or a `-wal` without its `-shm`: the last connection's close
            // checkpoints, then deletes the `-shm`, then the `-wal`, so a process that ended
            // between the two deletions leaves a `-wal` already copied into the main file.
            Err(_) if !wal_file(&file).exists() || !shm_file(&file).exists() => {
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
        Ok((SqliteStore::new(pool), applied))
    }
}

impl Codec for Sqlite {
    /// UTC milliseconds since the epoch: comparisons are numeric and the same in every client.
    type Time = i64;

    fn time(t: DateTime<Utc>) -> i64 {
        t.timestamp_millis()
    }

    fn read_time(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(ms)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// A JSON array of strings.
    type Authors = String;

    fn authors(list: &[String]) -> String {
        serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
    }

    fn read_authors(json: String) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&json).map_err(|_| StoreError::Corrupt {
            column: "authors",
            value: json,
        })
    }
}

#[async_trait]
impl Dialect for SqliteStore {
    type Db = Sqlite;
    const SOURCES_QUERY: &'static str = "SELECT * FROM sources ORDER BY name";
    const SIZE_QUERY: &'static str =
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()";

    async fn write_sources(
        &self,
        sources: &[SourceConfig],
        default_interval: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One statement per source, in one transaction: SQLite has no arrays to bind.
        let mut tx = self.pool.begin().await?;
        for s in sources {
            let interval = s.interval.unwrap_or(default_interval).as_secs() as i64;
            sqlx::query(
                "INSERT INTO sources (name, kind, url, next_due_at, interval_secs) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
                   etag = CASE WHEN url = excluded.url THEN etag END, \
                   last_modified = CASE WHEN url = excluded.url THEN last_modified END",
            )
            .bind(&s.name)
            .bind(s.kind.as_str())
            .bind(&s.url)
            .bind(Sqlite::time(now))
            .bind(interval)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn lease_rows(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SqliteRow>, StoreError> {
        let now = Sqlite::time(now);
        // One UPDATE … RETURNING: SQLite takes the write lock for it, so two processes can never
        // lease the same source.
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE sources SET lease_owner = ");
        qb.push_bind(owner)
            .push(", lease_until = ")
            .push_bind(Sqlite::time(until))
            .push(" WHERE name IN (SELECT name FROM sources")
            .push(" WHERE (lease_until IS NULL OR lease_until <= ")
            .push_bind(now)
            .push(")");
        if !force {
            qb.push(" AND next_due_at <= ").push_bind(now);
        }
        if !names.is_empty() {
            qb.push(" AND name IN (");
            let mut sep = qb.separated(", ");
            for n in names {
                sep.push_bind(n);
            }
            sep.push_unseparated(")");
        }
        qb.push(" ORDER BY next_due_at, name LIMIT ")
            .push_bind(limit)
            .push(") RETURNING *");
        Ok(qb.build().fetch_all(&self.pool).await?)
    }

    /// Nothing to take: SQLite's write lock, taken by the insert, already makes writers take
    /// turns.
    async fn serialize_guarded_insert(_conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        Ok(())
    }
}
