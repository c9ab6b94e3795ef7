"""Ctrl-C (or a parallel import's interrupt of its workers) landing just as a run starts: the run row is committed
'running', and the interrupt must still end it as failed, not leave it running until a later run's reaper.

The interrupt is sent from inside `runs.start_run`, right after its commit: without the hold, Python raises it at
the next bytecode, before the import's (or the channel pass's) `try` that ends a run as failed."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.run import interrupts
from ingest.run.channel import run_channel
from ingest.run.imports import import_file, import_files
from ingest.sources.formats import get_format
from ingest.warehouse import runs
from tests.reliability.schedules import FULL
from tests.reliability.streams import FakeLiveSource, SimClock, generate_stream, spec_for, write_jsonl


@pytest.fixture(params=[signal.SIGINT, signal.SIGUSR1], ids=["ctrl-c", "worker-interrupt"])
def interrupt_at_start(request, monkeypatch):
    """The signal, sent to this process as `start_run` returns; its handler raises KeyboardInterrupt (a parallel
    import's worker handles SIGUSR1 so)."""
    sig = request.param
    before = signal.getsignal(sig)
    signal.signal(sig, signal.default_int_handler)
    real = runs.start_run

    def start_run(*args, **kwargs):
        run_id = real(*args, **kwargs)
        signal.raise_signal(sig)  # to this thread: delivered before the call returns
        return run_id

    monkeypatch.setattr(runs, "start_run", start_run)
    yield sig
    signal.signal(sig, before)


def _runs(db: str) -> list[tuple[str, str]]:
    with psycopg.connect(db) as other:
        return other.execute("SELECT status, coalesce(error, '') FROM ingest_runs ORDER BY run_id").fetchall()


def test_an_import_interrupted_as_its_run_starts_ends_the_run_failed(
    db, conn, tmp_path: Path, interrupt_at_start
):
    path = tmp_path / "capture.jsonl"
    write_jsonl(generate_stream(61, messages=20, epochs=1), 0, path)
    with pytest.raises(KeyboardInterrupt):
        import_file(conn, path, get_format("telethon-jsonl"))
    assert [status for status, _ in _runs(db)] == ["failed"]
    assert "KeyboardInterrupt" in _runs(db)[0][1]
    assert signal.getsignal(interrupt_at_start) is signal.default_int_handler  # the hold is over


def test_an_unreadable_file_interrupted_as_its_run_starts_ends_the_run_failed(
    db, conn, tmp_path: Path, interrupt_at_start
):
    """A file no format reads (here an empty one) still gets a run, to hold its reject: it ends failed too."""
    path = tmp_path / "capture.jsonl"
    path.write_bytes(b"")
    with pytest.raises(KeyboardInterrupt):
        import_files(conn, [path])
    assert [status for status, _ in _runs(db)] == ["failed"]
    assert "KeyboardInterrupt" in _runs(db)[0][1]
    assert signal.getsignal(interrupt_at_start) is signal.default_int_handler


def test_a_channel_pass_interrupted_as_its_run_starts_ends_the_run_failed(db, conn, interrupt_at_start):
    stream = generate_stream(62, messages=12, epochs=1)
    clock = SimClock(stream.t(0) + timedelta(minutes=1))
    with pytest.raises(KeyboardInterrupt):
        run_channel(conn, spec_for(stream), FakeLiveSource(stream, clock), rescan_hours=FULL, now=clock())
    assert _runs(db) == [("failed", "interrupted")]
    assert signal.getsignal(interrupt_at_start) is signal.default_int_handler


def test_without_an_interrupt_the_run_goes_on_and_the_handlers_are_back(db, conn, tmp_path: Path):
    path = tmp_path / "capture.jsonl"
    write_jsonl(generate_stream(63, messages=20, epochs=1), 0, path)
    summary = import_file(conn, path, get_format("telethon-jsonl"))
    assert summary.stats.inserted > 0
    assert [status for status, _ in _runs(db)] == ["succeeded"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_hold_records_the_interrupt_and_release_raises_it():
    held = interrupts.hold()
    signal.raise_signal(signal.SIGINT)
    assert held.interrupted  # recorded, not raised
    with pytest.raises(KeyboardInterrupt):
        held.release()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupts.hold().release()  # nothing held: nothing raised


def test_a_hold_outside_the_main_thread_changes_nothing():
    seen: list[object] = []

    def other() -> None:
        held = interrupts.hold()
        seen.append(signal.getsignal(signal.SIGINT))
        held.release()

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == [signal.default_int_handler]
