"""All SQL for what a grouping run reads: its lock and state, the posts of a window to (re)group, and the stored
events and storylines it continues from. `ingest.events.group` decides; the writes are in `event_writes`,
replays in `event_replay`, reads for the CLI, briefs and evaluation in `event_reads`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np
import psycopg
from psycopg.rows import args_row

from ingest.warehouse.numpy_arrays import numpy_cursor

Key = tuple[str, int, int]


class PostRow(NamedTuple):
    """A post as grouping reads it (`posts_to_group`)."""

    platform: str
    channel_id: int
    post_id: int
    posted_at: datetime
    text: str
    links: list[str] | None
    hashtags: list[str] | None
    content_hash: int
    fwd_platform: str | None
    fwd_channel_id: int | None
    fwd_post_id: int | None
    reposted_channel_id: int | None
    reposted_post_id: int | None
    quoted_channel_id: int | None
    quoted_post_id: int | None
    reply_to_channel_id: int | None
    reply_to_post_id: int | None


class ClusterRow(NamedTuple):
    """A stored event or storyline as grouping reads it: times as epoch seconds, centroids as numpy arrays."""

    id: int
    first_ts: float
    last_ts: float
    post_count: int
    centroid_idx: np.ndarray
    centroid_val: np.ndarray
    first_platform: str
    first_channel_id: int
    first_post_id: int
    storyline_id: int | None = None


# Any fixed number: one grouping run at a time (the DAG and a CLI run could overlap).
GROUP_LOCK = 0x67727570  # "grup"

# A Desktop export names the forwarded channel but not the original's id (nor always its time): the original
# is that channel's post at that time or, without a time, its latest earlier post with the same text.
_FWD_ORIGIN = """LEFT JOIN LATERAL (
    SELECT o.post_id FROM posts o
    WHERE p.fwd_post_id IS NULL AND p.fwd_channel_id IS NOT NULL
      AND o.platform = coalesce(p.fwd_platform, 'telegram') AND o.channel_id = p.fwd_channel_id
      AND (o.posted_at = p.fwd_posted_at
           OR (p.fwd_posted_at IS NULL AND o.posted_at <= p.posted_at AND o.text = p.text AND p.text <> ''))
    ORDER BY o.posted_at DESC, o.post_id LIMIT 1) fo ON true"""

_POST_COLS = """p.platform, p.channel_id, p.post_id, p.posted_at, p.text, p.links, p.hashtags, p.content_hash,
    p.fwd_platform, p.fwd_channel_id, coalesce(p.fwd_post_id, fo.post_id), p.reposted_channel_id, p.reposted_post_id,
    p.quoted_channel_id, p.quoted_post_id, p.reply_to_channel_id, p.reply_to_post_id"""


def lock(conn: psycopg.Connection) -> None:
    """Take the grouping lock for this transaction. JIT goes off for it: the planner's row estimates for the
    forward-origin lateral join are huge, and compiling the plan took longer (~0.4 s) than running it. The wait
    is bounded (any role may take an advisory lock): see `locks.advisory_lock`."""
    from ingest.warehouse.locks import advisory_lock

    advisory_lock(conn, GROUP_LOCK, "grouping", xact=True)
    conn.execute("SET LOCAL jit = off")


def get_state(conn: psycopg.Connection) -> tuple[str | None, datetime | None]:
    row = conn.execute("SELECT params, high_water_at FROM grouping_state").fetchone()
    return (row[0], row[1]) if row else (None, None)


def set_state(conn: psycopg.Connection, params: str) -> None:
    conn.execute(
        """INSERT INTO grouping_state (id, params, high_water_at, updated_at)
           VALUES (true, %s, (SELECT max(posted_at) FROM event_posts), now())
           ON CONFLICT (id) DO UPDATE SET params = EXCLUDED.params, high_water_at = EXCLUDED.high_water_at,
               updated_at = now()""",
        (params,),
    )


def high_water(conn: psycopg.Connection) -> tuple[datetime, str, int, int] | None:
    """The last grouped post in canonical order (posted_at, platform, channel_id, post_id)."""
    row = conn.execute(
        """SELECT posted_at, platform, channel_id, post_id FROM event_posts
           ORDER BY posted_at DESC, platform DESC, channel_id DESC, post_id DESC LIMIT 1"""
    ).fetchone()
    return tuple(row) if row else None


def has_groups(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM event_posts)").fetchone()[0]


def analyze(conn: psycopg.Connection) -> None:
    """Fresh planner statistics for the grouping's tables (this server may run without autovacuum, and the next
    run's reads of open events and summaries pick slow plans on a table the planner believes small)."""
    conn.execute("ANALYZE events, storylines, event_posts")


