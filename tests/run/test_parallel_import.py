"""Importing files on every core (ingest/run/parallel.py, `wirewatch import --jobs`): workers must leave the
warehouse one import of the same files makes, on real captures of every format (overlapping X captures of edited
tweets among them, loaded in whatever order the workers finish); a folder with less than two files to read must
start no worker; Ctrl-C and SIGKILL must end the workers with the command and leave what a one-process import
leaves, so that the next import finishes the folder into the same warehouse."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import psycopg
import pytest

from ingest.run import parallel
from ingest.run.imports import import_files
from ingest.warehouse import faults
from ingest.warehouse.locks import channel_lock_key
from tests.conftest import truncate_all
from tests.reliability.state import assert_as_one_inline_import, snapshot
from tests.reliability.streams import generate_stream, write_jsonl


def _real_folder(shared: Path, dst: Path) -> Path:
    """Real captures of every file format, in one folder: Telethon records, X pages (an edited tweet captured
    before and after its edit, a stream with an error line), a t.me/s page and four real news channels."""
    dst.mkdir()
    picks = [
        *sorted((shared / "telethon").glob("*.jsonl")),
        *sorted((shared / "x_api_v2" / "twarc_pages").glob("*.jsonl")),
        shared / "telegram_web" / "channel_feed_durov.html",
        *sorted((shared / "telegram_news_ru").glob("*.jsonl"))[:4],
    ]
    for p in picks:
        shutil.copyfile(p, dst / p.name)
    return dst


def _counts(summaries) -> list[tuple]:
    """Per file: its name, records, posts and rejects; which file of two holding a post inserted it depends on who
    came first, so posts are counted whole."""
    return [
        (Path(s.path).name, s.records, s.stats.inserted + s.stats.updated + s.stats.unchanged, s.stats.rejected,
         s.error is None)
        for s in summaries
    ]  # fmt: skip


def test_a_folder_imported_by_workers_is_the_warehouse_one_import_makes(
    db: str, shared_data: Path, tmp_path: Path
) -> None:
    folder = _real_folder(shared_data, tmp_path / "captures")
    got = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)
    with psycopg.connect(db) as conn:
        workers = conn.execute(
            "SELECT count(DISTINCT backend_pid) FROM ingest_runs WHERE kind = 'import'"
        ).fetchone()[0]
        parallel_state = snapshot(conn)
    assert workers >= 2, "every file was imported on one connection: no worker ran"

    truncate_all(db)
    with psycopg.connect(db) as conn:
        want = import_files(conn, [folder], skip_unchanged=True, read_ahead=False)
        assert snapshot(conn).diff(parallel_state) == []
    assert [Path(s.path).name for s in got] == sorted(p.name for p in folder.iterdir())
    assert _counts(got) == _counts(want)
    assert sum(s.stats.rejected for s in got) > 0  # the error line of the stream capture, refused as alone


def test_files_the_ledger_holds_unchanged_start_no_worker(
    db: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _real_folder(shared_data, tmp_path / "captures")
    first = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)

    def no_pool(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(parallel, "_Pool", no_pool)
    again = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)
    assert all(s.skipped for s in again)
    assert [s.stats.inserted for s in again] == [0] * len(first)
    assert [s.stats.unchanged for s in again] == [
        s.stats.inserted + s.stats.updated + s.stats.unchanged for s in first
    ]

    # One file changed among unchanged ones: read here, as a one-process import reads it.
    victim = next(p for p in sorted(folder.iterdir()) if p.name.startswith("bloomberg"))
    lines = victim.read_bytes().splitlines(keepends=True)
    victim.write_bytes(b"".join(lines[: len(lines) // 2]))
    third = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)
    assert [s.skipped for s in third] == [Path(s.path) != victim for s in third]

    # Edited in place with its size and modification time kept: it looks unchanged to the routing (a stat), so it
    # is imported here, and that import compares the bytes: the edit is read, not skipped.
    other = next(p for p in sorted(folder.iterdir()) if p.name.startswith("britishnewspatriot"))
    st = other.stat()
    data = other.read_bytes()
    at = data.index(b'"message": "') + len(b'"message": "')
    other.write_bytes(data[:at] + (b"Z" if data[at : at + 1] != b"Z" else b"Y") + data[at + 1 :])
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    fourth = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)
    edited = next(s for s in fourth if Path(s.path) == other)
    assert not edited.skipped and edited.stats.updated == 1, edited.as_dict()


def test_a_fault_reaches_the_command_with_the_exit_code_of_a_one_process_import() -> None:
    """The codes of ingest.cli.main: 5 for a fault the server refused, 3 for a connection lost for good."""
    disk = faults.DatabaseFault("disk full: free space", "53100")
    assert parallel._exit_of(disk) == ("disk full: free space", 5)
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    assert parallel._exit_of(lost) == (faults.describe(lost), 3)
    message, code = parallel._exit_of(psycopg.OperationalError("FATAL:  sorry, too many clients already"))
    assert code == 5 and "too many connections" in message
    assert parallel._exit_of(ValueError("bad")) == ("ValueError: bad", 1)


def test_the_cli_imports_a_folder_with_workers_and_lists_files_in_order(
    db: str, shared_data: Path, tmp_path: Path
) -> None:
    folder = _real_folder(shared_data, tmp_path / "captures")
    wirewatch = Path(sys.executable).with_name("wirewatch")
    out = subprocess.run(
        [str(wirewatch), "--dsn", db, "import", str(folder), "--jobs", "2", "--json"],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    listed = [Path(s["path"]).name for s in orjson.loads(out.stdout)]
    assert listed == sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------------------- interruptions


def _big_folder(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three 30,000-message Telethon captures of three channels, and the command that imports them on two workers."""
    folder = tmp_path / "big"
    folder.mkdir()
    for k in range(3):
        stream = generate_stream(
            50 + k, messages=30_000, epochs=1, p_album=0.05, channel_id=1_700_000_090 + k
        )
        write_jsonl(stream, 0, folder / f"capture{k}.jsonl")
    wirewatch = Path(sys.executable).with_name("wirewatch")
    return folder, [str(wirewatch), "--dsn", "", "import", str(folder), "--jobs", "2"]


