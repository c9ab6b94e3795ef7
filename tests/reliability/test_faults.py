"""Database faults named for what they are (issue 16): only a lost connection is a reconnect and exit 3; a deadlock
is retried as a deadlock (and two imports racing over the same posts avoid it); a server limit or timeout fails
the run with its cause and next step, exit 5, and the run row says the same."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import psycopg.errors as pge
import pytest

from ingest.run import reconnecting
from ingest.warehouse import faults
from tests.conftest import truncate_all
from tests.reliability import racing
from tests.reliability.streams import generate_stream, write_jsonl

CHANNEL = 1_700_000_016


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (pge.ConnectionFailure("gone"), faults.CONNECTION),
        (pge.AdminShutdown("terminating connection due to administrator command"), faults.CONNECTION),
        (pge.CrashShutdown("crash"), faults.CONNECTION),
        (pge.CannotConnectNow("starting up"), faults.CONNECTION),
        (psycopg.OperationalError("server closed the connection unexpectedly"), faults.CONNECTION),
        (pge.DeadlockDetected("deadlock detected"), faults.CONFLICT),
        (pge.SerializationFailure("could not serialize"), faults.CONFLICT),
        (pge.DiskFull("could not extend file: No space left on device"), faults.RESOURCE),
        (pge.OutOfMemory("out of memory"), faults.RESOURCE),
        (pge.TooManyConnections("too many"), faults.RESOURCE),
        (psycopg.OperationalError("FATAL:  sorry, too many clients already"), faults.RESOURCE),
        (pge.QueryCanceled("canceling statement due to statement timeout"), faults.RESOURCE),
        (pge.LockNotAvailable("canceling statement due to lock timeout"), faults.RESOURCE),
        (ValueError("not a database error"), faults.OTHER),
    ],
)
def test_faults_are_classified_by_sqlstate(exc, kind):
    assert faults.classify(exc) == kind
    if kind == faults.RESOURCE:
        text = faults.describe(exc)
        assert "SQLSTATE" in text and "then run" in text and "connection lost" not in text


def test_a_full_disk_is_not_retried_and_names_its_cause(dsn):
    calls = []

    def fn(conn):
        calls.append(1)
        raise pge.DiskFull("could not extend file: No space left on device")

    with pytest.raises(faults.DatabaseFault) as info:
        reconnecting.with_reconnect(dsn, fn)
    assert len(calls) == 1
    assert "disk is full" in str(info.value) and "free space" in str(info.value)


def test_a_deadlock_is_retried_as_a_deadlock(monkeypatch, dsn, caplog):
    calls = []

    def fn(conn):
        calls.append(1)
        if len(calls) < 3:
            raise pge.DeadlockDetected("deadlock detected")
        return "ok"

    monkeypatch.setattr(reconnecting, "wait_random_exponential", lambda **kw: lambda rs: 0)
    assert reconnecting.with_reconnect(dsn, fn) == "ok"
    assert len(calls) == 3
    assert "deadlock; retry 1 of 3" in caplog.text and "connection lost" not in caplog.text


def test_two_imports_racing_in_opposite_orders_end_clean(db, tmp_path, caplog):
    forward, backward = racing.opposite_captures(tmp_path, 16, 3000, CHANNEL)
    with psycopg.connect(db) as conn:
        expected_posts = None
        for _round in range(3):
            truncate_all(db)
            results, _ = racing.race(db, forward, backward, batch_size=300, timeout=300)
            for name, res in results.items():
                assert isinstance(res, list), f"{name}: {res!r}"
                assert all(s.error is None for s in res), [s.as_dict() for s in res]
            runs = conn.execute("SELECT status, error FROM ingest_runs ORDER BY run_id").fetchall()
            conn.commit()
            assert not [r for r in runs if r[1] and "connection lost" in r[1]], runs
            assert sum(1 for r in runs if r[0] == "succeeded") == 2, runs
            posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            conn.commit()
            if expected_posts is None:
                expected_posts = posts
            assert posts == expected_posts > 0
            # Both imports together account for every post exactly once as new.
            inserted = sum(s.stats.inserted for res in results.values() for s in res)  # type: ignore[union-attr]
            assert inserted == posts
    # Rows reach the server in key order, which makes deadlocks rare but not impossible (a batch writes several
    # tables; one was seen in 3 rounds of one full-suite run): any is retried as a deadlock, never reported as a
    # lost connection, and both imports above still succeeded with every post counted once.
    assert "connection lost" not in caplog.text, caplog.text


def test_a_lock_timeout_fails_the_run_with_exit_5_and_says_why(db, tmp_path, repo_root):
    stream = generate_stream(17, messages=50, epochs=1, channel_id=CHANNEL + 1)
    path = tmp_path / f"capsynth_{CHANNEL + 1}.jsonl"
    write_jsonl(stream, 0, path)
    env = {**os.environ, "PGOPTIONS": "-c lock_timeout=300"}
    with psycopg.connect(db) as holder:
        holder.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        out = subprocess.run(
            [str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, "import", "--format", "telethon-jsonl",
             str(path)],
            cwd=repo_root, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        holder.rollback()
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert "lock_timeout" in out.stderr and "55P03" in out.stderr, out.stderr
    assert "connection lost" not in out.stderr and "Traceback" not in out.stderr
    with psycopg.connect(db) as conn:
        status, error = conn.execute(
            "SELECT status, error FROM ingest_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
    assert status == "failed" and "lock_timeout" in error and "55P03" in error, error
