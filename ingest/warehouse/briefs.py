"""All SQL for briefs: an event's posts as a brief needs them, a digest of those inputs, and the `briefs` table
(one stored brief per current event, rewritten only when its digest changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Json

from ingest.textsafe import telegram_post_url, x_post_url
from ingest.warehouse.brief_inputs import ChannelInfo, EventInput, PostInput, VersionInput

# Bump when the brief's content or format changes: every stored brief then counts as stale and is rewritten.
# 2 (2026-12-05): figures say what a bound means and keep both ends of a range, names in quotation marks are not
# quotes, a value one source gives several of is not a disagreement.
BRIEF_FORMAT = 2

# A Desktop export names the forwarded channel but not the original's id: the original is that channel's post
# at the forwarded time or, without a time, its latest earlier post with the same text (as grouping resolves it).
# A t.me/s page names the origin by handle only (fwd_handle): the channel with that handle.
_FROM = """
FROM event_posts ep
JOIN posts p USING (platform, channel_id, post_id)
LEFT JOIN channels c ON c.platform = p.platform AND c.channel_id = p.channel_id
LEFT JOIN LATERAL (
    SELECT ch.channel_id, ch.handle, ch.title FROM channels ch
    WHERE ch.platform = coalesce(p.fwd_platform, 'telegram')
      AND (ch.channel_id = p.fwd_channel_id
           OR (p.fwd_channel_id IS NULL AND p.fwd_handle IS NOT NULL AND lower(ch.handle) = lower(p.fwd_handle)))
    ORDER BY (ch.channel_id = p.fwd_channel_id) DESC LIMIT 1) fc ON true
LEFT JOIN LATERAL (
    SELECT o.post_id, o.url FROM posts o
    WHERE (p.fwd_channel_id IS NOT NULL OR p.fwd_handle IS NOT NULL)
      AND o.platform = coalesce(p.fwd_platform, 'telegram') AND o.channel_id = fc.channel_id
      AND (o.post_id = p.fwd_post_id
           OR (p.fwd_post_id IS NULL AND (o.posted_at = p.fwd_posted_at
               OR (p.fwd_posted_at IS NULL AND o.posted_at <= p.posted_at AND o.text = p.text AND p.text <> ''))))
    ORDER BY (o.post_id = p.fwd_post_id) DESC, o.posted_at DESC, o.post_id LIMIT 1) fo ON true
LEFT JOIN channels rc ON rc.platform = p.platform AND rc.channel_id = p.reposted_channel_id
LEFT JOIN posts rp ON rp.platform = p.platform AND rp.channel_id = p.reposted_channel_id
                  AND rp.post_id = p.reposted_post_id
"""

_INPUT_COLS = """ep.event_id, ep.platform, ep.channel_id, ep.post_id, p.posted_at, ep.role, ep.joined_by, ep.dup_key,
    p.text, p.lang, p.url, c.handle, c.title,
    (p.fwd_channel_id IS NOT NULL OR p.fwd_post_id IS NOT NULL OR p.fwd_name IS NOT NULL OR p.fwd_handle IS NOT NULL),
    coalesce(p.fwd_platform, 'telegram'), coalesce(p.fwd_channel_id, fc.channel_id),
    coalesce(fc.handle, lower(p.fwd_handle)), coalesce(fc.title, p.fwd_name), fo.url,
    coalesce(p.fwd_post_id, fo.post_id), p.fwd_posted_at,
    p.reposted_channel_id, p.reposted_post_id, rc.handle, rc.title, rp.url,
    p.quoted_post_id, p.reply_to_post_id, p.content_hash"""

# What a brief depends on, per post: change any of it and the brief is regenerated. Counts (views, likes) are
# left out on purpose: they change every fetch and a brief does not show them.
_DIGEST = f"""
SELECT ep.event_id,
       md5(%(fmt)s || ':' || string_agg(
           concat_ws('|', ep.platform, ep.channel_id, ep.post_id, p.posted_at, ep.role, ep.joined_by, ep.dup_key,
                     p.content_hash, p.lang, p.url, c.handle, c.title, fc.handle, fc.title, fo.url, fo.post_id,
                     rc.handle, rc.title, rp.url, e.storyline_id,
                     (SELECT count(*) FROM post_versions v WHERE v.platform = p.platform
                        AND v.channel_id = p.channel_id AND v.post_id = p.post_id)),
           '#' ORDER BY p.posted_at, ep.platform, ep.channel_id, ep.post_id))
{_FROM}
JOIN events e ON e.event_id = ep.event_id
WHERE ep.event_id = ANY(%(ids)s)
GROUP BY ep.event_id
"""


def event_digests(conn: psycopg.Connection, event_ids: Sequence[int]) -> dict[int, str]:
    """A digest of everything each event's brief is built from."""
    if not event_ids:
        return {}
    return dict(conn.execute(_DIGEST, {"ids": list(event_ids), "fmt": str(BRIEF_FORMAT)}).fetchall())


def current_event_id(conn: psycopg.Connection, event_id: int) -> int | None:
    """The event's current id (following merges), None if unknown."""
    from ingest.warehouse.event_reads import resolve_event

    return resolve_event(conn, event_id)


