"""Imports read ahead (ingest/run/read_ahead.py): a thread prepares the next batch while this one loads. The thread
must run ahead, hand batches over in order with errors where they happened, stop when told, and leave the
warehouse exactly as an import without it does: on real captures, across many small batches, with a post repeated
in adjacent batches (the one in flight is not committed when the next is planned), on a re-import of an edited
file, and when the server refuses the thread its connection."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from itertools import count
from pathlib import Path

import orjson
import psycopg
import pytest

from ingest.run.imports import READ_AHEAD_APP, READ_AHEAD_ENV, import_files
from ingest.run.read_ahead import ReadAhead
from tests.conftest import truncate_all
from tests.reliability.state import assert_as_one_inline_import, snapshot
from tests.reliability.streams import generate_stream, write_jsonl


def test_batches_come_in_order_and_an_error_where_it_happened() -> None:
    def chunks():
        yield from (1, 2, 3)
        raise ValueError("truncated input")

    got = []
    with ReadAhead(chunks(), lambda c: c * 10) as ahead, pytest.raises(ValueError, match="truncated"):
        for item in ahead:
            got.append(item)
    assert got == [10, 20, 30]


def test_the_next_batch_is_prepared_while_one_is_consumed() -> None:
    second_prepared = threading.Event()

    def prepare(chunk: int) -> int:
        if chunk == 2:
            second_prepared.set()
        return chunk

    with ReadAhead(iter([1, 2, 3]), prepare) as ahead:
        for item in ahead:
            if item == 1:
                # Still holding the first batch: the thread has gone on to the second.
                assert second_prepared.wait(10), "no read-ahead while the first batch was in hand"
            assert item in (1, 2, 3)


def test_leaving_early_stops_the_thread_without_reading_on() -> None:
    pulled = count()

    def endless():
        while True:
            next(pulled)
            yield 0

    ahead = ReadAhead(endless(), lambda c: c, depth=1)
    with ahead:
        for _ in ahead:
            break
    assert not ahead._thread.is_alive()
    # Handed over 1, one waiting in the queue, one in hand when told to stop: never the whole stream.
    assert next(pulled) <= 4


def test_an_error_in_prepare_reaches_the_consumer() -> None:
    def prepare(chunk: int) -> int:
        if chunk == 2:
            raise RuntimeError("normaliser bug")
        return chunk

    with ReadAhead(iter([1, 2, 3]), prepare) as ahead, pytest.raises(RuntimeError, match="normaliser bug"):
        assert list(ahead) == [1]


def _inputs(shared_data: Path, tmp_path: Path) -> list[Path]:
    """Real captures: Telethon records of two channels and twarc pages, plus a Telethon file whose posts recur
    (the same message again a few lines on, and an edited copy of it), so adjacent batches share posts."""
    tele = shared_data / "telethon" / "bloomberg_1488156064.jsonl"
    lines = tele.read_bytes().splitlines()
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i % 3 == 0 and i >= 2:
            mixed.append(lines[i - 2])  # seen again, unchanged, in a later batch
        if i % 5 == 0:
            msg = orjson.loads(line)
            if isinstance(msg.get("message"), str):
                msg["message"] += " (edited)"
                msg["edit_date"] = msg.get("date")
                mixed.append(orjson.dumps(msg))
    recurring = tmp_path / "recurring.jsonl"
    recurring.write_bytes(b"\n".join(mixed) + b"\n")
    return [
        recurring,
        shared_data / "telethon" / "britishnewspatriot_1799276919.jsonl",
        shared_data / "x_api_v2" / "twarc_pages" / "brexit.jsonl",
        shared_data / "x_api_v2" / "twarc_pages" / "edited.jsonl",
    ]


def _import_twice(dsn: str, paths: list[Path], edited: Path, read_ahead: bool) -> tuple[list, object]:
    """Import the inputs, then the first one edited at the same path; the summaries' counts and the warehouse.
    Batches of 3 records either way (reading ahead halves the batch asked for): how a post's inputs fall into
    batches decides how its updates are counted, so only equal batches can be compared count for count."""
    truncate_all(dsn)
    counts = []
    with psycopg.connect(dsn) as conn:
        for round_paths in (paths, paths[:1]):
            if round_paths is not paths:
                paths[0].write_bytes(edited.read_bytes())
            summaries = import_files(
                conn,
                round_paths,
                batch_size=6 if read_ahead else 3,
                skip_unchanged=True,
                read_ahead=read_ahead,
            )
            counts.append([(s.records, s.stats.as_dict(), s.error) for s in summaries])
        return counts, snapshot(conn)


def test_an_import_reading_ahead_stores_what_an_inline_import_does(
    db: str, shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    results = {}
    for read_ahead in (False, True):
        paths = _inputs(shared_data, tmp_path)  # the same paths both times: origins name them
        edited = tmp_path / "edited.jsonl"
        edited.write_bytes(paths[0].read_bytes().replace(b"(edited)", b"(edited twice)", 3))
        with caplog.at_level(logging.INFO, logger="ingest.warehouse.loader"):
            results[read_ahead] = _import_twice(db, paths, edited, read_ahead)
    (counts_inline, state_inline), (counts_ahead, state_ahead) = results[False], results[True]
    assert counts_ahead == counts_inline
    assert state_ahead == state_inline
    # A post the plan saw as new but a batch in flight had just loaded is looked up, not sent to the insert that
    # would meet its key (`written_since`): no batch had to fall back to the upsert.
    assert "upserting instead" not in caplog.text
    # The inputs were read and loaded, not skipped; and the edit came through the re-import.
    assert sum(c[1]["inserted"] for c in counts_ahead[0]) > 200
    assert counts_ahead[1][0][1]["updated"] >= 1


def test_an_import_goes_on_inline_when_the_server_refuses_a_second_connection(
    db: str, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A login allowed one connection: the read-ahead thread gets none, says so, and the import loads inline."""
    role = f"ww_one_conn_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db, autocommit=True) as admin:
        # A member of the owner role: it may write every table and add partitions, but it is not a superuser, so
        # its connection limit holds.
        owner = admin.execute("SELECT current_user").fetchone()[0]
        admin.execute(f'CREATE ROLE {role} LOGIN CONNECTION LIMIT 1 IN ROLE "{owner}"')
    try:
        one_conn = psycopg.conninfo.make_conninfo(db, user=role)
        path = shared_data / "telethon" / "bloomberg_1488156064.jsonl"
        with caplog.at_level(logging.WARNING, logger="ingest.run.imports"), psycopg.connect(one_conn) as conn:
            summaries = import_files(conn, [path], batch_size=7, skip_unchanged=True, read_ahead=True)
        assert summaries[0].error is None
        assert summaries[0].stats.inserted > 0
        assert "without a read-ahead thread" in caplog.text
        with psycopg.connect(db) as check:
            stored = check.execute("SELECT count(*) FROM posts").fetchone()[0]
        assert stored == summaries[0].stats.inserted
    finally:
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def _big_capture(tmp_path: Path, seed: int, channel: int) -> tuple[Path, list[str], dict[str, str]]:
    """A 30,000-message Telethon capture and the `wirewatch import` command (read-ahead on) that reads it."""
    path = tmp_path / f"capsynth_{channel}.jsonl"
    write_jsonl(generate_stream(seed, messages=30_000, epochs=1, p_album=0.05, channel_id=channel), 0, path)
    wirewatch = Path(sys.executable).with_name("wirewatch")
    return path, [str(wirewatch), "--dsn", "", "import", str(path)], {**os.environ, READ_AHEAD_ENV: "1"}


