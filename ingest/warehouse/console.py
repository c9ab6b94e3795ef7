"""All SQL of the analysts' console (`wirewatch serve`, ingest/console/). It reads schema `analyst` only (the views
and analyst.search()), over a read-only connection: nothing here writes, and nothing reads a base table, so the
console works as the `wirewatch_analyst` role. Every value travels as a parameter; the few clauses composed here
are chosen from constant strings, never from user input.

Each function takes an open connection and returns plain dicts (datetimes are aware UTC).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from ingest.warehouse.analyst import CHANNEL_TITLE

log = logging.getLogger(__name__)

ANALYST_ROLE = "wirewatch_analyst"


def _rows(cur: psycopg.Cursor) -> list[dict[str, Any]]:
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def _one(cur: psycopg.Cursor) -> dict[str, Any] | None:
    rows = _rows(cur)
    return rows[0] if rows else None


# ----------------------------------------------------------------------------------------------- session


@dataclass
class SessionInfo:
    user: str
    role: str  # the role queries run as (current_user after SET ROLE)
    read_only: bool


def configure_session(conn: psycopg.Connection, role: str | None = ANALYST_ROLE) -> SessionInfo:
    """Make a fresh console connection read-only: every transaction read-only and UTC, and, when the analyst
    group role exists and this login may take it, SET ROLE to it so that only schema analyst is readable.
    The connection must be in autocommit mode (each query its own read-only transaction)."""
    conn.execute("SET default_transaction_read_only = on")
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET statement_timeout = '15s'")
    if role:
        ok = conn.execute(
            """SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %(r)s)
                      AND pg_has_role(session_user, %(r)s, 'MEMBER')""",
            {"r": role},
        ).fetchone()[0]
        if ok:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    conn.execute("SET search_path = analyst, public")
    user, current, ro = conn.execute(
        "SELECT session_user, current_user, current_setting('default_transaction_read_only') = 'on'"
    ).fetchone()
    return SessionInfo(user=user, role=current, read_only=ro)


# ------------------------------------------------------------------------------------------------ events

EVENT_COLS = """e.event_id, e.storyline_id, e.headline, e.title, e.first_seen_at, e.last_post_at, e.posts,
    e.independent_sources, e.forwards, e.channels, e.platforms, e.languages, e.first_platform, e.first_channel,
    e.first_post_id, e.first_url, e.hours_active, e.brief_generated_at, e.first_channel_id, e.first_channel_title"""

_ORDER = {
    "newest": "e.first_seen_at DESC, e.event_id DESC",
    "active": "e.last_post_at DESC, e.event_id DESC",
    "sources": "e.independent_sources DESC, e.posts DESC, e.first_seen_at DESC, e.event_id DESC",
}


def latest_activity(conn: psycopg.Connection) -> datetime | None:
    """The latest post of any current event (where a window anchored on the data ends)."""
    return conn.execute("SELECT max(last_post_at) FROM analyst.events").fetchone()[0]


def list_events(
    conn: psycopg.Connection,
    *,
    since: datetime | None,
    until: datetime | None,
    min_sources: int = 1,
    platform: str | None = None,
    lang: str | None = None,
    channel: str | None = None,
    storyline: int | None = None,
    sort: str = "newest",
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Current events active in [since, until) (a post in the window), filtered; `limit` rows from `offset`.
    `channel` is a handle (any post of the event from that channel); `sort` one of newest, active, sources."""
    order = sql.SQL(_ORDER.get(sort, _ORDER["newest"]))
    query = sql.SQL(
        """SELECT {cols} FROM analyst.events e
           WHERE (%(since)s::timestamptz IS NULL OR e.last_post_at >= %(since)s)
             AND (%(until)s::timestamptz IS NULL OR e.first_seen_at < %(until)s)
             AND e.independent_sources >= %(min_sources)s
             AND (%(platform)s::text IS NULL OR %(platform)s = ANY(e.platforms))
             AND (%(lang)s::text IS NULL OR %(lang)s = ANY(e.languages))
             AND (%(storyline)s::bigint IS NULL OR e.storyline_id = %(storyline)s)
             AND (%(channel)s::text IS NULL OR EXISTS (
                   SELECT 1 FROM analyst.event_timeline t
                   WHERE t.event_id = e.event_id AND t.channel = lower(%(channel)s)))
           ORDER BY {order}
           LIMIT %(limit)s OFFSET %(offset)s"""
    ).format(cols=sql.SQL(EVENT_COLS), order=order)
    params = {
        "since": since, "until": until, "min_sources": min_sources, "platform": platform, "lang": lang,
        "storyline": storyline, "channel": channel.lstrip("@") if channel else None, "limit": limit,
        "offset": offset,
    }  # fmt: skip
    return _rows(conn.execute(query, params))