def event_inputs(conn: psycopg.Connection, event_ids: Sequence[int]) -> dict[int, EventInput]:
    """The events (current ids) with their posts and the versions of edited posts."""
    if not event_ids:
        return {}
    ids = list(event_ids)
    heads = {
        r[0]: r
        for r in conn.execute(
            """SELECT event_id, storyline_id, title, first_post_at, last_post_at FROM events
               WHERE event_id = ANY(%s) AND merged_into IS NULL""",
            (ids,),
        )
    }
    rows = conn.execute(
        f"SELECT {_INPUT_COLS} {_FROM} WHERE ep.event_id = ANY(%s) ORDER BY p.posted_at, ep.platform, ep.channel_id, ep.post_id",  # noqa: S608
        (ids,),
    ).fetchall()
    versions: dict[tuple, list[VersionInput]] = {}
    for pl, ch, pid, at, text in conn.execute(
        """SELECT v.platform, v.channel_id, v.post_id, v.version_at, v.text
           FROM post_versions v JOIN event_posts ep USING (platform, channel_id, post_id)
           WHERE ep.event_id = ANY(%s) ORDER BY v.version_at, v.observed_at""",
        (ids,),
    ):
        versions.setdefault((pl, ch, pid), []).append(VersionInput(at, text))
    posts: dict[int, list[PostInput]] = {}
    for r in rows:
        (eid, pl, ch, pid, at, role, joined, dup, text, lang, url, handle, title, is_fwd, fpl, fch, fhandle,
         ftitle, furl, fpid, fat, rch, rpid, rhandle, rtitle, rurl, qpid, reply, _ch) = r  # fmt: skip
        fwd = ChannelInfo(fpl, fch, fhandle, ftitle, furl) if is_fwd else None
        rep = ChannelInfo(pl, rch, rhandle, rtitle, rurl) if rpid is not None else None
        posts.setdefault(eid, []).append(
            PostInput(
                platform=pl,
                channel_id=ch,
                post_id=pid,
                posted_at=at,
                text=text or "",
                url=url,
                channel=ChannelInfo(pl, ch, handle, title, url),
                role=role,
                joined_by=joined,
                lang=lang,
                dup_key=dup,
                forwarded_from=fwd,
                fwd_post_id=fpid,
                fwd_posted_at=fat,
                fwd_url=furl or (telegram_post_url(fhandle, fch, fpid) if fpid else None),
                reposted_from=rep,
                reposted_post_id=rpid,
                reposted_url=rurl or (x_post_url(None, rpid) if rpid else None),
                quoted_post_id=qpid,
                reply_to_post_id=reply,
                versions=tuple(versions.get((pl, ch, pid), ())),
            )  # fmt: skip
        )
    digests = event_digests(conn, ids)
    return {
        eid: EventInput(eid, h[1], h[2], h[3], h[4], tuple(posts.get(eid, ())), digests.get(eid, ""))
        for eid, h in heads.items()
        if posts.get(eid)
    }


def events_in_window(
    conn: psycopg.Connection, since: datetime | None, until: datetime | None, *, min_posts: int = 1
) -> list[int]:
    """Current events with a post in [since, until)."""
    return [
        r[0]
        for r in conn.execute(
            """SELECT event_id FROM events
               WHERE merged_into IS NULL AND post_count >= %(min)s
                 AND (%(since)s::timestamptz IS NULL OR last_post_at >= %(since)s)
                 AND (%(until)s::timestamptz IS NULL OR first_post_at < %(until)s)
               ORDER BY first_post_at, event_id""",
            {"since": since, "until": until, "min": min_posts},
        )
    ]


def stored_digests(conn: psycopg.Connection, event_ids: Sequence[int]) -> dict[int, str]:
    return dict(
        conn.execute(
            "SELECT event_id, content_hash FROM briefs WHERE event_id = ANY(%s)", (list(event_ids),)
        ).fetchall()
    )


def store_briefs(conn: psycopg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert briefs: dicts with event_id, generated_at, content_hash, markdown, json, headline, first_seen_at,
    last_post_at, post_count, source_count, languages."""
    if not rows:
        return
    conn.cursor().executemany(
        """INSERT INTO briefs (event_id, generated_at, content_hash, headline, first_seen_at, last_post_at,
                               post_count, source_count, languages, markdown, json)
           VALUES (%(event_id)s, %(generated_at)s, %(content_hash)s, %(headline)s, %(first_seen_at)s,
                   %(last_post_at)s, %(post_count)s, %(source_count)s, %(languages)s, %(markdown)s, %(json)s)
           ON CONFLICT (event_id) DO UPDATE SET generated_at = EXCLUDED.generated_at,
               content_hash = EXCLUDED.content_hash, headline = EXCLUDED.headline,
               first_seen_at = EXCLUDED.first_seen_at, last_post_at = EXCLUDED.last_post_at,
               post_count = EXCLUDED.post_count, source_count = EXCLUDED.source_count,
               languages = EXCLUDED.languages, markdown = EXCLUDED.markdown, json = EXCLUDED.json""",
        [{**r, "json": Json(r["json"], dumps=lambda o: orjson.dumps(o).decode())} for r in rows],
    )


def drop_stale_briefs(conn: psycopg.Connection) -> int:
    """Delete briefs of events that were merged away or no longer exist (a regroup removed them)."""
    return conn.execute(
        """DELETE FROM briefs b WHERE NOT EXISTS (
               SELECT 1 FROM events e WHERE e.event_id = b.event_id AND e.merged_into IS NULL)"""
    ).rowcount


def get_brief(conn: psycopg.Connection, event_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT event_id, generated_at, content_hash, markdown, json FROM briefs WHERE event_id = %s",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    return {
        "event_id": row[0],
        "generated_at": row[1],
        "content_hash": row[2],
        "markdown": row[3],
        "json": row[4],
    }


def event_of_post(conn: psycopg.Connection, platform: str, channel_id: int, post_id: int) -> int | None:
    row = conn.execute(
        "SELECT event_id FROM event_posts WHERE platform = %s AND channel_id = %s AND post_id = %s",
        (platform, channel_id, post_id),
    ).fetchone()
    return row[0] if row else None


def has_events(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM event_posts)").fetchone()[0]