def has_redirects(conn: psycopg.Connection) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM event_redirects) OR EXISTS (SELECT 1 FROM storyline_redirects)"
    ).fetchone()[0]


def dirty_posts(
    conn: psycopg.Connection, since: datetime | None, until: datetime | None
) -> tuple[tuple[datetime, str, int, int] | None, int]:
    """The earliest (canonical order) post of the window that is new or edited since it was grouped, and how
    many such posts there are. Their keys stay in the temporary table `dirty_keys` for `posts_to_group`."""
    conn.execute(
        """CREATE TEMP TABLE IF NOT EXISTS dirty_keys
               (platform text, channel_id bigint, post_id bigint, posted_at timestamptz) ON COMMIT DROP"""
    )
    conn.execute("TRUNCATE dirty_keys")
    conn.execute(
        """INSERT INTO dirty_keys
           SELECT p.platform, p.channel_id, p.post_id, p.posted_at
           FROM posts p LEFT JOIN event_posts e USING (platform, channel_id, post_id)
           WHERE p.kind <> 'service'
             AND (%(since)s::timestamptz IS NULL OR p.posted_at >= %(since)s)
             AND (%(until)s::timestamptz IS NULL OR p.posted_at < %(until)s)
             AND (e.post_id IS NULL OR e.content_hash <> p.content_hash)""",
        {"since": since, "until": until},
    )
    row = conn.execute(
        """SELECT posted_at, platform, channel_id, post_id, count(*) OVER () FROM dirty_keys
           ORDER BY posted_at, platform, channel_id, post_id LIMIT 1"""
    ).fetchone()
    if not row:
        return None, 0
    return tuple(row[:4]), row[4]


def posts_to_group(
    conn: psycopg.Connection,
    since: datetime | None,
    until: datetime | None,
    *,
    only_dirty: bool,
    t0: datetime | None,
) -> Iterable[tuple]:
    """Posts to (re)group, in canonical order. With `only_dirty`, the new and edited posts `dirty_posts` found;
    else every post from `t0` on: those of the window and those grouped before (a replay re-groups them)."""
    if only_dirty:
        sql = f"""SELECT {_POST_COLS} FROM dirty_keys d JOIN posts p USING (platform, channel_id, post_id)
                  {_FWD_ORIGIN}
                  ORDER BY p.posted_at, p.platform, p.channel_id, p.post_id"""  # noqa: S608
    else:
        sql = f"""SELECT {_POST_COLS} FROM posts p {_FWD_ORIGIN}
                  WHERE p.kind <> 'service' AND (%(t0)s::timestamptz IS NULL OR p.posted_at >= %(t0)s)
                    AND ((%(since)s::timestamptz IS NULL OR p.posted_at >= %(since)s)
                         AND (%(until)s::timestamptz IS NULL OR p.posted_at < %(until)s)
                         OR EXISTS (SELECT 1 FROM replay_keys r WHERE (r.platform, r.channel_id, r.post_id)
                                    = (p.platform, p.channel_id, p.post_id)))
                  ORDER BY p.posted_at, p.platform, p.channel_id, p.post_id"""  # noqa: S608
    with conn.cursor(name="wirewatch_group_posts", row_factory=args_row(PostRow)) as cur:
        cur.itersize = 5000
        cur.execute(sql, {"since": since, "until": until, "t0": t0})
        yield from cur


# ------------------------------------------------------------------------------------------------ state loading

# Times as epoch seconds (float8 of the exact microsecond value: the same float as datetime.timestamp()), which
# spares building ~10^5 datetime objects per run.
_CLUSTER_COLS = (
    "extract(epoch FROM first_post_at)::float8, extract(epoch FROM last_post_at)::float8, post_count, "
    "centroid_idx, centroid_val"
)


def open_events(
    conn: psycopg.Connection, after: datetime, first_after: datetime | None = None
) -> Iterable[ClusterRow]:
    """Events open at `after` (current ids only); with `first_after`, only those whose first post is at or after
    it."""
    return numpy_cursor(conn, ClusterRow).execute(
        f"""SELECT event_id, {_CLUSTER_COLS}, origin_platform, origin_channel_id, origin_post_id, storyline_id
            FROM events WHERE merged_into IS NULL AND last_post_at >= %s
            AND (%s::timestamptz IS NULL OR first_post_at >= %s)""",  # noqa: S608
        (after, first_after, first_after),
    )


