-- 005_analyst_events: stored briefs, and the analysts' views of events (after 003_events and 004_analyst).

CREATE TABLE briefs (
    event_id       bigint      PRIMARY KEY,
    generated_at   timestamptz NOT NULL DEFAULT now(),
    content_hash   text        NOT NULL,
    headline       text        NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_post_at   timestamptz NOT NULL,
    post_count     integer     NOT NULL,
    source_count   integer     NOT NULL,
    languages      text[]      NOT NULL DEFAULT '{}',
    markdown       text        NOT NULL,
    json           json        NOT NULL
);
-- No foreign key to events: grouping truncates and rewinds events freely; `wirewatch briefs` drops the briefs of
-- events that are gone or merged.
COMMENT ON TABLE briefs IS 'The brief of each current event (wirewatch briefs / the hourly DAG), rewritten only when the event''s posts, texts, roles or channels change (content_hash).';
COMMENT ON COLUMN briefs.content_hash IS 'Digest of everything the brief was built from (posts, versions, roles, channel names) and the brief format version.';
COMMENT ON COLUMN briefs.headline IS 'Lead sentence of the event''s most central post.';
COMMENT ON COLUMN briefs.languages IS 'Languages of the event''s posts (detected when the platform gives none).';
COMMENT ON COLUMN briefs.markdown IS 'The brief as Markdown.';
COMMENT ON COLUMN briefs.json IS 'The brief as JSON (same content, machine-readable; type json, not jsonb, so its keys keep the brief''s order).';

-- ------------------------------------------------------------------------------------------------ views
CREATE VIEW analyst.events AS
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
       b.generated_at AS brief_generated_at
FROM events e
LEFT JOIN posts op ON op.platform = e.origin_platform AND op.channel_id = e.origin_channel_id
                  AND op.post_id = e.origin_post_id
LEFT JOIN channels oc ON oc.platform = e.origin_platform AND oc.channel_id = e.origin_channel_id
LEFT JOIN briefs b ON b.event_id = e.event_id
WHERE e.merged_into IS NULL;
COMMENT ON VIEW analyst.events IS 'Current events (one story or claim across channels, platforms and languages; merged ids excluded, see analyst.event_redirects). Times UTC.';
COMMENT ON COLUMN analyst.events.event_id IS 'Stable event id (wirewatch brief EVENT_ID).';
COMMENT ON COLUMN analyst.events.storyline_id IS 'The developing situation (days) this event belongs to: analyst.storylines.';
COMMENT ON COLUMN analyst.events.headline IS 'Lead sentence of the most central post (from the brief), else the title.';
COMMENT ON COLUMN analyst.events.title IS 'First line of the first report.';
COMMENT ON COLUMN analyst.events.first_seen_at IS 'When the first post of the event was published, UTC.';
COMMENT ON COLUMN analyst.events.last_post_at IS 'Latest post of the event, UTC.';
COMMENT ON COLUMN analyst.events.posts IS 'Posts in the event, forwards and reposts included.';
COMMENT ON COLUMN analyst.events.independent_sources IS 'Distinct channels/accounts with an original post: forwards, reposts and verbatim copies count once, for their origin.';
COMMENT ON COLUMN analyst.events.forwards IS 'Forwards and reposts in the event.';
COMMENT ON COLUMN analyst.events.channels IS 'Distinct channels/accounts with any post in the event (forwarders included).';
COMMENT ON COLUMN analyst.events.platforms IS 'Platforms the event was seen on.';
COMMENT ON COLUMN analyst.events.languages IS 'Languages of its posts (from the brief, which detects them when the platform gives none).';
COMMENT ON COLUMN analyst.events.first_platform IS 'Platform of the first report.';
COMMENT ON COLUMN analyst.events.first_channel IS 'Handle of the channel that reported first.';
COMMENT ON COLUMN analyst.events.first_post_id IS 'The first report''s post id.';
COMMENT ON COLUMN analyst.events.first_url IS 'Link to the first report.';
COMMENT ON COLUMN analyst.events.hours_active IS 'Hours between the first and the latest post.';
COMMENT ON COLUMN analyst.events.brief_generated_at IS 'When its brief was last written (NULL: no brief yet; run wirewatch briefs).';

