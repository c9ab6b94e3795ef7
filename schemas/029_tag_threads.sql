-- 029_tag_threads: a post's hashtags link its storyline to the storyline of their recent uses by other sources.
--
-- A hashtag is a topic its authors chose: a typhoon's, a bushfire season's or a protest's tag runs for weeks,
-- past the seven days a storyline may grow by similarity. Grouping (ingest/events/cluster.py, Params.thread_hours)
-- keeps the keys of the hashtags of each post's cleaned text (a channel's fixed tags went with its boilerplate);
-- a post whose tag another source used at most 120 h before merges its storyline with the storyline holding most
-- of those uses when the two are alike, and a tag that a channel puts on posts of three or more days of two weeks
-- (a rubric) links nothing of that channel. Increments read the keys of the posts grouped in the 15 days before
-- their first post; the posted_at index bounds that read. Existing rows keep an empty array until the warehouse
-- is regrouped, which the change of grouping parameters makes the next run do.

ALTER TABLE event_posts ADD COLUMN tag_keys bigint[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN event_posts.tag_keys IS 'Keys of the hashtags of the cleaned text (case folded; tags of digits alone left out), sorted: what a tag thread follows (a storyline merge with the storyline of the tag''s recent uses by other sources).';
