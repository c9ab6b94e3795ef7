"""Per-day feature counts over grouped posts, for the event level's rarity weights (`ingest.events.rarity`).

`grouping_days` holds, for each UTC day, the counts over that day's rows of `event_posts` (each post's feature
indices are its `vec_idx`): a run rewrites the rows of the days it grouped posts on, and a replay's rewind deletes
the rows of its first day and after. A row is used only while its number of posts still equals the day's rows in
`event_posts` (one indexed count per run); a day without a usable row is counted from `event_posts`, so a table
that drifted (rows deleted by hand) costs a recount, never a wrong weight.

The same row keeps which channels used each hashtag that day (migration 030), for tag threads' rubric test
(`ingest.events.threads`): the day's distinct (tag key, platform, channel id) over its rows' `tag_keys`. A row
written before that migration has none and counts as unusable: its day is counted again, tags included.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime

import numpy as np
import psycopg

from ingest.warehouse.numpy_arrays import numpy_cursor

#: A day's counts: (posts, feature indices ascending (int32), how many of the posts have each (int64)).
Day = tuple[int, np.ndarray, np.ndarray]
#: A day's hashtag uses: the distinct (tag key, platform, channel id) of its grouped posts, as parallel arrays
#: (tag keys and channel ids int64), by tag.
DayTags = tuple[np.ndarray, list[str], np.ndarray]
_NO_TAGS: DayTags = (np.zeros(0, np.int64), [], np.zeros(0, np.int64))

_DAY = "floor(extract(epoch FROM posted_at) / 86400)::int"


def grouped_days(
    conn: psycopg.Connection, days: Iterable[int]
) -> tuple[dict[int, Day], set[int], dict[int, DayTags]]:
    """Counts and hashtag uses of `days` over the posts grouped so far, and which of the days were counted from
    `event_posts` (no usable stored row) rather than read."""
    days = sorted(set(days))
    if not days:
        return {}, set(), {}
    bounds = {"lo": days[0] * 86400, "hi": (days[-1] + 1) * 86400, "days": days}
    actual = dict(
        conn.execute(
            f"""SELECT {_DAY} AS day, count(*)::int FROM event_posts
                WHERE posted_at >= to_timestamp(%(lo)s) AND posted_at < to_timestamp(%(hi)s)
                  AND {_DAY} = ANY(%(days)s)
                GROUP BY 1""",  # noqa: S608 - a constant expression
            bounds,
        ).fetchall()
    )
    out: dict[int, Day] = {}
    tags: dict[int, DayTags] = {}
    # Binary, into numpy arrays: a busy day's row holds ~10^5 counts, which the text format would parse digit by
    # digit and a list of ints would box one by one.
    with numpy_cursor(conn) as cur:
        rows = cur.execute(
            """SELECT day, posts, idx, cnt, tag_keys, tag_platforms, tag_channels FROM grouping_days
               WHERE day = ANY(%s) AND tag_keys IS NOT NULL""",
            (days,),
        )
        for day, posts, idx, cnt, keys, platforms, channels in rows:
            if posts == actual.get(day, 0):
                out[day] = (posts, idx.astype(np.int32), cnt.astype(np.int64))
                tags[day] = (keys, platforms, channels)
    empty = (np.zeros(0, np.int32), np.zeros(0, np.int64))
    counted = {d for d in days if d not in out}
    for d in counted:
        if not actual.get(d):
            out[d] = (0, *empty)
            tags[d] = _NO_TAGS
    recount = sorted(d for d in counted if d not in out)
    if recount:
        feats = {
            day: (idx, cnt)
            for day, idx, cnt in conn.execute(
                f"""SELECT day, array_agg(f ORDER BY f), array_agg(n ORDER BY f)
                    FROM (SELECT {_DAY} AS day, f, count(*)::int AS n
                          FROM event_posts, unnest(vec_idx) AS f
                          WHERE posted_at >= to_timestamp(%(lo)s) AND posted_at < to_timestamp(%(hi)s)
                            AND {_DAY} = ANY(%(days)s)
                          GROUP BY 1, 2) c
                    GROUP BY day""",  # noqa: S608 - a constant expression
                {"lo": recount[0] * 86400, "hi": (recount[-1] + 1) * 86400, "days": recount},
            )
        }
        for d in recount:
            idx, cnt = feats.get(d, ((), ()))
            out[d] = (actual[d], np.array(idx, np.int32), np.array(cnt, np.int64))
        uses: dict[int, list[tuple[int, str, int]]] = {d: [] for d in recount}
        for day, tag, platform, channel in conn.execute(
            f"""SELECT DISTINCT {_DAY} AS day, k, platform, channel_id
                FROM event_posts, unnest(tag_keys) AS k
                WHERE posted_at >= to_timestamp(%(lo)s) AND posted_at < to_timestamp(%(hi)s)
                  AND {_DAY} = ANY(%(days)s) AND tag_keys <> '{{}}'
                ORDER BY 1, 2, 3, 4""",  # noqa: S608 - a constant expression
            {"lo": recount[0] * 86400, "hi": (recount[-1] + 1) * 86400, "days": recount},
        ):
            uses[day].append((tag, platform, channel))
        for d, found in uses.items():
            tags[d] = _arrays(found)
    return out, counted, tags


def _arrays(uses: Collection[tuple[int, str, int]]) -> DayTags:
    """A day's hashtag uses as the parallel arrays a row keeps, by tag, platform and channel."""
    rows = sorted(uses)
    return (
        np.array([u[0] for u in rows], np.int64),
        [u[1] for u in rows],
        np.array([u[2] for u in rows], np.int64),
    )


def uses_of(tags: DayTags) -> set[tuple[int, str, int]]:
    """A day's hashtag uses as a set of (tag key, platform, channel id)."""
    keys, platforms, channels = tags
    return set(zip(keys.tolist(), platforms, channels.tolist(), strict=True))


def save_days(
    conn: psycopg.Connection, counts: Mapping[int, Day], tags: Mapping[int, Collection[tuple[int, str, int]]]
) -> None:
    """Store the counts and hashtag uses (tag key, platform, channel id) of these days, each over all of the
    day's grouped posts (`tags` holds every day of `counts`). A full regroup writes a row per day of the stream
    at once, so the rows go in by binary COPY after their old versions are deleted."""
    if not counts:
        return
    days = sorted(counts)
    conn.execute("DELETE FROM grouping_days WHERE day = ANY(%s)", (days,))
    # The arrays go as numpy buffers: psycopg's list dumper packs ~10^5 integers a day one at a time.
    with (
        numpy_cursor(conn) as cur,
        cur.copy(
            """COPY grouping_days (day, posts, idx, cnt, tag_keys, tag_platforms, tag_channels)
               FROM STDIN (FORMAT binary)"""
        ) as cp,
    ):
        cp.set_types(["int4", "int4", "int4[]", "int4[]", "int8[]", "text[]", "int8[]"])
        for d in days:
            n, idx, cnt = counts[d]
            cp.write_row((d, n, idx, cnt, *_arrays(tags[d])))


def forget_from(conn: psycopg.Connection, t0: datetime) -> None:
    """A replay from `t0`: the rows of its day and after counted posts that are now ungrouped."""
    conn.execute(
        "DELETE FROM grouping_days WHERE day >= floor(extract(epoch FROM %s::timestamptz) / 86400)::int",
        (t0,),
    )
