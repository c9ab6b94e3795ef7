-- 019_analyst_event_first_channel: analyst.events names the first channel by id and title too.
--
-- `first_channel` is the channel's handle, and a channel known only by its id and title (a Telethon dump named by a
-- channels.csv, an X account whose handle is not known yet) left it NULL: the console's event list showed "?".
-- The two columns go at the end, so CREATE OR REPLACE keeps the view, its grants and every query that names columns.

CREATE OR REPLACE VIEW analyst.events AS
SELECT e.event_id, e.storyline_id, coalesce(b.headline, e.title) AS headline, e.title,
       e.first_post_at AS first_seen_at, e.last_post_at, e.post_count AS posts,
       e.source_count AS independent_sources,
       (SELECT count(*) FROM event_posts ep WHERE ep.event_id = e.event_id AND ep.role = 'forward') AS forwards,
       (SELECT count(DISTINCT (ep.platform, ep.channel_id)) FROM event_posts ep WHERE ep.event_id = e.event_id)
           AS channels,
       (SELECT array_agg(DISTINCT ep.platform) FROM event_posts ep WHERE ep.event_id = e.event_id) AS platforms,
       coalesce(b.languages,
                (SELECT array_agg(DISTINCT q.lang) FROM event_posts ep JOIN posts q USING (platform, channel_id, post_id)
                 WHERE ep.event_id = e.event_id AND q.lang IS NOT NULL)) AS languages,
       e.origin_platform AS first_platform, oc.handle AS first_channel, e.origin_post_id AS first_post_id,
       op.url AS first_url,
       round(extract(epoch FROM e.last_post_at - e.first_post_at) / 3600.0, 2) AS hours_active,
       b.generated_at AS brief_generated_at,
       e.origin_channel_id AS first_channel_id, oc.title AS first_channel_title
FROM events e
LEFT JOIN posts op ON op.platform = e.origin_platform AND op.channel_id = e.origin_channel_id
                  AND op.post_id = e.origin_post_id
LEFT JOIN channels oc ON oc.platform = e.origin_platform AND oc.channel_id = e.origin_channel_id
LEFT JOIN briefs b ON b.event_id = e.event_id
WHERE e.merged_into IS NULL;

COMMENT ON COLUMN analyst.events.first_channel_id IS 'Numeric id of the channel that reported first (with first_platform).';
COMMENT ON COLUMN analyst.events.first_channel_title IS 'Title of the channel that reported first, as last seen.';