CREATE VIEW analyst.event_timeline AS
SELECT ep.event_id, row_number() OVER w::integer AS seq, p.posted_at,
       round(extract(epoch FROM p.posted_at - first_value(p.posted_at) OVER w) / 60.0, 1) AS minutes_after_first,
       ep.platform, ep.channel_id, c.handle AS channel, c.title AS channel_title, ep.post_id, p.url,
       ep.role, ep.joined_by, ep.similarity,
       coalesce(fc.handle, lower(p.fwd_handle)) AS forwarded_from, p.fwd_post_id,
       p.reposted_channel_id, p.reposted_post_id, p.reply_to_post_id,
       p.lang, p.text,
       (SELECT count(*) FROM post_versions v WHERE v.platform = p.platform AND v.channel_id = p.channel_id
          AND v.post_id = p.post_id) > 1 AS edited,
       p.views, p.forwards, p.reposts, p.likes, analyst.reactions_total(p.reactions) AS reactions_total
FROM event_posts ep
JOIN events e ON e.event_id = ep.event_id AND e.merged_into IS NULL
JOIN posts p ON p.platform = ep.platform AND p.channel_id = ep.channel_id AND p.post_id = ep.post_id
LEFT JOIN channels c ON c.platform = p.platform AND c.channel_id = p.channel_id
LEFT JOIN channels fc ON fc.platform = coalesce(p.fwd_platform, 'telegram') AND fc.channel_id = p.fwd_channel_id
WINDOW w AS (PARTITION BY ep.event_id ORDER BY p.posted_at, ep.platform, ep.channel_id, ep.post_id);
COMMENT ON VIEW analyst.event_timeline IS 'Every post of every current event in publication order: who reported when, and how each post joined (first report, report, forward/repost).';
COMMENT ON COLUMN analyst.event_timeline.event_id IS 'The event (analyst.events).';
COMMENT ON COLUMN analyst.event_timeline.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.event_timeline.channel_id IS 'Numeric id of the publishing channel.';
COMMENT ON COLUMN analyst.event_timeline.post_id IS 'The post (with platform, channel_id): see analyst.posts.';
COMMENT ON COLUMN analyst.event_timeline.seq IS '1 for the event''s first post, then 2, 3, ... in publication order.';
COMMENT ON COLUMN analyst.event_timeline.posted_at IS 'Publication time, UTC.';
COMMENT ON COLUMN analyst.event_timeline.minutes_after_first IS 'Minutes after the event''s first post.';
COMMENT ON COLUMN analyst.event_timeline.channel IS 'Handle of the publishing channel.';
COMMENT ON COLUMN analyst.event_timeline.channel_title IS 'Display name of the publishing channel.';
COMMENT ON COLUMN analyst.event_timeline.url IS 'Link to the post.';
COMMENT ON COLUMN analyst.event_timeline.role IS 'origin (the first original report), forward (a forward or repost: counts for its origin), report (any other post).';
COMMENT ON COLUMN analyst.event_timeline.joined_by IS 'Why the post is in the event: new, forward, repost, quote, reply, duplicate, similar.';
COMMENT ON COLUMN analyst.event_timeline.similarity IS 'Similarity to the event when the post joined (0..1).';
COMMENT ON COLUMN analyst.event_timeline.forwarded_from IS 'Forwards: handle of the origin channel.';
COMMENT ON COLUMN analyst.event_timeline.fwd_post_id IS 'Forwards: the origin post id (NULL when the source did not say).';
COMMENT ON COLUMN analyst.event_timeline.reposted_post_id IS 'X reposts: the original post.';
COMMENT ON COLUMN analyst.event_timeline.reposted_channel_id IS 'X reposts: the account of the original.';
COMMENT ON COLUMN analyst.event_timeline.reply_to_post_id IS 'Replies (follow-ups): the post replied to.';
COMMENT ON COLUMN analyst.event_timeline.lang IS 'Language the platform gave (NULL on Telegram).';
COMMENT ON COLUMN analyst.event_timeline.text IS 'Current text.';
COMMENT ON COLUMN analyst.event_timeline.edited IS 'True when the text or media changed after publication (analyst.post_versions).';
COMMENT ON COLUMN analyst.event_timeline.views IS 'Latest views/impressions.';
COMMENT ON COLUMN analyst.event_timeline.forwards IS 'Latest forward count (Telegram).';
COMMENT ON COLUMN analyst.event_timeline.reposts IS 'Latest repost count (X).';
COMMENT ON COLUMN analyst.event_timeline.likes IS 'Latest like count (X).';
COMMENT ON COLUMN analyst.event_timeline.reactions_total IS 'Latest total of Telegram reactions.';

