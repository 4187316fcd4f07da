-- Which process a run belongs to (its lease owner name), and when it was found abandoned
-- (its process died: unfinished, and none of its leases is alive any more).
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN abandoned_at INTEGER;
