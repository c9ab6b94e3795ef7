"""All SQL for channel boilerplate: adding counted posts' segments, and reading the counts back. What a segment
is and when it is boilerplate is decided in `ingest.events.boilerplate`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import psycopg

ChannelKey = tuple[str, int]
# (platform, channel_id, segment_key) -> (posts, sample, [(posted_at, post_id)] earliest occurrences)
SegmentCounts = Mapping[tuple[str, int, int], tuple[int, str, Sequence[tuple[datetime, int]]]]
# (platform, channel_id) -> (posts newly counted, [(posted_at, post_id)] earliest posts, first and last time)
ChannelCounts = Mapping[ChannelKey, tuple[int, Sequence[tuple[datetime, int]], datetime, datetime]]

SEGMENT_FIRST = 5  # earliest occurrences kept per segment
CHANNEL_FIRST = 30  # earliest posts kept per channel
# Singletons (segments seen once) this far behind the channel's latest counted post are pruned: they are
# ordinary text, and keeping them would grow the table with every line ever posted.
PRUNE_AFTER = "90 days"

_KEEP_FIRST = """(SELECT array_agg({col} ORDER BY t, i) FROM (
        SELECT DISTINCT t, i FROM unnest({old}.first_times || EXCLUDED.first_times, {old}.first_ids || EXCLUDED.first_ids)
        AS u(t, i) ORDER BY t, i LIMIT {n}) z)"""


def counted_range(conn: psycopg.Connection, channels: Iterable[ChannelKey]) -> dict[ChannelKey, tuple]:
    """(counted_from, counted_until) of each channel counted before."""
    wanted = sorted(set(channels))
    if not wanted:
        return {}
    rows = conn.execute(
        """SELECT platform, channel_id, counted_from, counted_until FROM channel_segment_progress
           JOIN unnest(%s::text[], %s::bigint[]) AS w(platform, channel_id) USING (platform, channel_id)""",
        ([p for p, _ in wanted], [c for _, c in wanted]),
    ).fetchall()
    return {(p, c): (f, u) for p, c, f, u in rows}


def add_counts(conn: psycopg.Connection, segments: SegmentCounts, channels: ChannelCounts) -> None:
    """Add counted posts to the stored counts, keep the earliest occurrences (a post counted twice changes
    nothing there), widen each channel's counted range, and prune old singletons."""
    if not channels:
        return
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS stage_segments (LIKE channel_segments) ON COMMIT DROP")
    conn.execute("TRUNCATE stage_segments")
    cols = "platform, channel_id, segment_key, posts, first_at, last_at, sample, first_times, first_ids"
    with conn.cursor() as cur, cur.copy(f"COPY stage_segments ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(
            ["text", "int8", "int8", "int4", "timestamptz", "timestamptz", "text", "timestamptz[]", "int8[]"]
        )
        for (platform, channel_id, key), (n, sample, first) in segments.items():
            times = [t for t, _ in first]
            copy.write_row(
                (platform, channel_id, key, n, times[0], times[-1], sample, times, [i for _, i in first])
            )
    keep_t = _KEEP_FIRST.format(col="t", old="s", n=SEGMENT_FIRST)
    keep_i = _KEEP_FIRST.format(col="i", old="s", n=SEGMENT_FIRST)
    conn.execute(
        f"""INSERT INTO channel_segments AS s ({cols}) SELECT {cols} FROM stage_segments
            ON CONFLICT (platform, channel_id, segment_key) DO UPDATE
            SET posts = s.posts + EXCLUDED.posts, first_at = least(s.first_at, EXCLUDED.first_at),
                last_at = greatest(s.last_at, EXCLUDED.last_at), first_times = {keep_t}, first_ids = {keep_i}"""
    )
    keep_t = _KEEP_FIRST.format(col="t", old="g", n=CHANNEL_FIRST)
    keep_i = _KEEP_FIRST.format(col="i", old="g", n=CHANNEL_FIRST)
    with conn.cursor() as cur:
        cur.executemany(
            f"""INSERT INTO channel_segment_progress AS g
                    (platform, channel_id, posts, counted_from, counted_until, first_times, first_ids)
                VALUES (%s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (platform, channel_id) DO UPDATE
                SET posts = g.posts + EXCLUDED.posts, counted_from = least(g.counted_from, EXCLUDED.counted_from),
                    counted_until = greatest(g.counted_until, EXCLUDED.counted_until),
                    first_times = {keep_t}, first_ids = {keep_i}, updated_at = now()""",
            [
                (p, c, n, lo, hi, [t for t, _ in first], [i for _, i in first])
                for (p, c), (n, first, lo, hi) in channels.items()
            ],
        )
    conn.execute(
        f"""DELETE FROM channel_segments s USING channel_segment_progress g
            WHERE s.platform = g.platform AND s.channel_id = g.channel_id AND cardinality(s.first_ids) = 1
              AND s.last_at < g.counted_until - interval '{PRUNE_AFTER}'"""
    )


def frequent_segments(
    conn: psycopg.Connection, channels: Iterable[ChannelKey]
) -> dict[ChannelKey, tuple[list[datetime], list[tuple[int, list[datetime]]]]]:
    """Per channel: (its earliest post times, [(segment_key, earliest occurrence times)]) of segments with the
    full number of earliest occurrences kept."""
    wanted = sorted(set(channels))
    if not wanted:
        return {}
    w = ([p for p, _ in wanted], [c for _, c in wanted])
    out: dict[ChannelKey, tuple[list[datetime], list[tuple[int, list[datetime]]]]] = {}
    for p, c, times in conn.execute(
        """SELECT platform, channel_id, first_times FROM channel_segment_progress
           JOIN unnest(%s::text[], %s::bigint[]) AS w(platform, channel_id) USING (platform, channel_id)""",
        w,
    ):
        out[(p, c)] = (times, [])
    for p, c, key, times in conn.execute(
        """SELECT s.platform, s.channel_id, s.segment_key, s.first_times FROM channel_segments s
           JOIN unnest(%s::text[], %s::bigint[]) AS w(platform, channel_id) USING (platform, channel_id)
           WHERE cardinality(s.first_ids) >= %s""",
        (*w, SEGMENT_FIRST),
    ):
        if (p, c) in out:
            out[(p, c)][1].append((key, times))
    return out


def segment_rows(conn: psycopg.Connection, platform: str, channel_id: int, keys: Sequence[int]) -> list[dict]:
    rows = conn.execute(
        """SELECT segment_key, posts, first_at, last_at, sample FROM channel_segments
           WHERE platform = %s AND channel_id = %s AND segment_key = ANY(%s) ORDER BY posts DESC, sample""",
        (platform, channel_id, list(keys)),
    ).fetchall()
    return [
        {"segment_key": k, "posts": n, "first_at": f, "last_at": la, "sample": s} for k, n, f, la, s in rows
    ]
