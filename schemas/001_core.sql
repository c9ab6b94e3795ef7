-- 001_core: channels, posts with versions and metrics, raw payloads, rejects, runs and cursors.
-- Every time is timestamptz in UTC. A post is (platform, channel_id, post_id) with numeric platform ids.

CREATE TABLE channels (
    platform        text        NOT NULL CHECK (platform IN ('telegram', 'x')),
    channel_id      bigint      NOT NULL,
    handle          text,
    title           text,
    watched         boolean     NOT NULL DEFAULT false,
    source          text,
    access_hash     bigint,
    resolved_at     timestamptz,
    first_seen_at   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, channel_id)
);
CREATE INDEX channels_handle_idx ON channels (platform, lower(handle));
COMMENT ON TABLE channels IS 'Telegram channels and X accounts, keyed by the platform''s stable numeric id (never a handle).';
COMMENT ON COLUMN channels.platform IS 'telegram or x.';
COMMENT ON COLUMN channels.channel_id IS 'The platform''s numeric id: Telegram channel id (positive, without the -100 prefix) or X user id.';
COMMENT ON COLUMN channels.handle IS 'Current username (@ removed), lower-cased for matching; history in channel_aliases.';
COMMENT ON COLUMN channels.title IS 'Display name as last seen.';
COMMENT ON COLUMN channels.watched IS 'True when listed in seeds/channels.toml (or marked watched): fetched by wirewatch ingest and the hourly DAG.';
COMMENT ON COLUMN channels.source IS 'Which source fetches this channel: telethon, telegram_web or x_api.';
COMMENT ON COLUMN channels.resolved_at IS 'When the handle was last resolved to this id through the platform API.';

CREATE TABLE channel_aliases (
    platform    text        NOT NULL,
    channel_id  bigint      NOT NULL,
    handle      text        NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz,
    PRIMARY KEY (platform, channel_id, handle, valid_from),
    FOREIGN KEY (platform, channel_id) REFERENCES channels (platform, channel_id)
);
CREATE INDEX channel_aliases_handle_idx ON channel_aliases (platform, handle);
COMMENT ON TABLE channel_aliases IS 'Handle history: which username a channel had when. Usernames change hands; ids do not.';
COMMENT ON COLUMN channel_aliases.valid_from IS 'First time wirewatch saw the channel under this handle.';
COMMENT ON COLUMN channel_aliases.valid_to IS 'When the channel was first seen under another handle; NULL while current.';

