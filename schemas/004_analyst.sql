-- 004_analyst: the analysts' schema. Read-only views over the warehouse (no raw payloads, no hashes, no ingest
-- bookkeeping) and full-text search across languages. No grants here: roles are cluster-wide, so a migration that
-- granted to an existing `wirewatch_analyst` would open every database migrated on that server. Access is given
-- per database by `wirewatch analyst create-role` (USAGE + SELECT, and default privileges so that views added by
-- later migrations are readable too). Events views come in 005_analyst_events.sql, after 003_events.

CREATE SCHEMA IF NOT EXISTS analyst;
COMMENT ON SCHEMA analyst IS 'Read-only views for analysts: posts, versions, engagement, channel activity, events, briefs, search. Times are timestamptz in UTC (SET TIME ZONE ''UTC'' to display them as UTC).';

-- ----------------------------------------------------------------------------------------------- search
-- One text search configuration for every language: the parser splits words; Latin-script words go through the
-- English Snowball stemmer, Cyrillic words through the Russian one, and neither drops stop words. So "контрактов"
-- finds "контракты", "contract" finds "contracts", "US" and "WHO" stay searchable (the stock configurations
-- drop "us" and "who" as stop words), and a Ukrainian word (PostgreSQL has no Ukrainian stemmer) matches the
-- same word form, plus whatever endings it shares with Russian. One pass per post: measured, concatenating
-- 'simple' and 'russian' vectors cost 1.5x the time and 1.35x the index for nothing but stop words.
CREATE TEXT SEARCH DICTIONARY analyst.english_stem_all (TEMPLATE = snowball, Language = english);
COMMENT ON TEXT SEARCH DICTIONARY analyst.english_stem_all IS 'English Snowball stemmer that keeps stop words.';
CREATE TEXT SEARCH DICTIONARY analyst.russian_stem_all (TEMPLATE = snowball, Language = russian);
COMMENT ON TEXT SEARCH DICTIONARY analyst.russian_stem_all IS 'Russian Snowball stemmer that keeps stop words.';
CREATE TEXT SEARCH CONFIGURATION analyst.multilingual (COPY = pg_catalog.russian);
ALTER TEXT SEARCH CONFIGURATION analyst.multilingual
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart WITH analyst.english_stem_all;
ALTER TEXT SEARCH CONFIGURATION analyst.multilingual
    ALTER MAPPING FOR word, hword, hword_part WITH analyst.russian_stem_all;
COMMENT ON TEXT SEARCH CONFIGURATION analyst.multilingual IS 'Posts in any language: English stems for Latin-script words, Russian stems for Cyrillic words, stop words kept.';

