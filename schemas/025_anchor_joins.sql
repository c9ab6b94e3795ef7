-- 025_anchor_joins: a post can join an event by its rare features (joined_by = anchor).
--
-- Grouping (ingest/events/cluster.py, Params.anchor_hours) lets a post that matches no event by similarity join a
-- young event (under 3 h) that holds several of its rare features: words that at most 10 posts of the two weeks
-- before had, such as a village's or a school's name. Such joins are less sure than joins by similarity (on a
-- read sample of the real stream, 75 % report the same happening and 89 % the same happening or situation, against
-- 88-93 % and 95-97 % for joins by similarity), so they carry their own reason. No data changes: the comments
-- list the reasons a post is in an event.

COMMENT ON COLUMN event_posts.joined_by IS 'Why the post is here: new (started the event), forward, repost, quote, reply, forwarded (an earlier forward of it was seen first), duplicate (near-identical text), similar (text similarity), anchor (rare words shared with a young event, at a lower similarity; less sure than similar).';
COMMENT ON COLUMN analyst.event_timeline.joined_by IS 'Why the post is in the event: new, forward, repost, quote, reply, forwarded, duplicate, similar, anchor (rare words shared with a young event, at a lower similarity; less sure than similar).';
