"""All SQL for replaying grouping: undo everything grouped from a time on (`rewind`) and recompute the state of
the events and storylines that remain (`rebuild_state`). `ingest.events.group` decides when to replay."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

from ingest.warehouse import rarity_days
from ingest.warehouse.event_writes import RESOLVE_EVENTS, RESOLVE_STORYLINES

Key = tuple[str, int, int]


def rewind(conn: psycopg.Connection, t0: datetime) -> dict[Key, tuple[int, int | None]]:
    """Undo everything grouped from `t0` on: assignments, merges, events and storylines created since. Returns
    the old (event, storyline) of each un-grouped post (so re-created ones can keep their ids). The remaining events and
    storylines get their state back as it was just before `t0`."""
    conn.execute(
        """CREATE TEMP TABLE IF NOT EXISTS replay_keys (platform text, channel_id bigint, post_id bigint)
           ON COMMIT DROP"""
    )
    conn.execute("TRUNCATE replay_keys")
    old = {
        (r[0], r[1], r[2]): (r[3], r[4])
        for r in conn.execute(
            """SELECT ep.platform, ep.channel_id, ep.post_id, ep.event_id, e.storyline_id
               FROM event_posts ep LEFT JOIN events e USING (event_id) WHERE ep.posted_at >= %s""",
            (t0,),
        )
    }
    conn.execute(
        "INSERT INTO replay_keys SELECT platform, channel_id, post_id FROM event_posts WHERE posted_at >= %s",
        (t0,),
    )
    ev_aff = {
        r[0]
        for r in conn.execute(
            """SELECT event_id FROM events WHERE last_post_at >= %(t)s
               UNION SELECT from_event_id FROM event_redirects WHERE merged_at >= %(t)s
               UNION SELECT to_event_id FROM event_redirects WHERE merged_at >= %(t)s""",
            {"t": t0},
        )
    }
    st_aff = {
        r[0]
        for r in conn.execute(
            """SELECT storyline_id FROM storylines WHERE last_post_at >= %(t)s
               UNION SELECT from_storyline_id FROM storyline_redirects WHERE merged_at >= %(t)s
               UNION SELECT to_storyline_id FROM storyline_redirects WHERE merged_at >= %(t)s
               UNION SELECT storyline_id FROM events WHERE event_id = ANY(%(e)s)""",
            {"t": t0, "e": list(ev_aff)},
        )
    }
    conn.execute("DELETE FROM event_posts WHERE posted_at >= %s", (t0,))
    rarity_days.forget_from(conn, t0)
    conn.execute("DELETE FROM event_redirects WHERE merged_at >= %s", (t0,))
    conn.execute("DELETE FROM storyline_redirects WHERE merged_at >= %s", (t0,))
    conn.execute("DELETE FROM events WHERE first_post_at >= %s", (t0,))
    conn.execute("DELETE FROM storylines WHERE first_post_at >= %s", (t0,))
    rebuild_state(conn, sorted(ev_aff), sorted(st_aff))
    return old


def rebuild_state(conn: psycopg.Connection, events: Sequence[int], storylines: Sequence[int]) -> None:
    """After a rewind: current ids, activity and centroids of the affected events and storylines, recomputed
    from the assignments and redirects that remain."""
    ev, st = list(events), list(storylines)
    conn.execute(
        RESOLVE_EVENTS
        + """UPDATE events e SET merged_into = final.to_id
             FROM events x LEFT JOIN final ON final.from_id = x.event_id
             WHERE x.event_id = e.event_id AND e.event_id = ANY(%s)
               AND e.merged_into IS DISTINCT FROM final.to_id""",
        (ev,),
    )
    conn.execute(
        RESOLVE_EVENTS
        + """UPDATE event_posts ep SET event_id = coalesce(final.to_id, ep.assigned_event_id)
             FROM event_posts x LEFT JOIN final ON final.from_id = x.assigned_event_id
             WHERE (x.platform, x.channel_id, x.post_id) = (ep.platform, ep.channel_id, ep.post_id)
               AND (ep.event_id = ANY(%(e)s) OR ep.assigned_event_id = ANY(%(e)s))
               AND ep.event_id IS DISTINCT FROM coalesce(final.to_id, ep.assigned_event_id)""",
        {"e": ev},
    )
    conn.execute(
        RESOLVE_STORYLINES
        + """UPDATE storylines s SET merged_into = final.to_id
             FROM storylines x LEFT JOIN final ON final.from_id = x.storyline_id
             WHERE x.storyline_id = s.storyline_id AND s.storyline_id = ANY(%s)
               AND s.merged_into IS DISTINCT FROM final.to_id""",
        (st,),
    )
    conn.execute(
        RESOLVE_STORYLINES
        + """UPDATE events e SET storyline_id = coalesce(final.to_id, e.assigned_storyline_id)
             FROM events x LEFT JOIN final ON final.from_id = x.assigned_storyline_id
             WHERE x.event_id = e.event_id
               AND (e.storyline_id = ANY(%(s)s) OR e.assigned_storyline_id = ANY(%(s)s))
               AND e.storyline_id IS DISTINCT FROM coalesce(final.to_id, e.assigned_storyline_id)""",
        {"s": st},
    )
    conn.execute(
        """UPDATE events e SET centroid_idx = coalesce(c.idx, '{}'), centroid_val = coalesce(c.val, '{}'),
                  last_post_at = coalesce(a.last_at, e.first_post_at), post_count = coalesce(a.n, 0)
           FROM events x
           LEFT JOIN LATERAL (SELECT max(posted_at) AS last_at, count(*) AS n FROM event_posts m
                              WHERE m.event_id = x.event_id) a ON true
           LEFT JOIN LATERAL (
               SELECT array_agg(i ORDER BY i) AS idx, array_agg(v ORDER BY i) AS val
               FROM (SELECT u.i, sum(u.v)::bigint AS v FROM event_posts m, unnest(m.vec_idx, m.vec_val) AS u(i, v)
                     WHERE m.event_id = x.event_id GROUP BY u.i) s) c ON true
           WHERE x.event_id = e.event_id AND e.event_id = ANY(%s)""",
        (ev,),
    )
    conn.execute(
        """UPDATE storylines s SET centroid_idx = coalesce(c.idx, '{}'), centroid_val = coalesce(c.val, '{}'),
                  last_post_at = coalesce(a.last_at, s.first_post_at), post_count = coalesce(a.n, 0)
           FROM storylines x
           LEFT JOIN LATERAL (SELECT max(m.posted_at) AS last_at, count(*) AS n FROM event_posts m
                              JOIN events e ON e.event_id = m.event_id WHERE e.storyline_id = x.storyline_id) a ON true
           LEFT JOIN LATERAL (
               SELECT array_agg(i ORDER BY i) AS idx, array_agg(v ORDER BY i) AS val
               FROM (SELECT u.i, sum(u.v)::bigint AS v FROM event_posts m JOIN events e ON e.event_id = m.event_id,
                            unnest(m.vec_idx, coalesce(m.story_val, m.vec_val)) AS u(i, v)
                     WHERE e.storyline_id = x.storyline_id GROUP BY u.i) s) c ON true
           WHERE x.storyline_id = s.storyline_id AND s.storyline_id = ANY(%s)""",
        (st,),
    )
