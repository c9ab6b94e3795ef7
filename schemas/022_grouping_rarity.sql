-- 022_grouping_rarity: rarity weights for the event level (ingest/events/rarity.py).
--
-- The event level weighs each feature of a post by how rare it was over the 14 whole UTC days before the post's
-- day; the storyline level keeps the plain vector. Each grouped post therefore keeps both weight vectors (the
-- feature indices are the same), and the per-day counts over grouped posts are kept so that an hourly run reads
-- 14 rows instead of counting two weeks of posts again.

ALTER TABLE event_posts ADD COLUMN IF NOT EXISTS story_val smallint[];
COMMENT ON COLUMN event_posts.story_val IS 'Grouping state: the post''s plain feature weights (the storyline level''s), matching vec_idx; vec_val holds the rarity-weighted ones the event level reads. NULL for posts grouped before migration 022 (vec_val is then the plain vector).';

CREATE TABLE IF NOT EXISTS grouping_days (
    day         integer     PRIMARY KEY,
    posts       integer     NOT NULL,
    idx         integer[]   NOT NULL,
    cnt         integer[]   NOT NULL,
    counted_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE grouping_days IS 'Grouping state: for each whole UTC day whose posts are all grouped, how many posts it holds and in how many of them each feature occurs; the inverse document frequencies of the event level are counted from the 14 days before a post''s day. Rows from a replay''s first day on are deleted by the replay and counted again.';
COMMENT ON COLUMN grouping_days.day IS 'Days since 1970-01-01, UTC.';
COMMENT ON COLUMN grouping_days.posts IS 'Grouped posts posted that day.';
COMMENT ON COLUMN grouping_days.idx IS 'Feature indices (ingest.events.text) present in any of them, ascending.';
COMMENT ON COLUMN grouping_days.cnt IS 'For each index, the number of the day''s posts that have it.';
COMMENT ON COLUMN grouping_days.counted_at IS 'When the row was written.';
