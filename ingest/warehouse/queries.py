"""Read queries the CLI and the pipeline need (posts for a quick look, channel lookups, table counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

COUNTED_TABLES = (
    "channels", "channel_aliases", "posts", "post_versions", "post_metrics", "raw_records", "rejected_records",
    "cursors",
)  # fmt: skip


def find_channel(conn: psycopg.Connection, platform: str, handle: str) -> int | None:
    row = conn.execute(
        "SELECT channel_id FROM channels WHERE platform = %s AND lower(handle) = lower(%s) ORDER BY updated_at DESC LIMIT 1",
        (platform, handle.lstrip("@")),
    ).fetchone()
    return row[0] if row else None


def list_posts(
    conn: psycopg.Connection,
    *,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Posts newest first; `channel` matches a handle (current or past) or a numeric id."""
    cur = conn.execute(
        """SELECT p.platform, p.channel_id, c.handle, c.title, p.post_id, p.posted_at, p.edited_at, p.text, p.lang, p.url,
                  p.views, p.forwards, p.fwd_channel_id, p.fwd_post_id, p.deleted_at,
                  (SELECT count(*) FROM post_versions v WHERE (v.platform, v.channel_id, v.post_id)
                       = (p.platform, p.channel_id, p.post_id)) AS versions
           FROM posts p LEFT JOIN channels c USING (platform, channel_id)
           WHERE (%(channel)s::text IS NULL
                  OR p.channel_id::text = %(channel)s
                  OR lower(c.handle) = lower(%(channel)s)
                  OR EXISTS (SELECT 1 FROM channel_aliases a WHERE a.platform = p.platform
                             AND a.channel_id = p.channel_id AND lower(a.handle) = lower(%(channel)s)))
             AND (%(since)s::timestamptz IS NULL OR p.posted_at >= %(since)s)
             AND (%(until)s::timestamptz IS NULL OR p.posted_at < %(until)s)
           ORDER BY p.posted_at DESC, p.post_id DESC LIMIT %(limit)s""",
        {"channel": channel.lstrip("@") if channel else None, "since": since, "until": until, "limit": limit},
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def table_counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES}  # noqa: S608


def table_checksums(conn: psycopg.Connection, tables: tuple[str, ...] = COUNTED_TABLES) -> dict[str, str]:
    """An order-independent checksum of each table's rows, minus bookkeeping times: equal means same data."""
    skip = {"first_seen_at", "last_seen_at", "updated_at", "observed_at", "metrics_observed_at", "fetched_at", "rejected_at", "run_id",
            "resolved_at", "valid_from", "valid_to"}  # fmt: skip
    out = {}
    for t in tables:
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
                "ORDER BY ordinal_position",
                (t,),
            )
            if r[0] not in skip and r[0] != "id"
        ]
        expr = "row(" + ", ".join(cols) + ")::text"
        out[t] = conn.execute(
            f"SELECT coalesce(md5(string_agg(md5({expr}), '' ORDER BY md5({expr}))), '') FROM {t}"  # noqa: S608
        ).fetchone()[0]
    return out


def post_summary(conn: psycopg.Connection) -> dict[str, Any]:
    row = conn.execute(
        "SELECT count(*), count(DISTINCT (platform, channel_id)), min(posted_at), max(posted_at) FROM posts"
    ).fetchone()
    return {"posts": row[0], "channels": row[1], "first": row[2], "last": row[3]}
