"""The SQL of loading posts: the staged columns, the staging table, the one upsert of `posts` and the inserts of
versions, metrics and raw payloads (used by `ingest.warehouse.loader`).

An older record arriving late never rolls back newer content or counts, and a post is written only when a value
would change (see `UPSERT_POSTS`).
"""

from __future__ import annotations

POST_COLS = (
    "platform", "channel_id", "post_id", "posted_at", "edited_at", "version_at", "kind", "text", "lang", "url",
    "reply_to_channel_id", "reply_to_post_id", "fwd_platform", "fwd_channel_id", "fwd_post_id", "fwd_posted_at",
    "fwd_name", "fwd_handle", "quoted_channel_id", "quoted_post_id", "reposted_channel_id", "reposted_post_id", "grouped_id",
    "media", "links", "hashtags", "mentions", "views", "forwards", "replies", "reposts", "quotes", "likes",
    "reactions", "source_post_id", "metrics_observed_at", "content_hash", "metrics_hash", "row_hash", "source",
    "raw_hash",
)  # fmt: skip
#: The types of POST_COLS, for a binary COPY (a test compares them with the catalogue).
POST_TYPES = (
    "text", "int8", "int8", "timestamptz", "timestamptz", "timestamptz", "text", "text", "text", "text",
    "int8", "int8", "text", "int8", "int8", "timestamptz",
    "text", "text", "int8", "int8", "int8", "int8", "int8",
    "jsonb", "text[]", "text[]", "text[]", "int8", "int8", "int8", "int8", "int8", "int8",
    "jsonb", "int8", "timestamptz", "int8", "int8", "int8", "text",
    "int8",
)  # fmt: skip
KEY = ("platform", "channel_id", "post_id")
METRIC_COLS = ("views", "forwards", "replies", "reposts", "quotes", "likes", "reactions", "metrics_hash",
                "metrics_observed_at")  # fmt: skip
CONTENT_COLS = tuple(
    c for c in POST_COLS if c not in KEY + METRIC_COLS + ("row_hash", "raw_hash", "source", "version_at")
)
STAGE_EXTRA = ("has_metrics", "payload", "origin", "observed_at", "state_hash")
STAGE_COLS = POST_COLS + STAGE_EXTRA
VERSION_COLS = (
    "platform",
    "channel_id",
    "post_id",
    "version_at",
    "content_hash",
    "source_post_id",
    "text",
    "media",
)
RAW_COLS = (
    "platform",
    "channel_id",
    "post_id",
    "state_hash",
    "row_hash",
    "source",
    "source_version",
    "origin",
    "fetched_at",
    "payload",
    "run_id",
)
# Their types, for the binary COPY of new posts' payloads (`Loader._copy_new`).
RAW_TYPES = ("text", "int8", "int8", "int8", "int8", "text", "text", "text", "timestamptz", "text", "int8")

# The ALTERs: a session whose stage table was made before 011/012 (it lives as long as the connection) still loads.
STAGE_DDL = """
CREATE TEMP TABLE IF NOT EXISTS stage_posts (
    LIKE posts INCLUDING DEFAULTS, has_metrics boolean, payload text, origin text, observed_at timestamptz,
    state_hash bigint
) ON COMMIT DELETE ROWS;
ALTER TABLE stage_posts ADD COLUMN IF NOT EXISTS raw_hash bigint, ADD COLUMN IF NOT EXISTS state_hash bigint;
"""

