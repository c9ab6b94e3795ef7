"""Channel write locks (migration 015's `wirewatch_channel_locks`): taken in one statement, in key order, held for
the transaction, each wait bounded; the session's own lock_timeout is as it was once they are held."""

from __future__ import annotations

import time

import psycopg
import pytest

from ingest.warehouse.faults import DatabaseFault
from ingest.warehouse.locks import channel_lock_key, lock_channels


def _held(conn: psycopg.Connection) -> list[int]:
    """The advisory keys this session holds, as bigint keys."""
    rows = conn.execute(
        """SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
           WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


def test_locks_are_held_for_the_transaction_and_the_timeout_is_put_back(conn):
    conn.execute("SET lock_timeout = '1234ms'")
    conn.commit()
    lock_channels(conn, [("telegram", 7), ("x", 9), ("telegram", 7)])
    expected = sorted({channel_lock_key("telegram", 7), channel_lock_key("x", 9)})
    assert _held(conn) == expected
    assert conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0] == "1234ms"
    conn.commit()
    assert _held(conn) == []
    assert conn.execute("SELECT current_setting('lock_timeout')").fetchone()[0] == "1234ms"


def test_a_held_channel_lock_is_waited_for_a_bounded_time(db, conn, monkeypatch):
    monkeypatch.setenv("WIREWATCH_LOCK_WAIT_SECONDS", "0.5")
    key = channel_lock_key("telegram", 11)
    with psycopg.connect(db, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (key,))
        started = time.monotonic()
        with pytest.raises(
            DatabaseFault, match=r"gave up after 0.5 s waiting for the channel write lock"
        ) as err:
            lock_channels(conn, [("telegram", 11)])
        waited = time.monotonic() - started
        conn.rollback()
        assert err.value.sqlstate == "55P03"
        assert waited >= 0.5
        other.execute("SELECT pg_advisory_unlock(%s)", (key,))
    # Free again: taken at once, and nothing of the failed attempt is left in the session.
    lock_channels(conn, [("telegram", 11)])
    assert _held(conn) == [key]
    conn.rollback()