def _interactive() -> None:
    """SIGINT at its default, in a process group of its own (a shell's foreground job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setpgrp()


def _wait_for_rows(db: str, proc: subprocess.Popen, n: int = 1) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        deadline = time.monotonic() + 90
        while conn.execute("SELECT count(DISTINCT channel_id) FROM posts").fetchone()[0] < n:
            assert proc.poll() is None, "the import ended before the workers were seen loading"
            assert time.monotonic() < deadline
            time.sleep(0.02)


def _others_connected(db: str) -> int:
    """Client connections to the database besides this one (autovacuum workers, busy after a big import, are not
    clients)."""
    with psycopg.connect(db, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchone()[0]


def _others(db: str) -> list[tuple]:
    """What the other client connections are doing (application, state, wait, how long, query), for a failure's
    message."""
    with psycopg.connect(db, autocommit=True) as conn:
        return conn.execute(
            "SELECT application_name, state, wait_event_type, wait_event, now() - query_start, left(query, 200)"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchall()


def _started(db: str, tmp_path: Path, **popen) -> tuple[Path, list[str], subprocess.Popen]:
    """The big folder's import started into an emptied database, once both workers have loaded rows."""
    folder, cmd = _big_folder(tmp_path)
    cmd[2] = db
    truncate_all(db)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)
    try:
        _wait_for_rows(db, proc, 2)
    except BaseException:
        with_group_killed(proc)
        raise
    return folder, cmd, proc


@pytest.mark.slow
@pytest.mark.parametrize(
    "to_group", [True, False], ids=["ctrl-c-in-a-terminal", "sigint-to-the-command-alone"]
)
def test_ctrl_c_ends_every_worker_as_a_one_process_import_ends(
    db: str, tmp_path: Path, to_group: bool
) -> None:
    """SIGINT to the foreground job (the terminal's Ctrl-C), or to the command alone: exit 130, every run still
    open marked failed by KeyboardInterrupt, no worker left connected, and the next import finishes the folder
    into the warehouse one import makes."""
    folder, cmd, proc = _started(db, tmp_path, preexec_fn=_interactive)
    runs = interrupted(db, proc, to_group=to_group)
    assert all(status in ("failed", "succeeded") for status, *_ in runs), runs

    again = subprocess.run(cmd, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr.decode()[-800:]
    assert_as_one_inline_import(db, [folder])


def interrupted(db: str, proc: subprocess.Popen, *, to_group: bool = True) -> list[tuple]:
    """SIGINT to a running `wirewatch import` (its process group, as a terminal's Ctrl-C sends it, or the command
    alone): it must exit 130 within a minute, leave no connection, and mark a run failed by KeyboardInterrupt.
    Returns the runs (status, error, backend_pid)."""
    try:
        if to_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=120)
        assert time.monotonic() - sent < 60
    finally:
        with_group_killed(proc)
    if proc.returncode == 0:
        pytest.fail("the import finished before Ctrl-C reached it: make the input bigger")
    assert proc.returncode == 130, err.decode(errors="replace")[-3000:]
    assert _others_connected(db) == 0
    with psycopg.connect(db) as conn:
        runs = conn.execute("SELECT status, error, backend_pid FROM ingest_runs").fetchall()
    assert ("failed", "KeyboardInterrupt: ") in [r[:2] for r in runs], runs
    return runs


