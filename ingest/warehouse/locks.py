"""wirewatch's own advisory locks, taken with a bounded wait.

Any role that can connect can call `pg_advisory_lock` with wirewatch's keys (the functions are PUBLIC and only a
superuser could revoke them). So the pipeline never waits for its own locks without a bound: after
`WIREWATCH_LOCK_WAIT_SECONDS` (default 600) it gives up with a `faults.DatabaseFault` naming the lock and how to
find its holder (the CLI exits 5).
"""

from __future__ import annotations

import os

import psycopg

from ingest.warehouse.faults import DatabaseFault

DEFAULT_WAIT_SECONDS = 600.0


def wait_seconds() -> float:
    value = os.environ.get("WIREWATCH_LOCK_WAIT_SECONDS")
    try:
        return float(value) if value else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def advisory_lock(conn: psycopg.Connection, key: int, what: str, *, xact: bool) -> None:
    """Take advisory lock `key` (for the transaction with `xact`, else for the session), waiting at most
    `wait_seconds()`. The session's own lock_timeout is put back once the lock is held."""
    bound = wait_seconds()
    previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    conn.execute("SELECT set_config('lock_timeout', %s, %s)", (f"{int(bound * 1000)}ms", xact))
    fn = "pg_advisory_xact_lock" if xact else "pg_advisory_lock"
    try:
        conn.execute(f"SELECT {fn}(%s)", (key,))
    except psycopg.errors.LockNotAvailable as exc:  # the caller's transaction is aborted: it rolls back
        raise DatabaseFault(
            f"gave up after {bound:g} s waiting for the {what} lock (advisory lock {key}): another session holds "
            "it; find it with SELECT pid, usename, application_name, state FROM pg_stat_activity WHERE pid IN "
            f"(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = {key & 0xFFFFFFFF}), end it "
            "(pg_terminate_backend) or wait for it, then run again (WIREWATCH_LOCK_WAIT_SECONDS sets the bound)",
            exc.sqlstate,
        ) from exc
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute("SELECT set_config('lock_timeout', %s, %s)", (previous, xact))
