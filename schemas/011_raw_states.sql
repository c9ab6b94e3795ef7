-- 011_raw_states: a raw payload per distinct content state of a post, not per count change.
--
-- Before, raw_records was keyed by the hash of the whole normalised row, counts included: every rescan that saw
-- new view counts stored another complete copy of the payload (~48 copies a Telegram post under hourly rescans
-- of 48 h). Now a payload is kept for each distinct content state (every normalised field but the counts:
-- state_hash), the first observation of it; an observation that only changes counts is kept as counts in
-- post_metrics, with its source and run. The metrics policy (which count changes become rows) is applied by the
-- loader; analyst.post_metrics shows a post's current counts as its latest observation whenever they are newer
-- than its last stored row.
--
-- Existing warehouses are deduplicated in place. The loader's state_hash is computed from normalised fields,
-- which SQL cannot rebuild from an old payload; here the state of an old payload is the payload with its count
-- fields removed, at any depth (Telethon views/forwards/replies/reactions, X public_metrics and the like, the
-- web widget's views/reactions). Of each group the first observation stays. Safe to re-run: each step only
-- touches what is not done yet.

ALTER TABLE raw_records ADD COLUMN IF NOT EXISTS state_hash bigint;
ALTER TABLE raw_records ADD COLUMN IF NOT EXISTS run_id bigint;
ALTER TABLE post_metrics ADD COLUMN IF NOT EXISTS source text;
ALTER TABLE post_metrics ADD COLUMN IF NOT EXISTS run_id bigint;

CREATE OR REPLACE FUNCTION pg_temp.wirewatch_without_counts(j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE jsonb_typeof(j)
        WHEN 'object' THEN coalesce(
            (SELECT jsonb_object_agg(e.k, pg_temp.wirewatch_without_counts(e.v)) FROM jsonb_each(j) AS e(k, v)
             WHERE e.k NOT IN ('views', 'forwards', 'replies', 'reactions', 'public_metrics',
                               'non_public_metrics', 'organic_metrics', 'promoted_metrics')),
            '{}'::jsonb)
        WHEN 'array' THEN coalesce(
            (SELECT jsonb_agg(pg_temp.wirewatch_without_counts(a.v) ORDER BY a.i)
             FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, i)),
            '[]'::jsonb)
        ELSE j END
$$;

-- A payload jsonb cannot hold (a \u0000 escape) keeps a state of its own: never merged, never lost.
CREATE OR REPLACE FUNCTION pg_temp.wirewatch_raw_state(payload text) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN hashtextextended(pg_temp.wirewatch_without_counts(payload::jsonb)::text, 0);
EXCEPTION WHEN others THEN
    RETURN hashtextextended(payload, 1);
END
$$;

-- Provenance of the count history kept so far: the source of the payload fetched at that observation.
UPDATE post_metrics m SET source = r.source
FROM raw_records r
WHERE m.source IS NULL AND r.platform = m.platform AND r.channel_id = m.channel_id AND r.post_id = m.post_id
  AND r.fetched_at = m.observed_at;

UPDATE raw_records SET state_hash = pg_temp.wirewatch_raw_state(payload) WHERE state_hash IS NULL;

-- The first observation of each state stays; the later ones differed only in counts, which post_metrics holds.
DELETE FROM raw_records r
USING (
    -- tableoid with ctid: once partitioned (013), a ctid is unique only within its partition.
    SELECT tableoid AS row_table, ctid AS row_ctid, row_number() OVER (
        PARTITION BY platform, channel_id, post_id, state_hash ORDER BY fetched_at, row_hash) AS n
    FROM raw_records
) d
WHERE r.tableoid = d.row_table AND r.ctid = d.row_ctid AND d.n > 1;

ALTER TABLE raw_records ALTER COLUMN state_hash SET NOT NULL;

-- The key becomes the state (013 adds the fetch time, the partition key, to it). Only when not done yet.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conrelid = 'raw_records'::regclass AND c.contype = 'p' AND a.attname = 'state_hash'
    ) THEN
        ALTER TABLE raw_records DROP CONSTRAINT raw_records_pkey;
        ALTER TABLE raw_records ADD CONSTRAINT raw_records_pkey PRIMARY KEY (platform, channel_id, post_id, state_hash);
    END IF;
END
$$;

COMMENT ON TABLE raw_records IS 'Each payload as received, one per distinct content state of a post (its first observation): the provenance of every stored version. An observation that changed only counts is kept as counts in post_metrics (with source and run), not as another copy of the payload.';
COMMENT ON COLUMN raw_records.state_hash IS 'Hash of every normalised field but the counts: one payload per value. Rows migrated by 011 hash the payload with its count fields removed instead.';
COMMENT ON COLUMN raw_records.row_hash IS 'Hash of the whole normalised row (counts included) of this observation.';
COMMENT ON COLUMN raw_records.fetched_at IS 'When this payload was fetched (the first observation of its state), UTC.';
COMMENT ON COLUMN raw_records.run_id IS 'The ingest_runs row that stored it (NULL before migration 011).';
COMMENT ON COLUMN post_metrics.source IS 'The source that observed these counts (telethon, telegram_web, x_api, an import format).';
COMMENT ON COLUMN post_metrics.run_id IS 'The ingest_runs row that stored the observation (NULL for rows stored before migration 011).';
COMMENT ON TABLE post_metrics IS 'Engagement time series: for every post whose counts changed, the first observation and the later ones the metrics policy keeps (every change while the post is young, then material changes and one per gap; see docs/warehouse.md). Posts whose counts never changed have only the counts in posts.';

-- The current counts in posts are the latest observation whenever they differ from the last stored row (the
-- metrics policy may have left the latest change out); otherwise unchanged from 004.
CREATE OR REPLACE VIEW analyst.post_metrics AS
WITH m AS (
    SELECT pm.platform, pm.channel_id, pm.post_id, pm.observed_at, pm.views, pm.forwards, pm.replies,
           pm.reposts, pm.quotes, pm.likes, pm.reactions
    FROM post_metrics pm
    UNION ALL
    SELECT p.platform, p.channel_id, p.post_id, coalesce(p.metrics_observed_at, p.first_seen_at), p.views,
           p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions
    FROM posts p
    WHERE num_nonnulls(p.views, p.forwards, p.replies, p.reposts, p.quotes, p.likes, p.reactions) > 0
      AND NOT EXISTS (SELECT 1 FROM (SELECT pm.metrics_hash, pm.observed_at FROM post_metrics pm
                                     WHERE pm.platform = p.platform AND pm.channel_id = p.channel_id
                                       AND pm.post_id = p.post_id
                                     ORDER BY pm.observed_at DESC LIMIT 1) latest
                      WHERE latest.metrics_hash = p.metrics_hash
                         OR latest.observed_at >= coalesce(p.metrics_observed_at, p.first_seen_at))
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
COMMENT ON VIEW analyst.post_metrics IS 'Engagement over time: the observations kept of each post''s counts (every change while the post is young, then material changes; see docs/warehouse.md), its current counts as the latest, and the counts of posts whose counts never changed. Deltas are against the previous observation.';
