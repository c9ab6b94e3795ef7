"""A rescan's batches that only confirm stored posts are held and written together (`ingest.run.channel._Held`):
fewer round trips, and nothing they say is lost when the pass ends early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.run.channel import run_channel
from ingest.warehouse import runs
from tests.reliability.streams import FakeLiveSource, Faults, SimClock, generate_stream, spec_for

CHANNEL = 1_700_000_077


@pytest.fixture
def add_counts_calls(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    real = runs.add_counts

    def counting(conn, run_id, counts, *args, **kw):
        calls.append(dict(counts))
        return real(conn, run_id, counts, *args, **kw)

    monkeypatch.setattr(runs, "add_counts", counting)
    return calls


def _stream():
    return generate_stream(5, messages=60, epochs=2, p_album=0.0, channel_id=CHANNEL)


def _first_pass(conn, stream, clock) -> int:
    source = FakeLiveSource(stream, clock, batch_size=5)
    s = run_channel(conn, spec_for(stream), source, rescan_hours=48, now=clock())
    n = len(stream.live(0))
    assert s.status == "succeeded" and s.stats.inserted == n > 40, s.as_dict()
    return n


def test_a_quiet_rescan_writes_its_batches_once(db, conn, add_counts_calls):
    stream = _stream()
    clock = SimClock(stream.t(0) + timedelta(minutes=5))
    n = _first_pass(conn, stream, clock)
    batches = -(-n // 5)
    assert len(add_counts_calls) == batches  # batches that load commit one by one, as before

    clock.set(stream.t(0) + timedelta(minutes=35))
    add_counts_calls.clear()
    before = datetime.now(UTC)
    source = FakeLiveSource(stream, clock, batch_size=5)
    s = run_channel(conn, spec_for(stream), source, rescan_hours=48, now=clock())
    assert s.status == "succeeded" and s.stats.unchanged == n
    assert len(source.yielded) == batches and len(add_counts_calls) == 1
    assert add_counts_calls[0]["unchanged"] == n
    row = conn.execute("SELECT unchanged FROM ingest_runs WHERE run_id = %s", (s.run_id,)).fetchone()
    stamped = conn.execute("SELECT count(*) FROM posts WHERE last_seen_at >= %s", (before,)).fetchone()
    conn.commit()
    assert row == (n,) and stamped == (n,)


@pytest.mark.parametrize("kind, status", [("error", "failed"), ("deferred", "deferred")])
def test_held_batches_are_written_when_the_source_stops_the_pass(db, conn, kind, status):
    stream = _stream()
    clock = SimClock(stream.t(0) + timedelta(minutes=5))
    _first_pass(conn, stream, clock)

    clock.set(stream.t(0) + timedelta(minutes=35))
    before = datetime.now(UTC)
    faults = Faults(every=5, kind=kind, on_resolve=False, only_once_per_call=True)
    source = FakeLiveSource(stream, clock, batch_size=5, faults=faults)
    s = run_channel(conn, spec_for(stream), source, rescan_hours=48, now=clock())
    assert s.status == status and source.raised == [kind]
    # The four batches the platform answered before it stopped the pass were all held, and all are written.
    answered = {int(r.origin.split(":")[1]) for b in source.yielded for r in b.records}
    assert len(answered) == 20 and s.stats.unchanged == 20
    row = conn.execute("SELECT status, unchanged FROM ingest_runs WHERE run_id = %s", (s.run_id,)).fetchone()
    stamped = conn.execute(
        "SELECT post_id FROM posts WHERE last_seen_at >= %s ORDER BY post_id", (before,)
    ).fetchall()
    conn.commit()
    assert row == (status, 20)
    assert {r[0] for r in stamped} == answered
