"""All SQL for watching streaming replication: how far a read replica for analysts is behind the primary.

Analysts can read from a hot-standby replica of the warehouse (`WIREWATCH_ANALYST_DSN`), so that their queries
never compete with loading. These reads say how stale the replica is, from both ends.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True)
class ReplicaStatus:
    """What a connection says about itself: a standby (in recovery) and how far behind, or a primary."""

    standby: bool
    # Seconds between now and the commit time of the last transaction replayed; 0 when everything received is
    # replayed (a replica of an idle primary is not "behind" however old its last transaction is).
    replay_lag_seconds: float | None = None
    last_replayed_at: datetime | None = None
    receive_lsn: str | None = None
    replay_lsn: str | None = None
    # On a primary: its standbys as pg_stat_replication shows them (empty without the pg_monitor privilege).
    standbys: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def standby_status(conn: psycopg.Connection) -> ReplicaStatus | None:
    """How far behind this server is when it is a standby; None on a primary."""
    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
        return None
    row = conn.execute(
        """SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                       ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) END,
                  pg_last_xact_replay_timestamp(), pg_last_wal_receive_lsn()::text,
                  pg_last_wal_replay_lsn()::text"""
    ).fetchone()
    lag = None if row[0] is None else float(row[0])
    return ReplicaStatus(True, lag, row[1], row[2], row[3])


def status(conn: psycopg.Connection) -> ReplicaStatus:
    """A standby's lag, or a primary's standbys."""
    standby = standby_status(conn)
    if standby is not None:
        return standby
    cur = conn.execute(
        """SELECT application_name, client_addr::text AS client_addr, state, sync_state,
                  sent_lsn::text AS sent_lsn, replay_lsn::text AS replay_lsn,
                  extract(epoch FROM write_lag) AS write_lag_seconds,
                  extract(epoch FROM flush_lag) AS flush_lag_seconds,
                  extract(epoch FROM replay_lag) AS replay_lag_seconds,
                  pg_wal_lsn_diff(sent_lsn, replay_lsn) AS replay_behind_bytes
           FROM pg_stat_replication ORDER BY application_name"""
    )
    cols = [d.name for d in cur.description]
    standbys = [
        {
            k: (float(v) if k.endswith(("_seconds", "_bytes")) and v is not None else v)
            for k, v in zip(cols, r, strict=True)
        }
        for r in cur.fetchall()
    ]
    return ReplicaStatus(False, standbys=standbys)
