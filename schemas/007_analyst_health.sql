-- 006_analyst_health: what the analysts' console (and psql users) may see of ingest health, as views in schema
-- analyst: runs, cursors (how far each channel was read, and until when it is deferred), rejected records by
-- reason, and handle history with its dates. No payloads, no cursor state, no hosts or backend pids: the console
-- reads only schema analyst, through the wirewatch_analyst role (default privileges make these views readable).

CREATE VIEW analyst.ingest_runs AS
SELECT r.run_id, r.kind, r.source, r.target,
       coalesce(c.platform, CASE WHEN r.target ~ '^(telegram|x):' THEN split_part(r.target, ':', 1) END) AS platform,
       coalesce(c.channel_id,
                CASE WHEN r.notes ->> 'channel_id' ~ '^[0-9]{1,18}$' THEN (r.notes ->> 'channel_id')::bigint END)
           AS channel_id,
       r.window_start, r.window_end, r.started_at, r.finished_at, r.status,
       r.inserted, r.updated, r.unchanged, r.rejected, r.versions, r.metrics, r.deleted, r.api_reads,
       r.deferred_until, left(r.error, 500) AS error
FROM ingest_runs r
LEFT JOIN LATERAL (
    SELECT ch.platform, ch.channel_id FROM channels ch
    WHERE r.target ~ '^(telegram|x):'
      AND ch.platform = split_part(r.target, ':', 1)
      AND lower(ch.handle) = lower(substr(r.target, strpos(r.target, ':') + 1))
    LIMIT 1) c ON true;
COMMENT ON VIEW analyst.ingest_runs IS 'Every import, ingest and backfill run: what ran, over which window, counts, status, error (first 500 characters) and, for a rate-limited channel, until when it is deferred.';
COMMENT ON COLUMN analyst.ingest_runs.target IS 'The file imported, or platform:handle of the channel fetched.';
COMMENT ON COLUMN analyst.ingest_runs.platform IS 'telegram or x, when the run fetched one channel.';
COMMENT ON COLUMN analyst.ingest_runs.channel_id IS 'The channel fetched (from the run''s notes, or its handle), when known.';
COMMENT ON COLUMN analyst.ingest_runs.status IS 'running, succeeded, failed, deferred (rate-limited) or partial.';
COMMENT ON COLUMN analyst.ingest_runs.deferred_until IS 'Rate limited: the earliest time the next run tries this target again.';

CREATE VIEW analyst.cursors AS
SELECT cu.platform, cu.channel_id, c.handle AS channel, cu.source, cu.last_post_id, cu.last_posted_at,
       cu.deferred_until, cu.updated_at, cu.run_id
FROM cursors cu
LEFT JOIN channels c ON c.platform = cu.platform AND c.channel_id = cu.channel_id;
COMMENT ON VIEW analyst.cursors IS 'How far each source has read each channel, and until when a rate-limited channel is deferred (deferred_until in the future).';
COMMENT ON COLUMN analyst.cursors.deferred_until IS 'Rate limited: no fetch before this time (UTC); NULL or past when not deferred.';

CREATE VIEW analyst.rejected_records AS
SELECT r.id, r.source, r.reason, r.origin, r.platform, r.channel_id, c.handle AS channel, r.post_id,
       r.rejected_at, r.run_id
FROM rejected_records r
LEFT JOIN channels c ON c.platform = r.platform AND c.channel_id = r.channel_id;
COMMENT ON VIEW analyst.rejected_records IS 'Input that could not become a post: source, precise reason, where it came from (payloads stay out of schema analyst).';

CREATE VIEW analyst.channel_handles AS
SELECT a.platform, a.channel_id, a.handle, a.valid_from, a.valid_to
FROM channel_aliases a;
COMMENT ON VIEW analyst.channel_handles IS 'Handle history: which username a channel had from when (valid_from) until when (valid_to, NULL while current).';