def event_filter_choices(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Values the events page offers in its filters: platforms, languages and channel handles."""
    platforms = [r[0] for r in conn.execute("SELECT DISTINCT platform FROM analyst.channels ORDER BY 1")]
    channels = [
        r[0]
        for r in conn.execute(
            "SELECT channel FROM analyst.channels WHERE channel IS NOT NULL ORDER BY channel LIMIT 500"
        )
    ]
    langs = [
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT l FROM (SELECT unnest(languages) AS l FROM analyst.briefs
                                      ORDER BY generated_at DESC LIMIT 5000) s
               WHERE l IS NOT NULL ORDER BY 1 LIMIT 50"""
        )
    ]
    return {"platforms": platforms, "languages": langs, "channels": channels}


def resolve_event(conn: psycopg.Connection, event_id: int) -> int | None:
    """The current id of an event, following merges (analyst.event_redirects); None if unknown."""
    seen: set[int] = set()
    eid = event_id
    while eid not in seen and len(seen) < 50:
        seen.add(eid)
        if conn.execute("SELECT 1 FROM analyst.events WHERE event_id = %s", (eid,)).fetchone():
            return eid
        row = conn.execute(
            "SELECT to_event_id FROM analyst.event_redirects WHERE from_event_id = %s", (eid,)
        ).fetchone()
        if row is None:
            return None
        eid = row[0]
    return None


def get_event(conn: psycopg.Connection, event_id: int) -> dict[str, Any] | None:
    query = sql.SQL("SELECT {cols} FROM analyst.events e WHERE e.event_id = %s").format(
        cols=sql.SQL(EVENT_COLS)
    )
    return _one(conn.execute(query, (event_id,)))


def get_brief(conn: psycopg.Connection, event_id: int) -> dict[str, Any] | None:
    """The stored brief (written by ingest.briefs: `wirewatch briefs` or the hourly DAG)."""
    return _one(
        conn.execute(
            """SELECT event_id, generated_at, headline, first_seen_at, last_post_at, posts, independent_sources,
                      languages, markdown, json
               FROM analyst.briefs WHERE event_id = %s""",
            (event_id,),
        )
    )


