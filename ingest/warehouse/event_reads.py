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
                  p.url AS origin_url,
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


def largest_event_share(conn: psycopg.Connection, min_day_posts: int = 100) -> dict[str, Any] | None:
    """The largest share of one UTC day's grouped posts that a single (current) event holds, over days with at
    least `min_day_posts` posts: {share, event_id, event_posts, day_posts, day}. None when no day qualifies."""
    row = conn.execute(
        """WITH d AS (SELECT (posted_at AT TIME ZONE 'UTC')::date AS day, event_id, count(*) AS n
                      FROM event_posts GROUP BY 1, 2),
                t AS (SELECT day, sum(n) AS total FROM d GROUP BY day HAVING sum(n) >= %s)
           SELECT d.n::float8 / t.total, d.event_id, d.n, t.total, t.day
           FROM d JOIN t USING (day) ORDER BY 1 DESC, d.event_id LIMIT 1""",
        (min_day_posts,),
    ).fetchone()
    if row is None:
        return None
    return {"share": round(row[0], 4), "event_id": row[1], "event_posts": row[2], "day_posts": int(row[3]),
            "day": row[4].isoformat()}  # fmt: skip


def largest_window_shares(conn: psycopg.Connection, days: int = 4, min_posts: int = 500) -> dict[str, Any]:
    """The largest share of the grouped posts of any `days`-day window (starting on a UTC day; windows with at
    least `min_posts` posts) that one current event and one storyline hold, and the same over all posts."""
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
        row = conn.execute(
            f"""WITH p AS (SELECT ep.posted_at, {col} AS g FROM event_posts ep JOIN events e ON e.event_id = ep.event_id),
                     d AS (SELECT DISTINCT (posted_at AT TIME ZONE 'UTC')::date AS day FROM p),
                     w AS (SELECT d.day, p.g, count(*) AS n, sum(count(*)) OVER (PARTITION BY d.day) AS total
                           FROM d JOIN p ON p.posted_at >= d.day::timestamp AT TIME ZONE 'UTC'
                                        AND p.posted_at < (d.day + %s)::timestamp AT TIME ZONE 'UTC'
                           GROUP BY d.day, p.g)
                SELECT n::float8 / total, g, n, total, day FROM w WHERE total >= %s
                ORDER BY 1 DESC, day LIMIT 1""",  # noqa: S608
            (days, min_posts),
        ).fetchone()
        out[f"largest_{level}_share_{days}d"] = (
            {
                "share": round(row[0], 4),
                "id": row[1],
                "posts": row[2],
                "total": int(row[3]),
                "from": row[4].isoformat(),
            }  # fmt: skip
            if row
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
