"""Crash: SIGKILL a real `wirewatch import` (and a live `run_channel` pass) at chosen and random points; a re-run
reaches exactly the clean-pass warehouse, nothing is left half-done, and the killed run shows as failed.

Kill points are made deterministic without any production hook (tests/reliability/crashlab.py): pause triggers
in this module's own database make the server sleep inside the k-th row of a COPY, inside the staged upsert,
while the run counters or cursor are written after the upsert, or during COMMIT; the test sees the backend
sleeping with the statement text and kills the client there. k is drawn at random (fixed seed, override with
WIREWATCH_CRASH_SEED) from the number of firings a clean run makes, so every trial lands inside the run.

Phases: A = `wirewatch import` of a Telethon JSONL capture into an empty warehouse (all new posts: the COPY fast
path); B = importing a later capture of the same channel over A (edits, new counts, new posts: the staged
upsert); L = a live incremental pass with a full rescan over a channel already loaded once (cursor, deletions).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from ingest.run.imports import import_files
from ingest.warehouse import runs
from tests import scratch
from tests.conftest import truncate_all
from tests.reliability import crashlab
from tests.reliability.crash_worker import run_epoch
from tests.reliability.state import Snapshot, snapshot, stray_tables
from tests.reliability.streams import generate_stream, write_jsonl

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("WIREWATCH_CRASH_SEED", "20261129"))
IMPORT_SEED, IMPORT_MESSAGES, IMPORT_BATCH, IMPORT_CHANNEL = 11, 900, 100, 1_700_000_002
LIVE_SEED, LIVE_MESSAGES, LIVE_BATCH, LIVE_CHANNEL = 12, 400, 40, 1_700_000_003
PAUSE = 1.0

#: Where each point's pause may be, as statement prefixes (the loader picks COPY or upsert per batch).
EXPECTED_SQL = {
    "posts_ins": ("COPY posts", "INSERT INTO posts"),
    "raw_ins": ("COPY raw_records", "INSERT INTO raw_records"),
    "posts_upd": ("INSERT INTO posts", "UPDATE posts"),
    "versions_ins": ("COPY post_versions", "INSERT INTO post_versions"),
    "metrics_ins": ("INSERT INTO post_metrics",),
    "runs_upd": ("UPDATE ingest_runs",),
    "cursor_upd": ("INSERT INTO cursors",),
    "commit": ("COMMIT",),
}

PLAN: list[tuple[str, str]] = (
    [("A", "posts_ins")] * 3 + [("A", "raw_ins")] * 2 + [("A", "runs_upd"), ("A", "commit")]
    + [("B", "posts_ins"), ("B", "posts_upd"), ("B", "posts_upd"), ("B", "versions_ins"), ("B", "metrics_ins"),
       ("B", "metrics_ins"), ("B", "raw_ins"), ("B", "runs_upd"), ("B", "commit"), ("B", "commit")]
    + [("L", "cursor_upd"), ("L", "cursor_upd"), ("L", "posts_upd"), ("L", "runs_upd"), ("L", "commit")]
    + [("A", "time"), ("B", "time"), ("L", "time")]
)  # fmt: skip


@dataclass
class Lab:
    dsn: str
    a_path: Path
    b_path: Path
    clean_import: Snapshot
    clean_live: Snapshot
    hits: dict[str, dict[str, int]]
    tables: set[str]
    wirewatch: str
    seconds: dict[str, float]


def _import(conn, path: Path) -> None:
    (summary,) = import_files(conn, [path], "telethon-jsonl", batch_size=IMPORT_BATCH)
    assert summary.error is None and summary.stats.rejected == 0, summary.as_dict()


def _live(conn, epoch: int) -> None:
    s = run_epoch(
        conn, seed=LIVE_SEED, messages=LIVE_MESSAGES, epochs=2, epoch=epoch, batch=LIVE_BATCH, channel_id=LIVE_CHANNEL
    )  # fmt: skip
    assert s.status == "succeeded", s.as_dict()


def _prepare(conn, phase: str) -> None:
    """The warehouse as it is before the phase's run starts."""
    if phase == "B":
        _import(conn, LAB.a_path)
    elif phase == "L":
        _live(conn, 0)


def _finish(conn, phase: str) -> None:
    """The re-run after the crash, then whatever the phase was followed by in the clean pass."""
    if phase == "A":
        _import(conn, LAB.a_path)
        _import(conn, LAB.b_path)
    elif phase == "B":
        _import(conn, LAB.b_path)
    else:
        _live(conn, 1)


