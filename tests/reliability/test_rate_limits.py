"""Rate-limit storms: the source raises `Deferred` (a FloodWait / HTTP 429 beyond the sleep threshold) or breaks
(HTTP 500) on every k-th request. Runs end 'deferred' or 'failed', never half-recorded; the committed cursor
never passes a message the warehouse does not hold; a deferred channel is skipped until its deferral passes;
once the storm passes, the warehouse equals the clean pass.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from ingest.run.channel import run_channel
from tests.conftest import truncate_all
from tests.reliability.schedules import FULL, Runner, clean_pass
from tests.reliability.state import snapshot
from tests.reliability.streams import FakeLiveSource, Faults, SimClock, SourceBroke, generate_stream, spec_for

WAIT = timedelta(minutes=10)


def _runs(conn) -> list[tuple]:
    rows = conn.execute(
        "SELECT run_id, status, deferred_until, error FROM ingest_runs ORDER BY run_id"
    ).fetchall()
    conn.commit()
    return rows


@pytest.mark.parametrize("kind", ["deferred", "error"])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_storm_then_calm_ends_in_the_clean_pass(db, k, kind):
    stream = generate_stream(100 + k, messages=45, epochs=3)
    with psycopg.connect(db) as conn:
        clean_pass(conn, stream, 4, True, False)
        expected = snapshot(conn)
        truncate_all(db)
        r = Runner(conn, stream, 4, True, False)
        outcomes = []
        for epoch in range(stream.epochs):
            r.source.faults = Faults(every=k, kind=kind, offset=r.source.requests, wait=WAIT)
            minute = 1.0
            for _ in range(3):  # the storm: three attempts, each after the previous deferral passed
                r.at(epoch, minute)
                before = r.source.requests
                s = run_channel(conn, r.spec, r.source, rescan_hours=FULL, now=r.clock())
                r.check_invariants(epoch)
                outcomes.append(s.status)
                last = _runs(conn)[-1]
                if kind == "deferred":
                    assert s.status == "deferred" and s.deferred_until == r.clock() + WAIT, s.as_dict()
                    assert last[1:3] == ("deferred", r.clock() + WAIT) and "FLOOD_WAIT" in last[3]
                    # Asked again before the deferral passes: skipped without a single request.
                    r.at(epoch, minute + 5)
                    again = run_channel(conn, r.spec, r.source, rescan_hours=FULL, now=r.clock())
                    conn.rollback()  # see test_skipped_deferred_channel_leaves_connection_idle
                    assert again.status == "deferred" and r.source.requests == before + k
                    minute += 11
                else:
                    assert s.status == "failed" and "simulated HTTP 500" in s.error, s.as_dict()
                    assert last[1] == "failed" and "SourceBroke" in last[3]
                    minute += 1
            # The storm passes: the next hourly run completes.
            r.source.faults = Faults()
            r.at(epoch, 50)
            s = run_channel(conn, r.spec, r.source, rescan_hours=FULL, now=r.clock())
            r.check_invariants(epoch)
            assert s.status == "succeeded", s.as_dict()
        assert set(outcomes) == {"deferred" if kind == "deferred" else "failed"}
        assert r.source.raised, "the storm never hit"
        diff = expected.diff(snapshot(conn))
    assert not diff, "\n".join(diff[:20])


def test_permanent_storm_still_brings_every_new_post(db):
    """Every 3rd request deferred, forever: each run commits two batches, then defers; new posts keep coming."""
    stream = generate_stream(7, messages=60, epochs=1)
    with psycopg.connect(db) as conn:
        r = Runner(conn, stream, 4, True, False)
        r.source.faults = Faults(every=3, wait=WAIT)
        for i in range(20):
            r.at(0, 1 + i)
            s = run_channel(conn, r.spec, r.source, rescan_hours=0, now=r.clock(), ignore_deferral=True)
            r.check_invariants(0)
            assert s.status in ("deferred", "succeeded"), s.as_dict()
            if s.status == "succeeded":
                break
        stored = {row[0] for row in conn.execute("SELECT post_id FROM posts")}
        conn.commit()
    heads = {m.msg_id for m in stream.live(0) if m.grouped_id is None} | {
        min(x.msg_id for x in stream.live(0) if x.grouped_id == g)
        for g in {m.grouped_id for m in stream.live(0) if m.grouped_id is not None}
    }
    assert heads <= stored


@pytest.mark.xfail(strict=True, reason="limitation: a rescan restarts from rescan_since each run (report)")
def test_permanent_storm_still_refreshes_the_whole_rescan_window(db):
    """A rescan has no resume point: when every run is cut off after k requests, the rescan's tail is never
    read again, so edits, deletions and counts of those posts are never seen."""
    stream = generate_stream(8, messages=60, epochs=2)
    with psycopg.connect(db) as conn:
        clean_pass(conn, stream, 4, True, False)
        expected = snapshot(conn)
        truncate_all(db)
        r = Runner(conn, stream, 4, True, False)
        r.at(0, 1)
        assert run_channel(conn, r.spec, r.source, rescan_hours=FULL, now=r.clock()).status == "succeeded"
        r.source.faults = Faults(every=4, wait=WAIT)
        for i in range(30):
            r.at(1, 1 + i)
            s = run_channel(conn, r.spec, r.source, rescan_hours=FULL, now=r.clock(), ignore_deferral=True)
            r.check_invariants(1)
            assert s.status in ("deferred", "succeeded")
        diff = expected.diff(snapshot(conn))
    assert not diff, "\n".join(diff[:10])


def test_deferred_run_keeps_committed_batches_and_cursor(db):
    """Deferred mid-stream: the batches before it stay, with exactly their cursor; nothing after it."""
    stream = generate_stream(9, messages=40, epochs=1)
    clock = SimClock(stream.t(0))
    src = FakeLiveSource(stream, clock, batch_size=5, faults=Faults(every=4, wait=WAIT))
    with psycopg.connect(db) as conn:
        s = run_channel(conn, spec_for(stream), src, rescan_hours=0, now=clock())
        assert s.status == "deferred"
        committed = src.yielded[:3]  # requests 1-3 made batches; the 4th request raised
        cursor = conn.execute("SELECT last_post_id, deferred_until FROM cursors").fetchone()
        assert cursor == (committed[-1].cursor.last_post_id, clock() + WAIT)
        n_posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        conn.commit()
    from ingest.run.records import normalize_records
    from ingest.sources.registry import normalizer_for

    expected = {
        p.post_id for b in committed for p in normalize_records(b.records, normalizer_for("telethon"))
    }
    assert n_posts == len(expected)


def test_skipped_deferred_channel_leaves_connection_idle(db):
    stream = generate_stream(9, messages=10, epochs=1)
    clock = SimClock(stream.t(0))
    src = FakeLiveSource(stream, clock, batch_size=5, faults=Faults(every=1, wait=WAIT))
    with psycopg.connect(db) as conn:
        assert run_channel(conn, spec_for(stream), src, rescan_hours=0, now=clock()).status == "deferred"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        skipped = run_channel(conn, spec_for(stream), src, rescan_hours=0, now=clock())
        assert skipped.status == "deferred"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_deferred_while_resolving_is_recorded_and_leaves_connection_idle(db):
    stream = generate_stream(9, messages=10, epochs=1)
    clock = SimClock(stream.t(0))
    src = FakeLiveSource(stream, clock, faults=Faults(every=1, wait=WAIT))
    with psycopg.connect(db) as conn:
        s = run_channel(conn, spec_for(stream, configured_id=False), src, rescan_hours=0, now=clock())
        assert s.status == "deferred"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert [r[1] for r in _runs(conn)] == ["deferred"]


def test_error_while_resolving_fails_the_channel_not_the_caller(db):
    stream = generate_stream(9, messages=10, epochs=1)
    clock = SimClock(stream.t(0))
    src = FakeLiveSource(stream, clock, faults=Faults(every=1, kind="error"))
    with psycopg.connect(db) as conn:
        try:
            s = run_channel(conn, spec_for(stream, configured_id=False), src, rescan_hours=0, now=clock())
        except SourceBroke as exc:
            pytest.fail(
                f"run_channel raised {exc!r}: `wirewatch ingest` and the DAG task stop for every channel"
            )
        assert s.status == "failed" and "simulated HTTP 500" in (s.error or "")
        assert [r[1] for r in _runs(conn)] == ["failed"]


# ------------------------------------------------------------------ the real Telethon source, FloodWait storms


def _stormy_telegram(k: int, seconds: int):
    """tests/sources/telethon_fakes.FakeTelegram whose every k-th history request gets a FloodWaitError."""
    from telethon import errors
    from telethon.tl.functions.messages import GetHistoryRequest

    from tests.sources.telethon_fakes import FakeTelegram

    class StormyTelegram(FakeTelegram):
        def __init__(self):
            super().__init__()
            self.k, self.seconds, self.history, self.floods = k, seconds, 0, 0

        def answer(self, request):
            if isinstance(request, GetHistoryRequest) and self.k:
                self.history += 1
                if self.history % self.k == 0:
                    self.floods += 1
                    self.requests.append(request)
                    raise errors.FloodWaitError(request=request, capture=self.seconds)
            return super().answer(request)

    return StormyTelegram()


def _telethon_pass(conn, stream, server, clock, epoch, tmp_path, *, now_minute: float, ignore_deferral=False):
    from ingest.models import ChannelSpec
    from ingest.sources.telegram import TelegramCredentials, TelethonSource
    from tests.sources.telethon_fakes import factory_for, tl_from_dict

    ch = server.channels.get(stream.channel_id) or server.add_channel(
        stream.channel_id, stream.handle, stream.title
    )
    ch.messages = {m.msg_id: tl_from_dict(stream.payload(m, epoch)) for m in stream.live(epoch)}
    clock.set(stream.t(epoch) + timedelta(minutes=now_minute))
    source = TelethonSource(
        TelegramCredentials(12345, "0123456789abcdef0123456789abcdef", "fake-session"),
        client_factory=factory_for(server), sleep=lambda s: None, now=clock, page_size=5, lock_dir=tmp_path,
        peer_cache=False,
    )  # fmt: skip
    spec = ChannelSpec("telegram", stream.handle, "telethon", channel_id=stream.channel_id, title=stream.title,
                       options={"access_hash": 987654321})  # fmt: skip
    try:
        return run_channel(
            conn, spec, source, rescan_hours=FULL, now=clock(), ignore_deferral=ignore_deferral
        )
    finally:
        source.close()


@pytest.mark.parametrize(("k", "seconds"), [(2, 30), (3, 30), (2, 600), (4, 600)])
def test_telethon_source_under_floodwait_storm_ends_in_the_clean_pass(db, tmp_path, k, seconds):
    """Short FloodWaits are slept through inside the run; long ones defer the channel with its cursor intact."""
    stream = generate_stream(200 + k, messages=40, epochs=2)
    clock = SimClock()
    with psycopg.connect(db) as conn:
        calm = _stormy_telegram(0, 0)
        for epoch in range(stream.epochs):
            assert (
                _telethon_pass(conn, stream, calm, clock, epoch, tmp_path, now_minute=1).status == "succeeded"
            )
        expected = snapshot(conn)
        truncate_all(db)
        stormy = _stormy_telegram(k, seconds)
        checker = Runner(conn, stream, 5, True, False)
        for epoch in range(stream.epochs):
            statuses = []
            for attempt in range(4):  # the storm; the deferrals are ignored as an operator's re-run would
                s = _telethon_pass(conn, stream, stormy, clock, epoch, tmp_path, now_minute=1 + attempt,
                                   ignore_deferral=True)  # fmt: skip
                statuses.append(s.status)
                checker.check_invariants(epoch)
                if seconds > 60:
                    assert s.status == "deferred" and "FloodWait of 600 s" in s.error, s.as_dict()
                else:
                    assert s.status == "succeeded", s.as_dict()
            stormy.k = 0  # the storm passes
            s = _telethon_pass(conn, stream, stormy, clock, epoch, tmp_path, now_minute=30)
            assert s.status == "succeeded", s.as_dict()
            stormy.k = k
        assert stormy.floods > 0
        diff = expected.diff(snapshot(conn))
    assert not diff, "\n".join(diff[:20])
