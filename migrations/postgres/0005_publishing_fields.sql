-- What is handed to publishing (issue 15); same meaning as migrations/sqlite/0002. `canonical_url`
-- stays the dedup key, `url` the URL fetched after redirects. New: published_url (the article's
-- own address), authors (TEXT[]; `author` keeps them joined with ", "), site_name, language,
-- updated_at.
ALTER TABLE stories ADD COLUMN published_url TEXT;
ALTER TABLE stories ADD COLUMN authors TEXT[];
ALTER TABLE stories ADD COLUMN site_name TEXT;
ALTER TABLE stories ADD COLUMN language TEXT;
ALTER TABLE stories ADD COLUMN updated_at TIMESTAMPTZ;

-- Stored stories: a fetched URL with no query or fragment is already its published form; the
-- others are filled by the store when it opens (`backfill_published_urls`). Not recoverable: a
-- page's declared canonical address (only its folded dedup form was stored).
UPDATE stories SET published_url = url WHERE strpos(url, '?') = 0 AND strpos(url, '#') = 0;
CREATE INDEX stories_published_url_missing ON stories (id) WHERE published_url IS NULL;

-- An old byline is kept as one author: "A, B" cannot be told apart from "Surname, Name".
UPDATE stories SET authors = ARRAY[author] WHERE author IS NOT NULL AND author <> '';
