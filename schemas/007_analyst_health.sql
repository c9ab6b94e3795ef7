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

-- Every column says what it holds (tests/warehouse/test_analyst.py checks that none is left out).
COMMENT ON COLUMN analyst.ingest_runs.run_id IS 'Run id (analyst.rejected_records.run_id, analyst.cursors.run_id).';
COMMENT ON COLUMN analyst.ingest_runs.kind IS 'import (files), ingest (scheduled fetch) or backfill.';
COMMENT ON COLUMN analyst.ingest_runs.source IS 'The source or file format that ran: telethon, telegram_web, x_api, telegram-export, ...';
COMMENT ON COLUMN analyst.ingest_runs.window_start IS 'Start of the time window fetched, UTC (NULL for imports).';
COMMENT ON COLUMN analyst.ingest_runs.window_end IS 'End of the time window fetched, UTC.';
COMMENT ON COLUMN analyst.ingest_runs.started_at IS 'When the run started, UTC.';
COMMENT ON COLUMN analyst.ingest_runs.finished_at IS 'When the run finished (NULL while running).';
COMMENT ON COLUMN analyst.ingest_runs.inserted IS 'Posts new to the warehouse.';
COMMENT ON COLUMN analyst.ingest_runs.updated IS 'Posts whose text, media or counts changed.';
COMMENT ON COLUMN analyst.ingest_runs.unchanged IS 'Posts seen again unchanged.';
COMMENT ON COLUMN analyst.ingest_runs.rejected IS 'Records that could not become posts (analyst.rejected_records).';
COMMENT ON COLUMN analyst.ingest_runs.versions IS 'Edit versions recorded.';
COMMENT ON COLUMN analyst.ingest_runs.metrics IS 'Engagement observations recorded.';
COMMENT ON COLUMN analyst.ingest_runs.deleted IS 'Posts found deleted.';
COMMENT ON COLUMN analyst.ingest_runs.api_reads IS 'Posts read from a paid API (X bills per post read).';
COMMENT ON COLUMN analyst.ingest_runs.error IS 'Why the run failed or was deferred (first 500 characters).';
COMMENT ON COLUMN analyst.cursors.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.cursors.channel_id IS 'Numeric id of the channel.';
COMMENT ON COLUMN analyst.cursors.channel IS 'Handle of the channel.';
COMMENT ON COLUMN analyst.cursors.source IS 'The source that reads the channel: telethon, telegram_web or x_api.';
COMMENT ON COLUMN analyst.cursors.last_post_id IS 'The newest post read so far.';
COMMENT ON COLUMN analyst.cursors.last_posted_at IS 'Publication time of that post, UTC.';
COMMENT ON COLUMN analyst.cursors.updated_at IS 'When the cursor last moved or was deferred.';
COMMENT ON COLUMN analyst.cursors.run_id IS 'The run that wrote it (analyst.ingest_runs).';
COMMENT ON COLUMN analyst.rejected_records.id IS 'Rejected record id.';
COMMENT ON COLUMN analyst.rejected_records.source IS 'The source or file format that produced the record.';
COMMENT ON COLUMN analyst.rejected_records.reason IS 'Why it could not become a post (precise).';
COMMENT ON COLUMN analyst.rejected_records.origin IS 'Where it came from: a file and position, or a request.';
COMMENT ON COLUMN analyst.rejected_records.platform IS 'telegram or x, when known.';
COMMENT ON COLUMN analyst.rejected_records.channel_id IS 'The channel, when known.';
COMMENT ON COLUMN analyst.rejected_records.channel IS 'Handle of the channel, when known.';
COMMENT ON COLUMN analyst.rejected_records.post_id IS 'The post id, when the record had one.';
COMMENT ON COLUMN analyst.rejected_records.rejected_at IS 'When it was rejected, UTC.';
COMMENT ON COLUMN analyst.rejected_records.run_id IS 'The run that met it (analyst.ingest_runs).';
COMMENT ON COLUMN analyst.channel_handles.platform IS 'telegram or x.';
COMMENT ON COLUMN analyst.channel_handles.channel_id IS 'Numeric id of the channel (stable; handles change hands).';
COMMENT ON COLUMN analyst.channel_handles.handle IS 'The username (without @), lower-case.';
COMMENT ON COLUMN analyst.channel_handles.valid_from IS 'First time wirewatch saw the channel under this handle.';
COMMENT ON COLUMN analyst.channel_handles.valid_to IS 'When the channel was first seen under another handle; NULL while current.';