CREATE VIEW analyst.storylines AS
SELECT s.storyline_id, s.title, s.first_post_at, s.last_post_at, s.event_count AS events, s.post_count AS posts
FROM storylines s
WHERE s.merged_into IS NULL;
COMMENT ON VIEW analyst.storylines IS 'Developing situations over days (e.g. the run-up to a summit): groups of events.';
COMMENT ON COLUMN analyst.storylines.storyline_id IS 'Stable storyline id (analyst.events.storyline_id).';
COMMENT ON COLUMN analyst.storylines.title IS 'Title of its largest event.';
COMMENT ON COLUMN analyst.storylines.first_post_at IS 'Earliest post, UTC.';
COMMENT ON COLUMN analyst.storylines.last_post_at IS 'Latest post, UTC.';
COMMENT ON COLUMN analyst.storylines.events IS 'Events in the storyline.';
COMMENT ON COLUMN analyst.storylines.posts IS 'Posts in all its events.';

CREATE VIEW analyst.event_redirects AS
SELECT from_event_id, to_event_id, merged_at FROM event_redirects;
COMMENT ON VIEW analyst.event_redirects IS 'Merged event ids: an old event id (from_event_id) now lives on as to_event_id (follow repeatedly).';
COMMENT ON COLUMN analyst.event_redirects.from_event_id IS 'The merged (younger) event id.';
COMMENT ON COLUMN analyst.event_redirects.to_event_id IS 'The event it was merged into.';
COMMENT ON COLUMN analyst.event_redirects.merged_at IS 'Publication time of the post whose arrival merged the events, UTC.';

CREATE VIEW analyst.briefs AS
SELECT b.event_id, b.generated_at, b.headline, b.first_seen_at, b.last_post_at, b.post_count AS posts,
       b.source_count AS independent_sources, b.languages, b.markdown, b.json
FROM briefs b
JOIN events e ON e.event_id = b.event_id AND e.merged_into IS NULL;
COMMENT ON VIEW analyst.briefs IS 'The stored brief of each current event (Markdown and JSON): first seen, timeline, corroboration, quoted words and figures per source, single-source claims, disagreements, provenance links.';
COMMENT ON COLUMN analyst.briefs.event_id IS 'The event (analyst.events); wirewatch brief EVENT_ID prints the same brief.';
COMMENT ON COLUMN analyst.briefs.generated_at IS 'When the brief was written; it is rewritten only when the event changes.';
COMMENT ON COLUMN analyst.briefs.headline IS 'Lead sentence of the most central post.';
COMMENT ON COLUMN analyst.briefs.first_seen_at IS 'First report, UTC.';
COMMENT ON COLUMN analyst.briefs.last_post_at IS 'Latest post, UTC.';
COMMENT ON COLUMN analyst.briefs.posts IS 'Posts in the event.';
COMMENT ON COLUMN analyst.briefs.independent_sources IS 'Independent sources (forwards and reposts count once, for their origin).';
COMMENT ON COLUMN analyst.briefs.languages IS 'Languages of the posts.';
COMMENT ON COLUMN analyst.briefs.markdown IS 'The brief as Markdown.';
COMMENT ON COLUMN analyst.briefs.json IS 'The brief as JSON: json->''single_source'', json->''disagreements'', json->''provenance'', ...';
