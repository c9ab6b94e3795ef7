"""Run records and cursors.

A run row is committed as 'running' before any data moves, holding the PostgreSQL backend pid and start time of
its connection. If the process dies, that backend goes away; the next run (or `wirewatch runs`) marks such rows
failed. Cursors are written only inside the transaction that commits the rows they cover.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ingest.models import Cursor

log = logging.getLogger(__name__)


def reap_dead_runs(conn: psycopg.Connection) -> int:
    """Mark 'running' runs whose database session no longer exists as failed."""
    return conn.execute(
        """UPDATE ingest_runs r SET status = 'failed', finished_at = now(),
                  error = coalesce(error, 'process died: its database session ended before the run finished')
           WHERE r.status = 'running' AND NOT EXISTS (
               SELECT 1 FROM pg_stat_activity a
               WHERE a.pid = r.backend_pid AND a.backend_start = r.backend_start)"""
    ).rowcount


def start_run(
    conn: psycopg.Connection,
    kind: str,
    source: str,
    target: str | None,
    window: tuple[datetime | None, datetime | None] = (None, None),
    notes: dict[str, Any] | None = None,
) -> int:
    """Insert and commit a 'running' run record; returns its id."""
    reap_dead_runs(conn)
    run_id = conn.execute(
        """INSERT INTO ingest_runs (kind, source, target, window_start, window_end, notes,
                                    backend_pid, backend_start, host)
           SELECT %s, %s, %s, %s, %s, %s, pg_backend_pid(), a.backend_start, %s
           FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
           RETURNING run_id""",
        (kind, source, target, window[0], window[1], Jsonb(notes or {}), socket.gethostname()),
    ).fetchone()[0]
    conn.commit()
    return run_id


def add_counts(
    conn: psycopg.Connection,
    run_id: int,
    counts: dict[str, int],
    api_reads: int = 0,
    notes: dict[str, Any] | None = None,
) -> None:
    """Add a batch's counts (and notes) to its run, in the batch's transaction."""
    if notes:
        conn.execute("UPDATE ingest_runs SET notes = notes || %s WHERE run_id = %s", (Jsonb(notes), run_id))
    conn.execute(
        """UPDATE ingest_runs SET inserted = inserted + %(inserted)s, updated = updated + %(updated)s,
                  unchanged = unchanged + %(unchanged)s, rejected = rejected + %(rejected)s,
                  versions = versions + %(versions)s, metrics = metrics + %(metrics)s,
                  deleted = deleted + %(deleted)s, api_reads = api_reads + %(api_reads)s
           WHERE run_id = %(run_id)s""",
        {**counts, "api_reads": api_reads, "run_id": run_id},
    )


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    status: str,
    *,
    error: str | None = None,
    deferred_until: datetime | None = None,
    notes: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        """UPDATE ingest_runs SET status = %s, finished_at = now(), error = %s, deferred_until = %s,
                  notes = notes || %s
           WHERE run_id = %s""",
        (status, error, deferred_until, Jsonb(notes or {}), run_id),
    )
    conn.commit()


def finish_after_error(
    conn: psycopg.Connection,
    run_id: int,
    error: str,
    status: str = "failed",
    *,
    reconnect: Callable[[], psycopg.Connection] | None = None,
) -> None:
    """Mark a run failed. If the server went away, the run row stays 'running' until the next run's reaper sees
    its database session is gone and marks it failed.

    Two ways Ctrl-C leaves `conn` unable to say so, both seen in the import tests under load:
    - psycopg asked the server to cancel the interrupted statement, and a cancel the server acts on late lands on
      the next statement, this update: a cancelled update is tried once more;
    - the interruption came while a COPY was being ended (its writer thread still sending), so `conn` is still in
      the COPY and takes no other command: the end is then recorded on a new connection (`reconnect`, made while
      `conn` was idle; a short lock timeout, as the busy transaction holds no lock on the run row: batches update
      it only after their COPY). The busy connection is left to close with the process."""
    for _ in range(2):  # a late cancel spends itself on the first try
        try:
            conn.rollback()
            finish_run(conn, run_id, status, error=error[:2000])
            return
        except psycopg.errors.QueryCanceled:
            continue
        except psycopg.Error:
            break
    if reconnect is not None:
        try:
            with reconnect() as other:
                other.execute("SET lock_timeout = '5s'")
                finish_run(other, run_id, status, error=error[:2000])
            return
        except psycopg.Error:
            pass
    log.warning(
        "could not record the end of run %s (connection lost); the next run will mark it failed", run_id
    )


def get_cursor(
    conn: psycopg.Connection, platform: str, channel_id: int, source: str
) -> tuple[Cursor | None, datetime | None]:
    """The committed cursor of a channel and source, and the time it is deferred until (if rate-limited)."""
    row = conn.execute(
        """SELECT last_post_id, last_posted_at, state, deferred_until FROM cursors
           WHERE platform = %s AND channel_id = %s AND source = %s""",
        (platform, channel_id, source),
    ).fetchone()
    if row is None:
        return None, None
    return Cursor(row[0], row[1], row[2] or {}), row[3]


def save_cursor(
    conn: psycopg.Connection,
    platform: str,
    channel_id: int,
    source: str,
    cursor: Cursor,
    run_id: int | None,
) -> None:
    """Advance a cursor (never backwards) in the current transaction."""
    conn.execute(
        """INSERT INTO cursors (platform, channel_id, source, last_post_id, last_posted_at, state, run_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (platform, channel_id, source) DO UPDATE SET
               last_post_id = GREATEST(cursors.last_post_id, EXCLUDED.last_post_id),
               last_posted_at = GREATEST(cursors.last_posted_at, EXCLUDED.last_posted_at),
               state = cursors.state || EXCLUDED.state,
               deferred_until = NULL, updated_at = now(), run_id = EXCLUDED.run_id""",
        (
            platform,
            channel_id,
            source,
            cursor.last_post_id,
            cursor.last_posted_at,
            Jsonb(cursor.state),
            run_id,
        ),
    )


def defer_cursor(
    conn: psycopg.Connection, platform: str, channel_id: int, source: str, until: datetime, run_id: int | None
) -> None:
    conn.execute(
        """INSERT INTO cursors (platform, channel_id, source, deferred_until, run_id)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (platform, channel_id, source) DO UPDATE SET
               deferred_until = EXCLUDED.deferred_until, updated_at = now()""",
        (platform, channel_id, source, until, run_id),
    )


def recent_runs(conn: psycopg.Connection, limit: int = 20) -> list[dict[str, Any]]:
    cur = conn.execute(
        """SELECT run_id, kind, source, target, window_start, window_end, started_at, finished_at, status,
                  inserted, updated, unchanged, rejected, versions, metrics, deleted, api_reads,
                  deferred_until, error
           FROM ingest_runs ORDER BY run_id DESC LIMIT %s""",
        (limit,),
    )
    cols = [d.name for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]
