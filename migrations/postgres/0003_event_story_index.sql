-- The desk's story page lists the events about one story: the one that stored it (the reason
-- it passed) and the items dropped as its duplicates. Partial indexes: most events name no story.
CREATE INDEX run_events_story ON run_events (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX run_events_duplicate_of ON run_events (duplicate_of) WHERE duplicate_of IS NOT NULL;