# An older record arriving late (an old export imported after live data) must not roll back newer content or
# newer counts: each group of columns takes the incoming value only when the incoming side is at least as new.
# Ties in version_at (Telegram moves edit_date without an edit; an album loses a member) go to the later edit_date,
# then to the later observation (a record without counts has no observation time: it wins ties, as before).
_NEWER_CONTENT = (
    "(EXCLUDED.version_at, coalesce(EXCLUDED.edited_at, '-infinity'), coalesce(EXCLUDED.metrics_observed_at, 'infinity'))"
    " >= (posts.version_at, coalesce(posts.edited_at, '-infinity'), coalesce(posts.metrics_observed_at, '-infinity'))"
)
_NEWER_METRICS = "EXCLUDED.metrics_observed_at >= coalesce(posts.metrics_observed_at, '-infinity')"
_UPDATE_SET = ",\n    ".join(
    [f"{c} = CASE WHEN {_NEWER_CONTENT} THEN EXCLUDED.{c} ELSE posts.{c} END" for c in CONTENT_COLS]
    + [f"{c} = CASE WHEN {_NEWER_METRICS} THEN EXCLUDED.{c} ELSE posts.{c} END" for c in METRIC_COLS]
    + [
        # A mixed row (older content, newer counts) matches no incoming record: 0 forces a full compare next time.
        f"row_hash = CASE WHEN {_NEWER_CONTENT} AND ({_NEWER_METRICS} OR (EXCLUDED.metrics_observed_at IS NULL"
        " AND posts.metrics_observed_at IS NULL)) THEN EXCLUDED.row_hash ELSE 0 END",
        # The raw hash vouches for the row only when the row is wholly the incoming record's (see row_hash).
        f"raw_hash = CASE WHEN {_NEWER_CONTENT} AND ({_NEWER_METRICS} OR (EXCLUDED.metrics_observed_at IS NULL"
        " AND posts.metrics_observed_at IS NULL)) THEN EXCLUDED.raw_hash END",
        f"source = CASE WHEN {_NEWER_CONTENT} THEN EXCLUDED.source ELSE posts.source END",
        f"version_at = CASE WHEN NOT ({_NEWER_CONTENT}) OR posts.content_hash = EXCLUDED.content_hash"
        " THEN posts.version_at ELSE EXCLUDED.version_at END",
    ]
)

_UNDELETES = "EXCLUDED.metrics_observed_at > posts.deleted_at"


def _differs(cols: tuple[str, ...]) -> str:
    return f"({', '.join(f'posts.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in cols)})"


# A row is written only when a value would change: a record older than the stored state (an X page holding an
# edit's original, a capture re-imported after a newer one) or an identical one leaves the row, last_seen_at
# included, as it was, and counts as unchanged. Comparing the row hash alone is not enough: it differs for an
# older record that changes nothing.
UPSERT_POSTS = f"""
INSERT INTO posts ({", ".join(POST_COLS)}, first_seen_at, last_seen_at)
SELECT {", ".join(POST_COLS)}, now(), now() FROM stage_posts
ORDER BY platform, channel_id, post_id
ON CONFLICT (platform, channel_id, post_id) DO UPDATE SET
    {_UPDATE_SET},
    last_seen_at = now(),
    deleted_at = CASE WHEN {_UNDELETES} THEN NULL ELSE posts.deleted_at END
WHERE ({_NEWER_CONTENT} AND {_differs(CONTENT_COLS)})
   OR ({_NEWER_METRICS} AND {_differs(METRIC_COLS)})
   OR {_UNDELETES}
RETURNING (xmax = 0) AS inserted
"""  # noqa: S608 - column names are constants

_SAME_KEY = "{a}.platform = {b}.platform AND {a}.channel_id = {b}.channel_id AND {a}.post_id = {b}.post_id"

# History starts at the first change: before a post's first edit is stored, its current version (in posts)
# becomes the first row of its history.
SEED_VERSIONS = f"""
INSERT INTO post_versions ({", ".join(VERSION_COLS)})
SELECT DISTINCT ON (p.platform, p.channel_id, p.post_id)
       p.platform, p.channel_id, p.post_id, p.version_at, p.content_hash, p.source_post_id, p.text, p.media
FROM stage_posts s JOIN posts p ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.content_hash <> p.content_hash
  AND NOT EXISTS (SELECT 1 FROM post_versions v WHERE {_SAME_KEY.format(a="v", b="p")})
ORDER BY p.platform, p.channel_id, p.post_id
ON CONFLICT DO NOTHING
"""

# A version is stored when the post has a history (seeded just before, on its first change) and the latest
# earlier version has other content. A batch never holds two states of one post at once: see prepare's rounds.
INSERT_VERSIONS = f"""
INSERT INTO post_versions ({", ".join(VERSION_COLS)})
SELECT s.platform, s.channel_id, s.post_id, s.version_at, s.content_hash, s.source_post_id, s.text, s.media
FROM stage_posts s
WHERE EXISTS (SELECT 1 FROM post_versions v WHERE {_SAME_KEY.format(a="v", b="s")})
  AND s.content_hash IS DISTINCT FROM (
    SELECT v.content_hash FROM post_versions v
    WHERE {_SAME_KEY.format(a="v", b="s")} AND v.version_at <= s.version_at
    ORDER BY v.version_at DESC LIMIT 1)
ORDER BY s.platform, s.channel_id, s.post_id
ON CONFLICT DO NOTHING
"""

_METRIC_VALUES = ("views", "forwards", "replies", "reposts", "quotes", "likes", "reactions")