def event_timeline(conn: psycopg.Connection, event_id: int) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT seq, posted_at, minutes_after_first, platform, channel_id, channel, channel_title, post_id,
                      url, role, joined_by, similarity, forwarded_from, fwd_post_id, reposted_post_id,
                      reply_to_post_id, lang, text, edited, views, forwards, reposts, likes, reactions_total
               FROM analyst.event_timeline WHERE event_id = %s ORDER BY seq LIMIT 2000""",
            (event_id,),
        )
    )


# analyst.post_versions and analyst.post_metrics number and difference each post's rows with window functions over
# the whole warehouse; PostgreSQL pushes a condition into such a view only when it compares the partition columns
# with constants, never a join condition (joined to analyst.event_timeline, both views were computed for every
# post: seconds at 100k posts). So the event's posts are looked up first and passed as arrays: the `= ANY` filters
# reach the base tables' primary keys, the join on unnest() keeps exactly the event's posts, in timeline order.
_KEYS = """unnest(%(platforms)s::text[], %(channels)s::bigint[], %(posts)s::bigint[]) WITH ORDINALITY
               k(platform, channel_id, post_id, seq)"""


def _event_posts(
    conn: psycopg.Connection, event_id: int, timeline: list[dict[str, Any]] | None, *, edited: bool = False
) -> dict[str, list]:
    """The event's posts in timeline order as three arrays (from `timeline` when the caller has it)."""
    if timeline is None:
        timeline = _rows(
            conn.execute(
                """SELECT platform, channel_id, post_id, edited FROM analyst.event_timeline
                   WHERE event_id = %s ORDER BY seq LIMIT 2000""",
                (event_id,),
            )
        )
    rows = [t for t in timeline if t["edited"]] if edited else timeline
    return {
        "platforms": [t["platform"] for t in rows],
        "channels": [t["channel_id"] for t in rows],
        "posts": [t["post_id"] for t in rows],
    }


def event_versions(
    conn: psycopg.Connection, event_id: int, timeline: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Every version of the event's edited posts, oldest first per post. `timeline`: event_timeline()'s rows, when
    the caller has them."""
    keys = _event_posts(conn, event_id, timeline, edited=True)
    if not keys["posts"]:
        return []
    return _rows(
        conn.execute(
            f"""SELECT v.platform, v.channel_id, v.channel, v.post_id, v.url, v.version, v.versions, v.version_at,
                       v.text, v.previous_text, v.is_current
                FROM analyst.post_versions v
                JOIN {_KEYS} ON k.platform = v.platform AND k.channel_id = v.channel_id AND k.post_id = v.post_id
                WHERE v.platform = ANY(%(platforms)s) AND v.channel_id = ANY(%(channels)s) AND v.post_id = ANY(%(posts)s)
                ORDER BY k.seq, v.version LIMIT 500""",
            keys,
        )
    )


def event_metrics(
    conn: psycopg.Connection, event_id: int, timeline: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Engagement observations of the event's posts, oldest first per post. `timeline`: event_timeline()'s rows,
    when the caller has them."""
    keys = _event_posts(conn, event_id, timeline)
    if not keys["posts"]:
        return []
    return _rows(
        conn.execute(
            f"""SELECT m.platform, m.channel_id, m.channel, m.post_id, m.url, m.observed_at, m.hours_since_post,
                       m.views, m.forwards, m.replies, m.reposts, m.quotes, m.likes, m.reactions_total
                FROM analyst.post_metrics m
                JOIN {_KEYS} ON k.platform = m.platform AND k.channel_id = m.channel_id AND k.post_id = m.post_id
                WHERE m.platform = ANY(%(platforms)s) AND m.channel_id = ANY(%(channels)s) AND m.post_id = ANY(%(posts)s)
                ORDER BY k.seq, m.observed_at LIMIT 5000""",
            keys,
        )
    )


# -------------------------------------------------------------------------------------------- storylines


def get_storyline(conn: psycopg.Connection, storyline_id: int) -> dict[str, Any] | None:
    return _one(
        conn.execute(
            """SELECT storyline_id, title, first_post_at, last_post_at, events, posts
               FROM analyst.storylines WHERE storyline_id = %s""",
            (storyline_id,),
        )
    )


def storyline_events(
    conn: psycopg.Connection, storyline_id: int, *, limit: int = 500
) -> list[dict[str, Any]]:
    query = sql.SQL(
        """SELECT {cols} FROM analyst.events e WHERE e.storyline_id = %s
           ORDER BY e.first_seen_at, e.event_id LIMIT %s"""
    ).format(cols=sql.SQL(EVENT_COLS))
    return _rows(conn.execute(query, (storyline_id, limit)))


# ---------------------------------------------------------------------------------------------- channels


def list_channels(conn: psycopg.Connection, *, limit: int = 500) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT platform, channel_id, channel, title, watched, url, posts, first_post_at, last_post_at
               FROM analyst.channels ORDER BY last_post_at DESC NULLS LAST, platform, channel_id LIMIT %s""",
            (limit,),
        )
    )


def get_channel(conn: psycopg.Connection, platform: str, channel_id: int) -> dict[str, Any] | None:
    return _one(
        conn.execute(
            """SELECT platform, channel_id, channel, title, watched, url, handles, posts, first_post_at,
                      last_post_at, first_seen_at
               FROM analyst.channels WHERE platform = %s AND channel_id = %s""",
            (platform, channel_id),
        )
    )


def find_channel(conn: psycopg.Connection, platform: str, handle: str) -> int | None:
    """A channel id by handle (current or past, current first)."""
    row = conn.execute(
        """SELECT channel_id FROM (
               SELECT channel_id, 0 AS k FROM analyst.channels WHERE platform = %(p)s AND channel = lower(%(h)s)
               UNION ALL
               SELECT channel_id, 1 FROM analyst.channel_handles WHERE platform = %(p)s AND lower(handle) = lower(%(h)s)
           ) s ORDER BY k LIMIT 1""",
        {"p": platform, "h": handle.lstrip("@")},
    ).fetchone()
    return row[0] if row else None


def channel_handles(conn: psycopg.Connection, platform: str, channel_id: int) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT handle, valid_from, valid_to FROM analyst.channel_handles
               WHERE platform = %s AND channel_id = %s ORDER BY valid_from LIMIT 200""",
            (platform, channel_id),
        )
    )


