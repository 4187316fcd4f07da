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
    day     BIGINT NOT NULL,
    items   BIGINT NOT NULL DEFAULT 0,
    stored  BIGINT NOT NULL DEFAULT 0,
    errors  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (source, day)
);
CREATE INDEX source_days_day ON source_days (day);

INSERT INTO source_days (source, day, items, stored, errors)
SELECT source, floor(extract(epoch FROM at) / 86400)::bigint,
       count(*) FILTER (WHERE scope = 'item'),
       count(*) FILTER (WHERE outcome = 'stored'),
       count(*) FILTER (WHERE outcome = 'failed')
FROM run_events GROUP BY 1, 2;

CREATE FUNCTION source_days_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO source_days (source, day, items, stored, errors)
    VALUES (NEW.source, floor(extract(epoch FROM NEW.at) / 86400)::bigint,
            (NEW.scope = 'item')::int, (NEW.outcome = 'stored')::int,
            (NEW.outcome = 'failed')::int)
    ON CONFLICT (source, day) DO UPDATE SET
        items = source_days.items + EXCLUDED.items,
        stored = source_days.stored + EXCLUDED.stored,
        errors = source_days.errors + EXCLUDED.errors;
    RETURN NULL;
END
$$;

CREATE TRIGGER run_events_source_days AFTER INSERT ON run_events
FOR EACH ROW EXECUTE FUNCTION source_days_count();