# The first observation of a post whose counts change: its counts as `posts` holds them, with the source that
# wrote them and the run that stored its payload (found by the observation time; NULL when it is not stored).
SEED_METRICS = f"""
INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash, {", ".join(_METRIC_VALUES)},
                          source, run_id)
SELECT p.platform, p.channel_id, p.post_id, coalesce(p.metrics_observed_at, p.first_seen_at), p.metrics_hash,
       {", ".join(f"p.{c}" for c in _METRIC_VALUES)}, p.source,
       (SELECT r.run_id FROM raw_records r
        WHERE {_SAME_KEY.format(a="r", b="p")} AND r.fetched_at = coalesce(p.metrics_observed_at, p.first_seen_at)
        LIMIT 1)
FROM posts p JOIN stage_posts s ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.has_metrics AND s.metrics_hash <> p.metrics_hash
  AND num_nonnulls({", ".join(f"p.{c}" for c in _METRIC_VALUES)}) > 0
  AND NOT EXISTS (SELECT 1 FROM post_metrics m WHERE {_SAME_KEY.format(a="m", b="p")})
ORDER BY p.platform, p.channel_id, p.post_id
ON CONFLICT DO NOTHING
"""  # noqa: S608 - column names are constants


def _moved(col: str) -> str:
    """A count appeared, disappeared, or moved by at least min_change of its stored value (and by at least 1)."""
    if col == "reactions":
        s_val, p_val = (
            "(SELECT sum(v::numeric) FROM jsonb_each_text(s.reactions) AS e(k, v))",
            ("(SELECT sum(v::numeric) FROM jsonb_each_text(prev.reactions) AS e(k, v))"),
        )
    else:
        s_val, p_val = f"s.{col}", f"prev.{col}"
    return (
        f"(({s_val}) IS NULL) <> (({p_val}) IS NULL)"
        f" OR abs(({s_val}) - ({p_val})) >= greatest(1, %(min_change)s * abs({p_val}))"
    )


# A count observation is stored when the counts differ from the latest stored row before it and the metrics
# policy (ingest.warehouse.metrics_policy) keeps it: young post, material change, or a gap since the last row.
INSERT_METRICS = f"""
INSERT INTO post_metrics (platform, channel_id, post_id, observed_at, metrics_hash, {", ".join(_METRIC_VALUES)},
                          source, run_id)
SELECT s.platform, s.channel_id, s.post_id, s.metrics_observed_at, s.metrics_hash,
       {", ".join(f"s.{c}" for c in _METRIC_VALUES)}, s.source, %(run_id)s
FROM stage_posts s
LEFT JOIN LATERAL (
    SELECT m.observed_at, m.metrics_hash, {", ".join(f"m.{c}" for c in _METRIC_VALUES)} FROM post_metrics m
    WHERE {_SAME_KEY.format(a="m", b="s")} AND m.observed_at <= s.metrics_observed_at
    ORDER BY m.observed_at DESC LIMIT 1
) prev ON true
WHERE s.has_metrics
  AND EXISTS (SELECT 1 FROM post_metrics m WHERE {_SAME_KEY.format(a="m", b="s")})
  AND s.metrics_hash IS DISTINCT FROM prev.metrics_hash
  AND (prev.observed_at IS NULL
       OR %(young)s::interval IS NULL OR s.metrics_observed_at < s.posted_at + %(young)s::interval
       OR s.metrics_observed_at >= prev.observed_at + %(max_gap)s::interval
       OR {" OR ".join(f"({_moved(c)})" for c in _METRIC_VALUES if c not in ("reactions",))}
       OR ({_moved("reactions")}))
ORDER BY s.platform, s.channel_id, s.post_id
ON CONFLICT DO NOTHING
"""  # noqa: S608

# How many rows of posts the planner's statistics cover (as of the last ANALYZE, by anyone; -1 when never analysed).
POSTS_ROWS_COVERED = "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'posts'::regclass"

# An observation older than the post's latest counts (a capture loaded after a newer one, or two imports finishing
# in another order) can land just before a row holding the very same counts: that row is no longer a change, and
# goes. Each run of equal counts then keeps its first observation, whichever order the observations came in
# (before this, importing a folder whose files held one X tweet across an edit left a state twice in a row).
DROP_REPEATED_METRICS = f"""
DELETE FROM post_metrics m
USING stage_posts s JOIN posts p ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.has_metrics AND s.metrics_observed_at < p.metrics_observed_at
  AND {_SAME_KEY.format(a="m", b="s")} AND m.metrics_hash = s.metrics_hash
  AND m.observed_at = (SELECT min(n.observed_at) FROM post_metrics n
                       WHERE {_SAME_KEY.format(a="n", b="s")} AND n.observed_at > s.metrics_observed_at)
  AND (SELECT b.metrics_hash FROM post_metrics b
       WHERE {_SAME_KEY.format(a="b", b="s")} AND b.observed_at <= s.metrics_observed_at
       ORDER BY b.observed_at DESC LIMIT 1) = s.metrics_hash
"""  # noqa: S608