def events_by_id(conn: psycopg.Connection, ids: Sequence[int]) -> Iterable[ClusterRow]:
    return numpy_cursor(conn, ClusterRow).execute(
        f"""SELECT event_id, {_CLUSTER_COLS}, origin_platform, origin_channel_id, origin_post_id, storyline_id
            FROM events WHERE event_id = ANY(%s)""",  # noqa: S608
        (list(ids),),
    )


def open_storylines(
    conn: psycopg.Connection, after: datetime, also: Sequence[int] = ()
) -> Iterable[ClusterRow]:
    return numpy_cursor(conn, ClusterRow).execute(
        f"""SELECT storyline_id, {_CLUSTER_COLS}, first_platform, first_channel_id, first_post_id
            FROM storylines WHERE merged_into IS NULL AND (last_post_at >= %s OR storyline_id = ANY(%s))""",  # noqa: S608
        (after, list(also)),
    )


def redirects(conn: psycopg.Connection) -> tuple[dict[int, int], dict[int, int]]:
    ev = dict(conn.execute("SELECT from_event_id, to_event_id FROM event_redirects").fetchall())
    st = dict(conn.execute("SELECT from_storyline_id, to_storyline_id FROM storyline_redirects").fetchall())
    return ev, st


def events_of_posts(conn: psycopg.Connection, keys: Sequence[Key]) -> dict[Key, int]:
    if not keys:
        return {}
    pl, ch, pid = zip(*keys, strict=True)
    return {
        (r[0], r[1], r[2]): r[3]
        for r in conn.execute(
            """SELECT e.platform, e.channel_id, e.post_id, e.event_id
               FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS k(platform, channel_id, post_id)
               JOIN event_posts e USING (platform, channel_id, post_id)""",
            (list(pl), list(ch), list(pid)),
        )
    }


def events_of_referrers(conn: psycopg.Connection, refs: Sequence[Key]) -> dict[Key, int]:
    """For posts not in the warehouse: the event of the earliest grouped post that forwards, reposts or quotes
    them (so a second forward of an unseen original joins the first)."""
    if not refs:
        return {}
    pl, ch, pid = zip(*refs, strict=True)
    out: dict[Key, int] = {}
    # Three joins, not one OR-join: each can use its own index (an OR across them forced a nested loop
    # over every post: 8 s for 1,000 referenced posts against 20k).
    rows = conn.execute(
        """WITH k AS (SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS k(platform, channel_id, post_id)),
           r AS (
               SELECT k.platform AS kp, k.channel_id AS kc, k.post_id AS kid, p.platform, p.channel_id, p.post_id
               FROM k JOIN posts p ON p.fwd_channel_id = k.channel_id AND p.fwd_post_id = k.post_id
                                  AND k.platform = coalesce(p.fwd_platform, 'telegram')
               UNION ALL
               SELECT k.platform, k.channel_id, k.post_id, p.platform, p.channel_id, p.post_id
               FROM k JOIN posts p ON p.reposted_channel_id = k.channel_id AND p.reposted_post_id = k.post_id
                                  AND p.platform = k.platform
               UNION ALL
               SELECT k.platform, k.channel_id, k.post_id, p.platform, p.channel_id, p.post_id
               FROM k JOIN posts p ON p.quoted_channel_id = k.channel_id AND p.quoted_post_id = k.post_id
                                  AND p.platform = k.platform)
           SELECT r.kp, r.kc, r.kid, e.event_id, e.posted_at, e.platform, e.channel_id, e.post_id
           FROM r JOIN event_posts e ON (e.platform, e.channel_id, e.post_id) = (r.platform, r.channel_id, r.post_id)
           ORDER BY e.posted_at, e.platform, e.channel_id, e.post_id""",
        (list(pl), list(ch), list(pid)),
    )
    for r in rows:
        out.setdefault((r[0], r[1], r[2]), r[3])
    return out


