"""All SQL for writing groups: events, storylines and event_posts (binary COPY, then an upsert), redirects, and
the summaries analysts read (roles, origin, counts, independent sources, titles). `ingest.events.group` decides
what to write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from ingest.warehouse.numpy_arrays import numpy_cursor

# Current ids through chains of redirects (a merged cluster merged again), as a CTE named `final`.
RESOLVE_EVENTS = """
WITH RECURSIVE chain(from_id, to_id, depth) AS (
    SELECT from_event_id, to_event_id, 1 FROM event_redirects
    UNION ALL
    SELECT c.from_id, r.to_event_id, c.depth + 1 FROM chain c JOIN event_redirects r ON r.from_event_id = c.to_id
    WHERE c.depth < 1000
), final AS (
    SELECT DISTINCT ON (from_id) from_id, to_id FROM chain ORDER BY from_id, depth DESC
)
"""

RESOLVE_STORYLINES = """
WITH RECURSIVE chain(from_id, to_id, depth) AS (
    SELECT from_storyline_id, to_storyline_id, 1 FROM storyline_redirects
    UNION ALL
    SELECT c.from_id, r.to_storyline_id, c.depth + 1 FROM chain c
    JOIN storyline_redirects r ON r.from_storyline_id = c.to_id WHERE c.depth < 1000
), final AS (
    SELECT DISTINCT ON (from_id) from_id, to_id FROM chain ORDER BY from_id, depth DESC
)
"""


def _copy_upsert(
    conn: psycopg.Connection, table: str, cols: Sequence[tuple[str, str]], rows: Iterable[tuple], conflict: str,
    update: Sequence[str], *, touch: str = "updated_at", try_direct: bool = False,
) -> None:  # fmt: skip
    """Binary COPY of rows (columns as (name, type); integer arrays as numpy arrays) into `table`: straight in
    when `try_direct` and none of the keys exists yet (a savepoint catches the exception), else through a
    temporary stage and an upsert on `conflict` setting `update` and the `touch` timestamp."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return
    names = ", ".join(c for c, _ in cols)
    types = [t for _, t in cols]

    def copy_into(target: str) -> None:
        with (
            numpy_cursor(conn) as cur,
            cur.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(types)
            for r in rows:
                copy.write_row(r)

    if try_direct:
        try:
            with conn.transaction():
                copy_into(table)
            return
        except psycopg.errors.UniqueViolation:
            pass  # some rows replace existing ones: the upsert below
    stage = f"stage_{table}"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update)
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    conn.execute(f"TRUNCATE {stage}")
    copy_into(stage)
    conn.execute(
        f"""INSERT INTO {table} ({names}) SELECT {names} FROM {stage}
            ON CONFLICT ({conflict}) DO UPDATE SET {sets}, {touch} = now()"""
    )


def write_storylines(conn: psycopg.Connection, rows: Sequence[tuple]) -> None:
    """Upsert storylines: (id, first_at, last_at, first key (3), idx, val, merged_into); idx and val are integer
    arrays (numpy or sequences)."""
    _copy_upsert(
        conn, "storylines",
        [("storyline_id", "int8"), ("first_post_at", "timestamptz"), ("last_post_at", "timestamptz"),
         ("first_platform", "text"), ("first_channel_id", "int8"), ("first_post_id", "int8"),
         ("centroid_idx", "int4[]"), ("centroid_val", "int8[]"), ("merged_into", "int8")],
        rows, "storyline_id", ("last_post_at", "centroid_idx", "centroid_val", "merged_into"),
    )  # fmt: skip


def write_events(conn: psycopg.Connection, rows: Sequence[tuple]) -> None:
    """Upsert events: (id, storyline, assigned storyline, first_at, last_at, origin key (3), idx, val, merged)."""
    _copy_upsert(
        conn, "events",
        [("event_id", "int8"), ("storyline_id", "int8"), ("assigned_storyline_id", "int8"),
         ("first_post_at", "timestamptz"), ("last_post_at", "timestamptz"), ("origin_platform", "text"),
         ("origin_channel_id", "int8"), ("origin_post_id", "int8"), ("centroid_idx", "int4[]"),
         ("centroid_val", "int8[]"), ("merged_into", "int8")],
        rows, "event_id", ("storyline_id", "last_post_at", "centroid_idx", "centroid_val", "merged_into"),
    )  # fmt: skip


def write_event_posts(conn: psycopg.Connection, rows: Iterable[tuple]) -> None:
    """(platform, channel_id, post_id, event_id, assigned_event_id, posted_at, role, joined_by, similarity,
    content_hash, dup_key, lead_key, vec_idx, vec_val, story_val, title, main_key, sentence_keys, tag_keys) ->
    event_posts. A run writes rows only for posts without one (replayed rows were deleted first), so COPY goes
    straight in; a key that exists is replaced."""
    _copy_upsert(
        conn, "event_posts",
        [("platform", "text"), ("channel_id", "int8"), ("post_id", "int8"), ("event_id", "int8"),
         ("assigned_event_id", "int8"), ("posted_at", "timestamptz"), ("role", "text"), ("joined_by", "text"),
         ("similarity", "float4"), ("content_hash", "int8"), ("dup_key", "int8"), ("lead_key", "int8"),
         ("vec_idx", "int4[]"),
         ("vec_val", "int2[]"), ("story_val", "int2[]"), ("title", "text"), ("main_key", "int8"),
         ("sentence_keys", "int8[]"), ("tag_keys", "int8[]")],
        rows, "platform, channel_id, post_id",
        ("event_id", "assigned_event_id", "posted_at", "role", "joined_by", "similarity", "content_hash",
         "dup_key", "lead_key", "vec_idx", "vec_val", "story_val", "title", "main_key", "sentence_keys",
         "tag_keys"),
        touch="grouped_at", try_direct=True,
    )  # fmt: skip