# The payload kept for a content state is the state's first observation, whatever order observations are loaded in:
# an observation earlier than the stored one of its state (a capture loaded after a newer capture holding the same
# state, two imports finishing in another order) takes its place. Only staged rows older than the post's latest
# counts (or of a post without counts) are checked, so a rescan's rows, newer than what is stored, probe no
# partition; a state first stored by an observation without counts, later than the post's last counts, keeps it.
REPLACE_LATER_RAW = f"""
UPDATE raw_records r
SET row_hash = s.row_hash, source = s.source, source_version = %(source_version)s, origin = s.origin,
    fetched_at = s.observed_at, payload = s.payload, run_id = %(run_id)s
FROM stage_posts s JOIN posts p ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.payload IS NOT NULL AND (p.metrics_observed_at IS NULL OR s.observed_at < p.metrics_observed_at)
  AND {_SAME_KEY.format(a="r", b="s")} AND r.state_hash = s.state_hash AND s.observed_at < r.fetched_at
"""  # noqa: S608

# A payload is kept per distinct content state of a post (every normalised field but the counts: state_hash),
# the first observation of it: an observation that changes only counts is kept as counts in post_metrics.
# Dedupe is a probe, not a unique index: raw_records is partitioned by fetch month, and a unique index of a
# partitioned table must hold the partition key. Writers of a channel hold its lock (ingest.warehouse.locks),
# so two of them cannot both miss the same state. Most staged rows carry the content `posts` already holds
# (a rescan with new counts): those are known without probing any partition.
_CONTENT_DIFFERS = _differs(CONTENT_COLS).replace("posts.", "p.").replace("EXCLUDED.", "s.")
INSERT_RAW = f"""
INSERT INTO raw_records ({", ".join(RAW_COLS)})
SELECT s.platform, s.channel_id, s.post_id, s.state_hash, s.row_hash, s.source, %(source_version)s, s.origin,
       s.observed_at, s.payload, %(run_id)s
FROM stage_posts s LEFT JOIN posts p ON {_SAME_KEY.format(a="s", b="p")}
WHERE s.payload IS NOT NULL
  -- CASE, not AND: a top-level NOT EXISTS becomes an anti-join that probes (or scans) for every staged row.
  AND CASE WHEN p.platform IS NOT NULL AND NOT {_CONTENT_DIFFERS} THEN false
           ELSE NOT EXISTS (SELECT 1 FROM raw_records r
                            WHERE {_SAME_KEY.format(a="r", b="s")} AND r.state_hash = s.state_hash) END
ORDER BY s.platform, s.channel_id, s.post_id
"""  # noqa: S608

# `newer`: the record was observed no earlier than the stored counts, so DROP_REPEATED_METRICS and REPLACE_LATER_RAW
# have nothing to do for it (a batch made only of such rows skips them).
# The server compares: only keys that are new, deleted, changed, or observed before the stored counts come back,
# so an unchanged re-run moves almost nothing over the wire. Also back, flagged `load` false: unchanged rows whose
# raw hash is not the incoming record's (rows stored before raw hashes existed, or a record whose bytes changed
# where the row does not), so that REFRESH_RAW_HASH lets the next read of that record skip it before normalising.
CHANGED_KEYS = """
SELECT k.i, p.row_hash IS NOT NULL, l.load, coalesce(k.observed >= p.metrics_observed_at, false) AS newer
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::bigint[])
     WITH ORDINALITY AS k(channel_id, post_id, row_hash, observed, raw_hash, i)
LEFT JOIN LATERAL (
    -- LIMIT 1 keeps this a per-key primary-key probe: as a plain join the planner hashes the whole table.
    -- The post id as a closed range in id order: see UNCHANGED_RAW.
    SELECT p.row_hash, p.deleted_at, p.metrics_observed_at, p.raw_hash FROM posts p
    WHERE p.platform = %s AND p.channel_id = k.channel_id AND p.post_id >= k.post_id AND p.post_id <= k.post_id
    ORDER BY p.post_id LIMIT 1
) p ON true
CROSS JOIN LATERAL (
    SELECT p.row_hash IS NULL OR p.deleted_at IS NOT NULL OR p.row_hash <> k.row_hash
           OR coalesce(k.observed < p.metrics_observed_at, false) AS load
) l
WHERE l.load OR (k.raw_hash IS NOT NULL AND p.raw_hash IS DISTINCT FROM k.raw_hash)
"""

