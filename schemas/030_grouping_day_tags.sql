-- 030_grouping_day_tags: which channels used each hashtag on a day, kept with the day's feature counts.
--
-- Tag threads' rubric test (ingest/events/threads.py) asks, for a post's tags, on how many of the post's UTC day
-- and the 14 days before a channel used them. An increment read that from event_posts.tag_keys: every tagged post
-- of 15 days, every hour, which in a warehouse of X accounts (most tweets carry a tag) is hundreds of thousands of
-- rows. The day's distinct (tag, channel) pairs now go into its grouping_days row, written and validated with the
-- row's counts (the row is used only while its number of posts equals the day's grouped posts), so an increment
-- reads 15 rows. NULL: the row was written before this migration; the day is counted again from event_posts and
-- its row rewritten by the next run that reads it.

ALTER TABLE grouping_days
    ADD COLUMN tag_keys bigint[],
    ADD COLUMN tag_platforms text[],
    ADD COLUMN tag_channels bigint[];

COMMENT ON COLUMN grouping_days.tag_keys IS 'Hashtag keys (event_posts.tag_keys) of the day''s grouped posts, one entry per distinct tag and channel, sorted by tag, platform, channel; NULL in rows written before migration 030.';
COMMENT ON COLUMN grouping_days.tag_platforms IS 'For each entry of tag_keys, the platform of the channel that used the tag that day.';
COMMENT ON COLUMN grouping_days.tag_channels IS 'For each entry of tag_keys, the channel id that used the tag that day.';
