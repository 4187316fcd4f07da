-- The desk (issue 12) at 100,000 stories and 1,000,000 events (benches/desk.rs).
-- The log filtered by outcome, newest first: without this a rare outcome (given_up) walks the
-- whole log by id.
CREATE INDEX run_events_outcome ON run_events (outcome, id);

-- The sources page's 14-day charts: each source's items, stored stories and errors per UTC day
-- (day = days since the Unix epoch). Kept by a trigger as events are written, so the page
-- reads a few hundred rows instead of aggregating the log; pruning events leaves it alone
-- (it is what happened, and it is small: sources × days).
CREATE TABLE source_days (
    source  TEXT NOT NULL,
    day     INTEGER NOT NULL,
    items   INTEGER NOT NULL DEFAULT 0,
    stored  INTEGER NOT NULL DEFAULT 0,
    errors  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, day)
);
CREATE INDEX source_days_day ON source_days (day);

INSERT INTO source_days (source, day, items, stored, errors)
SELECT source, at / 86400000, SUM(scope = 'item'), SUM(outcome = 'stored'), SUM(outcome = 'failed')
FROM run_events GROUP BY source, at / 86400000;

CREATE TRIGGER run_events_source_days AFTER INSERT ON run_events
BEGIN
    INSERT INTO source_days (source, day, items, stored, errors)
    VALUES (NEW.source, NEW.at / 86400000, NEW.scope = 'item', NEW.outcome = 'stored',
            NEW.outcome = 'failed')
    ON CONFLICT (source, day) DO UPDATE SET
        items = items + excluded.items,
        stored = stored + excluded.stored,
        errors = errors + excluded.errors;
END;