# Records the raw hash of rows that are exactly what the incoming record makes of them (same row hash, not deleted).
REFRESH_RAW_HASH = """
UPDATE posts p SET raw_hash = k.raw_hash
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) AS k(channel_id, post_id, row_hash, raw_hash)
WHERE p.platform = %s AND p.channel_id = k.channel_id AND p.post_id = k.post_id
  AND p.row_hash = k.row_hash AND p.deleted_at IS NULL AND p.raw_hash IS DISTINCT FROM k.raw_hash
"""

# Observation times come as microseconds since the epoch (bigint[]: one binary array, no per-element formatting).
# The records a batch need not normalise: their post is stored, not deleted, last loaded from a record with these
# very bytes, and holds counts observed no later than this record's (else the record may belong in the metrics
# history, and is loaded as before). See ingest.run.records.
# Every stored key comes back, flagged: a key that does not come back is not stored (as of this snapshot).
# The post id is a closed range read in id order, not an equality, so that only the primary key serves it. Without
# statistics (a new warehouse's first import, before any ANALYZE) the planner scores the primary key and
# posts_channel_time_idx alike for three equalities, may take the latter, and then scans every post of the channel
# for each key: 16,384 keys against a 6,800-post table took 8.8 s instead of 0.17 s, and a killed import's
# backend ran on that long. With the range, the other index would need a sort, which costs more.
UNCHANGED_RAW = """
SELECT k.i, coalesce(p.raw_hash = k.raw_hash AND p.deleted_at IS NULL
                     AND (p.metrics_observed_at IS NULL
                          OR k.observed_us >= (extract(epoch FROM p.metrics_observed_at) * 1000000)::bigint), false)
FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[])
     WITH ORDINALITY AS k(channel_id, post_id, raw_hash, observed_us, i)
JOIN LATERAL (
    SELECT p.raw_hash, p.deleted_at, p.metrics_observed_at FROM posts p
    WHERE p.platform = %s AND p.channel_id = k.channel_id AND p.post_id >= k.post_id AND p.post_id <= k.post_id
    ORDER BY p.post_id LIMIT 1
) p ON true
"""

# The same probe by ranges: for each channel, its stored posts between the lowest and highest post id asked, in id
# order, at most `lim` of them (`Loader._stored_raw` asks for twice the keys and probes key by key past where a
# read stopped). A batch of a file holds a stretch of each channel's posts, so one index range scan answers its keys
# at ~1.3 µs a post instead of ~5 µs a lookup. The range and the order keep it on the primary key (see
# UNCHANGED_RAW). One row a channel, its columns as arrays (one pass of one aggregate node fills them alike): the
# client builds its lookup from them without a Python object per row.
RANGE_RAW = """
SELECT r.channel_id, array_agg(p.post_id), array_agg(p.raw_hash), array_agg(p.deleted_at IS NULL),
       array_agg((extract(epoch FROM p.metrics_observed_at) * 1000000)::bigint)
FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[]) AS r(channel_id, lo, hi, lim)
CROSS JOIN LATERAL (
    SELECT p.post_id, p.raw_hash, p.deleted_at, p.metrics_observed_at FROM posts p
    WHERE p.platform = %s AND p.channel_id = r.channel_id AND p.post_id >= r.lo AND p.post_id <= r.hi
    ORDER BY p.post_id LIMIT r.lim
) p
GROUP BY r.channel_id
"""

# A window of a channel's stored posts as the raw-hash probe reads them (see ingest.warehouse.raw_ahead): by the
# primary key down or up from a post id.
_AHEAD_COLUMNS = """post_id, raw_hash, deleted_at IS NULL, (extract(epoch FROM metrics_observed_at) * 1000000)::bigint
FROM posts WHERE platform = %s AND channel_id = %s"""
AHEAD_DOWN = f"SELECT {_AHEAD_COLUMNS} AND post_id <= %s ORDER BY post_id DESC LIMIT %s"
AHEAD_UP = f"SELECT {_AHEAD_COLUMNS} AND post_id >= %s ORDER BY post_id LIMIT %s"