@pytest.mark.slow
def test_sigkill_of_the_command_takes_its_workers_with_it(db: str, tmp_path: Path) -> None:
    """kill -9 of `wirewatch import` mid-folder: its workers die too (no connection of theirs stays, nothing is
    written after), and the next import finishes the folder into the warehouse one import makes."""
    folder, cmd, proc = _started(db, tmp_path, start_new_session=True)
    try:
        assert proc.poll() is None, "the import finished before it was killed: make the files bigger"
        proc.kill()
        proc.wait(30)
        deadline = time.monotonic() + 30
        while _others_connected(db) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _others_connected(db) == 0, f"a worker outlived the killed command: {_others(db)}"
        with psycopg.connect(db, autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            time.sleep(2)
            assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == stored
    finally:
        with_group_killed(proc)
    again = subprocess.run(cmd, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr.decode()[-800:]
    assert_as_one_inline_import(db, [folder])


def with_group_killed(proc: subprocess.Popen) -> None:
    """Whatever the test's outcome, nothing of the command's process group is left running."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()


def test_captures_of_one_channel_load_in_order_on_one_worker(db: str, tmp_path: Path) -> None:
    """Two captures of one channel an hour apart (edits, new counts, new posts) and one of another channel: the
    first channel's captures go to one worker in their order, so every file's counts are those of a one-process
    import (which file inserts a post and which finds it changed does not depend on timing)."""
    folder = tmp_path / "captures"
    folder.mkdir()
    stream = generate_stream(7, messages=400, epochs=2, channel_id=1_700_000_095)
    write_jsonl(stream, 0, folder / "a_first.jsonl")
    write_jsonl(stream, 1, folder / "b_second.jsonl")
    write_jsonl(
        generate_stream(8, messages=400, epochs=1, channel_id=1_700_000_096), 0, folder / "c_other.jsonl"
    )
    for n, name in enumerate(("a_first.jsonl", "b_second.jsonl", "c_other.jsonl")):
        when = 1_770_000_000 + 3600 * n
        os.utime(folder / name, (when, when))

    got = parallel.import_paths_parallel(db, [folder], jobs=2, skip_unchanged=True)
    with psycopg.connect(db) as conn:
        pids = dict(
            conn.execute("SELECT target, backend_pid FROM ingest_runs WHERE kind = 'import'").fetchall()
        )
        parallel_state = snapshot(conn)
    by_name = {Path(t).name: pid for t, pid in pids.items()}
    assert by_name["a_first.jsonl"] == by_name["b_second.jsonl"] != by_name["c_other.jsonl"]

    truncate_all(db)
    with psycopg.connect(db) as conn:
        want = import_files(conn, [folder], skip_unchanged=True, read_ahead=False)
        assert snapshot(conn).diff(parallel_state) == []
    assert [s.as_dict() for s in got] == [s.as_dict() for s in want]
    assert got[1].stats.updated > 0  # the second capture's edits, found against the first's posts


@pytest.mark.slow
def test_a_fault_in_one_worker_ends_the_command_with_its_exit_code(db: str, tmp_path: Path) -> None:
    """One channel's write lock held elsewhere: its worker gives up after the bounded wait with the one-process
    message and exit 5; the other worker, mid-way through a bigger file, is interrupted as by Ctrl-C (its run
    failed), and no connection stays."""
    folder = tmp_path / "captures"
    folder.mkdir()
    held, other = 1_700_000_097, 1_700_000_098
    write_jsonl(generate_stream(9, messages=60, epochs=1, channel_id=held), 0, folder / "a_held.jsonl")
    write_jsonl(generate_stream(10, messages=60_000, epochs=1, channel_id=other), 0, folder / "b_other.jsonl")
    wirewatch = Path(sys.executable).with_name("wirewatch")
    with psycopg.connect(db) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (channel_lock_key("telegram", held),))
        out = subprocess.run(
            [str(wirewatch), "--dsn", db, "import", str(folder), "--jobs", "2"],
            env={**os.environ, "WIREWATCH_LOCK_WAIT_SECONDS": "1"}, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
        holder.rollback()
    assert out.returncode == 5, (out.returncode, out.stderr[-2000:])
    assert "gave up after 1 s waiting for the channel write lock" in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert _others_connected(db) == 0
    with psycopg.connect(db) as conn:
        runs = dict(conn.execute("SELECT target, status FROM ingest_runs").fetchall())
        held_posts = conn.execute("SELECT count(*) FROM posts WHERE channel_id = %s", (held,)).fetchone()[0]
    assert runs[str(folder / "a_held.jsonl")] == "failed" and held_posts == 0
    assert runs[str(folder / "b_other.jsonl")] == "failed", "the other worker went on after the fault"