def channel_activity(
    conn: psycopg.Connection, platform: str, channel_id: int, *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Per UTC hour: posts published and views gained (analyst.channel_activity), at most 60 days' worth."""
    return _rows(
        conn.execute(
            """SELECT hour, posts, forwards_and_reposts, edited, views_now, views_gained FROM (
                   SELECT hour, posts, forwards_and_reposts, edited, views_now, views_gained
                   FROM analyst.channel_activity
                   WHERE platform = %s AND channel_id = %s AND (%s::timestamptz IS NULL OR hour >= %s)
                   ORDER BY hour DESC LIMIT 1440) s
               ORDER BY hour""",
            (platform, channel_id, since, since),
        )
    )


def channel_posts(
    conn: psycopg.Connection, platform: str, channel_id: int, *, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT p.platform, p.channel_id, p.channel, p.post_id, p.url, p.posted_at, p.edited_at, p.versions,
                      p.kind, p.lang, p.text, p.is_forward, p.fwd_channel, p.views, p.forwards, p.reposts, p.likes,
                      p.reactions_total, p.deleted_at
               FROM analyst.posts p WHERE p.platform = %s AND p.channel_id = %s
               ORDER BY p.posted_at DESC, p.post_id DESC LIMIT %s OFFSET %s""",
            (platform, channel_id, limit, offset),
        )
    )


def channel_runs(conn: psycopg.Connection, platform: str, channel_id: int, *, limit: int = 10) -> list[dict]:
    return _rows(
        conn.execute(
            """SELECT run_id, kind, source, target, started_at, finished_at, status, inserted, updated, rejected,
                      versions, metrics, deferred_until, error
               FROM analyst.ingest_runs WHERE platform = %s AND channel_id = %s
               ORDER BY started_at DESC LIMIT %s""",
            (platform, channel_id, limit),
        )
    )


def channel_cursors(conn: psycopg.Connection, platform: str, channel_id: int) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT source, last_post_id, last_posted_at, deferred_until,
                      coalesce(deferred_until > now(), false) AS deferred, updated_at
               FROM analyst.cursors WHERE platform = %s AND channel_id = %s ORDER BY source""",
            (platform, channel_id),
        )
    )


