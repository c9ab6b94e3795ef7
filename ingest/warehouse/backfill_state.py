"""What a backfill has already done: the windows with a succeeded run per source and target, from ingest_runs."""

from __future__ import annotations

from datetime import datetime

import psycopg


def succeeded_windows(
    conn: psycopg.Connection,
    targets: list[tuple[str, str]],
    since: datetime,
    until: datetime,
) -> set[tuple[str, str, datetime, datetime]]:
    """(source, target, window_start, window_end) of every succeeded run of the given (source, target) pairs
    whose window lies inside [since, until). Any kind counts: an hourly DAG run of a window is as good as a
    backfill chunk of it."""
    if not targets:
        return set()
    rows = conn.execute(
        """SELECT DISTINCT r.source, r.target, r.window_start, r.window_end
           FROM ingest_runs r
           JOIN unnest(%s::text[], %s::text[]) AS t(source, target)
             ON r.source = t.source AND r.target = t.target
           WHERE r.status = 'succeeded' AND r.window_start >= %s AND r.window_end <= %s""",
        ([s for s, _ in targets], [t for _, t in targets], since, until),
    ).fetchall()
    return {(r[0], r[1], r[2], r[3]) for r in rows}