def write_redirects(conn: psycopg.Connection, events: Sequence[tuple], storylines: Sequence[tuple]) -> None:
    """(from, to, merged_at) rows; current ids of posts and events follow."""
    cur = conn.cursor()
    if events:
        cur.executemany(
            """INSERT INTO event_redirects (from_event_id, to_event_id, merged_at) VALUES (%s, %s, %s)
               ON CONFLICT (from_event_id) DO UPDATE SET to_event_id = EXCLUDED.to_event_id,
                   merged_at = EXCLUDED.merged_at""",
            events,
        )
    if storylines:
        cur.executemany(
            """INSERT INTO storyline_redirects (from_storyline_id, to_storyline_id, merged_at) VALUES (%s, %s, %s)
               ON CONFLICT (from_storyline_id) DO UPDATE SET to_storyline_id = EXCLUDED.to_storyline_id,
                   merged_at = EXCLUDED.merged_at""",
            storylines,
        )
    if events:
        conn.execute(
            RESOLVE_EVENTS
            + """UPDATE event_posts ep SET event_id = final.to_id FROM final
                 WHERE ep.assigned_event_id = final.from_id AND ep.event_id IS DISTINCT FROM final.to_id"""
        )
    if storylines:
        conn.execute(
            RESOLVE_STORYLINES
            + """UPDATE events e SET storyline_id = final.to_id FROM final
                 WHERE e.assigned_storyline_id = final.from_id AND e.storyline_id IS DISTINCT FROM final.to_id"""
        )


def refresh_summaries(
    conn: psycopg.Connection, event_ids: Sequence[int], storyline_ids: Sequence[int]
) -> None:
    """Recompute what analysts read: roles, origin, counts, independent sources and titles. (An event's title
    falls back to a post's published first line only when none of its rows holds a cleaned title, rows written
    before migration 018: only those rows' texts are gathered for it, not every member's whole text.)"""
    if event_ids:
        ids = list(event_ids)
        # The earliest post that is not a forward is the origin; other non-forwards are reports.
        conn.execute(
            """WITH ranked AS (
                   SELECT platform, channel_id, post_id, role,
                          row_number() OVER (PARTITION BY event_id
                                             ORDER BY (role = 'forward'), posted_at, platform, channel_id, post_id) AS rn
                   FROM event_posts WHERE event_id = ANY(%s))
               UPDATE event_posts ep SET role = CASE WHEN r.rn = 1 AND r.role <> 'forward' THEN 'origin'
                                                     WHEN r.role = 'forward' THEN 'forward' ELSE 'report' END
               FROM ranked r WHERE (r.platform, r.channel_id, r.post_id) = (ep.platform, ep.channel_id, ep.post_id)
                 AND ep.role IS DISTINCT FROM CASE WHEN r.rn = 1 AND r.role <> 'forward' THEN 'origin'
                                                   WHEN r.role = 'forward' THEN 'forward' ELSE 'report' END""",
            (ids,),
        )
        conn.execute(
            """UPDATE events e SET post_count = s.n, first_post_at = least(e.first_post_at, s.first_at),
                      last_post_at = s.last_at, source_count = s.sources,
                      origin_platform = s.o_platform, origin_channel_id = s.o_channel, origin_post_id = s.o_post,
                      title = s.title, updated_at = now()
               FROM (
                   SELECT ep.event_id, count(*) AS n, min(ep.posted_at) AS first_at, max(ep.posted_at) AS last_at,
                          count(DISTINCT CASE
                              WHEN ep.role = 'forward' THEN
                                  coalesce(p.fwd_platform, p.platform) || ':' ||
                                  coalesce(p.fwd_channel_id, p.reposted_channel_id, p.channel_id)::text
                              WHEN ep.joined_by = 'duplicate' THEN NULL
                              ELSE p.platform || ':' || p.channel_id::text END) AS sources,
                          (array_agg(ep.platform ORDER BY (ep.role <> 'origin'), ep.posted_at))[1] AS o_platform,
                          (array_agg(ep.channel_id ORDER BY (ep.role <> 'origin'), ep.posted_at))[1] AS o_channel,
                          (array_agg(ep.post_id ORDER BY (ep.role <> 'origin'), ep.posted_at))[1] AS o_post,
                          coalesce(
                              (array_agg(ep.title ORDER BY (ep.title = ''), (ep.role <> 'origin'), ep.posted_at)
                                   FILTER (WHERE ep.title IS NOT NULL))[1],
                              left(split_part(btrim((array_agg(p.text ORDER BY (ep.role <> 'origin'), (p.text = ''), ep.posted_at)
                                                     FILTER (WHERE ep.title IS NULL))[1]),
                                         E'\n', 1), 160)) AS title
                   FROM event_posts ep JOIN posts p USING (platform, channel_id, post_id)
                   WHERE ep.event_id = ANY(%s) GROUP BY ep.event_id) s
               WHERE e.event_id = s.event_id""",
            (ids,),
        )
    if storyline_ids:
        conn.execute(
            """UPDATE storylines s SET post_count = x.n, event_count = x.events, title = x.title,
                      last_post_at = greatest(s.last_post_at, x.last_at), updated_at = now()
               FROM (SELECT storyline_id, sum(post_count) AS n, count(*) AS events, max(last_post_at) AS last_at,
                            (array_agg(title ORDER BY post_count DESC, first_post_at))[1] AS title
                     FROM events WHERE storyline_id = ANY(%s) AND merged_into IS NULL GROUP BY storyline_id) x
               WHERE s.storyline_id = x.storyline_id""",
            (list(storyline_ids),),
        )
