"""Racing imports avoided, not only survived (issue 16): two `wirewatch import` of the same ~20k posts in opposite
orders, five times over, end clean with no deadlock to retry and nothing recorded as a lost connection. A writer
takes its channel's lock (a transaction-level advisory lock, waited for with the bound of `locks.py`) before it
writes the channel's batch, so two writers of one channel take turns a batch at a time."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from ingest.warehouse.locks import channel_lock_key
from tests.conftest import truncate_all
from tests.reliability import racing
from tests.reliability.streams import generate_stream, write_jsonl

CHANNEL = 1_700_000_116


@pytest.mark.slow
def test_racing_imports_of_20k_posts_in_opposite_orders_need_no_deadlock_retry(db, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    forward, backward = racing.opposite_captures(tmp_path, 116, 26_000, CHANNEL)
    seconds = []
    with psycopg.connect(db) as conn:
        expected_posts = None
        for _round in range(5):
            truncate_all(db)
            results, took = racing.race(db, forward, backward, batch_size=1000, timeout=600)
            seconds.append(took)
            for name, res in results.items():
                assert isinstance(res, list), f"{name}: {res!r}"
                assert [(s.error, s.attempts) for s in res] == [(None, 1)], [s.as_dict() for s in res]
            runs = conn.execute("SELECT status, error FROM ingest_runs ORDER BY run_id").fetchall()
            conn.commit()
            assert runs == [("succeeded", None), ("succeeded", None)], runs
            posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            conn.commit()
            expected_posts = expected_posts or posts
            assert posts == expected_posts > 19_000
            inserted = sum(s.stats.inserted for res in results.values() for s in res)  # type: ignore[union-attr]
            assert inserted == posts
    print(f"racing imports of {expected_posts} posts: {', '.join(f'{s:.1f}' for s in seconds)} s a round")
    assert "deadlock" not in caplog.text and "connection lost" not in caplog.text, caplog.text[-2000:]


def _import(db: str, path: Path, repo_root: Path, wait: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "wirewatch"), "--dsn", db, "import", "--format", "telethon-jsonl",
         str(path)],
        cwd=repo_root, env={**os.environ, "WIREWATCH_LOCK_WAIT_SECONDS": wait}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_a_writer_of_the_channel_is_waited_for_with_a_bound(db, tmp_path, repo_root):
    """The import takes its channel's lock before writing: while another session holds it the import waits, and
    after the bounded wait it gives up with exit 5, naming the lock and how to find its holder."""
    stream = generate_stream(117, messages=40, epochs=1, channel_id=CHANNEL + 1)
    path = tmp_path / f"capsynth_{CHANNEL + 1}.jsonl"
    write_jsonl(stream, 0, path)
    with psycopg.connect(db) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (channel_lock_key("telegram", CHANNEL + 1),))
        out = _import(db, path, repo_root, "1")
        holder.rollback()
    assert out.returncode == 5, (out.returncode, out.stderr)
    assert "gave up after 1 s waiting for the channel write lock" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    with psycopg.connect(db) as conn:
        status, error = conn.execute(
            "SELECT status, error FROM ingest_runs ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    assert status == "failed" and "channel write lock" in error, error

    # Released within the bound, the lock is only waited for.
    with psycopg.connect(db) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (channel_lock_key("telegram", CHANNEL + 1),))
        timer = threading.Timer(1.0, holder.rollback)
        timer.start()
        out = _import(db, path, repo_root, "30")
        timer.join()
    assert out.returncode == 0, out.stderr
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] > 0
