//! PostgreSQL: one database shared by several daemons. What differs from SQLite: opening
//! (creating the database, the server-side statement timeout, read-only sessions), times stored
//! as TIMESTAMPTZ and the authors list as `TEXT[]`, and what SQLite gets from its single writer,
//! which PostgreSQL gets from row locks, constraints and an advisory lock. Everything else is the
//! shared SQL of [`super::sql`].
//!
//! - leasing is `SELECT … FOR UPDATE SKIP LOCKED` inside one `UPDATE … RETURNING`, so two
//!   daemons leasing at the same instant take disjoint sets and never wait on each other;
//! - a story is `INSERT … ON CONFLICT DO NOTHING RETURNING id` (the shared SQL): an insert that
//!   meets another transaction's uncommitted row with the same key waits for it, so a race on
//!   the canonical URL or the fingerprint is a `duplicate` outcome, never an error;
//! - guarded inserts take a transaction-scoped advisory lock first, so they take turns;
//! - the config's sources are written with one `INSERT … SELECT FROM UNNEST(…)`.
//!
//! Lease times come from the callers' clocks (as with SQLite), so daemons on several machines
//! need synchronized clocks (NTP); a skew shortens or lengthens leases by that much.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres};

use super::sql::{Codec, Dialect, SqlStore};
use super::StoreError;
use crate::config::SourceConfig;

/// Advisory lock key of guarded story inserts ("newsdesk" in ASCII).
const NEAR_DUP_LOCK: i64 = 0x6e65_7773_6465_736b;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per daemon. A run has at most `concurrency × item_concurrency` items talking to
/// the database at once, each for a few milliseconds; ten connections keep them from queueing
/// while three daemons stay far below PostgreSQL's default `max_connections` (100).
const MAX_CONNECTIONS: u32 = 10;

/// A statement running longer than this is cancelled by the server (a stuck lock, not a query
/// of ours, which all take milliseconds).
const STATEMENT_TIMEOUT: &str = "60s";

/// A PostgreSQL database.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
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
        let store = PgStore::new(pool);
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
        Ok(PgStore::new(pool))
    }
}

impl Codec for Postgres {
    /// TIMESTAMPTZ.
    type Time = DateTime<Utc>;

    fn time(t: DateTime<Utc>) -> DateTime<Utc> {
        t
    }

    fn read_time(t: DateTime<Utc>) -> DateTime<Utc> {
        t
    }

    /// `TEXT[]`.
    type Authors = Vec<String>;

    fn authors(list: &[String]) -> Vec<String> {
        list.to_vec()
    }

    fn read_authors(list: Vec<String>) -> Result<Vec<String>, StoreError> {
        Ok(list)
    }
}

#[async_trait]
impl Dialect for PgStore {
    type Db = Postgres;
    // Byte order, as SQLite sorts, whatever the database's collation.
    const SOURCES_QUERY: &'static str = "SELECT * FROM sources ORDER BY name COLLATE \"C\"";
    const SIZE_QUERY: &'static str = "SELECT pg_database_size(current_database())";

    async fn write_sources(
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

    async fn lease_rows(
        &self,
        names: &[String],
        force: bool,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PgRow>, StoreError> {
        // The inner SELECT locks the rows it picks and skips rows another daemon's lease
        // statement holds at this instant; the lease columns then keep them out of every other
        // daemon's picks until `until` or `finish_source`. Rows committed by another daemon after
        // this statement's snapshot are re-checked against the WHERE clause before being taken.
        Ok(sqlx::query(
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
        .await?)
    }

    /// PostgreSQL does not serialize writers the way SQLite does: a transaction-scoped advisory
    /// lock makes guarded inserts (every daemon's) take turns, so each sees the near-copies
    /// committed before it, and story ids are handed out in commit order.
    async fn serialize_guarded_insert(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(NEAR_DUP_LOCK)
            .execute(conn)
            .await?;
        Ok(())
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
