-- Channel boilerplate learned from the channel's own posts (signatures, subscribe calls, sponsor lines, fixed
-- hashtags): counts of repeated lines and edge segments, updated as posts are grouped.

CREATE TABLE channel_segments (
    platform     text        NOT NULL,
    channel_id   bigint      NOT NULL,
    segment_key  bigint      NOT NULL,
    posts        integer     NOT NULL,
    first_at     timestamptz NOT NULL,
    last_at      timestamptz NOT NULL,
    sample       text        NOT NULL,
    first_times  timestamptz[] NOT NULL,
    first_ids    bigint[]    NOT NULL,
    PRIMARY KEY (platform, channel_id, segment_key)
);
CREATE INDEX channel_segments_frequent_idx ON channel_segments (platform, channel_id)
    WHERE cardinality(first_ids) >= 5;

COMMENT ON TABLE channel_segments IS 'How many posts of a channel contain each line (or leading/trailing segment of a post), markup and emoji removed. Segments frequent enough over at least a day are the channel''s boilerplate, removed from the text that grouping and briefs use; posts.text is never changed.';
COMMENT ON COLUMN channel_segments.segment_key IS 'CRC32 of the segment lower-cased with punctuation and spacing removed (ingest.events.clean.segment_key).';
COMMENT ON COLUMN channel_segments.posts IS 'Number of counted posts of the channel that contain the segment.';
COMMENT ON COLUMN channel_segments.first_at IS 'Posting time (UTC) of the first counted post with the segment.';
COMMENT ON COLUMN channel_segments.last_at IS 'Posting time (UTC) of the last counted post with the segment.';
COMMENT ON COLUMN channel_segments.first_times IS 'Posting times (UTC) of the earliest posts with the segment (at most 5, with first_ids): the segment counts as boilerplate for posts from the fifth on, and not before a day after the first, so a post is cleaned the same whenever it is grouped.';
COMMENT ON COLUMN channel_segments.first_ids IS 'Post ids matching first_times.';
COMMENT ON COLUMN channel_segments.sample IS 'The segment as first seen (markup removed, at most 200 characters), for people reading the table.';

CREATE TABLE channel_segment_progress (
    platform       text        NOT NULL,
    channel_id     bigint      NOT NULL,
    posts          integer     NOT NULL,
    counted_from   timestamptz NOT NULL,
    counted_until  timestamptz NOT NULL,
    first_times    timestamptz[] NOT NULL,
    first_ids      bigint[]    NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, channel_id)
);
COMMENT ON TABLE channel_segment_progress IS 'Which posts of each channel have been counted into channel_segments: those posted in [counted_from, counted_until]. Every post is counted when it is grouped; the posts column grows only for posts outside the range (new ones, backfilled history), so a regrouped post is not counted twice.';
COMMENT ON COLUMN channel_segment_progress.posts IS 'Number of posts of the channel counted so far.';
COMMENT ON COLUMN channel_segment_progress.counted_from IS 'Posting time (UTC) of the earliest counted post.';
COMMENT ON COLUMN channel_segment_progress.counted_until IS 'Posting time (UTC) of the latest counted post.';
COMMENT ON COLUMN channel_segment_progress.first_times IS 'Posting times (UTC) of the channel''s earliest 30 posts (with first_ids): nothing is boilerplate before the 30th.';
COMMENT ON COLUMN channel_segment_progress.first_ids IS 'Post ids matching first_times.';
COMMENT ON COLUMN channel_segment_progress.updated_at IS 'When the counts last changed.';

-- Copies that share a headline but go on differently (one channel rewrites another's post) are one event.
ALTER TABLE event_posts ADD COLUMN lead_key bigint;
CREATE INDEX event_posts_lead_idx ON event_posts (lead_key) WHERE lead_key IS NOT NULL;
COMMENT ON COLUMN event_posts.lead_key IS 'Hash of the cleaned text''s first line when it has at least 8 words (its headline): a post opening with the same headline joins the same event, like a copy (joined_by = duplicate).';
