"""All SQL for reading groups back: current ids, event lists, an event's posts, partitions and the largest
shares (for the CLI, briefs, evaluation and tests)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

Key = tuple[str, int, int]


def resolve_event(conn: psycopg.Connection, event_id: int) -> int | None:
    """The current id of an event (following redirects); None if unknown."""
    for _ in range(1000):
        row = conn.execute("SELECT merged_into FROM events WHERE event_id = %s", (event_id,)).fetchone()
        if row is None:
            row = conn.execute(
                "SELECT to_event_id FROM event_redirects WHERE from_event_id = %s", (event_id,)
            ).fetchone()
            if row is None:
                return None
        if row[0] is None:
            return event_id
        event_id = row[0]
    return event_id


def list_events(
    conn: psycopg.Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_posts: int = 1,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Current events active in [since, until), most independent sources first, then newest."""
    cur = conn.execute(
        """SELECT e.event_id, e.storyline_id, e.first_post_at, e.last_post_at, e.post_count, e.source_count,
                  e.title, e.origin_platform, e.origin_channel_id, e.origin_post_id, c.handle AS origin_handle,
                  c.title AS origin_title, p.url AS origin_url,
                  (SELECT array_agg(DISTINCT q.lang) FROM event_posts x JOIN posts q USING (platform, channel_id, post_id)
                   WHERE x.event_id = e.event_id AND q.lang IS NOT NULL) AS langs,
                  (SELECT array_agg(DISTINCT x.platform) FROM event_posts x WHERE x.event_id = e.event_id) AS platforms
           FROM events e
           LEFT JOIN posts p ON (p.platform, p.channel_id, p.post_id)
                              = (e.origin_platform, e.origin_channel_id, e.origin_post_id)
           LEFT JOIN channels c ON (c.platform, c.channel_id) = (e.origin_platform, e.origin_channel_id)
           WHERE e.merged_into IS NULL AND e.post_count >= %(min)s
             AND (%(since)s::timestamptz IS NULL OR e.last_post_at >= %(since)s)
             AND (%(until)s::timestamptz IS NULL OR e.first_post_at < %(until)s)
           ORDER BY e.source_count DESC, e.post_count DESC, e.first_post_at DESC, e.event_id
           LIMIT %(limit)s""",
        {"since": since, "until": until, "min": min_posts, "limit": limit},
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def event_posts(conn: psycopg.Connection, event_id: int) -> list[dict[str, Any]]:
    """The posts of an event (current id), in time order, with channel handles and links."""
    cur = conn.execute(
        """SELECT ep.platform, ep.channel_id, c.handle, ep.post_id, ep.posted_at, ep.role, ep.joined_by,
                  ep.similarity, p.text, p.lang, p.url, p.fwd_channel_id, p.fwd_post_id, p.reposted_channel_id,
                  p.reposted_post_id, p.quoted_channel_id, p.quoted_post_id
           FROM event_posts ep JOIN posts p USING (platform, channel_id, post_id)
           LEFT JOIN channels c USING (platform, channel_id)
           WHERE ep.event_id = %s ORDER BY ep.posted_at, ep.platform, ep.channel_id, ep.post_id""",
        (event_id,),
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def storyline_events(conn: psycopg.Connection, storyline_id: int) -> list[dict[str, Any]]:
    cur = conn.execute(
        """SELECT event_id, first_post_at, last_post_at, post_count, source_count, title FROM events
           WHERE storyline_id = %s AND merged_into IS NULL ORDER BY first_post_at, event_id""",
        (storyline_id,),
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def partition(conn: psycopg.Connection) -> dict[Key, int]:
    """Every grouped post -> its current event (for comparisons in tests and benchmarks)."""
    return {
        (r[0], r[1], r[2]): r[3]
        for r in conn.execute("SELECT platform, channel_id, post_id, event_id FROM event_posts")
    }


def storyline_partition(conn: psycopg.Connection) -> dict[Key, int]:
    return {
        (r[0], r[1], r[2]): r[3]
        for r in conn.execute(
            """SELECT ep.platform, ep.channel_id, ep.post_id, e.storyline_id
               FROM event_posts ep JOIN events e ON e.event_id = ep.event_id"""
        )
    }


def _top_per_window(conn: psycopg.Connection, group_col: str, days: int) -> list[tuple]:
    """For each window of `days` UTC days that starts on a day with grouped posts: (start day, the current event
    or storyline with most of the window's posts, its posts, the window's posts)."""
    return conn.execute(
        f"""WITH p AS (SELECT ep.posted_at, {group_col} AS g
                       FROM event_posts ep JOIN events e ON e.event_id = ep.event_id),
                 d AS (SELECT DISTINCT (posted_at AT TIME ZONE 'UTC')::date AS day FROM p),
                 w AS (SELECT d.day, p.g, count(*) AS n, sum(count(*)) OVER (PARTITION BY d.day) AS total
                       FROM d JOIN p ON p.posted_at >= d.day::timestamp AT TIME ZONE 'UTC'
                                    AND p.posted_at < (d.day + %s)::timestamp AT TIME ZONE 'UTC'
                       GROUP BY d.day, p.g)
            SELECT DISTINCT ON (day) day, g, n, total::bigint FROM w ORDER BY day, n DESC, g""",  # noqa: S608
        (days,),
    ).fetchall()


def _largest(windows: list[tuple], min_posts: int) -> tuple | None:
    """The window whose top group holds the largest share (ties: the earlier window, the lower id)."""
    qualifying = [w for w in windows if w[3] >= min_posts]
    return min(qualifying, key=lambda w: (-w[2] / w[3], w[0], w[1])) if qualifying else None


def largest_event_share(conn: psycopg.Connection, min_day_posts: int = 100) -> dict[str, Any] | None:
    """The largest share of one UTC day's grouped posts that a single (current) event holds, over days with at
    least `min_day_posts` posts: {share, event_id, event_posts, day_posts, day}. None when no day qualifies."""
    w = _largest(_top_per_window(conn, "ep.event_id", 1), min_day_posts)
    if w is None:
        return None
    return {"share": round(w[2] / w[3], 4), "event_id": w[1], "event_posts": w[2], "day_posts": w[3],
            "day": w[0].isoformat()}  # fmt: skip


def largest_window_shares(
    conn: psycopg.Connection, days: int = 4, min_posts: Sequence[int] = (500,)
) -> dict[str, Any]:
    """The largest share of all grouped posts that one current event and one storyline hold
    (`largest_{level}_share_all`), and of any `days`-day window holding at least each of `min_posts` posts
    (`largest_{level}_share_{days}d_{n}`); the windows are counted once for every threshold."""
    out: dict[str, Any] = {}
    total = conn.execute("SELECT count(*) FROM event_posts").fetchone()[0]
    for level, col in (("event", "ep.event_id"), ("storyline", "e.storyline_id")):
        row = conn.execute(
            f"""SELECT {col}, count(*) FROM event_posts ep JOIN events e ON e.event_id = ep.event_id
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"""  # noqa: S608
        ).fetchone()
        out[f"largest_{level}_share_all"] = {
            "share": round(row[1] / total, 4) if row and total else 0.0, "id": row[0] if row else None,
            "posts": row[1] if row else 0, "total": total,
        }  # fmt: skip
        windows = _top_per_window(conn, col, days)
        for n in min_posts:
            w = _largest(windows, n)
            out[f"largest_{level}_share_{days}d_{n}"] = (
                {
                    "share": round(w[2] / w[3], 4),
                    "id": w[1],
                    "posts": w[2],
                    "total": w[3],
                    "from": w[0].isoformat(),
                }
                if w
                else None
            )
    return out


def post_texts(conn: psycopg.Connection, keys: Sequence[Key]) -> dict[Key, tuple[str, datetime]]:
    """(text, posted_at) of these posts."""
    if not keys:
        return {}
    pl, ch, pid = zip(*keys, strict=True)
    return {
        (r[0], r[1], r[2]): (r[3], r[4])
        for r in conn.execute(
            """SELECT p.platform, p.channel_id, p.post_id, p.text, p.posted_at
               FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS k(platform, channel_id, post_id)
               JOIN posts p USING (platform, channel_id, post_id)""",
            (list(pl), list(ch), list(pid)),
        )
    }