def _assert_as_one_inline_import(db: str, path: Path) -> None:
    assert_as_one_inline_import(db, [path])


def _interactive() -> None:
    """SIGINT at its default in the child, as from a shell (an ignored SIGINT is inherited across exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_ends_an_import_reading_ahead_as_before(db: str, tmp_path: Path) -> None:
    """Ctrl-C mid-import: exit 130 at once (the thread does not hold the process), the run marked failed, what
    committed stays with its counts, and the next import finishes the file into the warehouse one import makes."""
    path, cmd, env = _big_capture(tmp_path, 41, 1_700_000_077)
    cmd[2] = db
    truncate_all(db)
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_interactive
    )
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 0:
                assert proc.poll() is None, "the import ended before a batch was seen"
                assert time.monotonic() < deadline
                time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=60)
        assert time.monotonic() - sent < 15
    finally:
        proc.kill()
    with psycopg.connect(db) as conn:
        status, error, inserted = conn.execute("SELECT status, error, inserted FROM ingest_runs").fetchone()
        stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    if proc.returncode == 0:
        pytest.fail("the import finished before Ctrl-C reached it: make the file bigger")
    assert proc.returncode == 130
    assert (status, error) == ("failed", "KeyboardInterrupt: "), err.decode(errors="replace")[-3000:]
    assert 0 < stored == inserted < 30_000

    again = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr.decode()[-800:]
    _assert_as_one_inline_import(db, path)


@pytest.mark.slow
def test_losing_the_read_ahead_connection_mid_import_is_a_lost_connection_like_any(
    db: str, tmp_path: Path
) -> None:
    """The thread's own connection ended by the server mid-import (a failover, an administrator): the import
    reconnects and finishes as it does when its main connection goes, into the warehouse one import makes."""
    path, cmd, env = _big_capture(tmp_path, 42, 1_700_000_078)
    cmd[2] = db
    truncate_all(db)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ended = False
    try:
        with psycopg.connect(db, autocommit=True) as admin:
            deadline = time.monotonic() + 60
            while not ended and proc.poll() is None and time.monotonic() < deadline:
                # Only once a batch has committed, so the import is well under way.
                if admin.execute("SELECT count(*) FROM posts").fetchone()[0]:
                    ended = any(
                        r[0]
                        for r in admin.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND application_name = %s",
                            (READ_AHEAD_APP,),
                        )
                    )
                time.sleep(0.01)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    if not ended:
        pytest.fail("the import ended before its read-ahead connection could be ended: make the file bigger")
    assert proc.returncode == 0, err.decode()[-800:]
    assert b"connection lost" in err or b"retry" in err
    _assert_as_one_inline_import(db, path)