def channel_rejects(conn: psycopg.Connection, platform: str, channel_id: int) -> list[dict[str, Any]]:
    return _rows(
        conn.execute(
            """SELECT reason, count(*) AS records, max(rejected_at) AS last_at
               FROM analyst.rejected_records WHERE platform = %s AND channel_id = %s
               GROUP BY reason ORDER BY count(*) DESC, reason LIMIT 50""",
            (platform, channel_id),
        )
    )


# ------------------------------------------------------------------------------------------------ search


SEARCH_SORTS = ("newest", "rank")
# sort="rank" orders the newest this-many matches by rank: bounded work (tens of milliseconds) whatever the word;
# a rare word has fewer matches than this and is ranked whole. analyst.search(..., ranked => true) ranks them all.
RANK_WINDOW = 2000

_SEARCH_FILTERS = """(%(until)s::timestamptz IS NULL OR s.posted_at < %(until)s)
                     AND (%(platform)s::text IS NULL OR s.platform = %(platform)s)
                     AND (%(channel)s::text IS NULL OR s.channel = lower(%(channel)s))"""

# No ORDER BY or join at the level of analyst.search(): the rows keep its order (newest first; one scan of the
# inlined function, filtered), and the LIMIT reaches the function, so that the scan stops at the page's last row.
# An ORDER BY on another key (the old rank order) makes the planner read and sort every match first.
_SEARCH_NEWEST = f"""
SELECT page.*, {CHANNEL_TITLE.format("page")}
FROM (SELECT s.platform, s.channel, s.channel_id, s.post_id, s.posted_at, s.lang, s.url, s.rank, s.snippet
      FROM analyst.search(%(q)s, %(since)s) s
      WHERE {_SEARCH_FILTERS}
      LIMIT %(limit)s OFFSET %(offset)s) page"""  # noqa: S608 - constant clauses

# The newest RANK_WINDOW matches (their keys and ranks only: the snippet is not computed for them), the page of
# the best of them, then the snippets of that page.
_SEARCH_RANKED = f"""
WITH best AS (
    SELECT w.* FROM (SELECT s.platform, s.channel_id, s.post_id, s.posted_at, s.rank
                     FROM analyst.search(%(q)s, %(since)s) s
                     WHERE {_SEARCH_FILTERS}
                     LIMIT {RANK_WINDOW}) w
    ORDER BY w.rank DESC, w.posted_at DESC, w.platform, w.channel_id, w.post_id
    LIMIT %(limit)s OFFSET %(offset)s)
SELECT b.platform, p.channel, b.channel_id, b.post_id, b.posted_at, p.lang, p.url, b.rank,
       analyst.search_snippet(p.text, %(q)s) AS snippet, {CHANNEL_TITLE.format("b")}
FROM best b
JOIN analyst.posts p ON p.platform = b.platform AND p.channel_id = b.channel_id AND p.post_id = b.post_id
ORDER BY b.rank DESC, b.posted_at DESC, b.platform, b.channel_id, b.post_id"""  # noqa: S608 - constant clauses


def search(
    conn: psycopg.Connection,
    query: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    platform: str | None = None,
    channel: str | None = None,
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """analyst.search(): posts matching `query` (websearch syntax, any language), newest first, or with
    sort="rank" the best of the newest RANK_WINDOW matches first; with the snippet (hits marked with **) and the
    channel id for links."""
    if sort not in SEARCH_SORTS:
        raise ValueError(f"sort: one of {', '.join(SEARCH_SORTS)}")
    return _rows(
        conn.execute(
            _SEARCH_RANKED if sort == "rank" else _SEARCH_NEWEST,
            {
                "q": query,
                "since": since,
                "until": until,
                "platform": platform,
                "channel": channel.lstrip("@") if channel else None,
                "limit": limit,
                "offset": offset,
            },  # fmt: skip
        )
    )
