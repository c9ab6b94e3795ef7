"""wirewatch's own advisory locks, taken with a bounded wait.

Any role that can connect can call `pg_advisory_lock` with wirewatch's keys (the functions are PUBLIC and only a
superuser could revoke them). So the pipeline never waits for its own locks without a bound: after
`WIREWATCH_LOCK_WAIT_SECONDS` (default 600) it gives up with a `faults.DatabaseFault` naming the lock and how to
find its holder (the CLI exits 5).

The locks: grouping (`events.GROUP_LOCK`), migrations (`migrate._LOCK_KEY`), and one a channel that every writer
of posts takes for its batch's transaction (`channel_lock_key`): two imports of one channel in opposite orders
then take turns a batch at a time instead of deadlocking over the same rows.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

import psycopg

from ingest.warehouse.faults import DatabaseFault

DEFAULT_WAIT_SECONDS = 600.0
#: High 32 bits of every channel lock key ("wwch"), so channel locks never collide with the other two keys.
CHANNEL_LOCK_SPACE = 0x77776368


def wait_seconds() -> float:
    value = os.environ.get("WIREWATCH_LOCK_WAIT_SECONDS")
    try:
        return float(value) if value else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def channel_lock_key(platform: str, channel_id: int) -> int:
    """The advisory lock key of one channel's posts: CHANNEL_LOCK_SPACE, then 32 bits of the channel's hash (two
    channels sharing a key only take turns needlessly)."""
    low = int.from_bytes(hashlib.blake2b(f"{platform}:{channel_id}".encode(), digest_size=4).digest(), "big")
    return (CHANNEL_LOCK_SPACE << 32) | low


def advisory_lock(conn: psycopg.Connection, key: int, what: str, *, xact: bool) -> None:
    """Take advisory lock `key` (for the transaction with `xact`, else for the session), waiting at most
    `wait_seconds()`. The session's own lock_timeout is put back once the lock is held."""
    _bounded(conn, [key], what, xact=xact)


def lock_channels(conn: psycopg.Connection, channels: Iterable[tuple[str, int]]) -> None:
    """Take the write locks of these channels for the current transaction, in key order (two writers of the same
    channels then never hold one each), each wait bounded by `wait_seconds()`, in one statement (the function of
    schemas/015; the session's lock_timeout is as it was once the locks are held)."""
    keys = sorted({channel_lock_key(platform, channel_id) for platform, channel_id in set(channels)})
    if not keys:
        return
    bound = wait_seconds()
    try:
        # One round trip (schemas/015): a rescan batch takes this once or twice, in every hourly pass.
        conn.execute("SELECT wirewatch_channel_locks(%s::bigint[], %s)", (keys, f"{int(bound * 1000)}ms"))
    except psycopg.errors.LockNotAvailable as exc:  # the caller's transaction is aborted: it rolls back
        raise DatabaseFault(_gave_up(bound, keys, "channel write"), exc.sqlstate) from exc


def _bounded(conn: psycopg.Connection, keys: list[int], what: str, *, xact: bool) -> None:
    bound = wait_seconds()
    # Read, then set, in two statements: the order of evaluation within one target list is not promised.
    previous = conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0]
    conn.execute("SELECT set_config('lock_timeout', %s, %s)", (f"{int(bound * 1000)}ms", xact))
    fn = "pg_advisory_xact_lock" if xact else "pg_advisory_lock"
    try:
        # A statement a key (a batch has one or two channels): the order locks are taken in is then the keys'.
        for key in keys:
            conn.execute(f"SELECT {fn}(%s)", (key,))
    except psycopg.errors.LockNotAvailable as exc:  # the caller's transaction is aborted: it rolls back
        raise DatabaseFault(_gave_up(bound, keys, what), exc.sqlstate) from exc
    finally:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
            conn.execute("SELECT set_config('lock_timeout', %s, %s)", (previous, xact))


def _gave_up(bound: float, keys: list[int], what: str) -> str:
    # pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
    if len(keys) == 1:
        name = f"advisory lock {keys[0]}"
        where = f"classid = {keys[0] >> 32} AND objid = {keys[0] & 0xFFFFFFFF}"
    else:
        name = f"advisory locks {keys[0]}..{keys[-1]}"
        where = f"classid = {keys[0] >> 32}"
    return (
        f"gave up after {bound:g} s waiting for the {what} lock ({name}): another session holds it; find it with "
        "SELECT pid, usename, application_name, state FROM pg_stat_activity WHERE pid IN (SELECT pid FROM "
        f"pg_locks WHERE locktype = 'advisory' AND granted AND {where}), end it (pg_terminate_backend) or wait "
        "for it, then run again (WIREWATCH_LOCK_WAIT_SECONDS sets the bound)"
    )
