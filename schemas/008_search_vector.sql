-- 008_search_vector: a stored text search document per post, and analyst.search() newest first.
--
-- Until now posts had an expression GIN index on analyst.search_document(text): it finds the matches, but stores
-- no vectors, so every ranking or re-check parsed the post's text again (~50-75 µs a post), and analyst.search()
-- ranked every match before returning the best few: a word in 40 % of 1M posts took longer than the console's
-- 15 s statement timeout. Now:
--
-- * posts.search_vector is a stored generated column (the same analyst.search_document(text)): PostgreSQL keeps it
--   current on every insert and on every update that sets text (the loader's upsert does), so search stays
--   current with no change to the loader; the GIN index is on the column. Per new post the server parses the text
--   once, as it did for the expression index; the row is wider by the vector (~1.5x the text).
-- * analyst.search() returns matches newest first: with a LIMIT the planner walks posts_posted_at_idx backwards
--   and stops after the first page, checking each post against its stored vector (~2 µs a post read), or takes
--   the GIN index and sorts when the words are rare. ranked => true orders by ts_rank first (the old order): it
--   ranks every match, so it costs time in proportion to the matches; narrow it with since.
--
-- Upgrading rewrites posts once (ALTER TABLE ... ADD COLUMN ... STORED parses every post's text and rebuilds the
-- table's indexes) under an exclusive lock: 161 s for 1M posts on a busy 2-core box. The old expression index is
-- dropped first so that the rewrite does not rebuild it.

DROP INDEX posts_search_idx;
ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (analyst.search_document(text)) STORED;
CREATE INDEX posts_search_idx ON posts USING gin (search_vector);
-- The planner's statistics of the new column (most common words and their frequencies): without them it would
-- guess every word rare until autovacuum next analyses posts.
ANALYZE posts (search_vector);
COMMENT ON COLUMN posts.search_vector IS 'analyst.search_document(text), stored and kept current by PostgreSQL (generated column); posts_search_idx (GIN) indexes it.';

COMMENT ON FUNCTION analyst.search_document(text) IS 'The text search document of a text (configuration analyst.multilingual). For posts it is stored: analyst.posts.search_vector, GIN-indexed, so WHERE search_vector @@ analyst.search_query(''...'') is fast (analyst.search_document(text) @@ ... on posts parses every text).';
COMMENT ON FUNCTION analyst.search_query(text) IS 'A web-search style query (words, "quoted phrase", OR, -word) in any language, stemmed like analyst.search_document: use as search_vector @@ analyst.search_query(''...'') on analyst.posts.';

-- The same view as in 004_analyst.sql, with search_vector added at the end (CREATE OR REPLACE VIEW may only add
-- columns there).
CREATE OR REPLACE VIEW analyst.posts AS
SELECT p.platform, p.channel_id, c.handle AS channel, c.title AS channel_title, p.post_id, p.url,
       p.posted_at,
       CASE WHEN v.n > 1 THEN p.version_at END AS edited_at,
       p.edited_at AS platform_edited_at,
       greatest(v.n, 1)::integer AS versions,
       p.kind, p.lang, p.text,
       (p.fwd_channel_id IS NOT NULL OR p.fwd_post_id IS NOT NULL OR p.fwd_name IS NOT NULL
        OR p.fwd_handle IS NOT NULL) AS is_forward,
       p.fwd_channel_id, coalesce(fc.handle, lower(p.fwd_handle)) AS fwd_channel, p.fwd_post_id, p.fwd_posted_at,
       p.fwd_name,
       p.reposted_channel_id, p.reposted_post_id, p.quoted_channel_id, p.quoted_post_id,
       p.reply_to_channel_id, p.reply_to_post_id,
       jsonb_array_length(p.media) AS media_count,
       ARRAY(SELECT DISTINCT m ->> 'type' FROM jsonb_array_elements(p.media) m WHERE m ->> 'type' IS NOT NULL)
           AS media_types,
       p.links, p.hashtags, p.mentions,
       p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions,
       analyst.reactions_total(p.reactions) AS reactions_total, p.metrics_observed_at,
       p.source, p.first_seen_at, p.last_seen_at, p.deleted_at,
       p.search_vector
FROM posts p
LEFT JOIN channels c ON c.platform = p.platform AND c.channel_id = p.channel_id
LEFT JOIN channels fc ON fc.platform = coalesce(p.fwd_platform, p.platform) AND fc.channel_id = p.fwd_channel_id
LEFT JOIN LATERAL (SELECT count(*) AS n FROM post_versions pv
                   WHERE pv.platform = p.platform AND pv.channel_id = p.channel_id AND pv.post_id = p.post_id) v
       ON true;
COMMENT ON COLUMN analyst.posts.search_vector IS 'The text search document of the post (analyst.search_document(text), stored and GIN-indexed): WHERE search_vector @@ analyst.search_query(''drone OR беспилотник'') finds posts fast; ts_rank(search_vector, ...) ranks them.';

-- The snippet analyst.search() returns, for any text: hits marked with **, at most two fragments.
CREATE FUNCTION analyst.search_snippet(body text, query text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ts_headline('analyst.multilingual'::regconfig, body, analyst.search_query(query),
                       'MaxFragments=2, MaxWords=18, MinWords=6, StartSel=**, StopSel=**');
COMMENT ON FUNCTION analyst.search_snippet(text, text) IS 'The words of a text around the hits of a web-search style query, hits marked with ** (at most two fragments), as analyst.search() returns them.';

-- A new signature (a third, optional argument; channel_id appended to the result): the old one is dropped so
-- that analyst.search('...') and analyst.search('...', since) keep meaning one function.
DROP FUNCTION analyst.search(text, timestamptz);

-- Reads analyst.posts (not posts): the function runs with the caller's rights, and an analyst may read only the
-- views. It inlines into the calling query, so the planner sees the caller's LIMIT and WHERE and the constant
-- `ranked`: with ranked false the CASE below folds to NULL and drops out of the ordering, leaving posted_at DESC
-- (the index order; ties broken by an incremental sort on the key), and rank and snippet are computed for the
-- returned rows only.
CREATE FUNCTION analyst.search(query text, since timestamptz DEFAULT NULL, ranked boolean DEFAULT false)
    RETURNS TABLE (platform text, channel text, post_id bigint, posted_at timestamptz, lang text, url text,
                   rank real, snippet text, text text, channel_id bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT p.platform, p.channel, p.post_id, p.posted_at, p.lang, p.url,
           ts_rank(p.search_vector, analyst.search_query(query)) AS rank,
           analyst.search_snippet(p.text, query) AS snippet,
           p.text, p.channel_id
    FROM analyst.posts p
    WHERE p.search_vector @@ analyst.search_query(query)
      AND (since IS NULL OR p.posted_at >= since)
      AND p.deleted_at IS NULL
    ORDER BY CASE WHEN ranked THEN ts_rank(p.search_vector, analyst.search_query(query)) END DESC,
             p.posted_at DESC, p.platform, p.channel_id, p.post_id;
END;
COMMENT ON FUNCTION analyst.search(text, timestamptz, boolean) IS 'Full-text search of post texts in any language, newest first. query: words (all must match), "a quoted phrase", OR, -excluded (websearch syntax). Russian and English words match their inflected forms ("контрактов" finds "контракты"; "contract" finds "contracts"); other languages (Ukrainian included) match word for word. since: only posts published at or after it. ranked: best matches (ts_rank) first instead, then newest; this ranks every match, so a common word takes seconds on millions of posts (narrow it with since). Deleted posts are left out; snippet marks hits with **. The first page of a newest-first search stops early: SELECT * FROM analyst.search(''drone'') LIMIT 20.';
