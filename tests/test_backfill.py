"""`wirewatch backfill`: equal to the hourly DAG's runs over the same hours, and resumable after Ctrl-C or a
crash without redoing finished chunks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.run import backfill
from ingest.warehouse.queries import table_checksums, table_counts
from tests.conftest import truncate_all
from tests.dags import helpers

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

START = helpers.CAPTURE_START + timedelta(hours=6)
END = START + timedelta(hours=48)
CHUNKS = 48 * len(helpers.channel_ids())


@pytest.fixture(scope="module")
def setup(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("backfill")
    helpers.make_capture(shared_data, root / "capture")
    slow = root / "slow"
    slow.mkdir()
    # The same channels with a simulated network delay, so that a backfill can be stopped half way.
    return helpers.write_channels(root, root / "capture"), helpers.write_channels(slow, root / "capture",
                                                                                  replay_delay=0.15)  # fmt: skip


def cli_env(dsn: str, channels: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {**env, "WIREWATCH_DSN": dsn, "WIREWATCH_CHANNELS": str(channels)}


def wirewatch(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("wirewatch")), *args]


BACKFILL = ("backfill", "--from", START.isoformat(), "--to", END.isoformat())


def succeeded(conn) -> int:
    n = conn.execute(
        "SELECT count(*) FROM ingest_runs WHERE kind = 'backfill' AND status = 'succeeded'"
    ).fetchone()[0]
    conn.commit()
    return n


def test_chunk_windows():
    a = datetime(2026, 11, 20, tzinfo=UTC)
    assert backfill.chunk_windows(a, a + timedelta(hours=5), 2) == [
        (a, a + timedelta(hours=2)), (a + timedelta(hours=2), a + timedelta(hours=4)),
        (a + timedelta(hours=4), a + timedelta(hours=5)),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="empty"):
        backfill.chunk_windows(a, a, 1)


def post_keys(conn) -> set[tuple]:
    keys = set(conn.execute("SELECT platform, channel_id, post_id FROM posts").fetchall())
    conn.commit()
    return keys


def test_cli_backfill_equals_48_hourly_dag_runs(db, conn, setup):
    channels, _ = setup
    env = helpers.airflow_env(helpers.airflow_home(), dsn=db, channels=channels)
    # An hourly run's logical date is the end of its interval: these are the runs for [START, END).
    t = time.monotonic()
    helpers.run_dag(env, [(START + timedelta(hours=i + 1)).isoformat() for i in range(48)])
    dag_seconds = time.monotonic() - t
    hourly = table_checksums(conn)
    hourly_keys = post_keys(conn)
    counts = table_counts(conn)
    windows = conn.execute(
        "SELECT count(DISTINCT (target, window_start, window_end)) FROM ingest_runs"
    ).fetchone()[0]
    conn.commit()
    assert windows == CHUNKS
    assert counts["posts"] >= 150 and counts["raw_records"] >= counts["posts"]

    # The same task code with the same parameters as the hourly runs (they rescan the 48 h before each hour).
    truncate_all(db)
    t = time.monotonic()
    done = subprocess.run(wirewatch(*BACKFILL, "--rescan-hours", "48"), env=cli_env(db, channels),
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    cli_seconds = time.monotonic() - t
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"0 already done, {CHUNKS} to run" in done.stderr
    assert table_checksums(conn) == hourly
    assert succeeded(conn) == CHUNKS
    print(f"48 hourly DAG runs: {dag_seconds:.1f} s; CLI backfill of the same 48 h: {cli_seconds:.1f} s")

    # Run again: every chunk is done already; nothing runs, nothing changes.
    again = subprocess.run(wirewatch(*BACKFILL, "--json"), env=cli_env(db, channels), capture_output=True, text=True,
                           timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{CHUNKS} already done, 0 to run" in again.stderr
    assert table_checksums(conn) == hourly and succeeded(conn) == CHUNKS

    # The default backfill skips the rescans (history needs no refresh, and X bills each read): the same posts.
    # (Only context can differ: a post quoted inside a page learns its quoted author when a rescan page carries it.)
    truncate_all(db)
    assert (
        subprocess.run(
            wirewatch(*BACKFILL), env=cli_env(db, channels), capture_output=True, timeout=600
        ).returncode
        == 0
    )
    assert post_keys(conn) == hourly_keys
    default = table_checksums(conn)
    assert {t: default[t] for t in ("post_versions", "post_metrics", "cursors", "rejected_records")} == {
        t: hourly[t] for t in ("post_versions", "post_metrics", "cursors", "rejected_records")
    }


def _as_from_a_terminal() -> None:
    # An ignored SIGINT is inherited across exec, and Python installs its KeyboardInterrupt handler only where
    # SIGINT is at its default: the backfill must start as an operator's shell would start it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(env) -> subprocess.Popen:
    return subprocess.Popen(
        wirewatch(*BACKFILL), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_as_from_a_terminal,
    )  # fmt: skip


def _interrupt_a_third_of_the_way(db: str, conn, slow: Path) -> str:
    """Ctrl-C a backfill once a third of its chunks are done; its stderr. A run that finished before the signal
    could be sent (the test stalled on a loaded machine: `send_signal` does nothing to an exited process) did
    not test anything, so it is started again from an empty warehouse."""
    for _ in range(3):
        proc = _start(cli_env(db, slow))
        _wait_for(conn, CHUNKS // 3, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0 and succeeded(conn) == CHUNKS:
            truncate_all(db)
            continue
        assert proc.returncode == 130, err[-3000:]
        return err
    raise AssertionError("every backfill finished before it could be interrupted")


def _wait_for(conn, n: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while succeeded(conn) < n:
        assert proc.poll() is None, f"backfill ended early: {proc.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "backfill made no progress"
        time.sleep(0.05)


def test_backfill_resumes_after_ctrl_c_and_a_crash_without_redoing_chunks(db, conn, setup):
    fast, slow = setup
    # Reference: one clean, uninterrupted backfill.
    assert (
        subprocess.run(
            wirewatch(*BACKFILL), env=cli_env(db, fast), capture_output=True, timeout=600
        ).returncode
        == 0
    )
    reference = table_checksums(conn)
    conn.commit()
    truncate_all(db)

    # Ctrl-C a third of the way through.
    err = _interrupt_a_third_of_the_way(db, conn, slow)
    assert "interrupted" in err
    after_interrupt = succeeded(conn)

    # Resume, then crash (SIGKILL: no chance to clean up) two thirds of the way through.
    proc = _start(cli_env(db, slow))
    _wait_for(conn, 2 * CHUNKS // 3, proc)
    proc.kill()
    proc.communicate(timeout=60)
    after_crash = succeeded(conn)
    assert after_crash > after_interrupt

    # Resume to the end.
    done = subprocess.run(
        wirewatch(*BACKFILL), env=cli_env(db, fast), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{after_crash} already done, {CHUNKS - after_crash} to run" in done.stderr

    # Every chunk ran to success exactly once; a chunk in flight when stopped is recorded as failed.
    per_chunk = conn.execute(
        """SELECT target, window_start, count(*) FILTER (WHERE status = 'succeeded'),
                  count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'running')
           FROM ingest_runs WHERE kind = 'backfill' GROUP BY 1, 2"""
    ).fetchall()
    assert len(per_chunk) == CHUNKS
    assert all(ok == 1 and running == 0 for _, _, ok, _, running in per_chunk)
    # (A signal that lands between two chunks leaves no run behind, hence "at most".)
    errors = [r[0] for r in conn.execute("SELECT error FROM ingest_runs WHERE status = 'failed'")]
    assert len(errors) <= 2
    assert all(e == "interrupted" or e.startswith("process died") for e in errors), errors
    assert table_checksums(conn) == reference


def test_unknown_channel_and_bad_window_are_usage_errors(db, setup):
    fast, _ = setup
    env = cli_env(db, fast)
    bad = subprocess.run(wirewatch("backfill", "--channel", "nosuch", "--from", "2026-11-20T00:00Z"), env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "nosuch" in bad.stderr
    empty = subprocess.run(wirewatch("backfill", "--from", "2026-11-20T05:00Z", "--to", "2026-11-20T05:00Z"),
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert empty.returncode == 2 and "empty backfill window" in empty.stderr
    with psycopg.connect(db) as c:
        assert c.execute("SELECT count(*) FROM ingest_runs").fetchone()[0] == 0