LAB: Lab  # set by the module fixture, read by helpers


@pytest.fixture(scope="module")
def lab(admin_dsn: str, tmp_path_factory, repo_root: Path):
    global LAB
    with scratch.scratch_db(admin_dsn, f"ww_crash_{os.getpid()}") as dsn:
        with psycopg.connect(dsn) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            }
            crashlab.install(conn)
        tmp = tmp_path_factory.mktemp("crash")
        stream = generate_stream(IMPORT_SEED, messages=IMPORT_MESSAGES, epochs=2, channel_id=IMPORT_CHANNEL)
        a = tmp / "a" / f"crashsynth_{IMPORT_CHANNEL}.jsonl"
        b = tmp / "b" / f"crashsynth_{IMPORT_CHANNEL}.jsonl"
        a.parent.mkdir()
        b.parent.mkdir()
        write_jsonl(stream, 0, a)
        write_jsonl(stream, 1, b)
        wirewatch = str(Path(sys.executable).parent / "wirewatch")
        LAB = Lab(dsn, a, b, None, None, {}, tables, wirewatch, {})  # type: ignore[arg-type]
        with psycopg.connect(dsn) as conn:
            truncate_all(dsn)
            crashlab.count_all(conn)
            t0 = time.monotonic()
            _import(conn, a)
            LAB.seconds["A"] = time.monotonic() - t0
            LAB.hits["A"] = crashlab.hits(conn)
            crashlab.count_all(conn)
            t0 = time.monotonic()
            _import(conn, b)
            LAB.seconds["B"] = time.monotonic() - t0
            LAB.hits["B"] = crashlab.hits(conn)
            crashlab.disarm(conn)
            LAB.clean_import = snapshot(conn)
            truncate_all(dsn)
            _live(conn, 0)
            crashlab.count_all(conn)
            t0 = time.monotonic()
            _live(conn, 1)
            LAB.seconds["L"] = time.monotonic() - t0
            LAB.hits["L"] = crashlab.hits(conn)
            crashlab.disarm(conn)
            LAB.clean_live = snapshot(conn)
        yield LAB


_STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap(lab: Lab):
    """A failed trial must not leave its writer running into the next one (seen in CI: a process left paused by
    a failed assertion woke up, committed, and fired the next trial's armed point)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with psycopg.connect(lab.dsn, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )]  # fmt: skip
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            crashlab.wait_backend_gone(conn, pid)
        crashlab.disarm(conn)


def _start(lab: Lab, phase: str, repo_root: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    if phase in ("A", "B"):
        path = lab.a_path if phase == "A" else lab.b_path
        cmd = [lab.wirewatch, "--dsn", lab.dsn, "import", "--format", "telethon-jsonl",
               "--batch-size", str(IMPORT_BATCH), str(path)]  # fmt: skip
    else:
        cmd = [sys.executable, "-m", "tests.reliability.crash_worker", "--dsn", lab.dsn, "--seed", str(LIVE_SEED),
               "--messages", str(LIVE_MESSAGES), "--epoch", "1", "--batch", str(LIVE_BATCH),
               "--channel-id", str(LIVE_CHANNEL)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=repo_root, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    _STARTED.append(proc)
    return proc


def _wait_run_started(conn, proc: subprocess.Popen, before: set[int], timeout: float = 60.0) -> bool:
    """Block until the process has committed its 'running' run record (or exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = {r[0] for r in conn.execute("SELECT run_id FROM ingest_runs")}
        conn.commit()
        if ids - before:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise TimeoutError("the process never started its run")


def _cursor_covers_only_stored(conn) -> list[int]:
    """Live messages at or below the committed cursor that the warehouse does not hold (must be none)."""
    cursor, _ = runs.get_cursor(conn, "telegram", LIVE_CHANNEL, "telethon")
    if cursor is None:
        return []
    stored = set()
    for pid, media in conn.execute("SELECT post_id, media FROM posts WHERE channel_id = %s", (LIVE_CHANNEL,)):
        stored.add(pid)
        stored.update(m["msg_id"] for m in media if isinstance(m.get("msg_id"), int))
    conn.commit()
    stream = generate_stream(LIVE_SEED, messages=LIVE_MESSAGES, epochs=2, channel_id=LIVE_CHANNEL)
    return [m.msg_id for m in stream.live(1) if m.msg_id <= cursor.last_post_id and m.msg_id not in stored]


@pytest.mark.parametrize(("trial", "phase", "point"), [(i, p, q) for i, (p, q) in enumerate(PLAN)],
                         ids=[f"{i:02d}-{p}-{q}" for i, (p, q) in enumerate(PLAN)])  # fmt: skip
def test_sigkill_then_rerun_reaches_clean_state(
    lab: Lab, trial: int, phase: str, point: str, repo_root, tmp_path
):
    rng = random.Random(f"{SEED}-{trial}")
    with psycopg.connect(lab.dsn) as conn:
        truncate_all(lab.dsn)
        _prepare(conn, phase)
        before_ids = {r[0] for r in conn.execute("SELECT run_id FROM ingest_runs")}
        conn.commit()
        note = ""
        if point == "time":
            crashlab.disarm(conn)
            proc = _start(lab, phase, repo_root, tmp_path / "stderr")
            started = _wait_run_started(conn, proc, before_ids)
            # Anywhere in the run (as long as a clean run of this phase takes), or just after it.
            delay = rng.uniform(0.0, lab.seconds[phase] * 1.1)
            time.sleep(delay)
            note = (
                f"killed {delay:.2f}s into the run (clean run {lab.seconds[phase]:.2f}s), started={started}"
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for (pid,) in conn.execute(
                "SELECT backend_pid FROM ingest_runs WHERE status = 'running' AND backend_pid IS NOT NULL"
            ).fetchall():
                crashlab.wait_backend_gone(conn, pid)
            conn.commit()
        else:
            total = lab.hits[phase][point]
            # Not the run's final commit/update (finish_run): the kill must leave the run unfinished.
            last = total - 1 if point in ("commit", "runs_upd") else total
            assert last >= 1, f"{phase} never fires {point}: {lab.hits[phase]}"
            at = rng.randint(1, last)
            crashlab.arm(conn, point, at, PAUSE)
            proc = _start(lab, phase, repo_root, tmp_path / "stderr")
            paused = crashlab.wait_for_pause(conn, proc)
            assert paused is not None, (
                f"process exited ({proc.returncode}) before firing {point} #{at}: "
                + (tmp_path / "stderr").read_text(errors="replace")[-2000:]
            )
            assert paused.query.lstrip().startswith(EXPECTED_SQL[point]), (point, paused.query[:200])
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            crashlab.wait_backend_gone(conn, paused.pid)
            crashlab.disarm(conn)
            note = f"killed at {point} #{at}/{total} during {' '.join(paused.query.split())[:60]!r}"
        assert proc.returncode == -signal.SIGKILL or point == "time", note

        # Right after the crash: what committed is whole, nothing else is there.
        killed = conn.execute(
            "SELECT run_id, status, inserted, updated FROM ingest_runs WHERE NOT (run_id = ANY(%s))",
            (list(before_ids),),
        ).fetchall()
        conn.commit()
        if point != "time":
            assert [r[1] for r in killed] == ["running"], (note, killed)
        if phase == "A" and killed:
            # Rows and the run counters describing them commit together (one transaction a batch).
            posts, raw = conn.execute(
                "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM raw_records)"
            ).fetchone()
            conn.commit()
            assert posts == sum(r[2] for r in killed) == raw, (note, posts, raw, killed)
        if phase == "L":
            assert not _cursor_covers_only_stored(conn), note
        assert not stray_tables(conn, lab.tables), (note, stray_tables(conn, lab.tables))

        # The re-run (and the rest of the clean pass) ends in the clean state.
        _finish(conn, phase)
        for run_id, status, *_ in killed:
            if status == "running":
                row = conn.execute(
                    "SELECT status, error FROM ingest_runs WHERE run_id = %s", (run_id,)
                ).fetchone()
                assert row[0] == "failed" and "process died" in (row[1] or ""), (note, row)
        assert not conn.execute("SELECT run_id FROM ingest_runs WHERE status = 'running'").fetchall()
        conn.commit()
        assert not stray_tables(conn, lab.tables)
        got = snapshot(conn)
    expected = lab.clean_import if phase in ("A", "B") else lab.clean_live
    diff = expected.diff(got)
    assert not diff, note + "\n" + "\n".join(diff[:30])
