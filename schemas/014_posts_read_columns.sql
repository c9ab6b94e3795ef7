-- 014_posts_read_columns: what analyst.posts computed for every row it returned is stored with the post.
--
-- Reading a busy channel's month through analyst.posts (45k posts) took 0.8-0.9 s where the bare posts rows take
-- ~0.2 s: per row the view counted the post's versions (a probe of post_versions), summed its reactions (a
-- jsonb_each) and listed its media types (a jsonb_array_elements). Now:
--
-- * posts.version_count: the post's rows in post_versions (0 while it was never edited: history starts at the
--   first change), kept by a statement trigger on post_versions, so every writer keeps it and the loader is
--   unchanged. Only edited posts are touched.
-- * posts.reactions_total and posts.media_types: stored generated columns of the same expressions the view used,
--   kept current by PostgreSQL on every write that sets reactions or media (the loader's upsert does).
--
-- analyst.posts returns the same columns with the same meaning, read from these. Upgrading rewrites posts once
-- (both generated columns in one ALTER TABLE, which also rebuilds the table's indexes) under an exclusive lock,
-- like 008.

CREATE FUNCTION analyst.media_types(media jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ARRAY(SELECT DISTINCT m ->> 'type'
                 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(media) = 'array' THEN media END) m
                 WHERE m ->> 'type' IS NOT NULL);
COMMENT ON FUNCTION analyst.media_types(jsonb) IS 'The distinct media types of a media array ({} when none); stored per post as posts.media_types.';

ALTER TABLE posts
    ADD COLUMN reactions_total bigint GENERATED ALWAYS AS (analyst.reactions_total(reactions)) STORED,
    ADD COLUMN media_types text[] GENERATED ALWAYS AS (analyst.media_types(media)) STORED,
    ADD COLUMN version_count integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN posts.reactions_total IS 'analyst.reactions_total(reactions), stored and kept current by PostgreSQL (generated column).';
COMMENT ON COLUMN posts.media_types IS 'analyst.media_types(media), stored and kept current by PostgreSQL (generated column).';
COMMENT ON COLUMN posts.version_count IS 'The post''s rows in post_versions (0 until its first edit, then 2 or more), kept by the trigger post_versions_count.';

UPDATE posts p SET version_count = c.n
FROM (SELECT platform, channel_id, post_id, count(*) AS n FROM post_versions GROUP BY 1, 2, 3) c
WHERE (p.platform, p.channel_id, p.post_id) = (c.platform, c.channel_id, c.post_id);

CREATE FUNCTION wirewatch_count_versions() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    -- Recounted, not incremented: a statement may insert several versions of one post (and ON CONFLICT DO
    -- NOTHING rows are not in the transition table, so a count stays exact).
    UPDATE posts p SET version_count = c.n
    FROM (SELECT v.platform, v.channel_id, v.post_id, count(*) AS n
          FROM post_versions v
          JOIN (SELECT DISTINCT platform, channel_id, post_id FROM added) k
            ON (v.platform, v.channel_id, v.post_id) = (k.platform, k.channel_id, k.post_id)
          GROUP BY 1, 2, 3) c
    WHERE (p.platform, p.channel_id, p.post_id) = (c.platform, c.channel_id, c.post_id)
      AND p.version_count IS DISTINCT FROM c.n;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION wirewatch_count_versions() IS 'Keeps posts.version_count equal to the post''s rows in post_versions (trigger post_versions_count).';
CREATE TRIGGER post_versions_count AFTER INSERT ON post_versions
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION wirewatch_count_versions();

-- The same columns as in 008_search_vector.sql, in the same order; only where three of them come from changed.
CREATE OR REPLACE VIEW analyst.posts AS
SELECT p.platform, p.channel_id, c.handle AS channel, c.title AS channel_title, p.post_id, p.url,
       p.posted_at,
       CASE WHEN p.version_count > 1 THEN p.version_at END AS edited_at,
       p.edited_at AS platform_edited_at,
       greatest(p.version_count, 1)::integer AS versions,
       p.kind, p.lang, p.text,
       (p.fwd_channel_id IS NOT NULL OR p.fwd_post_id IS NOT NULL OR p.fwd_name IS NOT NULL
        OR p.fwd_handle IS NOT NULL) AS is_forward,
       p.fwd_channel_id, coalesce(fc.handle, lower(p.fwd_handle)) AS fwd_channel, p.fwd_post_id, p.fwd_posted_at,
       p.fwd_name,
       p.reposted_channel_id, p.reposted_post_id, p.quoted_channel_id, p.quoted_post_id,
       p.reply_to_channel_id, p.reply_to_post_id,
       jsonb_array_length(p.media) AS media_count,
       p.media_types,
       p.links, p.hashtags, p.mentions,
       p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions,
       p.reactions_total, p.metrics_observed_at,
       p.source, p.first_seen_at, p.last_seen_at, p.deleted_at,
       p.search_vector
FROM posts p
LEFT JOIN channels c ON c.platform = p.platform AND c.channel_id = p.channel_id
LEFT JOIN channels fc ON fc.platform = coalesce(p.fwd_platform, p.platform) AND fc.channel_id = p.fwd_channel_id;
