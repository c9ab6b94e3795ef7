"""Channels and their handle history: a channel row per platform id, and one alias row per handle it held."""

from __future__ import annotations

import psycopg


def record_channel(
    conn: psycopg.Connection,
    platform: str,
    channel_id: int,
    handle: str | None,
    title: str | None,
    *,
    watched: bool | None = None,
    source: str | None = None,
    access_hash: int | None = None,
    resolved: bool = False,
    configured: bool = False,
) -> None:
    """Insert or refresh a channel; keep the alias history when the handle changes.

    `configured`: handle and title come from channels.toml, not from the platform. They name a channel the
    warehouse has not seen yet; once the platform has given its handle (a rename included), they change nothing.
    """
    row = conn.execute(
        "SELECT handle FROM channels WHERE platform = %s AND channel_id = %s FOR UPDATE",
        (platform, channel_id),
    ).fetchone()
    if configured and row is not None and row[0]:
        handle, title = None, None
    if row is None:
        # A handle now held by this id cannot still belong to another channel: close that alias.
        conn.execute(
            """INSERT INTO channels (platform, channel_id, handle, title, watched, source, access_hash, resolved_at)
               VALUES (%s, %s, %s, %s, coalesce(%s, false), %s, %s, CASE WHEN %s THEN now() END)
               ON CONFLICT DO NOTHING""",
            (platform, channel_id, handle, title, watched, source, access_hash, resolved),
        )
    else:
        # Only a real change (or a resolution) touches the row: re-importing a file leaves updated_at alone.
        conn.execute(
            """UPDATE channels SET handle = coalesce(%(handle)s, handle), title = coalesce(%(title)s, title),
                      watched = coalesce(%(watched)s, watched), source = coalesce(%(source)s, source),
                      access_hash = coalesce(%(access_hash)s, access_hash),
                      resolved_at = CASE WHEN %(resolved)s THEN now() ELSE resolved_at END, updated_at = now()
               WHERE platform = %(platform)s AND channel_id = %(channel_id)s
                 AND (%(resolved)s OR (handle, title, watched, source, access_hash) IS DISTINCT FROM
                      (coalesce(%(handle)s, handle), coalesce(%(title)s, title), coalesce(%(watched)s, watched),
                       coalesce(%(source)s, source), coalesce(%(access_hash)s, access_hash)))""",
            {"handle": handle, "title": title, "watched": watched, "source": source, "access_hash": access_hash,
             "resolved": resolved, "platform": platform, "channel_id": channel_id},
        )  # fmt: skip
    if handle:
        current = conn.execute(
            """SELECT handle FROM channel_aliases WHERE platform = %s AND channel_id = %s AND valid_to IS NULL""",
            (platform, channel_id),
        ).fetchone()
        if current is None or current[0] != handle:
            conn.execute(
                """UPDATE channel_aliases SET valid_to = now()
                   WHERE platform = %s AND valid_to IS NULL AND (channel_id = %s OR handle = %s)""",
                (platform, channel_id, handle),
            )
            # Another channel that held this handle no longer does.
            conn.execute(
                """UPDATE channels SET handle = NULL, updated_at = now()
                   WHERE platform = %s AND handle = %s AND channel_id <> %s""",
                (platform, handle, channel_id),
            )
            conn.execute(
                """INSERT INTO channel_aliases (platform, channel_id, handle, valid_from)
                   VALUES (%s, %s, %s, now()) ON CONFLICT DO NOTHING""",
                (platform, channel_id, handle),
            )
