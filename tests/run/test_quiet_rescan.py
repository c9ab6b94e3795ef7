"""What a rescan in which little changed costs, and that it still misses nothing: batches that only confirm stored
posts are held and written together (`ingest.run.channel._Held`), and their raw hashes are compared with the
channel's stored posts read ahead (`ingest.warehouse.raw_ahead.StoredAhead`) instead of a probe a batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest.run.channel import run_channel
from ingest.warehouse import loader as loader_mod
from ingest.warehouse import runs
from ingest.warehouse.raw_ahead import StoredAhead
from tests.conftest import truncate_all
from tests.reliability.state import snapshot
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


@pytest.fixture
def probes(monkeypatch) -> list[int]:
    """The number of keys of each probe sent to the server."""
    calls: list[int] = []
    real = loader_mod.Loader._stored_raw

    def counting(self, platform, keys, observed):
        calls.append(len(keys))
        return real(self, platform, keys, observed)

    monkeypatch.setattr(loader_mod.Loader, "_stored_raw", counting)
    return calls


def test_a_quiet_rescan_reads_the_stored_posts_ahead_not_batch_by_batch(db, conn, probes):
    stream = _stream()
    clock = SimClock(stream.t(0) + timedelta(minutes=5))
    _first_pass(conn, stream, clock)
    probes.clear()
    clock.set(stream.t(0) + timedelta(minutes=35))
    s = run_channel(
        conn, spec_for(stream), FakeLiveSource(stream, clock, batch_size=5), rescan_hours=48, now=clock()
    )
    assert s.status == "succeeded" and s.stats.unchanged == len(stream.live(0))
    assert probes == []


@pytest.mark.parametrize("window", [4, 2_000])
def test_rescans_read_ahead_make_the_warehouse_a_full_rescan_makes(db, conn, monkeypatch, window):
    """Edits, count changes, deletions and new posts over three hours, the stored posts read ahead in windows
    smaller than a batch or larger than the channel: the same warehouse as normalising every record."""
    monkeypatch.setattr(StoredAhead, "WINDOW", window)
    stream = generate_stream(11, messages=90, epochs=3, p_edit=0.2, p_delete=0.1, channel_id=CHANNEL)
    clock = SimClock(stream.t(0))
    hours = [(0, 5), (0, 35), (1, 5), (1, 35), (2, 5)]

    def schedule(force: bool):
        for k, minute in hours:
            clock.set(stream.t(k) + timedelta(minutes=minute))
            source = FakeLiveSource(stream, clock, batch_size=7)
            s = run_channel(conn, spec_for(stream), source, rescan_hours=48, now=clock(), force=force)
            assert s.status == "succeeded", s.as_dict()

    schedule(force=False)
    got = snapshot(conn)
    truncate_all(db)
    schedule(force=True)
    assert snapshot(conn).diff(got) == []


class _Batches:
    """A live source handing over prepared batches (real Telethon records), one list of batches a pass."""

    name, platform = "telethon", "telegram"

    def __init__(self, passes):
        self.passes = list(passes)

    def resolve(self, spec):
        return BLOOMBERG, "bloomberg", "Bloomberg"

    def fetch(self, spec, channel_id, cursor, window):
        for batch in self.passes.pop(0):
            yield batch() if callable(batch) else batch  # built when fetched: its records' fetch time is now


BLOOMBERG = 1_488_156_064


def test_the_read_ahead_never_answers_for_a_post_the_pass_marked_deleted(db, conn, shared_data):
    """A message missing from one batch's listing and handed over by a later batch of the same pass (a post that
    was hidden for a moment) ends up not deleted, as when every record is normalised: once the first batch's
    deletion is written, the read-ahead's copy of that post is no longer trusted."""
    from ingest.models import ChannelSpec, RawRecord
    from ingest.sources.base import Batch, Listed

    lines = (shared_data / "telethon" / "bloomberg_1488156064.jsonl").read_bytes().splitlines()
    msgs = {m["id"]: m for m in map(orjson.loads, lines[:3])}  # 3148, 3147, 3146
    at = datetime.now(UTC) - timedelta(hours=2)
    ctx = {
        "handle": "bloomberg",
        "handle_channel_id": BLOOMBERG,
        "title": "Bloomberg",
        "naive_dates_are_utc": True,
    }

    def rec(m, fetched=at):
        return RawRecord("telethon", m, f"https://t.me/bloomberg/{m['id']}", fetched, ctx)

    edited = {
        **msgs[3148],
        "message": msgs[3148]["message"] + " (updated)",
        "edit_date": "2025-08-20 06:00:00.000000",
    }
    later = at + timedelta(hours=1)

    def again():
        return Batch([rec(msgs[3147], datetime.now(UTC))], listed=Listed(3147, 3147), rescan=True)

    passes = [
        [Batch([rec(m) for m in msgs.values()], listed=Listed(3146, 3148), rescan=True)],
        # 3147 is not listed in the first batch, which loads an edit (so it is written at once), and comes back
        # in the second.
        [
            Batch([rec(edited, later), rec(msgs[3146], later)], listed=Listed(3146, 3148), rescan=True),
            again,
        ],
    ]
    spec = ChannelSpec("telegram", "bloomberg", "telethon", channel_id=BLOOMBERG, title="Bloomberg")
    states = []
    for force in (False, True):
        truncate_all(db)
        source = _Batches(passes)
        for _ in passes:
            s = run_channel(conn, spec, source, rescan_hours=0, force=force)
            assert s.status == "succeeded", s.as_dict()
        states.append(
            conn.execute("SELECT post_id, deleted_at IS NULL FROM posts ORDER BY post_id").fetchall()
        )
        conn.commit()
    assert states[0] == states[1] == [(3146, True), (3147, True), (3148, True)]
