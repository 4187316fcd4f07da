-- The page's own summary of a story (its JSON-LD or <meta> description), handed to publishing
-- as JSON Feed `summary` and Atom <summary>: the standfirst the body leaves out. Stories stored
-- before keep none (the page was not kept).
ALTER TABLE stories ADD COLUMN summary TEXT;
