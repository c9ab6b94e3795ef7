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


def record_new_channels(
    conn: psycopg.Connection, platform: str, rows: list[tuple[int, str | None, str | None]]
) -> list[tuple[int, str | None, str | None]]:
    """Insert at once the (channel_id, handle, title) rows of channels the warehouse has never seen whose handle no
    other channel holds, holds open as an alias, or shares in `rows`: what `record_channel` would do for each of
    them, in three statements instead of six round trips a channel (a first import of 500 X accounts spent 0.45 s
    on them). Returns the rows it left to `record_channel` (known channels, handles in use)."""
    if not rows:
        return []
    counts: dict[str, int] = {}
    for _, handle, _ in rows:
        if handle:
            counts[handle] = counts.get(handle, 0) + 1
    ids = [r[0] for r in rows]
    handles = [r[1] if r[1] and counts[r[1]] == 1 else None for r in rows]
    clear = {
        cid
        for (cid,) in conn.execute(
            """SELECT k.channel_id FROM unnest(%s::bigint[], %s::text[]) AS k(channel_id, handle)
               WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.platform = %s AND c.channel_id = k.channel_id)
                 AND (k.handle IS NULL
                      OR (NOT EXISTS (SELECT 1 FROM channels c WHERE c.platform = %s AND c.handle = k.handle)
                          AND NOT EXISTS (SELECT 1 FROM channel_aliases a WHERE a.platform = %s
                                          AND a.valid_to IS NULL AND a.handle = k.handle)))""",
            (ids, handles, platform, platform, platform),
        )
    }
    taken = [r for r, h in zip(rows, handles, strict=True) if r[0] in clear and (h is not None or not r[1])]
    if taken:
        params = ([r[0] for r in taken], [r[1] for r in taken], [r[2] for r in taken], platform)
        conn.execute(
            """INSERT INTO channels (platform, channel_id, handle, title, watched)
               SELECT %s, k.channel_id, k.handle, k.title, false
               FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS k(channel_id, handle, title)
               ON CONFLICT DO NOTHING""",
            (platform, *params[:3]),
        )
        conn.execute(
            """INSERT INTO channel_aliases (platform, channel_id, handle, valid_from)
               SELECT %s, k.channel_id, k.handle, now()
               FROM unnest(%s::bigint[], %s::text[]) AS k(channel_id, handle) WHERE k.handle <> ''
               ON CONFLICT DO NOTHING""",
            (platform, params[0], params[1]),
        )
    done = {r[0] for r in taken}
    return [r for r in rows if r[0] not in done]