CREATE TABLE posts (
    platform            text        NOT NULL CHECK (platform IN ('telegram', 'x')),
    channel_id          bigint      NOT NULL,
    post_id             bigint      NOT NULL,
    posted_at           timestamptz NOT NULL,
    edited_at           timestamptz,
    version_at          timestamptz NOT NULL,
    kind                text        NOT NULL DEFAULT 'post',
    text                text        NOT NULL DEFAULT '',
    lang                text,
    url                 text,
    reply_to_channel_id bigint,
    reply_to_post_id    bigint,
    fwd_platform        text,
    fwd_channel_id      bigint,
    fwd_post_id         bigint,
    fwd_posted_at       timestamptz,
    fwd_name            text,
    fwd_handle          text,
    quoted_channel_id   bigint,
    quoted_post_id      bigint,
    reposted_channel_id bigint,
    reposted_post_id    bigint,
    grouped_id          bigint,
    media               jsonb       NOT NULL DEFAULT '[]',
    links               text[]      NOT NULL DEFAULT '{}',
    hashtags            text[]      NOT NULL DEFAULT '{}',
    mentions            text[]      NOT NULL DEFAULT '{}',
    views               bigint,
    forwards            bigint,
    replies             bigint,
    reposts             bigint,
    quotes              bigint,
    likes               bigint,
    reactions           jsonb,
    source_post_id      bigint,
    metrics_observed_at timestamptz,
    content_hash        bigint      NOT NULL,
    metrics_hash        bigint      NOT NULL,
    row_hash            bigint      NOT NULL,
    source              text        NOT NULL,
    first_seen_at       timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (platform, channel_id, post_id)
);
CREATE INDEX posts_posted_at_idx ON posts (posted_at);
CREATE INDEX posts_channel_time_idx ON posts (platform, channel_id, posted_at);
CREATE INDEX posts_fwd_idx ON posts (fwd_channel_id, fwd_post_id) WHERE fwd_post_id IS NOT NULL;
COMMENT ON TABLE posts IS 'One row per post, current state. Identity (platform, channel_id, post_id); every time in UTC. Edits in post_versions, counts over time in post_metrics.';
COMMENT ON COLUMN posts.platform IS 'telegram or x.';
COMMENT ON COLUMN posts.channel_id IS 'Numeric id of the channel or account that published the post (see channels).';
COMMENT ON COLUMN posts.post_id IS 'Message id in the Telegram channel, or the first tweet id of an X post''s edit history.';
COMMENT ON COLUMN posts.posted_at IS 'Publication time, UTC.';
COMMENT ON COLUMN posts.edited_at IS 'Last edit time the platform reported, UTC. Telegram also moves it when reactions change, so it does not prove an edit: post_versions does.';
COMMENT ON COLUMN posts.version_at IS 'When the current text/media became current (edit time, else posted_at).';
COMMENT ON COLUMN posts.kind IS 'post, or service for channel service messages (pins, title changes).';
COMMENT ON COLUMN posts.text IS 'Full text (X reposts: the original''s full text, not the truncated RT).';
COMMENT ON COLUMN posts.lang IS 'Language code as the platform or detector gave it; NULL when unknown (X und/qst map to NULL).';
COMMENT ON COLUMN posts.url IS 'Canonical public link to the post.';
COMMENT ON COLUMN posts.reply_to_post_id IS 'Post this one replies to (same platform), with reply_to_channel_id.';
COMMENT ON COLUMN posts.fwd_channel_id IS 'Telegram forwards: the channel the post was forwarded from (with fwd_post_id, fwd_posted_at: the original date).';
COMMENT ON COLUMN posts.fwd_posted_at IS 'Forwards: when the original was posted, UTC.';
COMMENT ON COLUMN posts.fwd_handle IS 'Forwards read from the t.me/s web preview: the origin channel''s username (its numeric id is not on the page).';
COMMENT ON COLUMN posts.fwd_name IS 'Forwards from hidden users: the display name Telegram gives instead of an id.';
COMMENT ON COLUMN posts.quoted_post_id IS 'X quote posts: the quoted post (with quoted_channel_id).';
COMMENT ON COLUMN posts.reposted_post_id IS 'X reposts (retweets): the original post (with reposted_channel_id).';
COMMENT ON COLUMN posts.grouped_id IS 'Telegram album id: an album is stored as one post (the member with the caption) with all members'' media.';
COMMENT ON COLUMN posts.media IS 'JSON array of media objects: type (photo, video, document, webpage, poll, ...), id, url, mime_type.';
COMMENT ON COLUMN posts.links IS 'URLs the text links to.';
COMMENT ON COLUMN posts.hashtags IS 'Hashtags without #.';
COMMENT ON COLUMN posts.mentions IS 'Mentioned usernames without @.';
COMMENT ON COLUMN posts.views IS 'Latest view count (Telegram views, X impressions); history in post_metrics.';
COMMENT ON COLUMN posts.forwards IS 'Latest forward count (Telegram).';
COMMENT ON COLUMN posts.replies IS 'Latest reply count.';
COMMENT ON COLUMN posts.reposts IS 'Latest repost (retweet) count (X).';
COMMENT ON COLUMN posts.quotes IS 'Latest quote count (X).';
COMMENT ON COLUMN posts.likes IS 'Latest like count (X).';
COMMENT ON COLUMN posts.reactions IS 'Latest reactions as {emoji: count} (Telegram).';
COMMENT ON COLUMN posts.source_post_id IS 'X: the tweet id of the current version (each X edit is a new tweet id); Telegram: the message id.';
COMMENT ON COLUMN posts.metrics_observed_at IS 'When the counts in this row were fetched, UTC.';
COMMENT ON COLUMN posts.content_hash IS 'Hash of text and media: a change here is an edit.';
COMMENT ON COLUMN posts.metrics_hash IS 'Hash of the counts: a change appends to post_metrics.';
COMMENT ON COLUMN posts.row_hash IS 'Hash of every normalised field: unchanged rows are skipped before they reach the server.';
COMMENT ON COLUMN posts.source IS 'Source that last wrote the row: telethon, telegram_web, x_api, telegram_export, telethon_jsonl, x_v2_jsonl.';
COMMENT ON COLUMN posts.first_seen_at IS 'When wirewatch first stored the post.';
COMMENT ON COLUMN posts.last_seen_at IS 'When a fetch last returned the post changed, or a live rescan last confirmed it still exists.';
COMMENT ON COLUMN posts.deleted_at IS 'When a rescan (or a compliance event) first found the post gone; NULL while it exists.';

CREATE TABLE post_versions (
    platform      text        NOT NULL,
    channel_id    bigint      NOT NULL,
    post_id       bigint      NOT NULL,
    version_at    timestamptz NOT NULL,
    content_hash  bigint      NOT NULL,
    source_post_id bigint,
    text          text        NOT NULL,
    media         jsonb       NOT NULL DEFAULT '[]',
    observed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, channel_id, post_id, version_at, content_hash)
);
COMMENT ON TABLE post_versions IS 'Edit history: for every post whose text or media changed, one row per distinct version in time order (the original and each real edit, detected by content hash, not edit_date). Never-edited posts have no rows here: their only version is in posts (analyst.post_versions shows both).';
COMMENT ON COLUMN post_versions.version_at IS 'When this version became current: edit time, or posted_at for the original, UTC.';
COMMENT ON COLUMN post_versions.source_post_id IS 'X: the tweet id of this version (each X edit is a new tweet id).';
COMMENT ON COLUMN post_versions.text IS 'The text of this version.';
COMMENT ON COLUMN post_versions.observed_at IS 'When wirewatch stored this version.';