def events_of_duplicates(
    conn: psycopg.Connection, dup_keys: Sequence[int], after: datetime
) -> list[tuple[int, int]]:
    """(key, assigned event) of grouped posts whose duplicate key or headline key is one of these, whose event
    is still open at `after`, in order of each event's first post with the key."""
    if not dup_keys:
        return []
    return conn.execute(
        """SELECT k, assigned_event_id FROM (
               SELECT k, assigned_event_id, min(posted_at) AS first_at FROM (
                   SELECT ep.dup_key AS k, ep.assigned_event_id, ep.posted_at
                   FROM event_posts ep JOIN events e ON e.event_id = ep.event_id
                   WHERE ep.dup_key = ANY(%(k)s) AND e.last_post_at >= %(after)s
                   UNION ALL
                   SELECT ep.lead_key, ep.assigned_event_id, ep.posted_at
                   FROM event_posts ep JOIN events e ON e.event_id = ep.event_id
                   WHERE ep.lead_key = ANY(%(k)s) AND e.last_post_at >= %(after)s) u
               GROUP BY k, assigned_event_id) s
           ORDER BY first_at, assigned_event_id""",
        {"k": list(dup_keys), "after": after},
    ).fetchall()


def events_of_sentences(
    conn: psycopg.Connection, mains: Sequence[int], sentences: Sequence[int], since: datetime
) -> list[tuple[str, int, int]]:
    """(kind, key, assigned event) of posts grouped since `since` that an excerpt join may reach: "sentence" for
    a post holding one of `mains` among its sentence keys, "main" for a post whose main key is one of
    `sentences`; in order of each event's first post with the key (as the grouper noted them)."""
    if not mains and not sentences:
        return []
    return conn.execute(
        # The keys as tables the planner hashes: `= ANY(array)` and `&&` compare every row with every key.
        """WITH m(k) AS (SELECT DISTINCT unnest(%(m)s::int8[])), s(k) AS (SELECT DISTINCT unnest(%(s)s::int8[]))
           SELECT kind, k, assigned_event_id FROM (
               SELECT kind, k, assigned_event_id, min(posted_at) AS first_at FROM (
                   SELECT 'sentence' AS kind, x.k, ep.assigned_event_id, ep.posted_at
                   FROM event_posts ep CROSS JOIN LATERAL unnest(ep.sentence_keys) AS x(k) JOIN m ON m.k = x.k
                   WHERE ep.posted_at >= %(since)s
                   UNION ALL
                   SELECT 'main', ep.main_key, ep.assigned_event_id, ep.posted_at
                   FROM event_posts ep JOIN s ON s.k = ep.main_key
                   WHERE ep.posted_at >= %(since)s) u
               GROUP BY kind, k, assigned_event_id) g
           ORDER BY first_at, assigned_event_id""",
        {"m": list(mains), "s": list(sentences), "since": since},
    ).fetchall()


def tag_uses(
    conn: psycopg.Connection, since: datetime, before: datetime, latest: int, tags: Sequence[int]
) -> list[tuple]:
    """(tag key, posted_at, storyline, platform, channel_id) of the `latest` last uses of each of `tags` by the
    posts grouped in [since, before), in the posts' canonical order: what tag threads remember of their uses
    (`ingest.events.threads`)."""
    # The storylines are joined to the uses the window keeps, not to every use it ranks (a quarter less server
    # time over 250,000 uses of 15 days of X accounts).
    return conn.execute(
        """SELECT u.k, u.posted_at, e.storyline_id, u.platform, u.channel_id FROM (
               SELECT t.k, ep.posted_at, ep.event_id, ep.platform, ep.channel_id, ep.post_id,
                      row_number() OVER (PARTITION BY t.k ORDER BY ep.posted_at DESC, ep.platform DESC,
                                                                   ep.channel_id DESC, ep.post_id DESC) AS r
               FROM event_posts ep CROSS JOIN LATERAL unnest(ep.tag_keys) AS t(k)
               WHERE ep.posted_at >= %s AND ep.posted_at < %s AND ep.tag_keys && %s::bigint[]
                 AND t.k = ANY(%s)) u
           JOIN events e ON e.event_id = u.event_id
           WHERE u.r <= %s
           ORDER BY u.posted_at, u.platform, u.channel_id, u.post_id, u.k""",
        (since, before, list(tags), list(tags), latest),
    ).fetchall()


def max_ids(conn: psycopg.Connection) -> tuple[int, int]:
    return conn.execute(
        "SELECT (SELECT coalesce(max(event_id), 0) FROM events), (SELECT coalesce(max(storyline_id), 0) FROM storylines)"
    ).fetchone()


def existing_ids(
    conn: psycopg.Connection, events: Sequence[int], storylines: Sequence[int]
) -> tuple[set, set]:
    ev = {r[0] for r in conn.execute("SELECT event_id FROM events WHERE event_id = ANY(%s)", (list(events),))}
    st = {
        r[0]
        for r in conn.execute(
            "SELECT storyline_id FROM storylines WHERE storyline_id = ANY(%s)", (list(storylines),)
        )
    }
    return ev, st