-- An expression GIN index, not a stored generated column: a generated column costs the same at insert, widens
-- every posts row by the vector, and is recomputed on every update of the row (counts change often).
CREATE FUNCTION analyst.search_document(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('analyst.multilingual'::regconfig, coalesce(body, ''));
COMMENT ON FUNCTION analyst.search_document(text) IS 'The text search document of a post (configuration analyst.multilingual). posts has a GIN index on analyst.search_document(text), so WHERE analyst.search_document(text) @@ ... is fast.';

CREATE FUNCTION analyst.search_query(query text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN websearch_to_tsquery('analyst.multilingual'::regconfig, coalesce(query, ''));
COMMENT ON FUNCTION analyst.search_query(text) IS 'A web-search style query (words, "quoted phrase", OR, -word) in any language, stemmed like analyst.search_document: use as analyst.search_document(text) @@ analyst.search_query(''...'').';

CREATE INDEX posts_search_idx ON posts USING gin (analyst.search_document(text));

CREATE FUNCTION analyst.reactions_total(reactions jsonb) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT sum(CASE WHEN jsonb_typeof(value) = 'number' THEN value::text::numeric END)::bigint
            FROM jsonb_each(CASE WHEN jsonb_typeof(reactions) = 'object' THEN reactions END));
COMMENT ON FUNCTION analyst.reactions_total(jsonb) IS 'Sum of a Telegram reactions object {emoji: count}; NULL when there are none.';

-- ------------------------------------------------------------------------------------------------ views
CREATE VIEW analyst.channels AS
SELECT c.platform, c.channel_id, c.handle AS channel, c.title, c.watched,
       CASE WHEN c.handle IS NULL THEN NULL
            WHEN c.platform = 'telegram' THEN 'https://t.me/' || c.handle
            ELSE 'https://x.com/' || c.handle END AS url,
       (SELECT array_agg(a.handle ORDER BY a.valid_from) FROM channel_aliases a
         WHERE a.platform = c.platform AND a.channel_id = c.channel_id) AS handles,
       s.posts, s.first_post_at, s.last_post_at, c.first_seen_at
FROM channels c
LEFT JOIN LATERAL (SELECT count(*) AS posts, min(p.posted_at) AS first_post_at, max(p.posted_at) AS last_post_at
                   FROM posts p WHERE p.platform = c.platform AND p.channel_id = c.channel_id) s ON true;
COMMENT ON VIEW analyst.channels IS 'Telegram channels and X accounts with their handle history and how many posts the warehouse holds.';
COMMENT ON COLUMN analyst.channels.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.channels.channel_id IS 'The platform''s stable numeric id (handles change hands; ids do not).';
COMMENT ON COLUMN analyst.channels.channel IS 'Current handle (username without @), lower-case; NULL when unknown.';
COMMENT ON COLUMN analyst.channels.title IS 'Display name as last seen.';
COMMENT ON COLUMN analyst.channels.watched IS 'True when wirewatch fetches this channel on schedule.';
COMMENT ON COLUMN analyst.channels.url IS 'Public link to the channel or account.';
COMMENT ON COLUMN analyst.channels.handles IS 'Every handle seen for this id, oldest first.';
COMMENT ON COLUMN analyst.channels.posts IS 'Posts stored for this channel.';
COMMENT ON COLUMN analyst.channels.first_post_at IS 'Earliest stored post, UTC.';
COMMENT ON COLUMN analyst.channels.last_post_at IS 'Latest stored post, UTC.';
COMMENT ON COLUMN analyst.channels.first_seen_at IS 'When wirewatch first recorded the channel.';

CREATE VIEW analyst.posts AS
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
       p.source, p.first_seen_at, p.last_seen_at, p.deleted_at
FROM posts p
LEFT JOIN channels c ON c.platform = p.platform AND c.channel_id = p.channel_id
LEFT JOIN channels fc ON fc.platform = coalesce(p.fwd_platform, p.platform) AND fc.channel_id = p.fwd_channel_id
LEFT JOIN LATERAL (SELECT count(*) AS n FROM post_versions pv
                   WHERE pv.platform = p.platform AND pv.channel_id = p.channel_id AND pv.post_id = p.post_id) v
       ON true;
COMMENT ON VIEW analyst.posts IS 'Every post, current state, with its channel''s handle and title. Times UTC. Edits: analyst.post_versions; counts over time: analyst.post_metrics; search: analyst.search().';
COMMENT ON COLUMN analyst.posts.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.posts.channel_id IS 'Numeric id of the publishing channel or account.';
COMMENT ON COLUMN analyst.posts.channel IS 'Handle of the publishing channel (current), lower-case.';
COMMENT ON COLUMN analyst.posts.channel_title IS 'Display name of the publishing channel.';
COMMENT ON COLUMN analyst.posts.post_id IS 'Message id in the channel (Telegram) or the first tweet id of the post (X). A post is (platform, channel_id, post_id).';
COMMENT ON COLUMN analyst.posts.url IS 'Public link to the post.';
COMMENT ON COLUMN analyst.posts.posted_at IS 'Publication time, UTC.';
COMMENT ON COLUMN analyst.posts.edited_at IS 'When the current text became current, if the text or media really changed (versions > 1); else NULL.';
COMMENT ON COLUMN analyst.posts.platform_edited_at IS 'Edit time as the platform reports it. Telegram also moves it when reactions change: use edited_at for real edits.';
COMMENT ON COLUMN analyst.posts.versions IS 'Number of distinct versions of the text/media (1 = never edited).';
COMMENT ON COLUMN analyst.posts.kind IS 'post, or service for channel service messages.';
COMMENT ON COLUMN analyst.posts.lang IS 'Language code given by the platform (X); NULL when unknown (Telegram gives none).';
COMMENT ON COLUMN analyst.posts.text IS 'Current full text.';
COMMENT ON COLUMN analyst.posts.is_forward IS 'A Telegram forward of another channel''s (or user''s) post.';
COMMENT ON COLUMN analyst.posts.fwd_channel_id IS 'Forwards: the origin channel id.';
COMMENT ON COLUMN analyst.posts.fwd_channel IS 'Forwards: the origin channel''s handle, when known (from the warehouse''s channels, or as the web preview named it).';
COMMENT ON COLUMN analyst.posts.fwd_post_id IS 'Forwards: the origin post id.';
COMMENT ON COLUMN analyst.posts.fwd_posted_at IS 'Forwards: when the origin was posted, UTC.';
COMMENT ON COLUMN analyst.posts.fwd_name IS 'Forwards from hidden users: the display name Telegram gives instead of an id.';
COMMENT ON COLUMN analyst.posts.reposted_post_id IS 'X reposts: the original post (by reposted_channel_id).';
COMMENT ON COLUMN analyst.posts.quoted_post_id IS 'X quote posts: the quoted post (by quoted_channel_id).';
COMMENT ON COLUMN analyst.posts.reposted_channel_id IS 'X reposts: the account of the original post.';
COMMENT ON COLUMN analyst.posts.quoted_channel_id IS 'X quote posts: the account of the quoted post.';
COMMENT ON COLUMN analyst.posts.reply_to_channel_id IS 'Replies: the channel of the post replied to.';
COMMENT ON COLUMN analyst.posts.reply_to_post_id IS 'Replies: the post replied to (in reply_to_channel_id).';
COMMENT ON COLUMN analyst.posts.media_count IS 'Number of media items (photos, videos, documents, web pages, polls).';
COMMENT ON COLUMN analyst.posts.media_types IS 'Distinct media types.';
COMMENT ON COLUMN analyst.posts.links IS 'URLs the text links to.';
COMMENT ON COLUMN analyst.posts.hashtags IS 'Hashtags without #.';
COMMENT ON COLUMN analyst.posts.mentions IS 'Mentioned usernames without @.';
COMMENT ON COLUMN analyst.posts.views IS 'Latest views (Telegram) or impressions (X).';
COMMENT ON COLUMN analyst.posts.forwards IS 'Latest forward count (Telegram).';
COMMENT ON COLUMN analyst.posts.replies IS 'Latest reply count.';
COMMENT ON COLUMN analyst.posts.reposts IS 'Latest repost count (X).';
COMMENT ON COLUMN analyst.posts.quotes IS 'Latest quote count (X).';
COMMENT ON COLUMN analyst.posts.likes IS 'Latest like count (X).';
COMMENT ON COLUMN analyst.posts.reactions IS 'Latest Telegram reactions as {emoji: count}.';
COMMENT ON COLUMN analyst.posts.reactions_total IS 'Sum of the reactions.';
COMMENT ON COLUMN analyst.posts.metrics_observed_at IS 'When the counts were fetched, UTC.';
COMMENT ON COLUMN analyst.posts.source IS 'How the post reached wirewatch: telethon, telegram_web, x_api, telegram_export, telethon_jsonl, x_v2_jsonl.';
COMMENT ON COLUMN analyst.posts.first_seen_at IS 'When wirewatch first stored the post.';
COMMENT ON COLUMN analyst.posts.last_seen_at IS 'When a fetch last returned or confirmed the post.';
COMMENT ON COLUMN analyst.posts.deleted_at IS 'When wirewatch found the post deleted; NULL while it exists.';

-- Never-edited posts have no rows in post_versions (history starts at the first change): their one version is
-- the current row in posts, which this view adds.
CREATE VIEW analyst.post_versions AS
WITH v AS (
    SELECT pv.platform, pv.channel_id, pv.post_id, pv.version_at, pv.text, pv.media, pv.source_post_id,
           pv.observed_at, pv.content_hash
    FROM post_versions pv
    UNION ALL
    SELECT p.platform, p.channel_id, p.post_id, p.version_at, p.text, p.media, p.source_post_id,
           p.first_seen_at, p.content_hash
    FROM posts p
    WHERE NOT EXISTS (SELECT 1 FROM post_versions pv
                      WHERE pv.platform = p.platform AND pv.channel_id = p.channel_id AND pv.post_id = p.post_id)
)
SELECT v.platform, v.channel_id, c.handle AS channel, v.post_id, p.url,
       row_number() OVER w::integer AS version,
       count(*) OVER (PARTITION BY v.platform, v.channel_id, v.post_id)::integer AS versions,
       v.version_at, v.text, lag(v.text) OVER w AS previous_text, v.media,
       (v.content_hash = p.content_hash) AS is_current, v.source_post_id, v.observed_at
FROM v
JOIN posts p ON p.platform = v.platform AND p.channel_id = v.channel_id AND p.post_id = v.post_id
LEFT JOIN channels c ON c.platform = v.platform AND c.channel_id = v.channel_id
WINDOW w AS (PARTITION BY v.platform, v.channel_id, v.post_id ORDER BY v.version_at, v.observed_at);
COMMENT ON VIEW analyst.post_versions IS 'Every version of every post, oldest first: the original and each real edit (a change of text or media, not of edit_date). A never-edited post has one row (version 1 of 1).';
COMMENT ON COLUMN analyst.post_versions.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.post_versions.channel_id IS 'Numeric id of the publishing channel.';
COMMENT ON COLUMN analyst.post_versions.post_id IS 'The post (with platform, channel_id): see analyst.posts.';
COMMENT ON COLUMN analyst.post_versions.channel IS 'Handle of the publishing channel.';
COMMENT ON COLUMN analyst.post_versions.url IS 'Public link to the post.';
COMMENT ON COLUMN analyst.post_versions.version IS '1 for the original, then 2, 3, ... for each edit.';
COMMENT ON COLUMN analyst.post_versions.versions IS 'How many versions the post has.';
COMMENT ON COLUMN analyst.post_versions.version_at IS 'When this version became current (posted_at for the original, the edit time for edits), UTC.';
COMMENT ON COLUMN analyst.post_versions.text IS 'The text of this version.';
COMMENT ON COLUMN analyst.post_versions.previous_text IS 'The text of the version before (NULL for the original).';
COMMENT ON COLUMN analyst.post_versions.media IS 'Media of this version (JSON array).';
COMMENT ON COLUMN analyst.post_versions.is_current IS 'True for the version the post shows now.';
COMMENT ON COLUMN analyst.post_versions.source_post_id IS 'X: the tweet id of this version (each X edit gets a new tweet id).';
COMMENT ON COLUMN analyst.post_versions.observed_at IS 'When wirewatch stored this version.';

-- post_metrics holds a series only for posts whose counts changed; a post whose counts never changed has its one
-- observation in posts, which this view adds. Deltas are between observations (the first has none): an archive
-- imported a year late must not book a year of views to its import hour.
CREATE VIEW analyst.post_metrics AS
WITH m AS (
    SELECT pm.platform, pm.channel_id, pm.post_id, pm.observed_at, pm.views, pm.forwards, pm.replies,
           pm.reposts, pm.quotes, pm.likes, pm.reactions
    FROM post_metrics pm
    UNION ALL
    SELECT p.platform, p.channel_id, p.post_id, coalesce(p.metrics_observed_at, p.first_seen_at), p.views,
           p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions
    FROM posts p
    WHERE num_nonnulls(p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions) > 0
      AND NOT EXISTS (SELECT 1 FROM post_metrics pm
                      WHERE pm.platform = p.platform AND pm.channel_id = p.channel_id AND pm.post_id = p.post_id)
), r AS (
    SELECT m.*, analyst.reactions_total(m.reactions) AS reactions_total FROM m
)
SELECT r.platform, r.channel_id, c.handle AS channel, r.post_id, p.url, r.observed_at,
       round(extract(epoch FROM r.observed_at - p.posted_at) / 3600.0, 2) AS hours_since_post,
       r.views, r.forwards, r.replies, r.reposts, r.quotes, r.likes, r.reactions, r.reactions_total,
       r.views - lag(r.views) OVER w AS views_delta,
       r.forwards - lag(r.forwards) OVER w AS forwards_delta,
       r.replies - lag(r.replies) OVER w AS replies_delta,
       r.reposts - lag(r.reposts) OVER w AS reposts_delta,
       r.likes - lag(r.likes) OVER w AS likes_delta,
       r.reactions_total - lag(r.reactions_total) OVER w AS reactions_delta,
       round(extract(epoch FROM r.observed_at - lag(r.observed_at) OVER w) / 3600.0, 2) AS hours_since_previous,
       round((r.views - lag(r.views) OVER w) * 3600.0
             / nullif(extract(epoch FROM r.observed_at - lag(r.observed_at) OVER w), 0), 1) AS views_per_hour,
       (lead(r.observed_at) OVER w IS NULL) AS is_latest
FROM r
JOIN posts p ON p.platform = r.platform AND p.channel_id = r.channel_id AND p.post_id = r.post_id
LEFT JOIN channels c ON c.platform = r.platform AND c.channel_id = r.channel_id
WINDOW w AS (PARTITION BY r.platform, r.channel_id, r.post_id ORDER BY r.observed_at);
COMMENT ON VIEW analyst.post_metrics IS 'Engagement over time: one row per observation at which a post''s counts differed from the previous one, plus the current counts of posts whose counts never changed. Deltas are against the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.post_metrics.channel_id IS 'Numeric id of the publishing channel.';
COMMENT ON COLUMN analyst.post_metrics.post_id IS 'The post (with platform, channel_id): see analyst.posts.';
COMMENT ON COLUMN analyst.post_metrics.channel IS 'Handle of the publishing channel.';
COMMENT ON COLUMN analyst.post_metrics.url IS 'Public link to the post.';
COMMENT ON COLUMN analyst.post_metrics.observed_at IS 'When these counts were fetched, UTC.';
COMMENT ON COLUMN analyst.post_metrics.hours_since_post IS 'Hours between publication and this observation.';
COMMENT ON COLUMN analyst.post_metrics.views IS 'Views (Telegram) or impressions (X) at this observation.';
COMMENT ON COLUMN analyst.post_metrics.forwards IS 'Forwards (Telegram).';
COMMENT ON COLUMN analyst.post_metrics.replies IS 'Replies.';
COMMENT ON COLUMN analyst.post_metrics.reposts IS 'Reposts (X).';
COMMENT ON COLUMN analyst.post_metrics.quotes IS 'Quotes (X).';
COMMENT ON COLUMN analyst.post_metrics.likes IS 'Likes (X).';
COMMENT ON COLUMN analyst.post_metrics.reactions IS 'Telegram reactions {emoji: count}.';
COMMENT ON COLUMN analyst.post_metrics.reactions_total IS 'Sum of the reactions.';
COMMENT ON COLUMN analyst.post_metrics.views_delta IS 'Views gained since the previous observation (NULL for the first).';
COMMENT ON COLUMN analyst.post_metrics.forwards_delta IS 'Forwards gained since the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.replies_delta IS 'Replies gained since the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.reposts_delta IS 'Reposts gained since the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.likes_delta IS 'Likes gained since the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.reactions_delta IS 'Reactions gained since the previous observation.';
COMMENT ON COLUMN analyst.post_metrics.hours_since_previous IS 'Hours since the previous observation (divide a delta by it for a rate).';
COMMENT ON COLUMN analyst.post_metrics.views_per_hour IS 'Views gained per hour between the previous observation and this one.';
COMMENT ON COLUMN analyst.post_metrics.is_latest IS 'True for the post''s latest observation (its current counts).';

-- Hours are whole UTC hours (date_trunc with an explicit zone), whatever the session's TimeZone.
CREATE VIEW analyst.channel_activity AS
WITH posted AS (
    SELECT p.platform, p.channel_id, date_trunc('hour', p.posted_at, 'UTC') AS hour,
           count(*) AS posts,
           count(*) FILTER (WHERE p.fwd_channel_id IS NOT NULL OR p.fwd_post_id IS NOT NULL OR p.fwd_name IS NOT NULL
                                  OR p.fwd_handle IS NOT NULL OR p.reposted_post_id IS NOT NULL)
               AS forwards_and_reposts,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM post_versions pv WHERE pv.platform = p.platform
                                          AND pv.channel_id = p.channel_id AND pv.post_id = p.post_id)) AS edited,
           sum(p.views) AS views_now
    FROM posts p
    WHERE p.kind = 'post'
    GROUP BY 1, 2, 3
), growth AS (
    SELECT m.platform, m.channel_id, date_trunc('hour', m.observed_at, 'UTC') AS hour,
           count(DISTINCT m.post_id) AS posts_growing,
           sum(m.views_delta)::bigint AS views_gained, sum(m.forwards_delta)::bigint AS forwards_gained,
           sum(m.reactions_delta)::bigint AS reactions_gained, sum(m.reposts_delta)::bigint AS reposts_gained,
           sum(m.likes_delta)::bigint AS likes_gained
    FROM analyst.post_metrics m
    WHERE m.hours_since_previous IS NOT NULL  -- a first observation has no earlier one to grow from
    GROUP BY 1, 2, 3
)
SELECT k.platform, k.channel_id, c.handle AS channel, k.hour,
       coalesce(po.posts, 0) AS posts, coalesce(po.forwards_and_reposts, 0) AS forwards_and_reposts,
       coalesce(po.edited, 0) AS edited, po.views_now,
       coalesce(g.posts_growing, 0) AS posts_growing, g.views_gained, g.forwards_gained, g.reactions_gained,
       g.reposts_gained, g.likes_gained
