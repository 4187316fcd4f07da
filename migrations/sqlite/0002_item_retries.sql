-- Articles whose fetch failed and that will be tried again: how often they failed and when the
-- next attempt is due. An item leaves this table when it reaches a final outcome (given up
-- included); rows of items that later succeeded are pruned with old events.
CREATE TABLE item_retries (
    source          TEXT NOT NULL,
    canonical_url   TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    first_failed_at INTEGER NOT NULL,
    last_failed_at  INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    PRIMARY KEY (source, canonical_url)
);
CREATE INDEX item_retries_last_failed ON item_retries (last_failed_at);
