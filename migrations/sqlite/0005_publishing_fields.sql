-- What is handed to publishing (issue 15). `canonical_url` stays what it always was: the dedup
-- key (https, no www./m./amp., sorted query), never a link. `url` stays the URL fetched after
-- redirects. New:
--   published_url  the article's own address: the page's rel=canonical/og:url on the same
--                  registrable domain, else the fetched URL, tracking parameters removed;
--   authors        JSON array of bylines (`author` keeps them joined with ", " for old readers);
--   site_name, language, updated_at (UTC milliseconds) when the page states them.
ALTER TABLE stories ADD COLUMN published_url TEXT;
ALTER TABLE stories ADD COLUMN authors TEXT;
ALTER TABLE stories ADD COLUMN site_name TEXT;
ALTER TABLE stories ADD COLUMN language TEXT;
ALTER TABLE stories ADD COLUMN updated_at INTEGER;

-- Stored stories: a fetched URL with no query or fragment is already its published form. The
-- others are filled by the store when it opens (tracking parameters are removed by the same
-- code as for new stories; see `backfill_published_urls`), found through this index.
-- Not recoverable: a page's declared canonical address was never stored (only its folded dedup
-- form), so old stories publish the URL they were fetched from.
UPDATE stories SET published_url = url WHERE instr(url, '?') = 0 AND instr(url, '#') = 0;
CREATE INDEX stories_published_url_missing ON stories (id) WHERE published_url IS NULL;

-- An old byline is kept as one author: "A, B" cannot be told apart from "Surname, Name".
UPDATE stories SET authors = json_array(author) WHERE author IS NOT NULL AND author <> '';