FROM (SELECT platform, channel_id, hour FROM posted UNION SELECT platform, channel_id, hour FROM growth) k
LEFT JOIN posted po ON po.platform = k.platform AND po.channel_id = k.channel_id AND po.hour = k.hour
LEFT JOIN growth g ON g.platform = k.platform AND g.channel_id = k.channel_id AND g.hour = k.hour
LEFT JOIN channels c ON c.platform = k.platform AND c.channel_id = k.channel_id;
COMMENT ON VIEW analyst.channel_activity IS 'Per channel and UTC hour: posts published that hour, and engagement gained that hour (from analyst.post_metrics deltas, by observation time). An hour appears when the channel posted or gained engagement.';
COMMENT ON COLUMN analyst.channel_activity.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.channel_activity.channel_id IS 'Numeric id of the channel.';
COMMENT ON COLUMN analyst.channel_activity.channel IS 'Handle of the channel.';
COMMENT ON COLUMN analyst.channel_activity.hour IS 'Start of the UTC hour.';
COMMENT ON COLUMN analyst.channel_activity.posts IS 'Posts published in this hour (service messages excluded).';
COMMENT ON COLUMN analyst.channel_activity.forwards_and_reposts IS 'Of those, forwards (Telegram) and reposts (X).';
COMMENT ON COLUMN analyst.channel_activity.edited IS 'Of those, posts later edited.';
COMMENT ON COLUMN analyst.channel_activity.views_now IS 'Current views of the posts published in this hour.';
COMMENT ON COLUMN analyst.channel_activity.posts_growing IS 'Posts of the channel (published any time) whose counts grew between observations ending in this hour.';
COMMENT ON COLUMN analyst.channel_activity.views_gained IS 'Views gained in this hour by the channel''s posts (observed deltas).';
COMMENT ON COLUMN analyst.channel_activity.forwards_gained IS 'Forwards gained in this hour.';
COMMENT ON COLUMN analyst.channel_activity.reactions_gained IS 'Reactions gained in this hour.';
COMMENT ON COLUMN analyst.channel_activity.reposts_gained IS 'Reposts gained in this hour (X).';
COMMENT ON COLUMN analyst.channel_activity.likes_gained IS 'Likes gained in this hour (X).';

