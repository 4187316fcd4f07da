-- newsdesk schema, PostgreSQL. Same tables and meaning as migrations/sqlite/, with native types:
-- TIMESTAMPTZ for times, BIGINT identities, BYTEA for signatures. Several daemons share one
-- database: unique constraints decide "stored once", row locks (FOR UPDATE SKIP LOCKED) and
-- lease columns decide "fetched by one daemon at a time".

CREATE TABLE sources (
    name                TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    url                 TEXT NOT NULL,
    etag                TEXT,
    last_modified       TEXT,
    last_fetch_at       TIMESTAMPTZ,
    last_success_at     TIMESTAMPTZ,
    last_error          TEXT,
    consecutive_errors  BIGINT NOT NULL DEFAULT 0,
    next_due_at         TIMESTAMPTZ NOT NULL,
    interval_secs       BIGINT NOT NULL,
    last_new_story_at   TIMESTAMPTZ,
    lease_owner         TEXT,
    lease_until         TIMESTAMPTZ
);
-- Leasing scans due sources oldest first.
CREATE INDEX sources_due ON sources (next_due_at, name);

CREATE TABLE stories (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT NOT NULL,
    url             TEXT NOT NULL,
    canonical_url   TEXT NOT NULL,
    guid            TEXT,
    title           TEXT,
    author          TEXT,
    published_at    TIMESTAMPTZ,
    fetched_at      TIMESTAMPTZ NOT NULL,
    text            TEXT NOT NULL,
    html            TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    near_dup        BYTEA,
    cluster_id      BIGINT,
    topic_score     DOUBLE PRECISION,
    status          TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'published', 'rejected'))
);
-- These constraints are what make "stored once" hold when daemons race.
CREATE UNIQUE INDEX stories_canonical_url ON stories (canonical_url);
CREATE UNIQUE INDEX stories_fingerprint ON stories (fingerprint);
CREATE INDEX stories_status ON stories (status, id);
CREATE INDEX stories_cluster ON stories (cluster_id);
CREATE INDEX stories_source ON stories (source, id);

-- Every item a source announced that reached a final outcome, so it is never fetched again.
CREATE TABLE seen_items (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source          TEXT NOT NULL,
    guid            TEXT,
    canonical_url   TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    story_id        BIGINT,
    seen_at         TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX seen_items_source_guid ON seen_items (source, guid) WHERE guid IS NOT NULL;
CREATE INDEX seen_items_canonical_url ON seen_items (canonical_url);

CREATE TABLE runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger         TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    sources         BIGINT NOT NULL DEFAULT 0,
    sources_failed  BIGINT NOT NULL DEFAULT 0,
    items           BIGINT NOT NULL DEFAULT 0,
    known           BIGINT NOT NULL DEFAULT 0,
    stored          BIGINT NOT NULL DEFAULT 0,
    duplicates      BIGINT NOT NULL DEFAULT 0,
    off_topic       BIGINT NOT NULL DEFAULT 0,
    failed          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE run_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id          BIGINT NOT NULL REFERENCES runs (id),
    at              TIMESTAMPTZ NOT NULL,
    source          TEXT NOT NULL,
    scope           TEXT NOT NULL CHECK (scope IN ('source', 'item')),
    outcome         TEXT NOT NULL,
    url             TEXT,
    title           TEXT,
    story_id        BIGINT,
    duplicate_of    BIGINT,
    score           DOUBLE PRECISION,
    reason          TEXT NOT NULL
);
CREATE INDEX run_events_run ON run_events (run_id, id);
CREATE INDEX run_events_at ON run_events (at);
CREATE INDEX run_events_source ON run_events (source, id);
