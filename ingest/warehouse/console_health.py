"""All SQL of the console's Health page: the last run of every channel and file, channels deferred by a rate
limit, rejected records by reason. Read through schema analyst, like the rest of `ingest.warehouse.console`."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row


def _dicts(conn: psycopg.Connection, query: str, params: tuple = ()) -> list[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def last_runs(conn: psycopg.Connection, *, limit: int = 200) -> list[dict[str, Any]]:
    """The latest run of each target (channel or file), newest first."""
    return _dicts(
        conn,
        """SELECT * FROM (
                   SELECT DISTINCT ON (coalesce(target, source)) run_id, kind, source, target, platform, channel_id,
                          started_at, finished_at, status, inserted, updated, rejected, deferred_until, error
                   FROM analyst.ingest_runs ORDER BY coalesce(target, source), started_at DESC, run_id DESC) s
               ORDER BY started_at DESC LIMIT %s""",
        (limit,),
    )


def deferred_channels(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Channels a rate limit has deferred into the future, soonest first."""
    return _dicts(
        conn,
        """SELECT platform, channel_id, channel, source, deferred_until, updated_at
               FROM analyst.cursors WHERE deferred_until > now() ORDER BY deferred_until LIMIT 500""",
    )


def rejects_by_reason(conn: psycopg.Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    return _dicts(
        conn,
        """SELECT reason, count(*) AS records, array_agg(DISTINCT source) AS sources,
                      min(rejected_at) AS first_at, max(rejected_at) AS last_at
               FROM analyst.rejected_records GROUP BY reason ORDER BY count(*) DESC, reason LIMIT %s""",
        (limit,),
    )