-- ------------------------------------------------------------------------------------------- search()
-- Reads analyst.posts (not posts): the function runs with the caller's rights, and an analyst may read only the
-- views. The view inlines, so the planner still uses posts_search_idx.
CREATE FUNCTION analyst.search(query text, since timestamptz DEFAULT NULL)
    RETURNS TABLE (platform text, channel text, post_id bigint, posted_at timestamptz, lang text, url text,
                   rank real, snippet text, text text)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT p.platform, p.channel, p.post_id, p.posted_at, p.lang, p.url,
           ts_rank(analyst.search_document(p.text), analyst.search_query(query)) AS rank,
           ts_headline('analyst.multilingual'::regconfig, p.text, analyst.search_query(query),
                       'MaxFragments=2, MaxWords=18, MinWords=6, StartSel=**, StopSel=**') AS snippet,
           p.text
    FROM analyst.posts p
    WHERE analyst.search_document(p.text) @@ analyst.search_query(query)
      AND (since IS NULL OR p.posted_at >= since)
      AND p.deleted_at IS NULL
    ORDER BY rank DESC, p.posted_at DESC;
END;
COMMENT ON FUNCTION analyst.search(text, timestamptz) IS 'Full-text search of post texts in any language. query: words (all must match), "a quoted phrase", OR, -excluded (websearch syntax). Russian and English words match their inflected forms ("контрактов" finds "контракты"; "contract" finds "contracts"); other languages (Ukrainian included) match word for word. since: only posts published at or after it. Deleted posts are left out. Best matches first; snippet marks hits with **.';