CREATE TABLE post_metrics (
    platform     text        NOT NULL,
    channel_id   bigint      NOT NULL,
    post_id      bigint      NOT NULL,
    observed_at  timestamptz NOT NULL,
    metrics_hash bigint      NOT NULL,
    views        bigint,
    forwards     bigint,
    replies      bigint,
    reposts      bigint,
    quotes       bigint,
    likes        bigint,
    reactions    jsonb,
    PRIMARY KEY (platform, channel_id, post_id, observed_at)
);
COMMENT ON TABLE post_metrics IS 'Engagement time series: for every post whose counts changed, the first observation and a row each time a fetch saw different counts. Posts whose counts never changed have only the counts in posts.';
COMMENT ON COLUMN post_metrics.observed_at IS 'When the counts were fetched, UTC.';
COMMENT ON COLUMN post_metrics.views IS 'Telegram views or X impressions.';
COMMENT ON COLUMN post_metrics.reactions IS 'Telegram reactions as {emoji: count}.';

CREATE TABLE raw_records (
    platform      text        NOT NULL,
    channel_id    bigint      NOT NULL,
    post_id       bigint      NOT NULL,
    row_hash      bigint      NOT NULL,
    source        text        NOT NULL,
    source_version text       NOT NULL,
    origin        text,
    fetched_at    timestamptz NOT NULL,
    payload       text        NOT NULL,
    PRIMARY KEY (platform, channel_id, post_id, row_hash)
);
-- Raw JSON is kept as text (not jsonb): parsing jsonb was the largest per-row load cost measured here.
ALTER TABLE raw_records ALTER COLUMN payload SET COMPRESSION lz4;
COMMENT ON TABLE raw_records IS 'Each payload as received, one per distinct normalised state of a post: the provenance of every stored version and count.';
COMMENT ON COLUMN raw_records.source_version IS 'wirewatch version and source parser that read the payload.';
COMMENT ON COLUMN raw_records.payload IS 'The platform''s JSON (or the parsed web widget) exactly as the source produced it.';

CREATE TABLE rejected_records (
    id           bigserial   PRIMARY KEY,
    source       text        NOT NULL,
    reason       text        NOT NULL,
    origin       text,
    platform     text,
    channel_id   bigint,
    post_id      bigint,
    payload      text,
    payload_hash bigint      NOT NULL,
    rejected_at  timestamptz NOT NULL DEFAULT now(),
    run_id       bigint,
    UNIQUE (source, payload_hash, reason)
);
ALTER TABLE rejected_records ALTER COLUMN payload SET COMPRESSION lz4;
COMMENT ON TABLE rejected_records IS 'Input that could not become a post: the payload (first 64 KiB), a precise reason, where it came from. Re-imports do not duplicate it.';

CREATE TABLE ingest_runs (
    run_id         bigserial   PRIMARY KEY,
    kind           text        NOT NULL,
    source         text        NOT NULL,
    target         text,
    window_start   timestamptz,
    window_end     timestamptz,
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    status         text        NOT NULL DEFAULT 'running'
                   CHECK (status IN ('running', 'succeeded', 'failed', 'deferred', 'partial')),
    inserted       bigint      NOT NULL DEFAULT 0,
    updated        bigint      NOT NULL DEFAULT 0,
    unchanged      bigint      NOT NULL DEFAULT 0,
    rejected       bigint      NOT NULL DEFAULT 0,
    versions       bigint      NOT NULL DEFAULT 0,
    metrics        bigint      NOT NULL DEFAULT 0,
    deleted        bigint      NOT NULL DEFAULT 0,
    api_reads      bigint      NOT NULL DEFAULT 0,
    deferred_until timestamptz,
    error          text,
    notes          jsonb       NOT NULL DEFAULT '{}',
    backend_pid    integer,
    backend_start  timestamptz,
    host           text
);
CREATE INDEX ingest_runs_running_idx ON ingest_runs (status) WHERE status = 'running';
-- Backfills resume by skipping chunks that already have a succeeded run for the same target and window.
CREATE INDEX ingest_runs_target_window_idx ON ingest_runs (target, window_start) WHERE status = 'succeeded';
COMMENT ON TABLE ingest_runs IS 'Every import, ingest and backfill pass: what ran, over which window, counts, status and error. A run whose process died is marked failed by the next run.';
COMMENT ON COLUMN ingest_runs.api_reads IS 'Posts read from a paid API in this run (X bills per post read).';
COMMENT ON COLUMN ingest_runs.deferred_until IS 'Rate limited: the earliest time the next run should try this target again.';

CREATE TABLE cursors (
    platform      text        NOT NULL,
    channel_id    bigint      NOT NULL,
    source        text        NOT NULL,
    last_post_id  bigint,
    last_posted_at timestamptz,
    state         jsonb       NOT NULL DEFAULT '{}',
    deferred_until timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    run_id        bigint,
    PRIMARY KEY (platform, channel_id, source)
);
COMMENT ON TABLE cursors IS 'How far each source has read each channel. Advanced only in the transaction that commits the rows it covers.';
