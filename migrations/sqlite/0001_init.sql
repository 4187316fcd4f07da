-- newsdesk schema, SQLite. Times are UTC milliseconds since the Unix epoch (INTEGER), so that
-- comparisons are numeric and identical in every client.

CREATE TABLE sources (
    name                TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    etag                TEXT,
    last_modified       TEXT,
    last_fetch_at       INTEGER,
    last_success_at     INTEGER,
    last_error          TEXT,
    consecutive_errors  INTEGER NOT NULL DEFAULT 0,
    next_due_at         INTEGER NOT NULL,
    interval_secs       INTEGER NOT NULL,
    last_new_story_at   INTEGER,
    lease_owner         TEXT,
    lease_until         INTEGER
);

CREATE TABLE stories (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL,
    url             TEXT NOT NULL,
    canonical_url   TEXT NOT NULL,
    guid            TEXT,
    title           TEXT,
    author          TEXT,
    published_at    INTEGER,
    fetched_at      INTEGER NOT NULL,
    text            TEXT NOT NULL,
    html            TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    near_dup        BLOB,
    cluster_id      INTEGER,
    topic_score     REAL,
    status          TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'published', 'rejected'))
);
-- These constraints are what make "stored once" hold when two runs race.
CREATE UNIQUE INDEX stories_canonical_url ON stories (canonical_url);
CREATE UNIQUE INDEX stories_fingerprint ON stories (fingerprint);
CREATE INDEX stories_status ON stories (status, id);
CREATE INDEX stories_cluster ON stories (cluster_id);

-- Every item a source announced that reached a final outcome, so it is never fetched again.
CREATE TABLE seen_items (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source          TEXT NOT NULL,
    guid            TEXT,
    canonical_url   TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    story_id        INTEGER,
    seen_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX seen_items_source_guid ON seen_items (source, guid) WHERE guid IS NOT NULL;
CREATE INDEX seen_items_canonical_url ON seen_items (canonical_url);

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger         TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    sources         INTEGER NOT NULL DEFAULT 0,
    sources_failed  INTEGER NOT NULL DEFAULT 0,
    items           INTEGER NOT NULL DEFAULT 0,
    known           INTEGER NOT NULL DEFAULT 0,
    stored          INTEGER NOT NULL DEFAULT 0,
    duplicates      INTEGER NOT NULL DEFAULT 0,
    off_topic       INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE run_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    at              INTEGER NOT NULL,
    source          TEXT NOT NULL,
    scope           TEXT NOT NULL CHECK (scope IN ('source', 'item')),
    outcome         TEXT NOT NULL,
    url             TEXT,
    title           TEXT,
    story_id        INTEGER,
    duplicate_of    INTEGER,
    score           REAL,
    reason          TEXT NOT NULL
);
CREATE INDEX run_events_run ON run_events (run_id, id);
CREATE INDEX run_events_at ON run_events (at);
CREATE INDEX run_events_source ON run_events (source, id);
